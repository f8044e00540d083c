-- Identity keys: every account carries `emails`, each e-mail-shaped identifier its system shows (the primary
-- first; repeats are harmless), and identity resolution joins the HR roster on any of them. A system that shows a person only by a
-- secondary identifier (Entra's userPrincipalName when `mail` is null, an IAM user named by its e-mail address)
-- must not leave that person's account ownerless, nor hide a leaver. Later migrations of a system may replace
-- its view; the columns (warehouse/store.py ACCOUNT_COLUMNS) stay the same.
--
-- Privileged accounts: each system's view is the one definition of "privileged" (is_privileged), used by every
-- privileged control. Scope exclusions never drop an admin: Google accounts of excluded organisational units stay
-- out of the staff population but their admins are kept.

CREATE OR REPLACE MACRO email_shaped(value) AS
    CASE WHEN regexp_full_match(lower(trim(value)), '[^@\s]+@[^@\s]+\.[^@\s]+') THEN lower(trim(value)) END;

CREATE OR REPLACE VIEW accounts_aws AS
WITH users AS (
    SELECT * FROM raw_aws_authorization_details WHERE entity_type = 'user'
), groups AS (
    SELECT snapshot_date, account_id, name, attached_policies FROM raw_aws_authorization_details
    WHERE entity_type = 'group'
), held AS (
    SELECT snapshot_date, account_id, name, unnest(attached_policies) AS policy FROM users
    UNION ALL
    SELECT u.snapshot_date, u.account_id, u.name, unnest(g.attached_policies) AS policy
    FROM (SELECT snapshot_date, account_id, name, unnest(groups) AS group_name FROM users) u
    JOIN groups g ON g.snapshot_date = u.snapshot_date AND g.account_id = u.account_id AND g.name = u.group_name
), admin AS (
    SELECT snapshot_date, account_id, name, list(DISTINCT policy ORDER BY policy) AS privileges
    FROM held WHERE policy IN ('AdministratorAccess') GROUP BY ALL
)
SELECT u.snapshot_date,
       'aws' AS system,
       u.account_id || '/' || u.name AS account_id,
       coalesce(email_shaped(u.email), email_shaped(u.name)) AS email,
       -- the `email` tag, then the user name when it is an e-mail address
       list_filter([email_shaped(u.email), email_shaped(u.name)], lambda e: e IS NOT NULL)::VARCHAR[]
           AS emails,
       u.name AS display_name,
       CASE WHEN r."user" IS NULL THEN NULL
            ELSE coalesce(r.password_enabled, false) OR coalesce(r.access_key_1_active, false)
                 OR coalesce(r.access_key_2_active, false) END AS is_active,
       a.privileges IS NOT NULL AS is_privileged,
       coalesce(a.privileges, []::VARCHAR[]) AS privileges,
       r.mfa_active AS mfa_enabled,
       nullif(greatest(coalesce(r.password_last_used, '-infinity'::TIMESTAMP),
                       coalesce(r.access_key_1_last_used_date, '-infinity'::TIMESTAMP),
                       coalesce(r.access_key_2_last_used_date, '-infinity'::TIMESTAMP)),
              '-infinity'::TIMESTAMP) AS last_activity,
       u.create_date AS created_at,
       'https://console.aws.amazon.com/iam/home#/users/details/' || u.name AS resource_url,
       'aws.authorization_details' AS dataset
FROM users u
LEFT JOIN raw_aws_credential_report r
       ON r.snapshot_date = u.snapshot_date AND r.account_id = u.account_id AND r."user" = u.name AND NOT r.is_root
LEFT JOIN admin a ON a.snapshot_date = u.snapshot_date AND a.account_id = u.account_id AND a.name = u.name;

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
       list_filter([email_shaped(u.primary_email)], lambda e: e IS NOT NULL)::VARCHAR[] AS emails,
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

CREATE OR REPLACE VIEW accounts_entra AS
WITH user_roles AS (
    SELECT snapshot_date, principal_id, list_sort(list_distinct(list(role_name))) AS role_names
    FROM raw_entra_role_assignments
    WHERE principal_type = 'user'
    GROUP BY ALL
)
SELECT u.snapshot_date::DATE AS snapshot_date,
       'entra'::VARCHAR AS system,
       lower(u.user_principal_name)::VARCHAR AS account_id,
       lower(coalesce(u.mail, u.user_principal_name))::VARCHAR AS email,
       -- `mail` is null for many users (Graph, List users); the userPrincipalName is often the e-mail address
       list_filter([email_shaped(u.mail), email_shaped(u.user_principal_name)], lambda e: e IS NOT NULL)::VARCHAR[]
           AS emails,
       u.display_name::VARCHAR AS display_name,
       u.account_enabled::BOOLEAN AS is_active,
       (ur.role_names IS NOT NULL)::BOOLEAN AS is_privileged,
       coalesce(ur.role_names, [])::VARCHAR[] AS privileges,
       d.is_mfa_registered::BOOLEAN AS mfa_enabled,
       coalesce(u.last_successful_sign_in_at,
                greatest(u.last_sign_in_at, u.last_non_interactive_sign_in_at))::TIMESTAMP AS last_activity,
       u.created_at::TIMESTAMP AS created_at,
       ('https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/'
        || u.id)::VARCHAR AS resource_url,
       'entra.users'::VARCHAR AS dataset
FROM raw_entra_users u
LEFT JOIN user_roles ur ON ur.snapshot_date = u.snapshot_date AND ur.principal_id = u.id
LEFT JOIN raw_entra_user_registration_details d ON d.snapshot_date = u.snapshot_date AND d.id = u.id;

CREATE OR REPLACE VIEW accounts_github AS
SELECT m.snapshot_date::DATE AS snapshot_date,
       'github'::VARCHAR AS system,
       lower(m.login)::VARCHAR AS account_id,
       lower(coalesce(m.verified_domain_emails[1], m.email))::VARCHAR AS email,
       -- verified company-domain e-mails first, then the public profile e-mail
       list_filter(list_transform(list_concat(coalesce(m.verified_domain_emails, []), [m.email]),
                                  lambda e: email_shaped(e)), lambda e: e IS NOT NULL)::VARCHAR[]
           AS emails,
       coalesce(m.name, m.login)::VARCHAR AS display_name,
       TRUE AS is_active,
       (m.role = 'ADMIN')::BOOLEAN AS is_privileged,
       (CASE WHEN m.role = 'ADMIN' THEN ['owner'] ELSE [] END)::VARCHAR[] AS privileges,
       m.two_factor_enabled::BOOLEAN AS mfa_enabled,
       NULL::TIMESTAMP AS last_activity,
       m.created_at::TIMESTAMP AS created_at,
       (regexp_replace(m.url, '/[^/]+$', '') || '/orgs/' || m.org || '/people/' || m.login)::VARCHAR AS resource_url,
       'github.members'::VARCHAR AS dataset
FROM raw_github_members m;
