-- AWS Backup encrypts every vault with a KMS key (EncryptionKeyArn). EncryptionKeyType says whose key it is and is
-- optional in the model; when absent, KMS DescribeKey's KeyManager of that key (aws.kms_keys, same account) does.
WITH vaults AS (
    SELECT v.*, k.key_manager,
           coalesce(v.encryption_key_type,
                    CASE k.key_manager WHEN 'CUSTOMER' THEN 'CUSTOMER_MANAGED_KMS_KEY'
                                       WHEN 'AWS' THEN 'AWS_MANAGED_KMS_KEY' END) AS key_kind
    FROM raw_aws_backup_vaults v
    LEFT JOIN raw_aws_kms_keys k
           ON k.snapshot_date = v.snapshot_date AND k.account_id = v.account_id AND k.key_arn = v.encryption_key_arn
    WHERE v.snapshot_date = $snapshot_date
)
SELECT backup_vault_arn AS resource_id,
       coalesce(backup_vault_name, backup_vault_arn) || ' (' || account_id || ' ' || region || ')' AS resource_name,
       'https://console.aws.amazon.com/backup/home?region=' || region || '#/backupvaults/details/'
         || coalesce(backup_vault_name, '') AS resource_url,
       CASE WHEN encryption_key_arn IS NULL THEN 'unknown'
            WHEN key_kind = 'CUSTOMER_MANAGED_KMS_KEY' THEN 'pass'
            WHEN NOT CAST($require_customer_managed_key AS BOOLEAN) THEN 'pass'
            WHEN key_kind IS NULL THEN 'unknown'
            ELSE 'fail' END AS status,
       CASE WHEN encryption_key_arn IS NULL THEN 'the vault was listed without its KMS key (EncryptionKeyArn)'
            WHEN key_kind = 'CUSTOMER_MANAGED_KMS_KEY'
            THEN 'encrypted with customer managed KMS key ' || encryption_key_arn
                 || CASE WHEN encryption_key_type IS NULL THEN ' (KeyManager CUSTOMER in KMS)' ELSE '' END
            WHEN NOT CAST($require_customer_managed_key AS BOOLEAN)
            THEN 'encrypted with KMS key ' || encryption_key_arn || ' (' || coalesce(key_kind, 'key type not reported')
                 || '); any KMS key is accepted'
            WHEN key_kind IS NULL
            THEN 'encrypted with KMS key ' || encryption_key_arn || ', but neither AWS Backup (EncryptionKeyType) nor the '
                 || 'keys read from KMS say whether it is customer managed'
            ELSE 'encrypted with ' || key_kind || ' ' || encryption_key_arn || ', not a customer managed KMS key'
       END AS reason,
       CASE WHEN encryption_key_arn IS NOT NULL AND key_kind IS NOT NULL AND key_kind <> 'CUSTOMER_MANAGED_KMS_KEY'
                 AND CAST($require_customer_managed_key AS BOOLEAN)
            THEN 'not_customer_managed_key' END AS failure,
       account_id,
       region,
       encryption_key_arn,
       key_kind AS encryption_key_type,
       locked,
       number_of_recovery_points
FROM vaults
