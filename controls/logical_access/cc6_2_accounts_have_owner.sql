SELECT account_key AS resource_id,
       coalesce(display_name, account_id) || ' (' || system || ')' AS resource_name,
       resource_url,
       CASE WHEN person_email IS NOT NULL OR approved_kind IS NOT NULL THEN 'pass'
            WHEN is_active IS NULL THEN 'unknown' ELSE 'fail' END AS status,
       CASE WHEN person_email IS NULL AND approved_kind IS NULL AND is_active IS NULL
                THEN system || ' did not report whether this account, which belongs to nobody, is active'
            WHEN approved_kind IS NOT NULL
                THEN 'approved ' || replace(approved_kind, '_', '-') || ' account owned by ' || approved_owner
            WHEN person_email IS NOT NULL THEN 'belongs to ' || person_email || ' (matched by ' || matched_by || ')'
            WHEN matched_email IS NOT NULL THEN 'no person in the HR roster has the email ' || matched_email
            ELSE 'the account shows no email and the identity map has no alias for it' END AS reason,
       CASE WHEN person_email IS NULL AND approved_kind IS NULL AND is_active THEN 'no_owner' END AS failure,
       dataset, system
FROM resolved_accounts
-- an account whose state its system did not report stays in the population (it may be active)
WHERE snapshot_date = $snapshot_date AND is_active IS NOT FALSE
