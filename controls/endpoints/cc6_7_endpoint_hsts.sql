-- the header of a verified HTTPS answer only (RFC 6797 ignores it over HTTP); parsed by connectors/endpoints/probe.py
WITH judged AS (
    SELECT *,
           CASE WHEN https_status IS NULL OR cert_verified IS NOT TRUE THEN NULL
                WHEN hsts_header IS NULL THEN 'hsts_missing'
                WHEN hsts_max_age IS NULL THEN 'hsts_invalid'
                WHEN hsts_max_age < $min_hsts_max_age THEN 'hsts_too_short'
                WHEN NOT hsts_include_subdomains THEN 'hsts_no_subdomains'
                WHEN $require_preload AND NOT hsts_preload THEN 'hsts_no_preload' END AS failure
    FROM raw_endpoints_probes
    WHERE snapshot_date = $snapshot_date
)
SELECT endpoint AS resource_id,
       endpoint AS resource_name,
       url AS resource_url,
       CASE WHEN https_status IS NULL OR cert_verified IS NOT TRUE THEN 'unknown'
            WHEN failure IS NOT NULL THEN 'fail'
            ELSE 'pass' END AS status,
       CASE WHEN https_status IS NULL OR cert_verified IS NOT TRUE
              THEN 'no verified HTTPS answer: ' || coalesce(https_error, 'no answer')
            WHEN hsts_header IS NULL THEN 'no Strict-Transport-Security header'
            ELSE 'Strict-Transport-Security: ' || hsts_header || ' (max-age '
              || coalesce(hsts_max_age::VARCHAR, 'invalid') || ', includeSubDomains '
              || CASE WHEN hsts_include_subdomains THEN 'yes' ELSE 'no' END || ', preload '
              || CASE WHEN hsts_preload THEN 'yes' ELSE 'no' END || ')' END AS reason,
       failure,
       hsts_max_age,
       hsts_include_subdomains,
       hsts_preload,
       probed_at
FROM judged
