-- the ARN names account and region; DescribeDBInstances may omit it, the identifier is unique per both
SELECT coalesce(db_instance_arn, 'arn:aws:rds:' || region || ':' || account_id || ':db:' || db_instance_identifier)
         AS resource_id,
       db_instance_identifier AS resource_name,
       'https://console.aws.amazon.com/rds/home?region=' || region || '#database:id='
         || db_instance_identifier AS resource_url,
       CASE WHEN backup_retention_period IS NULL OR storage_encrypted IS NULL THEN 'unknown'
            WHEN backup_retention_period >= $min_backup_retention_days AND storage_encrypted THEN 'pass'
            ELSE 'fail' END AS status,
       coalesce(engine, 'engine not reported') || ': backups kept '
         || coalesce(backup_retention_period::VARCHAR, '?') || ' days'
         || CASE WHEN backup_retention_period = 0 THEN ' (automated backups off)' ELSE '' END
         || ', storage ' || CASE WHEN storage_encrypted THEN 'encrypted' WHEN NOT storage_encrypted
                                 THEN 'NOT encrypted' ELSE 'encryption not reported' END AS reason,
       CASE WHEN backup_retention_period < $min_backup_retention_days THEN 'retention_too_short'
            WHEN NOT storage_encrypted THEN 'unencrypted' END AS failure,
       backup_retention_period,
       storage_encrypted,
       publicly_accessible
FROM raw_aws_rds_instances
WHERE snapshot_date = $snapshot_date
