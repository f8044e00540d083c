-- one row per account read (aws.regions lists each one): at least one trail (de-duplicated by TrailARN) that is
-- multi-region, logging, validates its log files and records management events, read and write
WITH accounts AS (
    SELECT DISTINCT account_id FROM raw_aws_regions WHERE snapshot_date = $snapshot_date
), trails AS (
    SELECT *,
           coalesce(name, trail_arn)
             || CASE WHEN NOT is_multi_region THEN ': single-region' ELSE '' END
             || CASE WHEN NOT is_logging THEN ': not logging' ELSE '' END
             || CASE WHEN NOT log_file_validation_enabled THEN ': log file validation off' ELSE '' END
             || CASE WHEN management_events IS NULL THEN ': records no management events'
                     WHEN management_events <> 'All' THEN ': management events ' || management_events || ' only'
                     ELSE '' END AS summary,
           is_multi_region AND is_logging AND log_file_validation_enabled
             AND coalesce(management_events = 'All', false) AS qualifies  -- NULL: no management event recorded
    FROM raw_aws_cloudtrail_trails
    WHERE snapshot_date = $snapshot_date
), judged AS (
    SELECT a.account_id,
           count(t.trail_arn) AS trails,
           list(t.name ORDER BY t.name) FILTER (WHERE t.qualifies) AS qualifying,
           list(t.summary ORDER BY t.summary) FILTER (WHERE t.trail_arn IS NOT NULL AND NOT coalesce(t.qualifies, false)) AS others,
           coalesce(bool_or(t.trail_arn IS NOT NULL AND t.qualifies IS NULL), false) AS undecided
    FROM accounts a
    LEFT JOIN trails t ON t.account_id = a.account_id
    GROUP BY a.account_id
)
SELECT account_id AS resource_id,
       'CloudTrail of ' || account_id AS resource_name,
       'https://console.aws.amazon.com/cloudtrail/home#/trails' AS resource_url,
       CASE WHEN len(qualifying) > 0 THEN 'pass' WHEN undecided THEN 'unknown' ELSE 'fail' END AS status,
       CASE WHEN len(qualifying) > 0
            THEN 'multi-region trail logging with file validation and all management events: '
                 || array_to_string(qualifying, ', ')
            WHEN trails = 0 THEN 'no trail in any region read'
            WHEN undecided THEN 'a trail''s status, validation or selectors were not reported: '
                 || array_to_string(others, '; ')
            ELSE 'no trail qualifies: ' || array_to_string(others, '; ') END AS reason,
       CASE WHEN len(qualifying) > 0 OR undecided THEN NULL
            WHEN trails = 0 THEN 'no_trail' ELSE 'no_qualifying_trail' END AS failure,
       trails
FROM judged
