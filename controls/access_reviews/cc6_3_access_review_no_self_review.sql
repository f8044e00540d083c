-- Every returned decision row, accepted or rejected: nobody decides on their own access (the account's HR person; the
-- approved owner of a service or break-glass account is its reviewer by the campaign's rule, and decides as owner).
-- A rejected self-review attempt fails too: the attempt is what segregation of duties forbids, the rejection is its
-- evidence.
WITH rows AS (
    SELECT d.* EXCLUDE (status), d.status AS import_status, coalesce(d.decided_by, d.reviewer) AS decider,
           p.person_email, p.system,
           p.account_name, p.account_key IS NOT NULL AS in_population
    FROM raw_access_reviews_decisions d
    LEFT JOIN raw_access_reviews_population p
           ON p.snapshot_date = d.snapshot_date AND p.campaign_id = d.campaign_id AND p.account_key = d.account_key
    WHERE d.snapshot_date = $snapshot_date
), judged AS (
    SELECT *,
           coalesce(lower(decider) = lower(person_email), false) AS own_access,
           import_status = 'rejected' AND starts_with(lower(coalesce(rejection, '')), 'self-review') AS rejected_self_review
    FROM rows
)
SELECT import_bundle || ':' || account_key AS resource_id,
       coalesce(account_name, account_key) || ' (' || coalesce(system, 'unknown system') || '), decided by '
           || decider AS resource_name,
       CASE WHEN NOT in_population THEN 'unknown'
            WHEN own_access OR rejected_self_review THEN 'fail' ELSE 'pass' END AS status,
       CASE WHEN NOT in_population
                THEN 'the decision names an account that is not in campaign ' || campaign_id || '''s population'
            WHEN import_status = 'accepted' AND own_access
                THEN 'accepted decision on one''s own access: ' || decider || ' decided ' || coalesce(decision, '?')
                     || ' on ' || account_key
            WHEN own_access OR rejected_self_review
                THEN 'self-review attempt by ' || decider || ' (rejected on import: '
                     || coalesce(rejection, 'no reason recorded') || ')'
            ELSE import_status || ' decision by ' || decider || ', not the account''s own person' END AS reason,
       CASE WHEN in_population AND import_status = 'accepted' AND own_access THEN 'self_review_accepted'
            WHEN in_population AND (own_access OR rejected_self_review) THEN 'self_review_attempt' END AS failure,
       'access_reviews.decisions' AS dataset, campaign_id, account_key, reviewer, decider AS decided_by, decision,
       import_status
FROM judged
