-- Every accepted revoke or change decision (an account's latest accepted decision counts) is carried out: judged
-- from the accounts the systems themselves showed on the collected days after the decision, never from the
-- reviewer's word. Gone means absent, disabled, or (a privileged campaign) no longer privileged; an account whose
-- state its system did not report counts as still there. A day is read for a system only when every dataset of its
-- source collected that day succeeded. The decision is due in the collected data by the first day after
-- decided_on + the campaign's revocation_window_days.
WITH campaigns AS (
    SELECT campaign_id, scope, revocation_window_days
    FROM raw_access_reviews_campaigns WHERE snapshot_date = $snapshot_date
), actions AS (
    SELECT d.campaign_id, d.account_key, d.decision, d.decided_on, d.reviewer,
           coalesce(d.decided_by, d.reviewer) AS decided_by, p.system, p.account_name, p.account_id, c.scope,
           c.revocation_window_days AS window_days,
           (d.decided_on + c.revocation_window_days + 1)::DATE AS due_in_data
    FROM raw_access_reviews_decisions d
    JOIN raw_access_reviews_population p
      ON p.snapshot_date = d.snapshot_date AND p.campaign_id = d.campaign_id AND p.account_key = d.account_key
    JOIN campaigns c ON c.campaign_id = d.campaign_id
    WHERE d.snapshot_date = $snapshot_date AND d.status = 'accepted'
    QUALIFY row_number() OVER (PARTITION BY d.campaign_id, d.account_key
                               ORDER BY d.imported_at DESC, d.decided_on DESC NULLS LAST) = 1
), to_carry_out AS (
    SELECT * FROM actions WHERE decision IN ('revoke', 'change')
), usable_days AS (
    SELECT source, snapshot_date AS day
    FROM source_status
    WHERE snapshot_date <= $snapshot_date
    GROUP BY ALL
    HAVING bool_and(status IN ('succeeded', 'optional_not_configured')) AND bool_or(status = 'succeeded')
), shown AS (
    SELECT snapshot_date AS day, system || ':' || lower(account_id) AS account_key,
           bool_or(is_active IS NOT FALSE) AS active, bool_or(is_privileged IS NOT FALSE) AS privileged
    FROM accounts
    WHERE snapshot_date <= $snapshot_date
      AND system || ':' || lower(account_id) IN (SELECT account_key FROM to_carry_out)
    GROUP BY ALL
), observed AS (
    SELECT t.campaign_id, t.account_key, u.day,
           s.account_key IS NULL OR NOT s.active OR (t.scope = 'privileged' AND NOT s.privileged) AS gone
    FROM to_carry_out t
    JOIN usable_days u ON (u.source = t.system OR starts_with(t.system, u.source || '_')) AND u.day > t.decided_on
    LEFT JOIN shown s ON s.day = u.day AND s.account_key = t.account_key
), summary AS (
    SELECT t.*, min(o.day) FILTER (o.gone) AS gone_on, max(o.day) FILTER (NOT o.gone) AS last_seen,
           max(o.day) AS last_read
    FROM to_carry_out t
    LEFT JOIN observed o ON o.campaign_id = t.campaign_id AND o.account_key = t.account_key
    GROUP BY ALL
)
SELECT campaign_id || '/' || account_key AS resource_id,
       coalesce(account_name, account_id, account_key) || ' (' || system || ')' AS resource_name,
       CASE WHEN decided_on IS NULL THEN 'unknown'
            WHEN gone_on <= due_in_data THEN 'pass'
            WHEN gone_on IS NOT NULL THEN 'fail'
            WHEN last_seen >= due_in_data THEN 'fail'
            ELSE 'unknown' END AS status,
       decision || ' decided by ' || decided_by || ' on ' || coalesce(decided_on::VARCHAR, 'no date') || ': '
           || CASE WHEN decided_on IS NULL THEN 'the decision bears no date, so its window cannot be judged'
                   WHEN gone_on <= due_in_data
                       THEN 'took effect: ' || system || ' no longer shows the '
                            || CASE WHEN scope = 'privileged' THEN 'account or its privilege' ELSE 'account' END
                            || ' on ' || gone_on
                   WHEN gone_on IS NOT NULL
                       THEN 'carried out late: first gone on ' || gone_on || ', the window of ' || window_days
                            || ' days ended ' || (due_in_data - 1)
                   WHEN last_seen >= due_in_data
                       THEN 'not carried out: ' || system || ' still shows the account with its access on '
                            || last_seen || ', after the window of ' || window_days || ' days ended '
                            || (due_in_data - 1)
                   WHEN last_seen IS NOT NULL
                       THEN 'still shown by ' || system || ' on ' || last_seen || '; the window runs to '
                            || (due_in_data - 1)
                   ELSE 'no usable day of ' || system || ' was collected after the decision yet; the window runs to '
                        || (due_in_data - 1) END AS reason,
       CASE WHEN decided_on IS NULL OR gone_on <= due_in_data THEN NULL
            WHEN gone_on IS NOT NULL THEN 'revoked_late'
            WHEN last_seen >= due_in_data THEN 'not_revoked' END AS failure,
       'access_reviews.decisions' AS dataset, campaign_id, account_key, reviewer, decision, decided_on,
       gone_on AS took_effect_on
FROM summary
