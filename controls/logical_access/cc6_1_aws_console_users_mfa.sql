SELECT account_id || '/' || "user" AS resource_id,
       "user" AS resource_name,
       'https://console.aws.amazon.com/iam/home#/users/details/' || "user" AS resource_url,
       CASE WHEN password_enabled IS NULL OR mfa_active IS NULL THEN 'unknown'
            WHEN mfa_active THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN password_enabled IS NULL
            THEN 'the credential report did not say whether the user has a console password'
            WHEN mfa_active IS NULL THEN 'the credential report did not say whether MFA is active'
            WHEN mfa_active THEN 'console password with MFA'
            ELSE 'console password without MFA (last sign-in '
                 || coalesce(strftime(password_last_used, '%Y-%m-%d'), 'never') || ')' END AS reason,
       CASE WHEN password_enabled AND mfa_active = false THEN 'console_without_mfa' END AS failure,
       password_last_used
FROM raw_aws_credential_report
WHERE snapshot_date = $snapshot_date AND NOT is_root AND (password_enabled OR password_enabled IS NULL)
