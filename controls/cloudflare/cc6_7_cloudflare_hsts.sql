-- security_header.strict_transport_security; a value the settings did not list stays NULL: unknown, never the default
WITH judged AS (
    SELECT *,
           paused IS NOT FALSE OR status IS DISTINCT FROM 'active' AS not_proxied,
           CASE WHEN hsts_enabled = false THEN 'hsts_disabled'
                WHEN hsts_max_age < $min_hsts_max_age THEN 'hsts_too_short'
                WHEN hsts_include_subdomains = false THEN 'hsts_no_subdomains'
                WHEN $require_preload AND hsts_preload = false THEN 'hsts_no_preload' END AS failed,
           hsts_enabled IS NULL OR hsts_max_age IS NULL OR hsts_include_subdomains IS NULL
             OR ($require_preload AND hsts_preload IS NULL) AS incomplete
    FROM raw_cloudflare_zones
    WHERE snapshot_date = $snapshot_date
)
SELECT zone_id AS resource_id,
       zone_name AS resource_name,
       'https://dash.cloudflare.com/' || coalesce(account_id, '') || '/' || coalesce(zone_name, zone_id) AS resource_url,
       CASE WHEN not_proxied THEN 'unknown' WHEN failed IS NOT NULL THEN 'fail' WHEN incomplete THEN 'unknown'
            ELSE 'pass' END AS status,
       CASE WHEN not_proxied
              THEN 'zone ' || coalesce(status, 'status not reported') || CASE WHEN paused THEN ', paused' ELSE '' END
                || ': Cloudflare does not proxy its traffic'
            WHEN failed IS NULL AND incomplete THEN 'HSTS (security_header) not listed in full in the zone''s settings'
            ELSE 'HSTS ' || CASE WHEN hsts_enabled THEN 'on' ELSE 'off' END || ', max-age '
              || coalesce(hsts_max_age::VARCHAR, '?') || ', includeSubDomains '
              || coalesce(hsts_include_subdomains::VARCHAR, '?') || ', preload ' || coalesce(hsts_preload::VARCHAR, '?')
       END AS reason,
       CASE WHEN NOT not_proxied THEN failed END AS failure,
       hsts_enabled,
       hsts_max_age,
       hsts_include_subdomains,
       hsts_preload
FROM judged
