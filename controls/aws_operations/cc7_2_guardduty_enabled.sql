-- Every region the account has enabled (aws.regions), whether or not AWS_REGIONS names it: a region not read is
-- unknown, never a pass. A region read has one row per detector, or one without a detector id (GuardDuty off).
WITH enabled AS (
    SELECT account_id, region, configured
    FROM raw_aws_regions
    WHERE snapshot_date = $snapshot_date AND opt_in_status IN ('opt-in-not-required', 'opted-in')
), detectors AS (
    SELECT account_id, region,
           bool_or(status = 'ENABLED') AS any_enabled,
           count(detector_id) AS detector_count,
           list(detector_id ORDER BY detector_id) FILTER (WHERE detector_id IS NOT NULL) AS detector_ids,
           list(status ORDER BY detector_id) FILTER (WHERE detector_id IS NOT NULL) AS statuses
    FROM raw_aws_guardduty_detectors
    WHERE snapshot_date = $snapshot_date
    GROUP BY ALL
), regions AS (
    SELECT coalesce(e.account_id, d.account_id) AS account_id, coalesce(e.region, d.region) AS region,
           e.configured, d.account_id IS NOT NULL AS was_read, d.any_enabled, coalesce(d.detector_count, 0) AS detectors,
           d.detector_ids, d.statuses
    FROM enabled e
    FULL OUTER JOIN detectors d ON d.account_id = e.account_id AND d.region = e.region
)
SELECT account_id || '/' || region AS resource_id,
       'GuardDuty in ' || account_id || ' ' || region AS resource_name,
       'https://console.aws.amazon.com/guardduty/home?region=' || region || '#/summary' AS resource_url,
       CASE WHEN NOT was_read THEN 'unknown'
            WHEN any_enabled THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN NOT was_read
            THEN 'region enabled in the account but not read' || CASE WHEN configured THEN ' (its collection returned '
                 || 'nothing)' ELSE ': add it to AWS_REGIONS' END
            WHEN any_enabled THEN 'detector ' || array_to_string(detector_ids, ', ') || ' ENABLED'
            WHEN detectors = 0 THEN 'no GuardDuty detector in this region: GuardDuty is off'
            ELSE 'detector ' || array_to_string(detector_ids, ', ') || ' is ' || array_to_string(statuses, ', ')
       END AS reason,
       CASE WHEN was_read AND NOT coalesce(any_enabled, false) AND detectors = 0 THEN 'no_detector'
            WHEN was_read AND NOT coalesce(any_enabled, false) THEN 'detector_disabled' END AS failure,
       account_id,
       region,
       detectors
FROM regions
