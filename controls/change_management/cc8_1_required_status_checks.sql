WITH repos AS (
    SELECT *,
           coalesce(classic_requires_status_checks, false) AS by_classic,
           coalesce(ruleset_requires_status_checks, false) AS by_ruleset,
           coalesce(rules_incomplete, []) AS gaps
    FROM raw_github_repositories
    WHERE snapshot_date = $snapshot_date AND NOT is_archived
), contexts AS (
    SELECT *,
           -- every context required by classic protection or an active ruleset (both are enforced on a merge)
           list_sort(list_distinct(list_concat(coalesce(classic_status_check_contexts, []),
                                               coalesce(ruleset_status_check_contexts, [])))) AS required,
           (classic_status_check_contexts IS NOT NULL OR NOT by_classic)
           AND (ruleset_status_check_contexts IS NOT NULL OR NOT by_ruleset) AS contexts_read
    FROM repos
), judged AS (
    SELECT *,
           list_filter($required_status_checks::VARCHAR[], lambda c: NOT list_contains(required, c)) AS missing,
           CASE WHEN default_branch IS NULL THEN 'unknown'
                WHEN (by_classic OR by_ruleset) AND list_has_all(required, $required_status_checks::VARCHAR[])
                THEN 'pass'
                WHEN NOT contexts_read OR len(gaps) > 0 THEN 'unknown'  -- a context or a rule not read may be the one
                ELSE 'fail' END AS status
    FROM contexts
)
SELECT full_name AS resource_id,
       full_name AS resource_name,
       url AS resource_url,
       status,
       CASE WHEN default_branch IS NULL AND is_empty
            THEN 'empty repository: no commits, so no default branch to require status checks on yet'
            WHEN default_branch IS NULL THEN 'GitHub showed no default branch for this repository'
            WHEN status = 'pass'
            THEN default_branch || ' requires ' || array_to_string(required, ', ') || ' ('
                 || concat_ws(' and ', CASE WHEN by_classic THEN 'branch protection' END,
                              CASE WHEN by_ruleset THEN 'ruleset' END) || ')'
            WHEN status = 'unknown' AND NOT contexts_read
            THEN default_branch || ': GitHub did not name every required status check context'
            WHEN status = 'unknown'
            THEN default_branch || ': cannot judge the required checks: ' || array_to_string(gaps, '; ')
            WHEN by_classic OR by_ruleset
            THEN default_branch || ' requires ' || coalesce(nullif(array_to_string(required, ', '), ''), 'status checks')
                 || ' but not ' || array_to_string(missing, ', ')
            WHEN NOT coalesce(classic_protected, false) AND coalesce(len(ruleset_names), 0) = 0
            THEN default_branch || ' has no branch protection or active ruleset'
            ELSE default_branch || ' is protected but does not require status checks to pass' END AS reason,
       CASE WHEN status = 'fail' AND (by_classic OR by_ruleset) THEN 'missing_contexts'
            WHEN status = 'fail' THEN 'no_status_checks' END AS failure,
       required AS required_contexts,
       missing AS missing_contexts,
       classic_protected,
       ruleset_names
FROM judged
