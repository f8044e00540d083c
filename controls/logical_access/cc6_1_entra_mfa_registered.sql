WITH members AS (
    SELECT u.*, d.is_mfa_registered, d.methods_registered, d.id IS NOT NULL AS reported
    FROM raw_entra_users u
    LEFT JOIN raw_entra_user_registration_details d ON d.snapshot_date = u.snapshot_date AND d.id = u.id
    WHERE u.snapshot_date = $snapshot_date
      AND coalesce(u.account_enabled, true)
      AND coalesce(u.user_type, 'Member') = 'Member'
)
SELECT coalesce(lower(user_principal_name), id) AS resource_id,
       coalesce(display_name, user_principal_name, id) AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/'
         || id AS resource_url,
       CASE WHEN NOT reported OR is_mfa_registered IS NULL THEN 'unknown'
            WHEN is_mfa_registered THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN NOT reported THEN 'the registration report has no row for this user'
            WHEN is_mfa_registered IS NULL THEN 'the registration report did not say whether MFA is registered'
            WHEN is_mfa_registered THEN 'registered for MFA: '
                 || coalesce(nullif(array_to_string(methods_registered, ', '), ''), 'no method named')
            WHEN len(coalesce(methods_registered, [])) = 0
                 THEN 'enabled account not registered for MFA (no method)'
            ELSE 'enabled account not registered for MFA (only ' || array_to_string(methods_registered, ', ')
                 || ', which are not MFA methods)'
       END AS reason,
       CASE WHEN reported AND is_mfa_registered = false THEN 'not_registered' END AS failure,
       methods_registered,
       account_enabled,
       last_successful_sign_in_at
FROM members
