WITH population AS (
    SELECT DISTINCT account_id, region, resource_type
    FROM raw_aws_protected_resources WHERE snapshot_date = $snapshot_date
), restores AS (
    SELECT DISTINCT account_id, resource_type, restore_job_id, completion_date
    FROM raw_aws_restore_jobs
    WHERE snapshot_date <= $snapshot_date AND status = 'COMPLETED'
), last_restore AS (
    SELECT p.account_id, p.region, p.resource_type, max(r.completion_date) AS restored
    FROM population p
    LEFT JOIN restores r ON r.account_id = p.account_id AND r.resource_type = p.resource_type
    GROUP BY ALL
)
SELECT account_id || '/' || region || '/' || coalesce(resource_type, '(type not reported)') AS resource_id,
       coalesce(resource_type, 'resource type not reported') || ' in ' || account_id || ' ' || region
         AS resource_name,
       'https://console.aws.amazon.com/backup/home?region=' || region || '#/jobs/restore' AS resource_url,
       CASE WHEN restored >= $snapshot_date::TIMESTAMP - to_days(CAST($restore_test_days AS INTEGER))
            THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN restored IS NULL THEN 'no completed restore test on record'
            ELSE 'last completed restore ' || strftime(restored, '%Y-%m-%d')
                 || CASE WHEN restored < $snapshot_date::TIMESTAMP
                                         - to_days(CAST($restore_test_days AS INTEGER))
                         THEN ', more than ' || $restore_test_days || ' days ago' ELSE '' END
       END AS reason,
       CASE WHEN restored IS NULL THEN 'never_tested'
            WHEN restored < $snapshot_date::TIMESTAMP - to_days(CAST($restore_test_days AS INTEGER))
            THEN 'test_overdue' END AS failure,
       restored AS last_completed_restore
FROM last_restore
