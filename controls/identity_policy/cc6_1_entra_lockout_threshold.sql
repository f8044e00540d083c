-- One row per tenant: Entra smart lockout locks an account after at most $max_lockout_threshold failed sign-ins.
-- Without a "Password Rule Settings" object Microsoft's defaults apply (documented: 10 failed attempts and a 60 s
-- lockout in the public and 21Vianet clouds, 3 attempts in US Government), which meet any threshold of 10 or more.
SELECT tenant_id AS resource_id,
       'Microsoft Entra tenant ' || tenant_id AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_IAM/AuthenticationMethodsMenuBlade/~/PasswordProtection'
         AS resource_url,
       CASE WHEN defaults_apply THEN CASE WHEN 10 <= $max_lockout_threshold THEN 'pass' ELSE 'fail' END
            WHEN defaults_apply IS NULL OR lockout_threshold IS NULL THEN 'unknown'
            WHEN lockout_threshold BETWEEN 1 AND $max_lockout_threshold THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN defaults_apply
                 THEN 'no Password Rule Settings object: Microsoft''s default smart lockout applies (10 failed '
                      || 'sign-ins, then 60 s, in the public cloud; 3 in US Government)'
            WHEN defaults_apply IS NULL THEN 'Graph did not say whether a Password Rule Settings object exists'
            WHEN lockout_threshold IS NULL THEN 'the Password Rule Settings object has no readable LockoutThreshold'
            ELSE 'smart lockout after ' || lockout_threshold || ' failed sign-ins (limit '
                 || $max_lockout_threshold || '), locked for ' || coalesce(lockout_duration_seconds::VARCHAR, '?')
                 || ' s; banned password check '
                 || CASE enable_banned_password_check WHEN true THEN 'on (' || banned_password_count || ' custom words)'
                         WHEN false THEN 'off' ELSE 'not reported' END
       END AS reason,
       CASE WHEN defaults_apply AND 10 > $max_lockout_threshold THEN 'threshold_too_high'
            WHEN NOT defaults_apply AND lockout_threshold IS NOT NULL
                 AND NOT lockout_threshold BETWEEN 1 AND $max_lockout_threshold THEN 'threshold_too_high' END
         AS failure,
       lockout_threshold,
       lockout_duration_seconds,
       defaults_apply,
       enable_banned_password_check
FROM raw_entra_password_rule_settings
WHERE snapshot_date = $snapshot_date
