SELECT account_key AS resource_id,
       coalesce(display_name, account_id) || ' (' || system || ')' AS resource_name,
       resource_url,
       CASE WHEN is_active IS NULL THEN 'unknown' WHEN is_active THEN 'fail' ELSE 'pass' END AS status,
       CASE WHEN is_active IS NULL
            THEN person_email || ' left on ' || person_end_date || '; ' || system || ' did not report whether the '
                 || 'account ' || account_id || ' is active'
            WHEN is_active
            THEN person_email || ' left on ' || person_end_date || '; the ' || system || ' account ' || account_id
                 || ' is still active ' || date_diff('day', person_end_date, $snapshot_date::DATE)
                 || ' days later'
            ELSE person_email || ' left on ' || person_end_date || '; the account is disabled' END AS reason,
       CASE WHEN is_active THEN 'active_after_leaving' END AS failure,
       dataset, system, person_end_date
FROM resolved_accounts
WHERE snapshot_date = $snapshot_date
  AND person_status = 'terminated'
  AND person_end_date < $snapshot_date::DATE - to_days($offboarding_days::INTEGER)
