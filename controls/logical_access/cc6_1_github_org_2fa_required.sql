SELECT lower(org) AS resource_id,
       coalesce(name, org) AS resource_name,
       url AS resource_url,
       CASE WHEN two_factor_requirement_enabled IS NULL THEN 'unknown'
            WHEN two_factor_requirement_enabled THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN two_factor_requirement_enabled IS NULL
            THEN 'GitHub did not show the 2FA requirement (it is shown to organisation owners only)'
            WHEN two_factor_requirement_enabled THEN 'two-factor authentication is required for everyone'
            ELSE 'two-factor authentication is not required: members and outside collaborators may work '
                 || 'without it' END AS reason,
       CASE WHEN NOT two_factor_requirement_enabled THEN 'not_required' END AS failure
FROM raw_github_organization
WHERE snapshot_date = $snapshot_date
