SELECT endpoint AS resource_id,
       endpoint AS resource_name,
       'http://' || host || '/' AS resource_url,
       CASE WHEN http_redirects_to_https IS NULL THEN 'unknown'
            WHEN http_redirects_to_https THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN http_redirects_to_https IS NULL THEN 'plain HTTP not answered: ' || coalesce(http_error, 'no answer')
            ELSE 'HTTP ' || http_status::VARCHAR
              || coalesce(' to ' || http_location, ' without a Location') END AS reason,
       CASE WHEN http_redirects_to_https = false AND http_status IN (301, 302, 307, 308) AND http_location IS NOT NULL
              THEN 'redirect_elsewhere'
            WHEN http_redirects_to_https = false THEN 'no_redirect' END AS failure,
       http_status,
       http_location,
       probed_at
FROM raw_endpoints_probes
WHERE snapshot_date = $snapshot_date
