-- Copy jobs of every snapshot up to the day count (the API's history is short and each day reads a few days), one
-- row per protected resource. Offsite: the destination vault's region or account differs from the job's own.
WITH copies AS (
    SELECT DISTINCT account_id, region, copy_job_id, resource_arn, state, completion_date, destination_region,
           destination_account_id,
           destination_region IS NOT NULL AND destination_account_id IS NOT NULL
             AND (destination_region <> region OR destination_account_id <> account_id) AS offsite
    FROM raw_aws_copy_jobs
    WHERE snapshot_date <= $snapshot_date
), per_resource AS (
    SELECT account_id, resource_arn,
           max(completion_date) FILTER (WHERE state = 'COMPLETED' AND offsite) AS copied_offsite,
           max(completion_date) FILTER (WHERE state = 'COMPLETED' AND NOT offsite) AS copied_locally,
           count(*) FILTER (WHERE state IN ('FAILED', 'PARTIAL')) AS failed_copies,
           count(*) FILTER (WHERE destination_region IS NULL OR destination_account_id IS NULL) AS unreadable
    FROM copies
    GROUP BY ALL
), judged AS (
    SELECT p.account_id, p.region, p.resource_arn, p.resource_name, p.resource_type, c.copied_offsite,
           c.copied_locally, coalesce(c.failed_copies, 0) AS failed_copies, coalesce(c.unreadable, 0) AS unreadable,
           c.copied_offsite >= $snapshot_date::TIMESTAMP - to_hours(CAST($offsite_copy_hours AS INTEGER)) AS recent
    FROM raw_aws_protected_resources p
    LEFT JOIN per_resource c ON c.account_id = p.account_id AND c.resource_arn = p.resource_arn
    WHERE p.snapshot_date = $snapshot_date
)
SELECT resource_arn AS resource_id,
       coalesce(resource_name, resource_arn) AS resource_name,
       'https://console.aws.amazon.com/backup/home?region=' || region || '#/jobs/copy' AS resource_url,
       CASE WHEN recent THEN 'pass'
            WHEN copied_offsite IS NULL AND unreadable > 0 THEN 'unknown'
            ELSE 'fail' END AS status,
       CASE WHEN recent
            THEN 'copied to another region or account at ' || strftime(copied_offsite, '%Y-%m-%d %H:%M') || ' UTC'
            WHEN copied_offsite IS NULL AND unreadable > 0
            THEN unreadable || ' copy job(s) without a readable destination vault ARN; none known to be offsite'
            WHEN copied_offsite IS NOT NULL
            THEN 'last copy to another region or account ' || strftime(copied_offsite, '%Y-%m-%d %H:%M')
                 || ' UTC, older than ' || $offsite_copy_hours || ' hours'
            ELSE 'no completed copy to another region or account in the copy jobs collected'
                 || CASE WHEN copied_locally IS NOT NULL
                         THEN '; copies stay in the same region and account (last '
                              || strftime(copied_locally, '%Y-%m-%d %H:%M') || ' UTC)' ELSE '' END
                 || CASE WHEN failed_copies > 0 THEN '; ' || failed_copies || ' copy job(s) failed' ELSE '' END
       END AS reason,
       CASE WHEN recent THEN NULL
            WHEN copied_offsite IS NULL AND unreadable > 0 THEN NULL
            WHEN copied_offsite IS NOT NULL THEN 'offsite_copy_overdue'
            ELSE 'not_copied_offsite' END AS failure,
       account_id,
       resource_type,
       copied_offsite AS last_offsite_copy,
       failed_copies
FROM judged
