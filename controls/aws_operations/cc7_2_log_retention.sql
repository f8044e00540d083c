-- retentionInDays absent = the log group never expires its events: retained at least any number of days.
SELECT coalesce(log_group_arn, 'arn:aws:logs:' || region || ':' || account_id || ':log-group:' || log_group_name)
         AS resource_id,
       log_group_name || ' (' || account_id || ' ' || region || ')' AS resource_name,
       'https://console.aws.amazon.com/cloudwatch/home?region=' || region || '#logsV2:log-groups' AS resource_url,
       CASE WHEN retention_in_days IS NULL OR retention_in_days >= CAST($min_log_retention_days AS INTEGER)
            THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN retention_in_days IS NULL THEN 'no retention policy: events never expire'
            ELSE 'events kept ' || retention_in_days || ' days'
                 || CASE WHEN retention_in_days < CAST($min_log_retention_days AS INTEGER)
                         THEN ', fewer than ' || $min_log_retention_days ELSE '' END
       END AS reason,
       CASE WHEN retention_in_days < CAST($min_log_retention_days AS INTEGER) THEN 'retention_too_short' END AS failure,
       account_id,
       region,
       retention_in_days,
       stored_bytes
FROM raw_aws_log_groups
WHERE snapshot_date = $snapshot_date
