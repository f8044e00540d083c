SELECT account_key AS resource_id,
       coalesce(display_name, account_id) || ' (' || system || ')' AS resource_name,
       resource_url,
       CASE WHEN approved_kind IS NOT NULL OR person_status = 'active' THEN 'pass'
            WHEN is_active IS NULL OR is_privileged IS NULL THEN 'unknown' ELSE 'fail' END AS status,
       CASE WHEN is_active IS NULL THEN system || ' did not report whether the account is active; '
            WHEN is_privileged IS NULL THEN system || ' did not report whether the account is privileged; '
            ELSE '' END
           || coalesce(nullif(array_to_string(privileges, ', '), ''), 'privileged') || '; owner '
           || coalesce(person_email || ' (' || person_status || ')', approved_owner || ' (approved '
                       || replace(approved_kind, '_', '-') || ')', 'unknown')
           || '; MFA ' || CASE mfa_enabled WHEN true THEN 'on' WHEN false THEN 'OFF' ELSE 'not reported' END
           AS reason,
       CASE WHEN approved_kind IS NOT NULL OR person_status = 'active' OR is_active IS NULL
                 OR is_privileged IS NULL THEN NULL
            WHEN person_status = 'terminated' THEN 'owner_left' ELSE 'no_owner' END AS failure,
       dataset, system, privileges, mfa_enabled
FROM resolved_accounts
-- an account whose state or privilege its system did not report stays in the population, unknown
-- IAM Identity Center is out of scope: its permission-set assignments are not collected
WHERE snapshot_date = $snapshot_date AND is_active IS NOT FALSE AND is_privileged IS NOT FALSE
  AND system <> 'aws_identity_center'
