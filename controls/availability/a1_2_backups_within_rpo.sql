WITH last_completed AS (
    SELECT account_id, region, resource_arn, max(completion_date) AS completed
    FROM raw_aws_backup_jobs
    WHERE snapshot_date = $snapshot_date AND state = 'COMPLETED'
    GROUP BY ALL
)
SELECT p.resource_arn AS resource_id,
       coalesce(p.resource_name, p.resource_arn) AS resource_name,
       'https://console.aws.amazon.com/backup/home?region=' || p.region || '#/resources' AS resource_url,
       CASE WHEN l.completed >= $snapshot_date::TIMESTAMP - to_hours(CAST($rpo_hours AS INTEGER))
            THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN l.completed IS NULL AND p.last_backup_time IS NULL
            THEN coalesce(p.resource_type, 'resource') || ': never backed up (no completed backup job, no last backup time)'
            WHEN l.completed IS NULL
            THEN coalesce(p.resource_type, 'resource') || ': no completed backup job in the days collected; AWS Backup lists '
                 || 'its last backup at ' || strftime(p.last_backup_time, '%Y-%m-%d %H:%M') || ' UTC'
            ELSE coalesce(p.resource_type, 'resource') || ': last completed backup ' || strftime(l.completed, '%Y-%m-%d %H:%M')
                 || ' UTC' || CASE WHEN l.completed < $snapshot_date::TIMESTAMP
                                         - to_hours(CAST($rpo_hours AS INTEGER))
                                   THEN ', older than the ' || $rpo_hours || '-hour RPO' ELSE '' END
       END AS reason,
       CASE WHEN l.completed IS NULL AND p.last_backup_time IS NULL THEN 'never_backed_up'
            WHEN l.completed IS NULL THEN 'rpo_exceeded'
            WHEN l.completed < $snapshot_date::TIMESTAMP - to_hours(CAST($rpo_hours AS INTEGER))
            THEN 'rpo_exceeded' END AS failure,
       p.account_id,
       p.resource_type,
       l.completed AS last_completed_backup
FROM raw_aws_protected_resources p
LEFT JOIN last_completed l
       ON l.account_id = p.account_id AND l.region = p.region AND l.resource_arn = p.resource_arn
WHERE p.snapshot_date = $snapshot_date
