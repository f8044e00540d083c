WITH volumes AS (
    SELECT * FROM raw_aws_ebs_volumes WHERE snapshot_date = $snapshot_date
), unread AS (
    SELECT account_id, region, opt_in_status
    FROM raw_aws_regions WHERE snapshot_date = $snapshot_date AND NOT coalesce(configured, false)
)
SELECT 'arn:aws:ec2:' || region || ':' || account_id || ':volume/' || volume_id AS resource_id,
       coalesce(name, volume_id) AS resource_name,
       'https://console.aws.amazon.com/ec2/home?region=' || region || '#VolumeDetails:volumeId=' || volume_id
         AS resource_url,
       CASE WHEN encrypted THEN 'pass' WHEN NOT encrypted THEN 'fail' ELSE 'unknown' END AS status,
       CASE WHEN encrypted THEN 'encrypted' || coalesce(' with ' || kms_key_id, '')
            WHEN NOT encrypted THEN 'not encrypted (' || coalesce(state, 'state not reported')
                 || CASE WHEN len(attached_instances) > 0
                         THEN ', attached to ' || array_to_string(attached_instances, ', ') ELSE '' END || ')'
            ELSE 'DescribeVolumes did not report Encrypted' END AS reason,
       CASE WHEN NOT encrypted THEN 'unencrypted' END AS failure,
       account_id,
       region,
       volume_id
FROM volumes
UNION ALL
SELECT account_id || '/' || region, 'EBS volumes in ' || account_id || ' ' || region,
       'https://console.aws.amazon.com/ec2/home?region=' || region || '#Volumes:',
       'unknown',
       'region enabled (' || coalesce(opt_in_status, 'status not reported') || ') but not read: add it to AWS_REGIONS',
       NULL, account_id, region, NULL
FROM unread
