-- Google identity keys: a user's alias addresses (`aliases`) and the addresses Google manages for it
-- (`nonEditableAliases`, typically outside the primary domain), both Directory API users fields (arrays of
-- strings, omitted when empty). Identity resolution tries each of them against the HR roster, so a person whom
-- HR knows by an alias still owns their account, and a leaver known by an alias is still found.
ALTER TABLE raw_google_workspace_users ADD COLUMN aliases VARCHAR[];
ALTER TABLE raw_google_workspace_users ADD COLUMN non_editable_aliases VARCHAR[];

-- 0013's view with `emails` = [primaryEmail, aliases..., nonEditableAliases...]; the admin rule is unchanged:
-- the one definition of a privileged Google account, read by every privileged control.
CREATE OR REPLACE VIEW accounts_google_workspace AS
WITH user_roles AS (
    SELECT a.snapshot_date, a.assigned_to, list_sort(list_distinct(list(r.role_name))) AS role_names
    FROM raw_google_workspace_role_assignments a
    JOIN raw_google_workspace_roles r ON r.snapshot_date = a.snapshot_date AND r.role_id = a.role_id
    WHERE a.assignee_type = 'user'
    GROUP BY ALL
)
SELECT u.snapshot_date::DATE AS snapshot_date,
       'google_workspace'::VARCHAR AS system,
       lower(u.primary_email)::VARCHAR AS account_id,
       lower(u.primary_email)::VARCHAR AS email,
       list_filter(list_transform(list_concat([u.primary_email], coalesce(u.aliases, []),
                                              coalesce(u.non_editable_aliases, [])),
                                  lambda e: email_shaped(e)), lambda e: e IS NOT NULL)::VARCHAR[] AS emails,
       u.full_name::VARCHAR AS display_name,
       (NOT (coalesce(u.suspended, false) OR coalesce(u.archived, false)))::BOOLEAN AS is_active,
       (coalesce(u.is_admin, false) OR coalesce(u.is_delegated_admin, false) OR ur.role_names IS NOT NULL)::BOOLEAN
           AS is_privileged,
       coalesce(ur.role_names, CASE WHEN u.is_admin THEN ['Super Admin'] ELSE [] END)::VARCHAR[] AS privileges,
       u.is_enrolled_in_2sv::BOOLEAN AS mfa_enabled,
       u.last_login_time::TIMESTAMP AS last_activity,
       u.creation_time::TIMESTAMP AS created_at,
       ('https://admin.google.com/ac/users/' || u.id)::VARCHAR AS resource_url,
       'google_workspace.users'::VARCHAR AS dataset
FROM raw_google_workspace_users u
LEFT JOIN user_roles ur ON ur.snapshot_date = u.snapshot_date AND ur.assigned_to = u.id
-- an excluded unit's accounts are not staff accounts, but an admin is judged wherever it sits
WHERE u.in_scope OR coalesce(u.is_admin, false) OR coalesce(u.is_delegated_admin, false) OR ur.role_names IS NOT NULL;
