-- effective block = the bucket's own flag OR the account's (s3control), each of the four
WITH judged AS (
    SELECT b.*,
           a.account_id IS NOT NULL AS account_read,
           a.configured AS account_configured,
           b.block_public_acls OR a.block_public_acls AS acls_blocked,
           b.ignore_public_acls OR a.ignore_public_acls AS acls_ignored,
           b.block_public_policy OR a.block_public_policy AS policy_blocked,
           b.restrict_public_buckets OR a.restrict_public_buckets AS buckets_restricted
    FROM raw_aws_s3_buckets b
    LEFT JOIN raw_aws_s3_account_public_access a
           ON a.snapshot_date = b.snapshot_date AND a.account_id = b.account_id
    WHERE b.snapshot_date = $snapshot_date
)
SELECT coalesce(bucket_arn, 'arn:aws:s3:::' || bucket_name) AS resource_id,
       bucket_name AS resource_name,
       'https://s3.console.aws.amazon.com/s3/buckets/' || bucket_name || '?tab=permissions' AS resource_url,
       CASE WHEN acls_blocked AND acls_ignored AND policy_blocked AND buckets_restricted THEN 'pass'
            WHEN NOT acls_blocked OR NOT acls_ignored OR NOT policy_blocked OR NOT buckets_restricted THEN 'fail'
            ELSE 'unknown' END AS status,
       CASE WHEN acls_blocked AND acls_ignored AND policy_blocked AND buckets_restricted
            THEN 'all four public access settings blocked ('
                 || CASE WHEN public_access_block_configured THEN 'bucket' ELSE '' END
                 || CASE WHEN public_access_block_configured AND account_configured THEN ' and ' ELSE '' END
                 || CASE WHEN account_configured THEN 'account' ELSE '' END || ' block)'
            WHEN NOT acls_blocked OR NOT acls_ignored OR NOT policy_blocked OR NOT buckets_restricted
            THEN 'not blocked by the bucket or the account: '
                 || array_to_string(list_filter(['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy',
                                                  'RestrictPublicBuckets'],
                                                 lambda flag, i: NOT coalesce([acls_blocked, acls_ignored, policy_blocked,
                                                                             buckets_restricted][i], true)), ', ')
            WHEN NOT account_read THEN 'the account''s public access block (s3control) was not collected'
            ELSE 'the bucket''s public access block was not read: '
                 || coalesce(array_to_string(unreadable, ', '), 'no answer')
       END AS reason,
       CASE WHEN NOT acls_blocked OR NOT acls_ignored OR NOT policy_blocked OR NOT buckets_restricted
            THEN CASE WHEN NOT coalesce(public_access_block_configured, true) AND NOT coalesce(account_configured, true)
                      THEN 'no_block' ELSE 'partial_block' END END AS failure,
       account_id,
       public_access_block_configured AS bucket_block_configured,
       account_configured AS account_block_configured
FROM judged
