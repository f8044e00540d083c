WITH keys AS (
    SELECT account_id, "user", 1 AS n, access_key_1_active AS active, access_key_1_last_rotated AS rotated,
           access_key_1_last_used_date AS used
    FROM raw_aws_credential_report
    WHERE snapshot_date = $snapshot_date AND NOT is_root
      AND (access_key_1_active OR (access_key_1_active IS NULL AND access_key_1_last_rotated IS NOT NULL))
    UNION ALL
    SELECT account_id, "user", 2, access_key_2_active, access_key_2_last_rotated, access_key_2_last_used_date
    FROM raw_aws_credential_report
    WHERE snapshot_date = $snapshot_date AND NOT is_root
      AND (access_key_2_active OR (access_key_2_active IS NULL AND access_key_2_last_rotated IS NOT NULL))
), judged AS (
    SELECT *, rotated < $snapshot_date::TIMESTAMP - to_days(CAST($key_rotation_days AS INTEGER)) AS stale,
           coalesce(used, rotated) < $snapshot_date::TIMESTAMP - to_days(CAST($key_unused_days AS INTEGER))
             AS unused
    FROM keys
)
SELECT account_id || '/' || "user" || '/access_key_' || n AS resource_id,
       "user" || ' access key ' || n AS resource_name,
       'https://console.aws.amazon.com/iam/home#/users/details/' || "user" || '?section=security_credentials'
         AS resource_url,
       CASE WHEN stale OR unused THEN 'fail' WHEN rotated IS NULL OR active IS NULL THEN 'unknown'
            ELSE 'pass' END AS status,
       CASE WHEN rotated IS NULL THEN 'the credential report has no rotation date for this key'
            WHEN active IS NULL AND NOT (stale OR unused)
            THEN 'the credential report did not say whether this key is active'
            ELSE 'rotated ' || strftime(rotated, '%Y-%m-%d') || ', last used '
                 || coalesce(strftime(used, '%Y-%m-%d'), 'never')
                 || CASE WHEN stale THEN ' (older than ' || $key_rotation_days || ' days)' ELSE '' END
                 || CASE WHEN unused THEN ' (unused for ' || $key_unused_days || ' days)' ELSE '' END
       END AS reason,
       CASE WHEN unused THEN 'unused' WHEN stale THEN 'not_rotated' END AS failure,
       rotated AS last_rotated,
       used AS last_used
FROM judged
