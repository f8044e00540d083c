-- automatic rotation applies to enabled, customer managed, symmetric keys of AWS_KMS origin (rotation_applies);
-- AWS managed, asymmetric, HMAC, imported, custom key store, disabled and pending-deletion keys are out of scope (the
-- reconciliation counts them); a key whose DescribeKey was refused is unknown
WITH keys AS (
    SELECT * FROM raw_aws_kms_keys
    WHERE snapshot_date = $snapshot_date AND (rotation_applies OR rotation_applies IS NULL)
), unread AS (
    SELECT account_id, region, opt_in_status
    FROM raw_aws_regions WHERE snapshot_date = $snapshot_date AND NOT coalesce(configured, false)
)
SELECT coalesce(key_arn, 'arn:aws:kms:' || region || ':' || account_id || ':key/' || key_id) AS resource_id,
       coalesce(nullif(description, ''), key_id) AS resource_name,
       'https://console.aws.amazon.com/kms/home?region=' || region || '#/kms/keys/' || key_id AS resource_url,
       CASE WHEN rotation_enabled THEN 'pass' WHEN NOT rotation_enabled THEN 'fail' ELSE 'unknown' END AS status,
       CASE WHEN rotation_enabled
            THEN 'automatic rotation on, every ' || coalesce(rotation_period_days::VARCHAR, '365') || ' days'
                 || coalesce(', next ' || strftime(next_rotation_date, '%Y-%m-%d'), '')
            WHEN NOT rotation_enabled THEN 'automatic key rotation is off'
            WHEN unreadable IS NOT NULL THEN 'not readable: ' || unreadable
            ELSE 'GetKeyRotationStatus did not report KeyRotationEnabled' END AS reason,
       CASE WHEN NOT rotation_enabled THEN 'rotation_off' END AS failure,
       account_id,
       region,
       key_id
FROM keys
UNION ALL
SELECT account_id || '/' || region, 'KMS keys in ' || account_id || ' ' || region,
       'https://console.aws.amazon.com/kms/home?region=' || region || '#/kms/keys',
       'unknown',
       'region enabled (' || coalesce(opt_in_status, 'status not reported') || ') but not read: add it to AWS_REGIONS',
       NULL, account_id, region, NULL
FROM unread
