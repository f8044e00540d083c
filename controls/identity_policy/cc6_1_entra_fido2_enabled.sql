-- One row per tenant: the authentication-methods policy's Fido2 configuration (passkeys / FIDO2 security keys) is
-- enabled and targets someone (all_users or groups). A policy without a Fido2 configuration is unknown.
WITH tenants AS (
    SELECT DISTINCT tenant_id FROM raw_entra_security_defaults WHERE snapshot_date = $snapshot_date
), fido2 AS (
    SELECT tenant_id, any_value(state) AS state, any_value(include_target_ids) AS include_target_ids,
           any_value(exclude_target_ids) AS exclude_target_ids, any_value(policy_migration_state) AS migration
    FROM raw_entra_authentication_methods_policy
    WHERE snapshot_date = $snapshot_date AND lower(id) = 'fido2'
    GROUP BY tenant_id
)
SELECT t.tenant_id AS resource_id,
       'Microsoft Entra tenant ' || t.tenant_id AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_IAM/AuthenticationMethodsMenuBlade/~/AdminAuthMethods'
         AS resource_url,
       CASE WHEN f.tenant_id IS NULL OR f.state IS NULL THEN 'unknown'
            WHEN f.state = 'enabled' AND len(coalesce(f.include_target_ids, [])) > 0 THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN f.tenant_id IS NULL THEN 'the authentication-methods policy has no Fido2 configuration'
            WHEN f.state IS NULL THEN 'Graph did not report the Fido2 configuration''s state'
            WHEN f.state <> 'enabled' THEN 'passkeys (FIDO2) are ' || f.state || ' in the authentication-methods policy'
            WHEN len(coalesce(f.include_target_ids, [])) = 0
                 THEN 'passkeys (FIDO2) are enabled but target nobody (no include targets)'
            ELSE 'passkeys (FIDO2) enabled for ' || array_to_string(f.include_target_ids, ', ')
                 || CASE WHEN len(coalesce(f.exclude_target_ids, [])) > 0
                         THEN ', excluding ' || array_to_string(f.exclude_target_ids, ', ') ELSE '' END
       END AS reason,
       CASE WHEN f.state IS NOT NULL AND NOT (f.state = 'enabled' AND len(coalesce(f.include_target_ids, [])) > 0)
            THEN 'fido2_disabled' END AS failure,
       f.include_target_ids,
       f.exclude_target_ids,
       f.migration AS policy_migration_state
FROM tenants t
LEFT JOIN fido2 f USING (tenant_id)
