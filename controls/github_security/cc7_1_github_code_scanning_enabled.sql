-- Each active repository: code scanning's default setup is configured, as stated by an attached or enforced code
-- security configuration (enabled, on a repository licensed for it, or disabled) or by the repository's own
-- GET .../code-scanning/default-setup where no such attachment proves it. Default setup not configured is no proof of
-- no scanning: where GitHub lists code-scanning alerts for the repository (an advanced setup's or another tool's
-- analyses), or refused the alert list, the row is unknown, never pass.
WITH setup AS (
    SELECT * FROM raw_github_code_scanning_setup WHERE snapshot_date = $snapshot_date
), repos AS (
    SELECT repository, url, visibility, code_licensed
    FROM setup
    WHERE evidence = 'repository' AND NOT coalesce(is_archived, false)
), attachments AS (
    SELECT repository,
           string_agg(coalesce(attachment_status, 'unknown status') || ' to ''' || coalesce(configuration_name,
                      configuration_id::VARCHAR) || '''', ', ' ORDER BY configuration_id) AS listed
    FROM setup WHERE evidence = 'attachment' GROUP BY repository
), trusted AS (
    -- the configuration a repository has the settings of (GitHub: attached inherits them all, enforced forbids
    -- overrides), where it states default setup
    SELECT repository, configuration_name, configuration_default_setup, attachment_status
    FROM (
        SELECT *, row_number() OVER (PARTITION BY repository
                                     ORDER BY attachment_status = 'enforced' DESC, configuration_id) AS rank
        FROM setup
        WHERE evidence = 'attachment' AND attachment_status IN ('attached', 'enforced')
          AND configuration_default_setup IN ('enabled', 'disabled')
    )
    WHERE rank = 1
), calls AS (
    SELECT repository, state, unavailable FROM setup WHERE evidence = 'default_setup'
), alerts AS (
    SELECT repository, count(*) AS alerts, string_agg(DISTINCT coalesce(tool_name, 'an unnamed tool'), ', ') AS tools
    FROM raw_github_code_scanning_alerts
    WHERE snapshot_date = $snapshot_date AND unavailable IS NULL
    GROUP BY repository
), refused AS (
    SELECT min(unavailable) AS unavailable
    FROM raw_github_code_scanning_alerts
    WHERE snapshot_date = $snapshot_date AND unavailable IS NOT NULL
), found AS (
    SELECT r.*, t.configuration_name, t.configuration_default_setup, t.attachment_status, c.state,
           c.unavailable, coalesce(a.alerts, 0) AS alerts, a.tools, l.listed,
           (SELECT unavailable FROM refused) AS alerts_refused,
           CASE WHEN c.repository IS NOT NULL THEN
                    CASE WHEN c.unavailable IS NOT NULL THEN 'unavailable'
                         WHEN c.state = 'configured' THEN 'configured'
                         WHEN c.state = 'not-configured' THEN 'not_configured'
                         ELSE 'unshown' END
                WHEN t.configuration_default_setup = 'enabled' AND r.code_licensed THEN 'configured_by_configuration'
                WHEN t.configuration_default_setup = 'disabled' THEN 'disabled_by_configuration'
                ELSE 'unread' END AS found
    FROM repos AS r
    LEFT JOIN trusted AS t USING (repository)
    LEFT JOIN calls AS c USING (repository)
    LEFT JOIN alerts AS a USING (repository)
    LEFT JOIN attachments AS l USING (repository)
), judged AS (
    SELECT *,
           CASE WHEN found IN ('configured', 'configured_by_configuration') THEN 'pass'
                WHEN found IN ('not_configured', 'disabled_by_configuration')
                     AND code_licensed IS NOT FALSE AND alerts = 0 AND alerts_refused IS NULL THEN 'fail'
                ELSE 'unknown' END AS status,
           CASE found
                WHEN 'configured' THEN 'default setup is configured (GitHub''s default-setup answer for the repository)'
                WHEN 'configured_by_configuration'
                THEN 'default setup is enabled by the ' || attachment_status || ' configuration ''' || configuration_name
                     || ''''
                WHEN 'disabled_by_configuration'
                THEN 'default setup is disabled by the ' || attachment_status || ' configuration ''' || configuration_name
                     || ''''
                WHEN 'not_configured'
                THEN 'default setup is not configured (GitHub''s default-setup answer for the repository)'
                     || CASE WHEN listed IS NOT NULL THEN '; in code security configurations: ' || listed
                             ELSE '; attached to no code security configuration' END
                WHEN 'unavailable'
                THEN 'GitHub did not show the default setup: ' || unavailable || CASE WHEN unavailable LIKE '403%'
                     THEN ' (GitHub Code Security / Advanced Security is not enabled for this repository, so code '
                          || 'scanning cannot run; not licensed is not scanned)' ELSE '' END
                WHEN 'unshown' THEN 'GitHub answered the default setup without its state'
                ELSE 'neither a configuration attachment nor the repository''s default setup was read' END AS said
    FROM found
)
SELECT repository AS resource_id,
       repository AS resource_name,
       url AS resource_url,
       status,
       CASE WHEN status <> 'unknown' OR found NOT IN ('not_configured', 'disabled_by_configuration') THEN said
            WHEN code_licensed IS FALSE
            THEN said || '; not licensed: GitHub Code Security (or Advanced Security) is off for this '
                 || coalesce(visibility, 'non-public') || ' repository, so code scanning cannot run'
            WHEN alerts > 0
            THEN said || ', but GitHub lists ' || alerts || ' code-scanning alert(s) from ' || tools
                 || ' on its default branch: analyses were uploaded by an advanced setup (a workflow of its own) or '
                 || 'another tool, which is not judged from alerts; whether it still runs is not shown'
            ELSE said || ', and GitHub refused the code-scanning alert list (' || alerts_refused
                 || '), so an advanced setup uploading analyses cannot be ruled out' END AS reason,
       CASE WHEN status = 'fail' THEN CASE found WHEN 'not_configured' THEN 'not_configured'
                                                  ELSE 'disabled_by_configuration' END END AS failure,
       visibility,
       coalesce(configuration_name, listed) AS configuration,
       attachment_status,
       state AS default_setup,
       CASE WHEN found IN ('configured_by_configuration', 'disabled_by_configuration') THEN 'configuration'
            WHEN found = 'unread' THEN NULL ELSE 'default_setup' END AS read_from,
       alerts AS code_scanning_alerts
FROM judged
