-- AWS operations posture (connectors/aws/posture_ops.py): Backup vaults and copy jobs, ACM certificates, ELBv2
-- listeners and SSL policies, CloudWatch Logs log groups, GuardDuty detectors; and the policy-document analysis added
-- to the records of GetAccountAuthorizationDetails (no second call). Timestamps are UTC.
CREATE TABLE raw_aws_backup_vaults (
    snapshot_date              DATE NOT NULL,
    run_id                     VARCHAR NOT NULL,
    account_id                 VARCHAR NOT NULL,
    region                     VARCHAR NOT NULL,
    backup_vault_arn           VARCHAR NOT NULL,
    backup_vault_name          VARCHAR,
    vault_type                 VARCHAR,  -- BACKUP_VAULT | LOGICALLY_AIR_GAPPED_BACKUP_VAULT | RESTORE_ACCESS_BACKUP_VAULT
    vault_state                VARCHAR,
    encryption_key_arn         VARCHAR,  -- a KMS key ARN, never an alias
    encryption_key_type        VARCHAR,  -- AWS_OWNED_KMS_KEY | CUSTOMER_MANAGED_KMS_KEY; NULL when not reported
    locked                     BOOLEAN,
    min_retention_days         BIGINT,
    max_retention_days         BIGINT,
    number_of_recovery_points  BIGINT,
    creation_date              TIMESTAMP
);

CREATE TABLE raw_aws_copy_jobs (
    snapshot_date                 DATE NOT NULL,
    run_id                        VARCHAR NOT NULL,
    account_id                    VARCHAR NOT NULL,
    region                        VARCHAR NOT NULL,  -- the region the copy job was listed in (the source's)
    copy_job_id                   VARCHAR NOT NULL,
    resource_arn                  VARCHAR,
    resource_type                 VARCHAR,
    resource_name                 VARCHAR,
    source_backup_vault_arn       VARCHAR,
    source_recovery_point_arn     VARCHAR,
    destination_backup_vault_arn  VARCHAR,
    destination_region            VARCHAR,  -- field 4 of the destination vault's ARN
    destination_account_id        VARCHAR,  -- field 5
    state                         VARCHAR,  -- CREATED | RUNNING | COMPLETED | FAILED | PARTIAL
    status_message                VARCHAR,
    creation_date                 TIMESTAMP,
    completion_date               TIMESTAMP,
    created_by_backup_job_id      VARCHAR
);

CREATE TABLE raw_aws_certificates (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    account_id           VARCHAR NOT NULL,
    region               VARCHAR NOT NULL,
    certificate_arn      VARCHAR NOT NULL,
    domain_name          VARCHAR,
    status               VARCHAR,  -- PENDING_VALIDATION | ISSUED | INACTIVE | EXPIRED | VALIDATION_TIMED_OUT | REVOKED | FAILED
    type                 VARCHAR,  -- IMPORTED | AMAZON_ISSUED | PRIVATE
    key_algorithm        VARCHAR,
    in_use               BOOLEAN,
    renewal_eligibility  VARCHAR,
    not_before           TIMESTAMP,
    not_after            TIMESTAMP,  -- NULL until the certificate is issued
    issued_at            TIMESTAMP,
    imported_at          TIMESTAMP,
    revoked_at           TIMESTAMP
);

CREATE TABLE raw_aws_ssl_policies (
    snapshot_date                  DATE NOT NULL,
    run_id                         VARCHAR NOT NULL,
    account_id                     VARCHAR NOT NULL,
    region                         VARCHAR NOT NULL,
    name                           VARCHAR NOT NULL,
    ssl_protocols                  VARCHAR[],  -- TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3
    supported_load_balancer_types  VARCHAR[]
);

CREATE TABLE raw_aws_lb_listeners (
    snapshot_date       DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    account_id          VARCHAR NOT NULL,
    region              VARCHAR NOT NULL,
    listener_arn        VARCHAR NOT NULL,
    load_balancer_arn   VARCHAR,
    load_balancer_name  VARCHAR,
    load_balancer_type  VARCHAR,  -- application | network | gateway
    scheme              VARCHAR,  -- internet-facing | internal
    port                INTEGER,
    protocol            VARCHAR,  -- HTTP | HTTPS | TCP | TLS | UDP | TCP_UDP | GENEVE
    ssl_policy          VARCHAR,  -- HTTPS and TLS listeners only
    default_actions     VARCHAR,  -- JSON
    redirects_to_https  BOOLEAN,  -- HTTP listeners: default action, or rules in priority order up to a catch-all
    redirect_rule_arn   VARCHAR,  -- the rule that decided it (the catch-all redirect, or the first serving HTTP)
    rules_read          INTEGER   -- NULL when the default action decided and no rule was read
);

CREATE TABLE raw_aws_log_groups (
    snapshot_date      DATE NOT NULL,
    run_id             VARCHAR NOT NULL,
    account_id         VARCHAR NOT NULL,
    region             VARCHAR NOT NULL,
    log_group_name     VARCHAR NOT NULL,
    log_group_arn      VARCHAR,
    retention_in_days  INTEGER,  -- NULL: never expire (no retention policy)
    creation_time      TIMESTAMP,
    stored_bytes       BIGINT,
    log_group_class    VARCHAR,
    kms_key_id         VARCHAR
);

-- one row per detector; a region read without any detector is one row whose detector_id is NULL
CREATE TABLE raw_aws_guardduty_detectors (
    snapshot_date                 DATE NOT NULL,
    run_id                        VARCHAR NOT NULL,
    account_id                    VARCHAR NOT NULL,
    region                        VARCHAR NOT NULL,
    detector_id                   VARCHAR,
    status                        VARCHAR,  -- ENABLED | DISABLED
    finding_publishing_frequency  VARCHAR,
    created_at                    TIMESTAMP,
    updated_at                    TIMESTAMP,
    features                      VARCHAR   -- JSON [{name, status}]
);

-- GetAccountAuthorizationDetails' documents, judged as they are read (connectors/aws/posture_ops.py broad_grants):
-- a managed policy's default version, a principal's inline policies. broad_grants: "<policy>: <statement>" of each
-- statement allowing * on * (or everything but a NotAction / NotResource list); [] none; NULL when a document could
-- not be read (named in unreadable_policies). Rows landed before this migration have NULL: unknown, never "none".
ALTER TABLE raw_aws_authorization_details ADD COLUMN broad_grants VARCHAR[];
ALTER TABLE raw_aws_authorization_details ADD COLUMN unreadable_policies VARCHAR[];
