-- Every open Dependabot and code-scanning alert of an active repository, with its age, against its severity's SLA
-- (days, the control's parameters); and, as unknown rows, each active repository whose alerts cannot be trusted to
-- exist: Dependabot alerts off or not shown, code scanning not licensed, or a list GitHub refused.
WITH repos AS (
    SELECT * FROM raw_github_repository_security WHERE snapshot_date = $snapshot_date
), active AS (
    SELECT * FROM repos WHERE NOT coalesce(is_archived, false)
), alerts AS (
    SELECT 'dependabot' AS tool, org, repository, number, state, severity, created_at, html_url, unavailable,
           package_name AS subject
    FROM raw_github_dependabot_alerts WHERE snapshot_date = $snapshot_date
    UNION ALL
    SELECT 'code_scanning', org, repository, number, state, security_severity, created_at, html_url, unavailable,
           rule_id
    FROM raw_github_code_scanning_alerts WHERE snapshot_date = $snapshot_date
), open_alerts AS (
    SELECT a.*,
           date_diff('day', a.created_at::DATE, $snapshot_date::DATE) AS age_days,
           CASE a.severity WHEN 'critical' THEN $sla_critical_days WHEN 'high' THEN $sla_high_days
                           WHEN 'medium' THEN $sla_medium_days END AS sla_days
    FROM alerts AS a
    WHERE a.unavailable IS NULL AND a.state = 'open'
      AND NOT EXISTS (SELECT 1 FROM repos AS r WHERE r.full_name = a.repository AND coalesce(r.is_archived, false))
), alert_rows AS (
    SELECT coalesce(repository, org) || ':' || tool || '#' || coalesce(number::VARCHAR, '?') AS resource_id,
           html_url AS resource_url,
           CASE WHEN severity IS NULL OR created_at IS NULL THEN 'unknown'
                WHEN sla_days IS NULL THEN 'pass'
                WHEN age_days > sla_days THEN 'fail'
                ELSE 'pass' END AS status,
           CASE WHEN created_at IS NULL THEN 'GitHub did not show when the alert was created: its age is unknown'
                WHEN severity IS NULL
                THEN 'GitHub gave the ' || replace(tool, '_', ' ') || ' alert no security severity (a rule that is not '
                     || 'a security query, or a tool without severities), so no SLA can be applied; open '
                     || age_days || ' days'
                WHEN sla_days IS NULL THEN severity || ' alert open ' || age_days || ' days: no SLA for ' || severity
                WHEN age_days > sla_days
                THEN severity || ' alert open ' || age_days || ' days, past its ' || sla_days || '-day SLA ('
                     || coalesce(subject, '?') || ')'
                ELSE severity || ' alert open ' || age_days || ' days, within its ' || sla_days || '-day SLA' END
               AS reason,
           tool, severity, age_days, sla_days
    FROM open_alerts
), coverage_rows AS (
    SELECT full_name || ':dependabot' AS resource_id, url AS resource_url, 'unknown' AS status,
           CASE WHEN vulnerability_alerts = false THEN 'Dependabot alerts are off'
                ELSE 'GitHub did not show whether Dependabot alerts are on' END
           || ': no Dependabot alert from this repository is no evidence of no vulnerable dependency' AS reason,
           'dependabot' AS tool, NULL AS severity, NULL AS age_days, NULL AS sla_days
    FROM active WHERE vulnerability_alerts IS NOT TRUE
    UNION ALL
    SELECT full_name || ':code_scanning', url, 'unknown',
           CASE WHEN NOT settings_shown
                THEN 'GitHub did not show the security settings, so whether code scanning is licensed is unknown'
                ELSE 'not licensed: GitHub Code Security (or Advanced Security) is off for this ' || visibility
                     || ' repository' END
           || ': no code-scanning alert from it is no evidence of no vulnerability',
           'code_scanning', NULL, NULL, NULL
    FROM active
    WHERE coalesce(visibility, '') <> 'public'
      AND NOT (settings_shown AND 'enabled' IN (coalesce(code_security, ''), coalesce(advanced_security, '')))
    UNION ALL
    SELECT org || ':' || tool, NULL, 'unknown',
           'GitHub did not list the organisation''s ' || replace(tool, '_', ' ') || ' alerts: ' || unavailable,
           tool, NULL, NULL, NULL
    FROM alerts WHERE unavailable IS NOT NULL
)
SELECT resource_id,
       resource_id AS resource_name,
       resource_url,
       status,
       reason,
       CASE WHEN status = 'fail' THEN 'past_sla' END AS failure,
       tool,
       severity,
       age_days,
       sla_days
FROM (SELECT * FROM alert_rows UNION ALL SELECT * FROM coverage_rows)
