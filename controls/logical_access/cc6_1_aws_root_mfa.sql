SELECT s.account_id AS resource_id,
       s.account_id || ' root user' AS resource_name,
       'https://console.aws.amazon.com/iam/home#/security_credentials' AS resource_url,
       CASE WHEN NOT s.account_mfa_enabled OR r.mfa_active = false OR s.account_access_keys_present
                 OR r.access_key_1_active OR r.access_key_2_active THEN 'fail'
            WHEN s.account_mfa_enabled IS NULL OR s.account_access_keys_present IS NULL THEN 'unknown'
            ELSE 'pass' END AS status,
       CASE WHEN NOT s.account_mfa_enabled OR r.mfa_active = false THEN 'root user has no MFA device'
                 || CASE WHEN s.account_access_keys_present OR r.access_key_1_active OR r.access_key_2_active
                         THEN ' and has active access keys' ELSE '' END
            WHEN s.account_access_keys_present OR r.access_key_1_active OR r.access_key_2_active
            THEN 'root user has active access keys'
            WHEN s.account_mfa_enabled IS NULL THEN 'the account summary did not say whether root has MFA'
            WHEN s.account_access_keys_present IS NULL
            THEN 'the account summary did not say whether root has access keys'
            ELSE 'root user has MFA and no access keys' END AS reason,
       CASE WHEN NOT s.account_mfa_enabled OR r.mfa_active = false THEN 'root_without_mfa'
            WHEN s.account_access_keys_present OR r.access_key_1_active OR r.access_key_2_active
            THEN 'root_access_keys' END AS failure,
       r.password_last_used AS root_password_last_used
FROM raw_aws_account_summary s
LEFT JOIN raw_aws_credential_report r
       ON r.snapshot_date = s.snapshot_date AND r.account_id = s.account_id AND r.is_root
WHERE s.snapshot_date = $snapshot_date
