-- One row per tenant: legacy authentication (clientAppTypes exchangeActiveSync and other: POP, IMAP, SMTP AUTH, older
-- Office clients, which cannot do MFA) is blocked for all users and applications by an enforced Conditional Access
-- policy excluding nobody, or by security defaults (which block legacy authentication).
WITH tenants AS (
    SELECT tenant_id, bool_or(is_enabled) AS defaults_on
    FROM raw_entra_security_defaults
    WHERE snapshot_date = $snapshot_date
    GROUP BY tenant_id
), unreadable AS (
    SELECT tenant_id, any_value(unreadable_reason) AS reason
    FROM raw_entra_conditional_access_policies
    WHERE snapshot_date = $snapshot_date AND unreadable_reason IS NOT NULL
    GROUP BY tenant_id
), blocking AS (
    SELECT tenant_id, display_name,
           list_concat(
               CASE WHEN enforced THEN [] ELSE ['state ' || coalesce(state, 'not reported')] END,
               CASE WHEN all_applications THEN [] ELSE ['not every application'] END,
               CASE WHEN list_contains(client_app_types, 'all')
                         OR (list_contains(client_app_types, 'exchangeActiveSync')
                             AND list_contains(client_app_types, 'other')) THEN []
                    ELSE ['client apps ' || array_to_string(client_app_types, ', ')
                          || ' (legacy is exchangeActiveSync and other)'] END,
               CASE WHEN len(narrowing_conditions) = 0 THEN []
                    ELSE ['only some sign-ins (' || array_to_string(narrowing_conditions, ', ') || ')'] END,
               CASE WHEN len(excluded_principals) = 0 THEN []
                    ELSE ['excludes ' || array_to_string(excluded_principals, ', ')] END
           ) AS gaps
    FROM raw_entra_conditional_access_policies
    WHERE snapshot_date = $snapshot_date AND id IS NOT NULL AND all_users AND blocks
), judged AS (
    SELECT tenant_id,
           list(display_name ORDER BY display_name) FILTER (WHERE len(gaps) = 0) AS qualifying,
           list(display_name || ': ' || array_to_string(gaps, '; ') ORDER BY display_name)
             FILTER (WHERE len(gaps) > 0) AS partial
    FROM blocking
    GROUP BY tenant_id
)
SELECT t.tenant_id AS resource_id,
       'Microsoft Entra tenant ' || t.tenant_id AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_ConditionalAccess/ConditionalAccessBlade/~/Policies'
         AS resource_url,
       CASE WHEN t.defaults_on OR len(coalesce(j.qualifying, [])) > 0 THEN 'pass'
            WHEN u.reason IS NOT NULL OR t.defaults_on IS NULL THEN 'unknown'
            ELSE 'fail' END AS status,
       CASE WHEN len(coalesce(j.qualifying, [])) > 0
                 THEN 'legacy authentication blocked by ' || array_to_string(j.qualifying, ', ')
            WHEN t.defaults_on THEN 'security defaults are enabled: they block legacy authentication'
            WHEN u.reason IS NOT NULL THEN 'Conditional Access could not be read: ' || u.reason
            WHEN t.defaults_on IS NULL THEN 'Graph did not report whether security defaults are enabled'
            WHEN len(coalesce(j.partial, [])) > 0
                 THEN 'no enforced policy blocks legacy authentication for everyone: '
                      || array_to_string(j.partial, ' | ')
            ELSE 'no Conditional Access policy blocks legacy authentication and security defaults are off'
       END AS reason,
       CASE WHEN NOT (t.defaults_on OR len(coalesce(j.qualifying, [])) > 0) AND u.reason IS NULL
                 AND t.defaults_on IS NOT NULL THEN 'legacy_auth_allowed' END AS failure,
       j.qualifying AS blocking_policies,
       t.defaults_on AS security_defaults_enabled
FROM tenants t
LEFT JOIN unreadable u USING (tenant_id)
LEFT JOIN judged j USING (tenant_id)
