WITH admins AS (
    SELECT u.*, a.privileges,
           CASE WHEN u.is_admin THEN 'super admin' WHEN u.is_delegated_admin THEN 'delegated admin'
                ELSE 'admin (' || coalesce(nullif(array_to_string(a.privileges, ', '), ''), 'an admin role')
                     || ')' END AS admin_kind
    FROM accounts_google_workspace a
    JOIN raw_google_workspace_users u
      ON u.snapshot_date = a.snapshot_date AND lower(u.primary_email) = a.account_id
    WHERE a.snapshot_date = $snapshot_date AND a.is_privileged AND a.is_active
)
SELECT lower(primary_email) AS resource_id,
       coalesce(full_name, primary_email) AS resource_name,
       'https://admin.google.com/ac/users/' || id AS resource_url,
       CASE WHEN is_enrolled_in_2sv = false OR is_enforced_in_2sv = false THEN 'fail'
            WHEN is_enrolled_in_2sv IS NULL OR is_enforced_in_2sv IS NULL THEN 'unknown'
            ELSE 'pass' END AS status,
       CASE WHEN is_enrolled_in_2sv = false THEN admin_kind || ' not enrolled in 2-Step Verification'
            WHEN is_enforced_in_2sv = false
                 THEN admin_kind || ' enrolled in 2-Step Verification but not enforced (can turn it off)'
            WHEN is_enrolled_in_2sv IS NULL OR is_enforced_in_2sv IS NULL
                 THEN 'Google did not report 2-Step Verification enrolment or enforcement'
            ELSE admin_kind || ' enrolled in and enforced to use 2-Step Verification' END AS reason,
       CASE WHEN is_enrolled_in_2sv = false THEN 'not_enrolled'
            WHEN is_enforced_in_2sv = false THEN 'not_enforced' END AS failure,
       admin_kind,
       privileges,
       org_unit_path,
       in_scope
FROM admins
