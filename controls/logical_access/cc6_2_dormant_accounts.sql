SELECT account_key AS resource_id,
       coalesce(display_name, account_id) || ' (' || system || ')' AS resource_name,
       resource_url,
       CASE WHEN approved_kind = 'break_glass' THEN 'pass'
            WHEN coalesce(last_activity, created_at) IS NULL THEN 'unknown'
            WHEN coalesce(last_activity, created_at) < $snapshot_date::TIMESTAMP - to_days($dormant_days::INTEGER)
            THEN CASE WHEN is_active IS NULL THEN 'unknown' ELSE 'fail' END ELSE 'pass' END AS status,
       CASE WHEN approved_kind = 'break_glass' THEN 'approved break-glass account: unused by design'
            WHEN coalesce(last_activity, created_at) IS NULL
                 THEN 'the system reports neither a last use nor a creation date'
            WHEN last_activity IS NULL THEN 'never used; created ' || strftime(created_at, '%Y-%m-%d')
            ELSE 'last used ' || strftime(last_activity, '%Y-%m-%d') END
         || CASE WHEN is_active IS NULL THEN '; ' || system || ' did not report whether the account is active'
                 ELSE '' END AS reason,
       CASE WHEN approved_kind IS DISTINCT FROM 'break_glass' AND is_active
             AND coalesce(last_activity, created_at) < $snapshot_date::TIMESTAMP - to_days($dormant_days::INTEGER)
            THEN 'dormant' END AS failure,
       dataset, system
FROM resolved_accounts
-- an account whose state its system did not report stays in the population (it may be active)
WHERE snapshot_date = $snapshot_date AND is_active IS NOT FALSE AND system NOT IN ('github', 'aws_identity_center')
