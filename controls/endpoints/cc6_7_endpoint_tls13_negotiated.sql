-- only a verified handshake is evidence of what a customer's browser negotiates
SELECT endpoint AS resource_id,
       endpoint AS resource_name,
       url AS resource_url,
       CASE WHEN cert_verified IS NOT TRUE OR negotiated_version IS NULL THEN 'unknown'
            WHEN negotiated_version = 'TLSv1.3' THEN 'pass'
            WHEN negotiated_version = 'TLSv1.2' AND NOT $require_tls13 THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN cert_verified IS NOT TRUE OR negotiated_version IS NULL
              THEN 'no verified HTTPS handshake: ' || coalesce(https_error, 'no answer')
            ELSE 'negotiated ' || negotiated_version
              || CASE WHEN $require_tls13 THEN ' (TLS 1.3 required)' ELSE ' (TLS 1.2 or 1.3 accepted)' END
       END AS reason,
       CASE WHEN cert_verified AND negotiated_version IS NOT NULL AND negotiated_version <> 'TLSv1.3'
                 AND ($require_tls13 OR negotiated_version <> 'TLSv1.2') THEN 'tls13_not_negotiated' END AS failure,
       negotiated_version,
       probed_at
FROM raw_endpoints_probes
WHERE snapshot_date = $snapshot_date
