-- One row per tenant: an enforced Conditional Access policy requires MFA (or an authentication strength) of All
-- users, for every application, client and sign-in, excluding nobody (raw_entra_conditional_access_policies.mfa_gaps is empty).
WITH tenants AS (
    SELECT DISTINCT tenant_id FROM raw_entra_security_defaults WHERE snapshot_date = $snapshot_date
), unreadable AS (
    SELECT tenant_id, any_value(unreadable_reason) AS reason
    FROM raw_entra_conditional_access_policies
    WHERE snapshot_date = $snapshot_date AND unreadable_reason IS NOT NULL
    GROUP BY tenant_id
), candidates AS (
    SELECT tenant_id,
           list(display_name ORDER BY display_name) FILTER (WHERE len(mfa_gaps) = 0) AS qualifying,
           list(display_name || ': ' || array_to_string(mfa_gaps, '; ') ORDER BY display_name)
             FILTER (WHERE len(mfa_gaps) > 0) AS hollow
    FROM raw_entra_conditional_access_policies
    WHERE snapshot_date = $snapshot_date AND id IS NOT NULL AND all_users
    GROUP BY tenant_id
)
SELECT t.tenant_id AS resource_id,
       'Microsoft Entra tenant ' || t.tenant_id AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_ConditionalAccess/ConditionalAccessBlade/~/Policies'
         AS resource_url,
       CASE WHEN u.reason IS NOT NULL THEN 'unknown'
            WHEN len(coalesce(c.qualifying, [])) > 0 THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN u.reason IS NOT NULL THEN 'Conditional Access could not be read: ' || u.reason
            WHEN len(coalesce(c.qualifying, [])) > 0
                 THEN 'MFA required for all users by ' || array_to_string(c.qualifying, ', ')
            WHEN len(coalesce(c.hollow, [])) > 0
                 THEN 'no enforced policy requires MFA of all users on every sign-in: '
                      || array_to_string(c.hollow, ' | ')
            ELSE 'no Conditional Access policy includes all users' END AS reason,
       CASE WHEN u.reason IS NULL AND len(coalesce(c.qualifying, [])) = 0
            THEN CASE WHEN len(coalesce(c.hollow, [])) > 0 THEN 'hollow_policy' ELSE 'no_policy' END END AS failure,
       c.qualifying AS qualifying_policies,
       c.hollow AS hollow_policies
FROM tenants t
LEFT JOIN unreadable u USING (tenant_id)
LEFT JOIN candidates c USING (tenant_id)
