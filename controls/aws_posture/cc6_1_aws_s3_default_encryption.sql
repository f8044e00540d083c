-- GetBucketEncryption as documented: S3 applies SSE-S3 (AES256) to every new object since 2023-01-05, so "no
-- configuration" (moto, or a legacy answer) is SSE-S3 for a bucket created since then, and unknown for an older one
-- (objects written before may be unencrypted)
WITH buckets AS (
    SELECT *,
           CASE WHEN encryption_status = 'configured' THEN sse_algorithm
                WHEN encryption_status IN ('not_configured', 'no_default_rule')
                     AND creation_date >= CAST($sse_s3_base_level_since AS TIMESTAMP) THEN 'AES256' END
             AS effective_algorithm
    FROM raw_aws_s3_buckets
    WHERE snapshot_date = $snapshot_date
)
SELECT coalesce(bucket_arn, 'arn:aws:s3:::' || bucket_name) AS resource_id,
       bucket_name AS resource_name,
       'https://s3.console.aws.amazon.com/s3/buckets/' || bucket_name || '?tab=properties' AS resource_url,
       CASE WHEN effective_algorithm IS NULL THEN 'unknown'
            WHEN list_contains($sse_algorithms, effective_algorithm) THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN encryption_status IS NULL
            THEN 'default encryption not read: ' || coalesce(array_to_string(unreadable, ', '), 'no answer')
            WHEN encryption_status = 'configured' AND sse_algorithm IS NULL
            THEN 'a default encryption rule without SSEAlgorithm'
            WHEN effective_algorithm IS NULL
            THEN 'no default encryption configuration returned and the bucket was created '
                 || coalesce(strftime(creation_date, '%Y-%m-%d'), 'on an unreported date')
                 || ', before S3 encrypted every new object (2023-01-05): objects written before may be unencrypted'
            WHEN encryption_status <> 'configured'
            THEN 'no default encryption configuration returned: S3''s documented base level applies, SSE-S3 (AES256)'
                 || CASE WHEN list_contains($sse_algorithms, 'AES256') THEN '' ELSE ', not a KMS key' END
            ELSE 'default encryption ' || sse_algorithm || coalesce(' with key ' || kms_master_key_id, '')
                 || CASE WHEN list_contains($sse_algorithms, sse_algorithm) THEN ''
                         ELSE ' (required: ' || array_to_string($sse_algorithms, ' or ') || ')' END
       END AS reason,
       CASE WHEN effective_algorithm = 'AES256' AND NOT list_contains($sse_algorithms, 'AES256') THEN 's3_managed_keys'
            WHEN effective_algorithm IS NOT NULL AND NOT list_contains($sse_algorithms, effective_algorithm)
            THEN 'algorithm_not_allowed' END AS failure,
       account_id,
       bucket_region,
       encryption_status,
       sse_algorithm,
       kms_master_key_id,
       creation_date
FROM buckets
