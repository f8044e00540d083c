WITH repos AS (
    SELECT *,
           greatest(coalesce(classic_required_reviews, 0), coalesce(ruleset_required_reviews, 0)) AS reviews,
           coalesce(classic_protected, false) OR coalesce(len(ruleset_names), 0) > 0 AS protected,
           -- classic protection alone: rulesets only add restrictions, and their bypass lists do not reach it
           coalesce(classic_protected AND classic_required_reviews >= $min_approving_reviews
                    AND classic_admin_enforced AND NOT classic_allows_force_pushes
                    AND NOT classic_allows_deletions, false) AS classic_suffices,
           coalesce(rules_incomplete, []) || coalesce(review_incomplete, []) AS gaps
    FROM raw_github_repositories
    WHERE snapshot_date = $snapshot_date AND NOT is_archived
), checked AS (
    SELECT *,
           coalesce(classic_protected AND classic_required_reviews >= $min_approving_reviews
                    AND classic_admin_enforced, false)
             OR coalesce(ruleset_required_reviews >= $min_approving_reviews AND NOT ruleset_admin_bypass, false)
             AS review_binds_admins,
           coalesce(classic_protected AND NOT classic_allows_force_pushes, false)
             OR coalesce(ruleset_blocks_force_pushes, false) AS force_push_blocked,
           coalesce(classic_protected AND NOT classic_allows_deletions, false)
             OR coalesce(ruleset_blocks_deletions, false) AS deletion_blocked
    FROM repos
), judged AS (
    SELECT *, list_filter([
           CASE WHEN NOT protected THEN 'unprotected' END,
           CASE WHEN protected AND reviews < $min_approving_reviews THEN 'no_review' END,
           CASE WHEN reviews >= $min_approving_reviews AND NOT review_binds_admins THEN 'admin_bypass' END,
           CASE WHEN protected AND NOT force_push_blocked THEN 'force_push_allowed' END,
           CASE WHEN protected AND NOT deletion_blocked THEN 'deletion_allowed' END
           ], lambda f: f IS NOT NULL) AS failures,
           CASE WHEN default_branch IS NULL THEN 'unknown'
                WHEN classic_suffices THEN 'pass'
                WHEN len(gaps) > 0 THEN 'unknown'  -- what was not read could change the verdict
           END AS unread
    FROM checked
)
SELECT full_name AS resource_id,
       full_name AS resource_name,
       url AS resource_url,
       coalesce(unread, CASE WHEN len(failures) = 0 THEN 'pass' ELSE 'fail' END) AS status,
       CASE WHEN default_branch IS NULL AND is_empty
            THEN 'empty repository: no commits, so no default branch to protect yet (rulesets apply to it '
                 || 'once it is pushed)'
            WHEN default_branch IS NULL THEN 'GitHub showed no default branch for this repository'
            WHEN unread = 'unknown'
            THEN default_branch || ': cannot judge the review rules: ' || array_to_string(gaps, '; ')
            WHEN classic_suffices OR len(failures) = 0
            THEN default_branch || ' requires ' || reviews || ' approving review(s), blocks force pushes and '
                 || 'deletion, and binds admins'
            ELSE default_branch || ': ' || array_to_string(list_transform(failures, lambda f: CASE f
                 WHEN 'unprotected' THEN 'no branch protection or active ruleset'
                 WHEN 'no_review' THEN 'no approving review required'
                 WHEN 'admin_bypass' THEN 'admins can bypass the review requirement'
                 WHEN 'force_push_allowed' THEN 'force pushes allowed'
                 WHEN 'deletion_allowed' THEN 'branch deletion allowed' END), '; ')
       END AS reason,
       CASE WHEN unread IS NULL THEN failures[1] END AS failure,
       reviews AS required_reviews,
       classic_protected,
       ruleset_names
FROM judged
