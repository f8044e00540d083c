-- AWS posture (connectors/aws/posture.py; shapes from botocore's ec2, s3, s3control, kms, rds and cloudtrail models).
-- Every response member the models mark optional may be null here. Timestamps are UTC.

-- the regions each account has enabled (DescribeRegions without AllRegions), and whether AWS_REGIONS reads them:
-- a regional control makes an enabled region that was not read unknown ("not read: add it to AWS_REGIONS")
CREATE TABLE raw_aws_regions (
    snapshot_date  DATE NOT NULL,
    run_id         VARCHAR NOT NULL,
    account_id     VARCHAR NOT NULL,
    region         VARCHAR NOT NULL,
    opt_in_status  VARCHAR,  -- opt-in-not-required | opted-in
    configured     BOOLEAN   -- AWS_REGIONS includes it
);

CREATE TABLE raw_aws_s3_buckets (
    snapshot_date                   DATE NOT NULL,
    run_id                          VARCHAR NOT NULL,
    account_id                      VARCHAR NOT NULL,
    bucket_name                     VARCHAR NOT NULL,
    bucket_arn                      VARCHAR,
    bucket_region                   VARCHAR,  -- from ListBuckets' BucketRegion or GetBucketLocation
    creation_date                   TIMESTAMP,
    -- configured | not_configured (ServerSideEncryptionConfigurationNotFoundError: moto or a legacy answer; real S3
    -- applies SSE-S3 to every bucket since 2023-01-05) | no_default_rule; NULL when unreadable
    encryption_status               VARCHAR,
    sse_algorithm                   VARCHAR,  -- AES256 | aws:kms | aws:kms:dsse
    kms_master_key_id               VARCHAR,
    bucket_key_enabled              BOOLEAN,
    public_access_block_configured  BOOLEAN,  -- false: NoSuchPublicAccessBlockConfiguration (every flag off)
    block_public_acls               BOOLEAN,
    ignore_public_acls              BOOLEAN,
    block_public_policy             BOOLEAN,
    restrict_public_buckets         BOOLEAN,
    policy_present                  BOOLEAN,  -- false: NoSuchBucketPolicy
    policy                          VARCHAR,  -- the policy document as returned (JSON)
    denies_insecure_transport       BOOLEAN,  -- a Deny of s3:* on the bucket and its objects when aws:SecureTransport is false
    unreadable                      VARCHAR[] -- reads the bucket refused (AccessDenied, NoSuchBucket, ...): attributes left null
);

CREATE TABLE raw_aws_s3_account_public_access (
    snapshot_date            DATE NOT NULL,
    run_id                   VARCHAR NOT NULL,
    account_id               VARCHAR NOT NULL,
    configured               BOOLEAN,  -- false: NoSuchPublicAccessBlockConfiguration
    block_public_acls        BOOLEAN,
    ignore_public_acls       BOOLEAN,
    block_public_policy      BOOLEAN,
    restrict_public_buckets  BOOLEAN
);

CREATE TABLE raw_aws_ebs_encryption_default (
    snapshot_date              DATE NOT NULL,
    run_id                     VARCHAR NOT NULL,
    account_id                 VARCHAR NOT NULL,
    region                     VARCHAR NOT NULL,
    ebs_encryption_by_default  BOOLEAN
);

CREATE TABLE raw_aws_ebs_volumes (
    snapshot_date       DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    account_id          VARCHAR NOT NULL,
    region              VARCHAR NOT NULL,
    volume_id           VARCHAR NOT NULL,
    name                VARCHAR,  -- the Name tag
    state               VARCHAR,
    volume_type         VARCHAR,
    size_gib            INTEGER,
    encrypted           BOOLEAN,
    kms_key_id          VARCHAR,
    create_time         TIMESTAMP,
    attached_instances  VARCHAR[]
);

CREATE TABLE raw_aws_security_groups (
    snapshot_date  DATE NOT NULL,
    run_id         VARCHAR NOT NULL,
    account_id     VARCHAR NOT NULL,
    region         VARCHAR NOT NULL,
    group_id       VARCHAR NOT NULL,
    group_name     VARCHAR,
    vpc_id         VARCHAR,
    description    VARCHAR,
    -- one entry per (permission, source); ip_protocol '-1' = every protocol and port (no ports given)
    ingress        STRUCT(ip_protocol VARCHAR, from_port INTEGER, to_port INTEGER, source_kind VARCHAR, source VARCHAR,
                          description VARCHAR)[]
);

CREATE TABLE raw_aws_kms_keys (
    snapshot_date         DATE NOT NULL,
    run_id                VARCHAR NOT NULL,
    account_id            VARCHAR NOT NULL,
    region                VARCHAR NOT NULL,
    key_id                VARCHAR NOT NULL,
    key_arn               VARCHAR,
    description           VARCHAR,
    key_manager           VARCHAR,  -- AWS | CUSTOMER
    key_state             VARCHAR,  -- Enabled | Disabled | PendingDeletion | PendingImport | ...
    key_spec              VARCHAR,  -- SYMMETRIC_DEFAULT | RSA_2048 | HMAC_256 | ...
    key_usage             VARCHAR,
    origin                VARCHAR,  -- AWS_KMS | EXTERNAL | AWS_CLOUDHSM | EXTERNAL_KEY_STORE
    custom_key_store_id   VARCHAR,
    multi_region          BOOLEAN,
    creation_date         TIMESTAMP,
    deletion_date         TIMESTAMP,
    rotation_applies      BOOLEAN,  -- enabled, customer managed, symmetric, AWS_KMS origin: rotation status was read
    rotation_enabled      BOOLEAN,  -- NULL where it does not apply or was not readable
    rotation_period_days  INTEGER,
    next_rotation_date    TIMESTAMP,
    unreadable            VARCHAR   -- the read the key policy refused (AccessDeniedException)
);

-- the Aurora cluster of an instance (its Multi-AZ and deletion protection are the cluster's) and its log exports
ALTER TABLE raw_aws_rds_instances ADD COLUMN db_cluster_identifier VARCHAR;
ALTER TABLE raw_aws_rds_instances ADD COLUMN enabled_cloudwatch_logs_exports VARCHAR[];

CREATE TABLE raw_aws_rds_clusters (
    snapshot_date                    DATE NOT NULL,
    run_id                           VARCHAR NOT NULL,
    account_id                       VARCHAR NOT NULL,
    region                           VARCHAR NOT NULL,
    db_cluster_identifier            VARCHAR NOT NULL,
    db_cluster_arn                   VARCHAR,
    engine                           VARCHAR,
    status                           VARCHAR,
    multi_az                         BOOLEAN,
    availability_zones               VARCHAR[],
    deletion_protection              BOOLEAN,
    storage_encrypted                BOOLEAN,
    publicly_accessible              BOOLEAN,
    enabled_cloudwatch_logs_exports  VARCHAR[],
    members                          VARCHAR[]
);

-- one row per TrailARN (shadow copies listed in other regions folded into listed_in_regions)
CREATE TABLE raw_aws_cloudtrail_trails (
    snapshot_date                   DATE NOT NULL,
    run_id                          VARCHAR NOT NULL,
    account_id                      VARCHAR NOT NULL,
    trail_arn                       VARCHAR NOT NULL,
    name                            VARCHAR,
    home_region                     VARCHAR,
    is_multi_region                 BOOLEAN,
    is_organization_trail           BOOLEAN,
    log_file_validation_enabled     BOOLEAN,
    s3_bucket_name                  VARCHAR,
    kms_key_id                      VARCHAR,
    cloud_watch_logs_log_group_arn  VARCHAR,
    listed_in_regions               VARCHAR[],
    is_logging                      BOOLEAN,
    latest_delivery_error           VARCHAR,
    latest_delivery_time            TIMESTAMP,
    start_logging_time              TIMESTAMP,
    stop_logging_time               TIMESTAMP,
    event_selectors                 VARCHAR,  -- JSON, as GetEventSelectors returned them
    advanced_event_selectors        VARCHAR,  -- JSON
    management_events               VARCHAR   -- All | WriteOnly | ReadOnly; NULL: no management events recorded
);
