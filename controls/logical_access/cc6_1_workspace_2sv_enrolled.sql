SELECT lower(primary_email) AS resource_id,
       coalesce(full_name, primary_email) AS resource_name,
       'https://admin.google.com/ac/users/' || id AS resource_url,
       CASE WHEN is_enrolled_in_2sv IS NULL THEN 'unknown'
            WHEN is_enrolled_in_2sv THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN is_enrolled_in_2sv IS NULL THEN 'Google did not report 2-Step Verification enrolment'
            WHEN is_enrolled_in_2sv THEN 'enrolled in 2-Step Verification'
                 || CASE WHEN is_enforced_in_2sv THEN ' (enforced)' WHEN NOT is_enforced_in_2sv
                         THEN ' (not enforced)' ELSE ' (enforcement not reported)' END
            ELSE 'not enrolled in 2-Step Verification (' || coalesce(org_unit_path, 'unknown unit') || ')'
       END AS reason,
       CASE WHEN NOT is_enrolled_in_2sv THEN 'not_enrolled' END AS failure,
       org_unit_path,
       is_enforced_in_2sv,
       last_login_time
FROM raw_google_workspace_users
WHERE snapshot_date = $snapshot_date
  AND in_scope
  AND NOT coalesce(suspended, false)
  AND NOT coalesce(archived, false)
