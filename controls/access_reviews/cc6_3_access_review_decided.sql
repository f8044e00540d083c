-- Each scope's latest campaign: every frozen account has an accepted decision dated by the campaign's due day.
-- An account's latest accepted decision counts; a decision by the account's own person (its HR person) never does.
WITH latest AS (
    SELECT campaign_id, due
    FROM raw_access_reviews_campaigns
    WHERE snapshot_date = $snapshot_date
    QUALIFY row_number() OVER (PARTITION BY scope ORDER BY quarter DESC, started_at DESC, campaign_id DESC) = 1
), population AS (
    SELECT p.*, latest.due
    FROM raw_access_reviews_population p
    JOIN latest ON latest.campaign_id = p.campaign_id
    WHERE p.snapshot_date = $snapshot_date
), decided AS (
    SELECT d.campaign_id, d.account_key, d.decision, d.decided_on, coalesce(d.decided_by, d.reviewer) AS decided_by
    FROM raw_access_reviews_decisions d
    JOIN population p ON p.campaign_id = d.campaign_id AND p.account_key = d.account_key
    WHERE d.snapshot_date = $snapshot_date AND d.status = 'accepted'
      AND lower(coalesce(d.decided_by, d.reviewer)) IS DISTINCT FROM lower(p.person_email)
    QUALIFY row_number() OVER (PARTITION BY d.campaign_id, d.account_key
                               ORDER BY d.imported_at DESC, d.decided_on DESC NULLS LAST) = 1
)
SELECT p.campaign_id || '/' || p.account_key AS resource_id,
       coalesce(p.account_name, p.account_id, p.account_key) || ' (' || p.system || ')' AS resource_name,
       CASE WHEN d.decided_on <= p.due THEN 'pass'
            WHEN d.decided_on > p.due THEN 'fail'
            WHEN d.decision IS NOT NULL THEN 'unknown'
            WHEN $snapshot_date > p.due THEN 'fail'
            ELSE 'unknown' END AS status,
       CASE WHEN d.decided_on <= p.due
                THEN d.decision || ' by ' || d.decided_by || ' on ' || d.decided_on || ' (due ' || p.due || ')'
            WHEN d.decided_on > p.due
                THEN 'decided late: ' || d.decision || ' by ' || d.decided_by || ' on ' || d.decided_on || ', due '
                     || p.due
            WHEN d.decision IS NOT NULL THEN d.decision || ' by ' || d.decided_by || ' bears no decision date'
            WHEN $snapshot_date > p.due
                THEN 'overdue: reviewer ' || p.reviewer || ' has not decided; due ' || p.due
            ELSE 'pending: reviewer ' || p.reviewer || ' has until ' || p.due END AS reason,
       CASE WHEN d.decided_on > p.due THEN 'decided_late'
            WHEN d.decision IS NULL AND $snapshot_date > p.due THEN 'overdue' END AS failure,
       'access_reviews.population' AS dataset, p.campaign_id, p.reviewer, p.due, d.decision, d.decided_on
FROM population p
LEFT JOIN decided d ON d.campaign_id = p.campaign_id AND d.account_key = p.account_key
