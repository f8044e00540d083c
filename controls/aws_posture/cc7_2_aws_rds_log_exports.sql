-- one row per database of aws_rds_databases (warehouse/views/): an instance outside any cluster (its own properties),
-- an Aurora or Multi-AZ DB cluster (the cluster's: its member instances are judged through it), and an enabled region
-- that was not read (unknown)
-- the exported log that records connections and queries per engine family: PostgreSQL's `postgresql` log,
-- MySQL / MariaDB's `audit` (MariaDB Audit Plugin) or `general` log, Oracle's `audit`
WITH judged AS (
    SELECT *,
           CASE WHEN engine LIKE '%postgres%' THEN ['postgresql']
                WHEN engine LIKE '%mysql%' OR engine LIKE 'mariadb%' THEN ['audit', 'general']
                WHEN engine LIKE 'oracle%' THEN ['audit'] END AS access_logs
    FROM aws_rds_databases
    WHERE snapshot_date = $snapshot_date
)
SELECT resource_id, resource_name, resource_url,
       CASE WHEN unread_status IS NOT NULL OR access_logs IS NULL THEN 'unknown'
            WHEN len(list_intersect(coalesce(enabled_cloudwatch_logs_exports, []), access_logs)) > 0 THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN unread_status IS NOT NULL THEN 'region enabled (' || unread_status || ') but not read: add it to AWS_REGIONS'
            WHEN access_logs IS NULL
            THEN 'no log export known to record access for engine ' || coalesce(engine, '(not reported)')
            WHEN len(list_intersect(coalesce(enabled_cloudwatch_logs_exports, []), access_logs)) > 0
            THEN 'exports ' || array_to_string(enabled_cloudwatch_logs_exports, ', ') || ' to CloudWatch Logs'
            ELSE 'exports ' || coalesce(nullif(array_to_string(enabled_cloudwatch_logs_exports, ', '), ''), 'no log')
                 || ' to CloudWatch Logs, not the ' || array_to_string(access_logs, ' or ') || ' log that records access'
       END AS reason,
       CASE WHEN unread_status IS NULL AND access_logs IS NOT NULL
                 AND len(list_intersect(coalesce(enabled_cloudwatch_logs_exports, []), access_logs)) = 0
            THEN 'access_log_not_exported' END AS failure,
       kind, account_id, region, engine, enabled_cloudwatch_logs_exports
FROM judged
