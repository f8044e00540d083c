-- methodsRegistered values (Graph: userRegistrationDetails "such as mobilePhone, email, fido2"; the
-- usageAuthMethod enum) that are phishing-resistant: passkeys (FIDO2, device-bound or synced) and platform
-- credentials (Windows Hello for Business, macOS Secure Enclave key)
WITH admins AS (
    SELECT a.account_id, a.display_name, a.resource_url, a.privileges AS role_names, u.user_principal_name,
           d.is_mfa_registered, coalesce(d.methods_registered, []) AS methods_registered,
           d.id IS NOT NULL AS reported,
           list_filter(coalesce(d.methods_registered, []), lambda m: m IN ('fido2', 'fido', 'fido2SecurityKey',
               'passKeyDeviceBound', 'passKeyDeviceBoundAuthenticator', 'passKeyDeviceBoundWindowsHello',
               'passKeySynced', 'windowsHelloForBusiness', 'macOsSecureEnclaveKey')) AS phishing_resistant
    FROM accounts_entra a
    JOIN raw_entra_users u
      ON u.snapshot_date = a.snapshot_date AND coalesce(lower(u.user_principal_name), u.id) = a.account_id
    LEFT JOIN raw_entra_user_registration_details d ON d.snapshot_date = u.snapshot_date AND d.id = u.id
    WHERE a.snapshot_date = $snapshot_date AND a.is_active AND a.is_privileged
), role_groups AS (
    SELECT principal_id, any_value(principal_display_name) AS display_name,
           list_sort(list_distinct(list(coalesce(role_name, role_template_id, role_definition_id,
                                                 'unnamed directory role')))) AS role_names
    FROM raw_entra_role_assignments
    WHERE snapshot_date = $snapshot_date AND principal_type = 'group'
    GROUP BY principal_id
)
SELECT account_id AS resource_id,
       coalesce(display_name, user_principal_name, account_id) AS resource_name,
       resource_url,
       CASE WHEN NOT reported OR is_mfa_registered IS NULL THEN 'unknown'
            WHEN is_mfa_registered THEN 'pass' ELSE 'fail' END AS status,
       array_to_string(role_names, ', ') || ': ' || CASE
            WHEN NOT reported THEN 'the registration report has no row for this user'
            WHEN is_mfa_registered IS NULL THEN 'the registration report did not say whether MFA is registered'
            WHEN NOT is_mfa_registered THEN 'not registered for MFA'
            WHEN len(phishing_resistant) > 0
                 THEN 'registered for MFA with a phishing-resistant method (' ||
                      array_to_string(phishing_resistant, ', ') || ')'
            WHEN len(methods_registered) = 0
                 THEN 'registered for MFA, but the report names no method; no phishing-resistant method seen'
            ELSE 'registered for MFA with phishable methods only (' || array_to_string(methods_registered, ', ')
                 || '); no phishing-resistant method'
       END AS reason,
       CASE WHEN reported AND is_mfa_registered = false THEN 'not_registered' END AS failure,
       role_names,
       methods_registered,
       len(phishing_resistant) > 0 AS phishing_resistant_registered
FROM admins
UNION ALL
SELECT 'group:' || principal_id AS resource_id,
       coalesce(display_name, principal_id) || ' (role-assignable group)' AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_IAM/GroupDetailsMenuBlade/~/Overview/groupId/'
         || principal_id AS resource_url,
       'unknown' AS status,
       array_to_string(role_names, ', ') || ': held by the group ' || coalesce(display_name, principal_id)
         || '; its members hold the role, but group members are not collected, so their MFA is not judged'
         AS reason,
       NULL AS failure,
       role_names,
       NULL::VARCHAR[] AS methods_registered,
       NULL::BOOLEAN AS phishing_resistant_registered
FROM role_groups
