-- Every production environment (name matching the pattern) of an active repository: deployments need a required
-- reviewer or come from protected branches only, and admins cannot bypass the rules. A repository whose
-- environments could not be read whole is an unknown row of its own.
WITH environments AS (
    SELECT *, coalesce(reviewers, []) AS approvers, coalesce(incomplete, []) AS gaps
    FROM raw_github_environments
    WHERE snapshot_date = $snapshot_date
      AND (name IS NULL OR regexp_matches(name, $production_environment_pattern, 'i'))
), judged AS (
    SELECT *,
           CASE WHEN name IS NULL THEN 'unknown'
                WHEN can_admins_bypass THEN 'fail'
                WHEN can_admins_bypass IS NULL THEN 'unknown'
                WHEN len(approvers) > 0 OR branch_policy = 'protected_branches' THEN 'pass'
                WHEN len(gaps) > 0 OR branch_policy IS NULL THEN 'unknown'
                ELSE 'fail' END AS status
    FROM environments
)
SELECT repository || coalesce(':' || name, '') AS resource_id,
       repository || coalesce(':' || name, '') AS resource_name,
       url AS resource_url,
       status,
       CASE WHEN name IS NULL THEN 'the environments of this repository could not all be read: '
                 || array_to_string(gaps, '; ')
            WHEN can_admins_bypass THEN 'administrators may bypass the protection rules ("Allow administrators to '
                 || 'bypass configured protection rules")'
            WHEN can_admins_bypass IS NULL THEN 'GitHub did not show whether administrators may bypass the rules'
            WHEN status = 'pass'
            THEN concat_ws('; ',
                     CASE WHEN len(approvers) > 0 THEN 'required reviewers: ' || array_to_string(approvers, ', ') END,
                     CASE WHEN branch_policy = 'protected_branches' THEN 'deploys from protected branches only' END)
            WHEN status = 'unknown' THEN 'cannot judge the protection rules: '
                 || coalesce(nullif(array_to_string(gaps, '; '), ''), 'GitHub did not show the deployment branch policy')
            WHEN branch_policy = 'custom' THEN 'no required reviewer, and custom branch patterns (not protected '
                 || 'branches only) may deploy'
            ELSE 'no required reviewer, and any branch may deploy' END AS reason,
       CASE WHEN status = 'fail' AND can_admins_bypass THEN 'admins_bypass'
            WHEN status = 'fail' THEN 'no_protection' END AS failure,
       name AS environment,
       approvers AS reviewers,
       prevent_self_review,
       branch_policy,
       can_admins_bypass
FROM judged
