-- Certificates never issued (pending validation, timed out, failed) have no NotAfter and serve nothing: not in the
-- population. Any other certificate without NotAfter is unknown.
SELECT certificate_arn AS resource_id,
       coalesce(domain_name, certificate_arn) || ' (' || account_id || ' ' || region || ')' AS resource_name,
       'https://console.aws.amazon.com/acm/home?region=' || region || '#/certificates/'
         || split_part(certificate_arn, '/', 2) AS resource_url,
       CASE WHEN not_after IS NULL THEN 'unknown'
            WHEN not_after < $snapshot_date::TIMESTAMP THEN 'fail'
            WHEN not_after < $snapshot_date::TIMESTAMP + to_days(CAST($certificate_expiry_days AS INTEGER)) THEN 'fail'
            ELSE 'pass' END AS status,
       CASE WHEN not_after IS NULL THEN coalesce(status, 'status not reported') || ' certificate listed without NotAfter'
            WHEN not_after < $snapshot_date::TIMESTAMP
            THEN 'expired ' || strftime(not_after, '%Y-%m-%d') || CASE WHEN in_use THEN ', still in use' ELSE '' END
            ELSE 'expires ' || strftime(not_after, '%Y-%m-%d') || ' ('
                 || date_diff('day', $snapshot_date::TIMESTAMP, not_after) || ' days)'
                 || CASE WHEN not_after < $snapshot_date::TIMESTAMP + to_days(CAST($certificate_expiry_days AS INTEGER))
                         THEN ', within ' || $certificate_expiry_days || ' days'
                              || CASE WHEN type = 'AMAZON_ISSUED' AND renewal_eligibility = 'ELIGIBLE'
                                      THEN ' (ACM renews it only once validation succeeds)' ELSE '' END
                         ELSE '' END
       END AS reason,
       CASE WHEN not_after IS NULL THEN NULL
            WHEN not_after < $snapshot_date::TIMESTAMP THEN 'expired'
            WHEN not_after < $snapshot_date::TIMESTAMP + to_days(CAST($certificate_expiry_days AS INTEGER))
            THEN 'expiring_soon' END AS failure,
       account_id,
       region,
       status AS certificate_status,
       type AS certificate_type,
       key_algorithm,
       in_use,
       not_after
FROM raw_aws_certificates
WHERE snapshot_date = $snapshot_date
  AND NOT (not_after IS NULL AND status IN ('PENDING_VALIDATION', 'VALIDATION_TIMED_OUT', 'FAILED'))
