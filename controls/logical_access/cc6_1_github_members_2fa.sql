SELECT lower(login) AS resource_id,
       coalesce(name, login) AS resource_name,
       url AS resource_url,
       CASE WHEN two_factor_enabled IS NULL THEN 'unknown'
            WHEN two_factor_enabled THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN two_factor_enabled IS NULL
            THEN 'GitHub did not show the 2FA state (members without 2FA are listed to owners only)'
            WHEN two_factor_enabled THEN 'two-factor authentication enabled'
            ELSE 'two-factor authentication not enabled ('
                 || CASE role WHEN 'ADMIN' THEN 'organisation owner' WHEN 'MEMBER' THEN 'member'
                         ELSE 'role not shown' END || ')' END AS reason,
       CASE WHEN NOT two_factor_enabled AND role = 'ADMIN' THEN 'owner_without_2fa'
            WHEN NOT two_factor_enabled THEN 'member_without_2fa' END AS failure,
       role,
       verified_domain_emails
FROM raw_github_members
WHERE snapshot_date = $snapshot_date
