SELECT account_id AS resource_id,
       account_id || ' password policy' AS resource_name,
       'https://console.aws.amazon.com/iam/home#/account_settings' AS resource_url,
       CASE WHEN policy_set IS NULL THEN 'unknown'
            WHEN minimum_password_length < $min_password_length OR NOT require_symbols OR NOT require_numbers
                 OR NOT require_uppercase_characters OR NOT require_lowercase_characters OR NOT policy_set
            THEN 'fail'
            WHEN minimum_password_length IS NULL OR require_symbols IS NULL OR require_numbers IS NULL
                 OR require_uppercase_characters IS NULL OR require_lowercase_characters IS NULL
            THEN 'unknown'
            WHEN policy_set AND minimum_password_length >= $min_password_length AND require_symbols
                 AND require_numbers AND require_uppercase_characters AND require_lowercase_characters
            THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN policy_set IS NULL THEN 'password policy not read'
            WHEN NOT policy_set THEN 'no password policy set (IAM default: 8 characters, no complexity)'
            WHEN minimum_password_length < $min_password_length
            THEN 'minimum length ' || minimum_password_length || ' < ' || $min_password_length
            WHEN NOT (require_symbols AND require_numbers AND require_uppercase_characters
                      AND require_lowercase_characters)
            THEN 'complexity not fully required (symbols ' || coalesce(require_symbols::VARCHAR, 'not said')
                 || ', numbers ' || coalesce(require_numbers::VARCHAR, 'not said')
                 || ', upper ' || coalesce(require_uppercase_characters::VARCHAR, 'not said')
                 || ', lower ' || coalesce(require_lowercase_characters::VARCHAR, 'not said') || ')'
            WHEN minimum_password_length IS NULL OR require_symbols IS NULL OR require_numbers IS NULL
                 OR require_uppercase_characters IS NULL OR require_lowercase_characters IS NULL
            THEN 'the password policy did not say its minimum length or every character class requirement'
            ELSE 'minimum length ' || minimum_password_length || ', all character classes required' END AS reason,
       CASE WHEN NOT policy_set THEN 'no_policy'
            WHEN minimum_password_length < $min_password_length THEN 'too_short'
            WHEN NOT (require_symbols AND require_numbers AND require_uppercase_characters
                      AND require_lowercase_characters) THEN 'no_complexity' END AS failure,
       minimum_password_length,
       password_reuse_prevention
FROM raw_aws_password_policy
WHERE snapshot_date = $snapshot_date
