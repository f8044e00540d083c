-- IAM Identity Center: the users of one identity store (identitystore ListUsers, the `User` object of the Identity
-- Store API reference / botocore's model). The model requires only IdentityStoreId, UserId, UserArn and Revision;
-- UserName, Emails and UserStatus (ENABLED | DISABLED) are optional, so each may be null here.
CREATE TABLE raw_aws_identity_center_users (
    snapshot_date      DATE NOT NULL,
    run_id             VARCHAR NOT NULL,
    account_id         VARCHAR NOT NULL,  -- the account the store was read in (management or delegated admin)
    region             VARCHAR,
    identity_store_id  VARCHAR NOT NULL,
    user_id            VARCHAR NOT NULL,
    user_name          VARCHAR,
    display_name       VARCHAR,
    given_name         VARCHAR,
    family_name        VARCHAR,
    emails             STRUCT(value VARCHAR, type VARCHAR, is_primary BOOLEAN)[],  -- every e-mail, primary flagged
    external_ids       STRUCT(issuer VARCHAR, id VARCHAR)[],  -- the external IdP's ids (SCIM), when synced
    user_status        VARCHAR,  -- ENABLED | DISABLED; null when the API does not report it
    created_at         TIMESTAMP,
    updated_at         TIMESTAMP
);

-- Identity Center users as accounts (warehouse/store.py ACCOUNT_COLUMNS), their own system `aws_identity_center`
-- (identity-map key `aws_identity_center:<user name>`). `emails`: the primary e-mail, the others, then the user
-- name when it is an e-mail address, so a leaver known only by a secondary address is still found.
-- is_active: UserStatus when reported, else NULL (unknown, never "enabled"). is_privileged: NULL, because the
-- permission sets assigned to users and groups (sso-admin) are not collected; the privileged and dormancy controls
-- (no sign-in times either) leave this system out by name. mfa_enabled: ListUsers does not report MFA.
CREATE VIEW accounts_aws_identity_center AS
WITH users AS (
    SELECT u.*,
           list_filter(list_concat(
               list_transform(list_filter(coalesce(u.emails, []), lambda e: coalesce(e.is_primary, false)),
                              lambda e: email_shaped(e.value)),
               list_transform(list_filter(coalesce(u.emails, []), lambda e: NOT coalesce(e.is_primary, false)),
                              lambda e: email_shaped(e.value)),
               [email_shaped(u.user_name)]), lambda e: e IS NOT NULL) AS identifiers
    FROM raw_aws_identity_center_users u
)
SELECT u.snapshot_date::DATE AS snapshot_date,
       'aws_identity_center'::VARCHAR AS system,
       coalesce(u.user_name, u.user_id)::VARCHAR AS account_id,
       u.identifiers[1]::VARCHAR AS email,
       u.identifiers::VARCHAR[] AS emails,
       coalesce(u.display_name, nullif(concat_ws(' ', u.given_name, u.family_name), ''), u.user_name)::VARCHAR
           AS display_name,
       CASE u.user_status WHEN 'ENABLED' THEN TRUE WHEN 'DISABLED' THEN FALSE END::BOOLEAN AS is_active,
       NULL::BOOLEAN AS is_privileged,
       []::VARCHAR[] AS privileges,
       NULL::BOOLEAN AS mfa_enabled,
       NULL::TIMESTAMP AS last_activity,
       u.created_at::TIMESTAMP AS created_at,
       ('https://console.aws.amazon.com/singlesignon/home?region=' || coalesce(u.region, 'us-east-1'))::VARCHAR
           AS resource_url,
       'aws.identity_center_users'::VARCHAR AS dataset
FROM users u;
