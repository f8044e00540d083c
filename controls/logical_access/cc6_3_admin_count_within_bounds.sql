WITH bounds AS (SELECT b.system, b.min, b.max FROM (SELECT unnest($admin_bounds) AS b)),
counts AS (
    SELECT system, any_value(dataset) AS dataset,
           count(*) FILTER (WHERE is_active AND is_privileged) AS admins,
           -- accounts whose state or privilege the system did not report: each may be one more admin
           count(*) FILTER (WHERE is_active IS NOT FALSE AND is_privileged IS NOT FALSE
                            AND (is_active IS NULL OR is_privileged IS NULL)) AS undetermined,
           list(account_id ORDER BY account_id) FILTER (WHERE is_active AND is_privileged) AS names
    -- IAM Identity Center: permission-set assignments are not collected, its privilege is unknown
    FROM resolved_accounts WHERE snapshot_date = $snapshot_date AND system <> 'aws_identity_center'
    GROUP BY system
)
SELECT counts.system AS resource_id, counts.system || ' administrators' AS resource_name, NULL AS resource_url,
       CASE WHEN bounds.system IS NULL THEN 'pass'
            WHEN admins > bounds.max OR admins + undetermined < bounds.min THEN 'fail'
            WHEN admins < bounds.min OR admins + undetermined > bounds.max THEN 'unknown'
            ELSE 'pass' END AS status,
       admins || ' active administrator(s)'
           || CASE WHEN undetermined > 0 THEN ' and ' || undetermined || ' account(s) whose state or role '
                   || counts.system || ' did not report' ELSE '' END
           || coalesce(' (bounds ' || bounds.min || '-' || bounds.max || ')', ' (no bounds configured)')
           || coalesce(': ' || array_to_string(names[1:10], ', '), '') AS reason,
       CASE WHEN admins > bounds.max THEN 'too_many' WHEN admins + undetermined < bounds.min THEN 'too_few' END
           AS failure,
       counts.dataset
FROM counts LEFT JOIN bounds ON bounds.system = counts.system
