-- Each active repository: Dependabot alerts, secret scanning and push protection on. A private repository without a
-- Secret Protection (or Advanced Security) licence cannot scan for secrets: unknown with that reason, never pass.
WITH repos AS (
    SELECT *,
           visibility = 'public'
           OR (settings_shown AND 'enabled' IN (coalesce(secret_protection, ''), coalesce(advanced_security, '')))
               AS secret_licensed,
           visibility = 'public'
           OR (settings_shown AND 'enabled' IN (coalesce(code_security, ''), coalesce(advanced_security, '')))
               AS code_licensed
    FROM raw_github_repository_security
    WHERE snapshot_date = $snapshot_date AND NOT coalesce(is_archived, false)
), judged AS (
    SELECT *,
           list_filter([
               CASE WHEN vulnerability_alerts = false THEN 'dependabot_alerts_off' END,
               CASE WHEN secret_licensed AND secret_scanning = 'disabled' THEN 'secret_scanning_off' END,
               CASE WHEN secret_licensed AND secret_scanning = 'enabled' AND secret_scanning_push_protection = 'disabled'
                    THEN 'push_protection_off' END
           ], lambda f: f IS NOT NULL) AS failures,
           list_filter([
               CASE WHEN NOT settings_shown THEN 'GitHub did not show the security settings (security_and_analysis is '
                    || 'shown to organisation owners, security managers and repository admins only)' END,
               CASE WHEN vulnerability_alerts IS NULL THEN 'GitHub did not show whether Dependabot alerts are on' END,
               CASE WHEN settings_shown AND secret_licensed IS NOT TRUE
                    THEN 'not licensed: GitHub Secret Protection (or Advanced Security) is off for this '
                         || coalesce(visibility, 'non-public') || ' repository, so secret scanning and push protection '
                         || 'cannot run; no secret alert from it proves nothing' END,
               CASE WHEN secret_licensed AND secret_scanning IS NULL THEN 'GitHub did not show secret scanning' END,
               CASE WHEN secret_licensed AND secret_scanning = 'enabled' AND secret_scanning_push_protection IS NULL
                    THEN 'GitHub did not show push protection' END
           ], lambda g: g IS NOT NULL) AS gaps
    FROM repos
)
SELECT full_name AS resource_id,
       full_name AS resource_name,
       url AS resource_url,
       CASE WHEN len(failures) > 0 THEN 'fail' WHEN len(gaps) > 0 THEN 'unknown' ELSE 'pass' END AS status,
       CASE WHEN len(failures) = 0 AND len(gaps) = 0
            THEN 'Dependabot alerts, secret scanning and push protection are on'
            ELSE array_to_string(list_concat(list_transform(failures, lambda f: CASE f
                     WHEN 'dependabot_alerts_off' THEN 'Dependabot alerts are off'
                     WHEN 'secret_scanning_off' THEN 'secret scanning is off'
                     ELSE 'push protection is off (secret scanning finds leaks only after the push)' END), gaps), '; ')
            END AS reason,
       failures[1] AS failure,
       visibility,
       vulnerability_alerts AS dependabot_alerts,
       secret_scanning,
       secret_scanning_push_protection AS push_protection,
       secret_licensed,
       code_licensed
FROM judged
