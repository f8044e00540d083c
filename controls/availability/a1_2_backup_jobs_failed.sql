SELECT backup_job_id AS resource_id,
       coalesce(resource_name, resource_arn) || ' ' || strftime(creation_date, '%Y-%m-%d') AS resource_name,
       'https://console.aws.amazon.com/backup/home?region=' || region || '#/jobs/backup/details/'
         || backup_job_id AS resource_url,
       CASE WHEN state = 'COMPLETED' THEN 'pass'
            WHEN state IN ('FAILED', 'EXPIRED', 'ABORTED', 'PARTIAL') THEN 'fail' ELSE 'unknown' END AS status,
       coalesce(resource_type, 'resource') || ' backup ' || coalesce(lower(state), 'in a state AWS did not report')
         || CASE WHEN status_message IS NOT NULL THEN ': ' || status_message ELSE '' END AS reason,
       CASE WHEN state IN ('FAILED', 'EXPIRED', 'ABORTED', 'PARTIAL') THEN lower(state) END AS failure,
       resource_arn,
       creation_date,
       completion_date
FROM raw_aws_backup_jobs
WHERE snapshot_date = $snapshot_date
  -- a job AWS listed without its creation date is judged, not dropped
  AND (creation_date IS NULL
       OR creation_date >= $snapshot_date::TIMESTAMP - to_days(CAST($job_lookback_days AS INTEGER)))
