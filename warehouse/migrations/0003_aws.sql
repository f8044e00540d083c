-- AWS: IAM (credential report, account summary, authorization details, password policy),
-- AWS Backup (jobs, restore jobs, protected resources, plans) and RDS instances. Timestamps are UTC.
CREATE TABLE raw_aws_credential_report (
    snapshot_date                    DATE NOT NULL,
    run_id                           VARCHAR NOT NULL,
    account_id                       VARCHAR NOT NULL,
    "user"                           VARCHAR NOT NULL,
    arn                              VARCHAR,
    is_root                          BOOLEAN,
    user_creation_time               TIMESTAMP,
    password_enabled                 BOOLEAN,  -- NULL for the root user (not_supported)
    password_last_used               TIMESTAMP,
    password_last_changed            TIMESTAMP,
    password_next_rotation           TIMESTAMP,
    mfa_active                       BOOLEAN,
    access_key_1_active              BOOLEAN,
    access_key_1_last_rotated        TIMESTAMP,
    access_key_1_last_used_date      TIMESTAMP,
    access_key_1_last_used_region    VARCHAR,
    access_key_1_last_used_service   VARCHAR,
    access_key_2_active              BOOLEAN,
    access_key_2_last_rotated        TIMESTAMP,
    access_key_2_last_used_date      TIMESTAMP,
    access_key_2_last_used_region    VARCHAR,
    access_key_2_last_used_service   VARCHAR,
    cert_1_active                    BOOLEAN,
    cert_2_active                    BOOLEAN,
    generated_time                   TIMESTAMP
);

CREATE TABLE raw_aws_account_summary (
    snapshot_date                         DATE NOT NULL,
    run_id                                VARCHAR NOT NULL,
    account_id                            VARCHAR NOT NULL,
    account_mfa_enabled                   BOOLEAN,
    account_access_keys_present           BOOLEAN,
    account_signing_certificates_present  BOOLEAN
);

CREATE TABLE raw_aws_authorization_details (
    snapshot_date         DATE NOT NULL,
    run_id                VARCHAR NOT NULL,
    account_id            VARCHAR NOT NULL,
    entity_type           VARCHAR NOT NULL,  -- user | group | role | policy
    name                  VARCHAR NOT NULL,
    id                    VARCHAR,
    arn                   VARCHAR,
    path                  VARCHAR,
    create_date           TIMESTAMP,
    groups                VARCHAR[],
    attached_policies     VARCHAR[],
    attached_policy_arns  VARCHAR[],
    inline_policies       VARCHAR[],
    tags                  VARCHAR,  -- JSON object
    email                 VARCHAR,  -- the `email` tag
    permissions_boundary  VARCHAR,
    last_used             TIMESTAMP,
    attachment_count      INTEGER,
    is_aws_managed        BOOLEAN,
    raw                   VARCHAR
);

CREATE TABLE raw_aws_password_policy (
    snapshot_date                   DATE NOT NULL,
    run_id                          VARCHAR NOT NULL,
    account_id                      VARCHAR NOT NULL,
    policy_set                      BOOLEAN,
    minimum_password_length         INTEGER,
    require_symbols                 BOOLEAN,
    require_numbers                 BOOLEAN,
    require_uppercase_characters    BOOLEAN,
    require_lowercase_characters    BOOLEAN,
    allow_users_to_change_password  BOOLEAN,
    expire_passwords                BOOLEAN,
    max_password_age                INTEGER,
    password_reuse_prevention       INTEGER,
    hard_expiry                     BOOLEAN
);

CREATE TABLE raw_aws_backup_jobs (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    account_id           VARCHAR NOT NULL,
    region               VARCHAR NOT NULL,
    backup_job_id        VARCHAR NOT NULL,
    backup_vault_name    VARCHAR,
    resource_arn         VARCHAR,
    resource_type        VARCHAR,
    resource_name        VARCHAR,
    state                VARCHAR,
    status_message       VARCHAR,
    creation_date        TIMESTAMP,
    completion_date      TIMESTAMP,
    recovery_point_arn   VARCHAR,
    backup_plan_id       VARCHAR,
    backup_size_bytes    BIGINT,
    message_category     VARCHAR
);

CREATE TABLE raw_aws_restore_jobs (
    snapshot_date                 DATE NOT NULL,
    run_id                        VARCHAR NOT NULL,
    account_id                    VARCHAR NOT NULL,
    region                        VARCHAR NOT NULL,
    restore_job_id                VARCHAR NOT NULL,
    status                        VARCHAR,
    status_message                VARCHAR,
    resource_type                 VARCHAR,
    recovery_point_arn            VARCHAR,
    created_resource_arn          VARCHAR,
    creation_date                 TIMESTAMP,
    completion_date               TIMESTAMP,
    recovery_point_creation_date  TIMESTAMP,
    validation_status             VARCHAR
);

CREATE TABLE raw_aws_protected_resources (
    snapshot_date            DATE NOT NULL,
    run_id                   VARCHAR NOT NULL,
    account_id               VARCHAR NOT NULL,
    region                   VARCHAR NOT NULL,
    resource_arn             VARCHAR NOT NULL,
    resource_type            VARCHAR,
    resource_name            VARCHAR,
    last_backup_time         TIMESTAMP,
    last_backup_vault_arn    VARCHAR,
    last_recovery_point_arn  VARCHAR
);

CREATE TABLE raw_aws_backup_plans (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    account_id           VARCHAR NOT NULL,
    region               VARCHAR NOT NULL,
    backup_plan_id       VARCHAR NOT NULL,
    backup_plan_arn      VARCHAR,
    backup_plan_name     VARCHAR,
    version_id           VARCHAR,
    creation_date        TIMESTAMP,
    deletion_date        TIMESTAMP,
    last_execution_date  TIMESTAMP
);

CREATE TABLE raw_aws_rds_instances (
    snapshot_date            DATE NOT NULL,
    run_id                   VARCHAR NOT NULL,
    account_id               VARCHAR NOT NULL,
    region                   VARCHAR NOT NULL,
    db_instance_identifier   VARCHAR NOT NULL,
    db_instance_arn          VARCHAR,
    engine                   VARCHAR,
    engine_version           VARCHAR,
    db_instance_class        VARCHAR,
    status                   VARCHAR,
    backup_retention_period  INTEGER,
    storage_encrypted        BOOLEAN,
    publicly_accessible      BOOLEAN,
    multi_az                 BOOLEAN,
    deletion_protection      BOOLEAN,
    latest_restorable_time   TIMESTAMP,
    instance_create_time     TIMESTAMP
);

-- One row per IAM user: identity from the `email` tag, privileges from AdministratorAccess attached to the
-- user or one of its groups, activity and MFA from the same day's credential report (NULL = unknown).
CREATE VIEW accounts_aws AS
WITH users AS (
    SELECT * FROM raw_aws_authorization_details WHERE entity_type = 'user'
), groups AS (
    SELECT snapshot_date, account_id, name, attached_policies FROM raw_aws_authorization_details
    WHERE entity_type = 'group'
), held AS (
    SELECT snapshot_date, account_id, name, unnest(attached_policies) AS policy FROM users
    UNION ALL
    SELECT u.snapshot_date, u.account_id, u.name, unnest(g.attached_policies) AS policy
    FROM (SELECT snapshot_date, account_id, name, unnest(groups) AS group_name FROM users) u
    JOIN groups g ON g.snapshot_date = u.snapshot_date AND g.account_id = u.account_id AND g.name = u.group_name
), admin AS (
    SELECT snapshot_date, account_id, name, list(DISTINCT policy ORDER BY policy) AS privileges
    FROM held WHERE policy IN ('AdministratorAccess') GROUP BY ALL
)
SELECT u.snapshot_date,
       'aws' AS system,
       u.account_id || '/' || u.name AS account_id,
       lower(nullif(trim(u.email), '')) AS email,
       u.name AS display_name,
       CASE WHEN r."user" IS NULL THEN NULL
            ELSE coalesce(r.password_enabled, false) OR coalesce(r.access_key_1_active, false)
                 OR coalesce(r.access_key_2_active, false) END AS is_active,
       a.privileges IS NOT NULL AS is_privileged,
       coalesce(a.privileges, []::VARCHAR[]) AS privileges,
       r.mfa_active AS mfa_enabled,
       nullif(greatest(coalesce(r.password_last_used, '-infinity'::TIMESTAMP),
                       coalesce(r.access_key_1_last_used_date, '-infinity'::TIMESTAMP),
                       coalesce(r.access_key_2_last_used_date, '-infinity'::TIMESTAMP)),
              '-infinity'::TIMESTAMP) AS last_activity,
       u.create_date AS created_at,
       'https://console.aws.amazon.com/iam/home#/users/details/' || u.name AS resource_url,
       'aws.authorization_details' AS dataset
FROM users u
LEFT JOIN raw_aws_credential_report r
       ON r.snapshot_date = u.snapshot_date AND r.account_id = u.account_id AND r."user" = u.name AND NOT r.is_root
LEFT JOIN admin a ON a.snapshot_date = u.snapshot_date AND a.account_id = u.account_id AND a.name = u.name;
