WITH repos AS (
    SELECT *,
           coalesce(classic_requires_status_checks, false) AS by_classic,
           coalesce(ruleset_requires_status_checks, false) AS by_ruleset,
           coalesce(rules_incomplete, []) AS gaps
    FROM raw_github_repositories
    WHERE snapshot_date = $snapshot_date AND NOT is_archived
), judged AS (
    SELECT *,
           CASE WHEN default_branch IS NULL THEN 'unknown'
                WHEN by_classic OR by_ruleset THEN 'pass'
                WHEN len(gaps) > 0 THEN 'unknown'  -- a rule not read may require them
                ELSE 'fail' END AS status
    FROM repos
)
SELECT full_name AS resource_id,
       full_name AS resource_name,
       url AS resource_url,
       status,
       CASE WHEN default_branch IS NULL AND is_empty
            THEN 'empty repository: no commits, so no default branch to require status checks on yet'
            WHEN default_branch IS NULL THEN 'GitHub showed no default branch for this repository'
            WHEN by_classic AND by_ruleset
            THEN default_branch || ' requires status checks (branch protection and ruleset)'
            WHEN by_classic THEN default_branch || ' requires status checks (branch protection)'
            WHEN by_ruleset THEN default_branch || ' requires status checks (ruleset)'
            WHEN status = 'unknown'
            THEN default_branch || ': cannot judge the required checks: ' || array_to_string(gaps, '; ')
            WHEN NOT coalesce(classic_protected, false) AND coalesce(len(ruleset_names), 0) = 0
            THEN default_branch || ' has no branch protection or active ruleset'
            ELSE default_branch || ' is protected but does not require status checks to pass' END AS reason,
       CASE WHEN status = 'fail' THEN 'no_status_checks' END AS failure,
       classic_protected,
       ruleset_names
FROM judged
