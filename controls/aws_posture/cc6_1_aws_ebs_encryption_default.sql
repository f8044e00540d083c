-- every region the account has enabled (aws.regions), and every region read; an enabled region not read is unknown
WITH regions AS (
    SELECT account_id, region, opt_in_status, configured
    FROM raw_aws_regions WHERE snapshot_date = $snapshot_date
), settings AS (
    SELECT account_id, region, ebs_encryption_by_default
    FROM raw_aws_ebs_encryption_default WHERE snapshot_date = $snapshot_date
), population AS (
    SELECT coalesce(r.account_id, s.account_id) AS account_id, coalesce(r.region, s.region) AS region,
           r.opt_in_status, r.configured, s.ebs_encryption_by_default, s.account_id IS NOT NULL AS read
    FROM regions r FULL JOIN settings s ON s.account_id = r.account_id AND s.region = r.region
)
SELECT account_id || '/' || region AS resource_id,
       'EBS encryption by default in ' || account_id || ' ' || region AS resource_name,
       'https://console.aws.amazon.com/ec2/home?region=' || region || '#Settings:tab=ebsEncryption' AS resource_url,
       CASE WHEN ebs_encryption_by_default THEN 'pass' WHEN NOT ebs_encryption_by_default THEN 'fail'
            ELSE 'unknown' END AS status,
       CASE WHEN ebs_encryption_by_default THEN 'new EBS volumes are encrypted by default'
            WHEN NOT ebs_encryption_by_default THEN 'EBS encryption by default is off: new volumes may be unencrypted'
            WHEN NOT coalesce(configured, true)
            THEN 'region enabled (' || coalesce(opt_in_status, 'status not reported')
                 || ') but not read: add it to AWS_REGIONS'
            WHEN read THEN 'GetEbsEncryptionByDefault did not report the setting'
            ELSE 'region configured but not read that day' END AS reason,
       CASE WHEN NOT ebs_encryption_by_default THEN 'default_off' END AS failure,
       account_id,
       region,
       configured AS region_configured
FROM population
