SELECT zone_id AS resource_id,
       zone_name AS resource_name,
       'https://dash.cloudflare.com/' || coalesce(account_id, '') || '/' || coalesce(zone_name, zone_id) AS resource_url,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active' OR always_use_https IS NULL THEN 'unknown'
            WHEN always_use_https = 'on' THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active'
              THEN 'zone ' || coalesce(status, 'status not reported') || CASE WHEN paused THEN ', paused' ELSE '' END
                || ': Cloudflare does not proxy its traffic'
            WHEN always_use_https IS NULL THEN 'always_use_https not listed in the zone''s settings'
            ELSE 'always_use_https ' || always_use_https END AS reason,
       CASE WHEN paused IS FALSE AND status = 'active' AND always_use_https <> 'on' THEN 'http_allowed' END AS failure,
       always_use_https
FROM raw_cloudflare_zones
WHERE snapshot_date = $snapshot_date
