-- zrt is TLS 1.3 with 0-RTT: on
SELECT zone_id AS resource_id,
       zone_name AS resource_name,
       'https://dash.cloudflare.com/' || coalesce(account_id, '') || '/' || coalesce(zone_name, zone_id) AS resource_url,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active' OR tls_1_3 IS NULL THEN 'unknown'
            WHEN tls_1_3 IN ('on', 'zrt') THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active'
              THEN 'zone ' || coalesce(status, 'status not reported') || CASE WHEN paused THEN ', paused' ELSE '' END
                || ': Cloudflare does not proxy its traffic'
            WHEN tls_1_3 IS NULL THEN 'tls_1_3 not listed in the zone''s settings'
            ELSE 'tls_1_3 ' || tls_1_3 END AS reason,
       CASE WHEN paused IS FALSE AND status = 'active' AND tls_1_3 NOT IN ('on', 'zrt') THEN 'tls13_off' END AS failure,
       tls_1_3
FROM raw_cloudflare_zones
WHERE snapshot_date = $snapshot_date
