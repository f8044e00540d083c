-- Every open secret-scanning alert of an active repository fails; an active repository without one passes only when
-- secret scanning runs there (licensed and on), else it is unknown: no alert from an unscanned repository proves
-- nothing.
WITH repos AS (
    SELECT * FROM raw_github_repository_security WHERE snapshot_date = $snapshot_date
), active AS (
    SELECT *,
           visibility = 'public'
           OR (settings_shown AND 'enabled' IN (coalesce(secret_protection, ''), coalesce(advanced_security, '')))
               AS licensed
    FROM repos WHERE NOT coalesce(is_archived, false)
), secrets AS (
    SELECT * FROM raw_github_secret_scanning_alerts WHERE snapshot_date = $snapshot_date
), open_alerts AS (
    SELECT s.*, date_diff('day', s.created_at::DATE, $snapshot_date::DATE) AS age_days
    FROM secrets AS s
    WHERE s.unavailable IS NULL AND s.state = 'open'
      AND NOT EXISTS (SELECT 1 FROM repos AS r WHERE r.full_name = s.repository AND coalesce(r.is_archived, false))
), refused AS (
    SELECT string_agg(unavailable, '; ') AS why FROM secrets WHERE unavailable IS NOT NULL
)
SELECT coalesce(repository, org) || ':secret_scanning#' || coalesce(number::VARCHAR, '?') AS resource_id,
       coalesce(repository, org) || ':secret_scanning#' || coalesce(number::VARCHAR, '?') AS resource_name,
       html_url AS resource_url,
       'fail' AS status,
       'open ' || coalesce(secret_type_display_name, secret_type, 'secret') || ' alert'
       || coalesce(', found ' || age_days || ' days ago', '')
       || coalesce(', validity ' || validity, '')
       || CASE WHEN publicly_leaked THEN ', publicly leaked' ELSE '' END
       || CASE WHEN push_protection_bypassed THEN ', pushed past push protection' ELSE '' END AS reason,
       'open_secret' AS failure,
       age_days,
       validity
FROM open_alerts
UNION ALL
SELECT a.full_name,
       a.full_name,
       a.url,
       CASE WHEN refused.why IS NULL AND a.licensed AND a.secret_scanning = 'enabled' THEN 'pass' ELSE 'unknown' END,
       CASE WHEN refused.why IS NOT NULL THEN 'GitHub did not list the secret-scanning alerts: ' || refused.why
            WHEN NOT a.settings_shown THEN 'GitHub did not show whether secret scanning runs here (security settings '
                 || 'shown to owners, security managers and repository admins only)'
            WHEN a.licensed IS NOT TRUE THEN 'not licensed: GitHub Secret Protection (or Advanced Security) is off for '
                 || 'this ' || coalesce(a.visibility, 'non-public') || ' repository, so secrets are not scanned'
            WHEN a.secret_scanning = 'enabled' THEN 'secret scanning is on and no secret alert is open'
            WHEN a.secret_scanning = 'disabled' THEN 'secret scanning is off: no alert is no evidence of no secret'
            ELSE 'GitHub did not show whether secret scanning is on' END,
       NULL,
       NULL,
       NULL
FROM active AS a, refused
WHERE NOT EXISTS (SELECT 1 FROM open_alerts AS o WHERE o.repository = a.full_name)
