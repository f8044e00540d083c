-- a zone Cloudflare does not proxy (paused, not active) is unknown: its settings protect no traffic
SELECT zone_id AS resource_id,
       zone_name AS resource_name,
       'https://dash.cloudflare.com/' || coalesce(account_id, '') || '/' || coalesce(zone_name, zone_id) AS resource_url,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active' OR min_tls_version IS NULL THEN 'unknown'
            WHEN min_tls_version >= $min_tls_version THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active'
              THEN 'zone ' || coalesce(status, 'status not reported') || CASE WHEN paused THEN ', paused' ELSE '' END
                || ': Cloudflare does not proxy its traffic'
            WHEN min_tls_version IS NULL THEN 'min_tls_version not listed in the zone''s settings'
            ELSE 'minimum TLS version ' || min_tls_version || ' (required ' || $min_tls_version || ')' END AS reason,
       CASE WHEN paused IS FALSE AND status = 'active' AND min_tls_version < $min_tls_version
              THEN 'min_tls_too_low' END AS failure,
       min_tls_version
FROM raw_cloudflare_zones
WHERE snapshot_date = $snapshot_date
