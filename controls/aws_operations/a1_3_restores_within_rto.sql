-- Each restore job created within the look-back, in its latest collected state (restore jobs of every snapshot up
-- to the day), judged against the RTO: CompletionDate - CreationDate. A job still pending or running counts from its
-- creation to the start of the snapshot day.
WITH latest AS (
    SELECT *
    FROM raw_aws_restore_jobs
    WHERE snapshot_date <= $snapshot_date
    QUALIFY row_number() OVER (PARTITION BY account_id, restore_job_id ORDER BY snapshot_date DESC) = 1
), judged AS (
    SELECT *,
           date_diff('second', creation_date, completion_date) / 3600.0 AS took_hours,
           date_diff('second', creation_date, $snapshot_date::TIMESTAMP) / 3600.0 AS open_hours,
           CAST($rto_hours AS DOUBLE) AS rto
    FROM latest
    WHERE creation_date IS NULL
       OR (creation_date >= $snapshot_date::TIMESTAMP - to_days(CAST($rto_lookback_days AS INTEGER))
           AND creation_date < $snapshot_date::TIMESTAMP)
)
SELECT restore_job_id AS resource_id,
       coalesce(resource_type, 'resource type not reported') || ' restore ' || restore_job_id || ' in ' || account_id
         || ' ' || region AS resource_name,
       'https://console.aws.amazon.com/backup/home?region=' || region || '#/jobs/restore/details/' || restore_job_id
         AS resource_url,
       CASE WHEN creation_date IS NULL THEN 'unknown'
            WHEN status = 'COMPLETED' AND completion_date IS NULL THEN 'unknown'
            WHEN status = 'COMPLETED' AND took_hours <= rto THEN 'pass'
            WHEN status = 'COMPLETED' THEN 'fail'
            WHEN status IN ('FAILED', 'ABORTED') THEN 'fail'
            WHEN status IN ('PENDING', 'RUNNING') AND open_hours > rto THEN 'fail'
            ELSE 'unknown' END AS status,
       CASE WHEN creation_date IS NULL THEN 'the restore job was listed without its creation date'
            WHEN status = 'COMPLETED' AND completion_date IS NULL
            THEN 'completed, but listed without its completion date: its duration is not known'
            WHEN status = 'COMPLETED'
            THEN 'restored in ' || round(took_hours, 1) || ' h (' || strftime(creation_date, '%Y-%m-%d %H:%M') || ' to '
                 || strftime(completion_date, '%Y-%m-%d %H:%M') || ' UTC)'
                 || CASE WHEN took_hours > rto THEN ', longer than the ' || $rto_hours || '-hour RTO' ELSE '' END
            WHEN status IN ('FAILED', 'ABORTED')
            THEN 'restore ' || lower(status) || coalesce(': ' || status_message, '') || '; a restore that did not '
                 || 'complete does not meet the RTO'
            WHEN status IN ('PENDING', 'RUNNING') AND open_hours > rto
            THEN lower(status) || ' for ' || round(open_hours, 1) || ' h since ' || strftime(creation_date, '%Y-%m-%d %H:%M')
                 || ' UTC: past the ' || $rto_hours || '-hour RTO already'
            WHEN status IN ('PENDING', 'RUNNING')
            THEN lower(status) || ' since ' || strftime(creation_date, '%Y-%m-%d %H:%M') || ' UTC (' || round(open_hours, 1)
                 || ' h): not finished, within the RTO so far'
            ELSE 'status ' || coalesce(status, 'not reported') || ': not a completed restore'
       END AS reason,
       CASE WHEN creation_date IS NULL THEN NULL
            WHEN status = 'COMPLETED' AND completion_date IS NOT NULL AND took_hours > rto THEN 'rto_exceeded'
            WHEN status IN ('FAILED', 'ABORTED') THEN 'restore_failed'
            WHEN status IN ('PENDING', 'RUNNING') AND open_hours > rto THEN 'rto_exceeded' END AS failure,
       account_id,
       region,
       resource_type,
       status AS job_status,
       round(took_hours, 2) AS restore_hours
FROM judged
