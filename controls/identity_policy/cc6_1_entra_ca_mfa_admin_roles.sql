-- One row per directory role a user or group holds (Global Administrator always): an enforced Conditional Access
-- policy naming the role's template id (includeRoles) or All users, not excluding the role, requires MFA (or an
-- authentication strength) on every sign-in and excludes no user or group (an excluded admin escapes it).
WITH tenants AS (
    SELECT DISTINCT tenant_id FROM raw_entra_security_defaults WHERE snapshot_date = $snapshot_date
), roles AS (
    SELECT tenant_id, role_id, max(role_name) AS role_name
    FROM (
        SELECT tenant_id, coalesce(role_template_id, role_definition_id) AS role_id,
               coalesce(role_name, role_template_id, role_definition_id) AS role_name
        FROM raw_entra_role_assignments
        WHERE snapshot_date = $snapshot_date AND principal_type IN ('user', 'group')
        UNION ALL  -- judged even when nobody holds it
        SELECT tenant_id, '62e90394-69f5-4237-9190-012177145e10', 'Global Administrator' FROM tenants
    )
    GROUP BY tenant_id, role_id
), unreadable AS (
    SELECT tenant_id, any_value(unreadable_reason) AS reason
    FROM raw_entra_conditional_access_policies
    WHERE snapshot_date = $snapshot_date AND unreadable_reason IS NOT NULL
    GROUP BY tenant_id
), coverage AS (
    SELECT r.tenant_id, r.role_id, p.display_name,
           list_concat(p.mfa_gaps, CASE WHEN list_contains(p.exclude_roles, r.role_id)
                                        THEN ['excludes this role'] ELSE [] END) AS gaps
    FROM roles r
    JOIN raw_entra_conditional_access_policies p
      ON p.snapshot_date = $snapshot_date AND p.tenant_id = r.tenant_id AND p.id IS NOT NULL
     AND (p.all_users OR list_contains(p.include_roles, r.role_id))
), judged AS (
    SELECT tenant_id, role_id,
           list(display_name ORDER BY display_name) FILTER (WHERE len(gaps) = 0) AS qualifying,
           list(display_name || ': ' || array_to_string(gaps, '; ') ORDER BY display_name)
             FILTER (WHERE len(gaps) > 0) AS hollow
    FROM coverage
    GROUP BY tenant_id, role_id
)
SELECT r.tenant_id || '/role/' || r.role_id AS resource_id,
       r.role_name AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_IAM/RoleMenuBlade/~/RoleMembers/objectId/' || r.role_id
         AS resource_url,
       CASE WHEN u.reason IS NOT NULL THEN 'unknown'
            WHEN len(coalesce(j.qualifying, [])) > 0 THEN 'pass' ELSE 'fail' END AS status,
       r.role_name || ': ' || CASE
            WHEN u.reason IS NOT NULL THEN 'Conditional Access could not be read: ' || u.reason
            WHEN len(coalesce(j.qualifying, [])) > 0 THEN 'MFA required by ' || array_to_string(j.qualifying, ', ')
            WHEN len(coalesce(j.hollow, [])) > 0
                 THEN 'no enforced policy requires MFA of this role on every sign-in: '
                      || array_to_string(j.hollow, ' | ')
            ELSE 'no Conditional Access policy includes this role or all users' END AS reason,
       CASE WHEN u.reason IS NULL AND len(coalesce(j.qualifying, [])) = 0
            THEN CASE WHEN len(coalesce(j.hollow, [])) > 0 THEN 'hollow_policy' ELSE 'no_policy' END END AS failure,
       r.role_id AS role_template_id,
       j.qualifying AS qualifying_policies,
       j.hollow AS hollow_policies
FROM roles r
LEFT JOIN unreadable u USING (tenant_id)
LEFT JOIN judged j USING (tenant_id, role_id)
