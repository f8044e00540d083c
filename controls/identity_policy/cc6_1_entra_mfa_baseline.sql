-- One row per tenant: security defaults on, or (they are mutually exclusive) a Conditional Access baseline: an
-- enforced policy requiring MFA of all users on every sign-in, excluding nobody. Both off: no baseline.
WITH tenants AS (
    SELECT tenant_id, bool_or(is_enabled) AS defaults_on, bool_and(is_enabled IS NULL) AS defaults_unreported
    FROM raw_entra_security_defaults
    WHERE snapshot_date = $snapshot_date
    GROUP BY tenant_id
), unreadable AS (
    SELECT tenant_id, any_value(unreadable_reason) AS reason
    FROM raw_entra_conditional_access_policies
    WHERE snapshot_date = $snapshot_date AND unreadable_reason IS NOT NULL
    GROUP BY tenant_id
), baseline AS (
    SELECT tenant_id, list(display_name ORDER BY display_name) AS policies
    FROM raw_entra_conditional_access_policies
    WHERE snapshot_date = $snapshot_date AND id IS NOT NULL AND all_users AND len(mfa_gaps) = 0
    GROUP BY tenant_id
)
SELECT t.tenant_id AS resource_id,
       'Microsoft Entra tenant ' || t.tenant_id AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_IAM/TenantOverview.ReactView' AS resource_url,
       CASE WHEN t.defaults_on OR len(coalesce(b.policies, [])) > 0 THEN 'pass'
            WHEN t.defaults_unreported OR u.reason IS NOT NULL THEN 'unknown'
            ELSE 'fail' END AS status,
       CASE WHEN t.defaults_on THEN 'security defaults are enabled'
            WHEN len(coalesce(b.policies, [])) > 0
                 THEN 'Conditional Access baseline: ' || array_to_string(b.policies, ', ')
                      || ' requires MFA of all users (security defaults off, as they must be with Conditional Access)'
            WHEN t.defaults_unreported THEN 'Graph did not report whether security defaults are enabled'
            WHEN u.reason IS NOT NULL
                 THEN 'security defaults are off and Conditional Access could not be read: ' || u.reason
            ELSE 'no baseline: security defaults are off and no enforced Conditional Access policy requires MFA of '
                 || 'all users' END AS reason,
       CASE WHEN NOT coalesce(t.defaults_on, false) AND NOT t.defaults_unreported AND u.reason IS NULL
                 AND len(coalesce(b.policies, [])) = 0 THEN 'no_baseline' END AS failure,
       t.defaults_on AS security_defaults_enabled,
       b.policies AS baseline_policies
FROM tenants t
LEFT JOIN unreadable u USING (tenant_id)
LEFT JOIN baseline b USING (tenant_id)
