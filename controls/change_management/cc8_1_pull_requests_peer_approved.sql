WITH period AS (
    SELECT $snapshot_date::TIMESTAMP - to_days($period_days) AS since, $snapshot_date::TIMESTAMP AS until
), collected AS (
    SELECT strptime(left(json_extract_string(provenance, '$.parameters.merged_since'), 19),
                    '%Y-%m-%dT%H:%M:%S') AS since,
           strptime(left(json_extract_string(provenance, '$.parameters.merged_until'), 19),
                    '%Y-%m-%dT%H:%M:%S') AS until,
           json_extract_string(provenance, '$.parameters.org') AS org
    FROM source_status
    WHERE source = 'github' AND dataset = 'merged_pull_requests' AND snapshot_date = $snapshot_date
), judged AS (
    SELECT pr.*,
           coalesce(list_filter(approvers_at_merge, lambda a: lower(a) <> lower(pr.author)), []) AS independent,
           coalesce(pr.incomplete, []) AS gaps
    FROM raw_github_merged_pull_requests pr, period
    WHERE pr.snapshot_date = $snapshot_date
      -- a merge time GitHub did not show cannot place the pull request outside the period
      AND (pr.merged_at IS NULL OR (pr.merged_at >= period.since AND pr.merged_at < period.until))
)
SELECT pull_request AS resource_id,
       pull_request || ' ' || coalesce(title, '') AS resource_name,
       url AS resource_url,
       CASE WHEN author IS NULL OR merged_at IS NULL OR len(gaps) > 0 THEN 'unknown'
            WHEN len(independent) > 0 THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN author IS NULL THEN 'the author''s account was deleted: cannot tell whether the approval was '
                                     || 'independent'
            WHEN merged_at IS NULL THEN 'GitHub did not show when it was merged: cannot tell which reviews '
                                        || 'stood at the merge'
            WHEN len(gaps) > 0 THEN 'cannot judge the approval: ' || array_to_string(gaps, '; ')
            WHEN len(independent) > 0 THEN 'approved by ' || array_to_string(independent, ', ')
                                           || ' before the merge by ' || coalesce(merged_by, 'unknown')
            WHEN lower(merged_by) = lower(author) AND len(approvers_at_merge) = 0
                 THEN 'merged by its author ' || author || ' without any approval'
            WHEN len(approvers_at_merge) > 0 THEN 'approved only by its author ' || author
            ELSE 'merged by ' || coalesce(merged_by, 'unknown') || ' without an approval standing at merge time'
                 || ' (' || coalesce(review_count, 0) || ' decisive review(s))'
       END AS reason,
       CASE WHEN author IS NULL OR merged_at IS NULL OR len(gaps) > 0 OR len(independent) > 0 THEN NULL
            WHEN lower(merged_by) = lower(author) AND len(approvers_at_merge) = 0 THEN 'self_merged_without_review'
            WHEN len(approvers_at_merge) > 0 THEN 'self_approved_only'
            ELSE 'no_approval' END AS failure,
       author,
       merged_by,
       merged_at,
       approvers_at_merge
FROM judged
UNION ALL
SELECT coalesce(collected.org, 'github') || ' merges ' || strftime(period.since, '%Y-%m-%d') || '..'
           || strftime(period.until, '%Y-%m-%d') AS resource_id,
       'merged pull requests collection window' AS resource_name,
       NULL AS resource_url,
       'unknown' AS status,
       'collected merges ' || coalesce(strftime(collected.since, '%Y-%m-%d %H:%M'), '?') || ' .. '
           || coalesce(strftime(collected.until, '%Y-%m-%d %H:%M'), '?')
           || ' do not cover the period: set GITHUB_PULL_REQUEST_DAYS to period_days' AS reason,
       NULL AS failure, NULL AS author, NULL AS merged_by, NULL AS merged_at, NULL AS approvers_at_merge
FROM period, collected
WHERE collected.since IS NULL OR collected.since > period.since OR collected.until < period.until
