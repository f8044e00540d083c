-- The quarter of the judged day and the one before: each has a completed campaign (every frozen account decided
-- by the campaign's due day, by someone other than the account's own person) whose population was frozen from a
-- day of that quarter. A quarter that is over without one fails; the current quarter without one yet is unknown.
WITH quarters AS (
    SELECT quarter_start,
           strftime(quarter_start, '%Y') || '-Q' || quarter(quarter_start) AS quarter,
           (quarter_start + INTERVAL 3 MONTH - INTERVAL 1 DAY)::DATE AS quarter_end
    FROM (SELECT (date_trunc('quarter', $snapshot_date::DATE) - to_months(3 * back))::DATE AS quarter_start
          FROM (VALUES (0), (1)) AS quarters_back(back))
), campaigns AS (
    SELECT * FROM raw_access_reviews_campaigns
    WHERE snapshot_date = $snapshot_date AND list_contains($review_scopes, scope)
), accounts_decided AS (
    SELECT p.campaign_id, p.account_key,
           max(d.decided_on) FILTER (d.decided_on <= c.due
                                     AND lower(coalesce(d.decided_by, d.reviewer)) IS DISTINCT FROM lower(p.person_email))
               AS decided_on
    FROM raw_access_reviews_population p
    JOIN campaigns c ON c.campaign_id = p.campaign_id
    LEFT JOIN raw_access_reviews_decisions d
           ON d.snapshot_date = p.snapshot_date AND d.campaign_id = p.campaign_id AND d.account_key = p.account_key
          AND d.status = 'accepted'
    WHERE p.snapshot_date = $snapshot_date
    GROUP BY ALL
), progress AS (
    SELECT c.campaign_id, c.quarter, c.due, c.frozen_day, c.population_count,
           count(a.account_key) AS frozen, count(a.decided_on) AS decided, max(a.decided_on) AS completed_on
    FROM campaigns c
    LEFT JOIN accounts_decided a ON a.campaign_id = c.campaign_id
    GROUP BY ALL
), judged AS (
    SELECT q.quarter, q.quarter_end, p.*,
           -- complete: every frozen account decided, and the frozen rows are the campaign's whole population
           p.frozen > 0 AND p.decided = p.frozen AND p.frozen = p.population_count AS complete
    FROM quarters q
    LEFT JOIN progress p ON p.quarter = q.quarter AND p.frozen_day BETWEEN q.quarter_start AND q.quarter_end
), per_quarter AS (
    SELECT quarter, quarter_end,
           bool_or(coalesce(complete, false)) AS done,
           arg_max(campaign_id || ': ' || decided || ' of ' || frozen || ' accounts decided by '
                   || CASE WHEN complete THEN completed_on::VARCHAR ELSE 'its due day ' || due END,
                   coalesce(complete, false)::INTEGER * 1e6 + coalesce(decided, 0))
               FILTER (campaign_id IS NOT NULL) AS best
    FROM judged
    GROUP BY ALL
)
SELECT quarter AS resource_id,
       'access review of ' || quarter AS resource_name,
       CASE WHEN done THEN 'pass' WHEN $snapshot_date > quarter_end THEN 'fail' ELSE 'unknown' END AS status,
       CASE WHEN done THEN 'completed: ' || best
            WHEN best IS NOT NULL AND $snapshot_date > quarter_end
                THEN 'the quarter ended ' || quarter_end || ' without a completed campaign; ' || best
            WHEN $snapshot_date > quarter_end
                THEN 'the quarter ended ' || quarter_end || ' and no campaign was run for it'
            WHEN best IS NOT NULL THEN 'in progress until the quarter ends ' || quarter_end || ': ' || best
            ELSE 'no campaign started yet; the quarter ends ' || quarter_end END AS reason,
       CASE WHEN NOT done AND $snapshot_date > quarter_end
                THEN CASE WHEN best IS NULL THEN 'no_campaign' ELSE 'not_completed' END END AS failure,
       'access_reviews.campaigns' AS dataset, quarter_end
FROM per_quarter
