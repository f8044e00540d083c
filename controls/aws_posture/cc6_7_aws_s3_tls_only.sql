SELECT coalesce(bucket_arn, 'arn:aws:s3:::' || bucket_name) AS resource_id,
       bucket_name AS resource_name,
       'https://s3.console.aws.amazon.com/s3/buckets/' || bucket_name || '?tab=permissions' AS resource_url,
       CASE WHEN denies_insecure_transport THEN 'pass'
            WHEN NOT denies_insecure_transport THEN 'fail'
            ELSE 'unknown' END AS status,
       CASE WHEN denies_insecure_transport
            THEN 'the bucket policy denies every request without TLS (aws:SecureTransport false) to the bucket and its objects'
            WHEN NOT policy_present THEN 'no bucket policy: requests over plain HTTP are not denied'
            WHEN NOT denies_insecure_transport
            THEN 'the bucket policy has no Deny of s3:* for all principals on the bucket and its objects when '
                 || 'aws:SecureTransport is false'
            ELSE 'the bucket policy was not read: ' || coalesce(array_to_string(unreadable, ', '), 'no answer')
       END AS reason,
       CASE WHEN NOT policy_present THEN 'no_policy' WHEN NOT denies_insecure_transport THEN 'no_tls_deny' END
         AS failure,
       account_id,
       bucket_region,
       policy_present
FROM raw_aws_s3_buckets
WHERE snapshot_date = $snapshot_date
