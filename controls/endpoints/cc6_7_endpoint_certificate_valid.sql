-- the expiry is read only from a verified certificate (an unverified getpeercert() is {}): NULL is unknown, never fine
SELECT endpoint AS resource_id,
       endpoint AS resource_name,
       url AS resource_url,
       CASE WHEN cert_verified = false THEN 'fail'
            WHEN cert_verified IS NULL OR cert_days_to_expiry IS NULL THEN 'unknown'
            WHEN cert_days_to_expiry < $min_days_to_expiry THEN 'fail'
            ELSE 'pass' END AS status,
       CASE WHEN cert_verified = false THEN coalesce(https_error, 'certificate not trusted')
            WHEN cert_verified IS NULL OR cert_days_to_expiry IS NULL
              THEN 'no certificate read: ' || coalesce(https_error, 'no verified handshake')
            ELSE 'expires ' || strftime(cert_not_after, '%Y-%m-%d %H:%M UTC') || ', '
              || round(cert_days_to_expiry, 1)::VARCHAR || ' days after the probe (issuer '
              || coalesce(cert_issuer, 'not named') || ')' END AS reason,
       CASE WHEN cert_verified = false THEN 'certificate_untrusted'
            WHEN cert_days_to_expiry < $min_days_to_expiry THEN 'certificate_expiring' END AS failure,
       cert_not_after,
       cert_days_to_expiry,
       cert_issuer,
       probed_at
FROM raw_endpoints_probes
WHERE snapshot_date = $snapshot_date
