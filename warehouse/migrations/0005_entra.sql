-- Microsoft Entra ID (Microsoft Graph v1.0): users with sign-in activity, the authentication-methods
-- registration report, and active directory role assignments with their principals.
CREATE TABLE raw_entra_users (
    snapshot_date                    DATE NOT NULL,
    run_id                           VARCHAR NOT NULL,
    tenant_id                        VARCHAR NOT NULL,
    id                               VARCHAR NOT NULL,
    user_principal_name              VARCHAR,
    mail                             VARCHAR,
    display_name                     VARCHAR,
    account_enabled                  BOOLEAN,
    user_type                        VARCHAR,   -- Member | Guest
    created_at                       TIMESTAMP, -- UTC
    last_sign_in_at                  TIMESTAMP, -- last interactive sign-in attempt, successful or not
    last_non_interactive_sign_in_at  TIMESTAMP,
    last_successful_sign_in_at       TIMESTAMP, -- last successful interactive or non-interactive sign-in
    sign_in_activity_reported        BOOLEAN    -- false: Graph returned no signInActivity (never signed in)
);

CREATE TABLE raw_entra_user_registration_details (
    snapshot_date            DATE NOT NULL,
    run_id                   VARCHAR NOT NULL,
    tenant_id                VARCHAR NOT NULL,
    id                       VARCHAR NOT NULL,  -- the user's id
    user_principal_name      VARCHAR,
    user_display_name        VARCHAR,
    user_type                VARCHAR,           -- member | guest
    is_admin                 BOOLEAN,
    is_mfa_registered        BOOLEAN,
    is_mfa_capable           BOOLEAN,
    is_passwordless_capable  BOOLEAN,
    is_sspr_registered       BOOLEAN,
    is_sspr_enabled          BOOLEAN,
    is_sspr_capable          BOOLEAN,
    methods_registered       VARCHAR[],
    system_preferred_methods VARCHAR[],
    user_preferred_method    VARCHAR,
    last_updated_at          TIMESTAMP          -- when Graph last refreshed this row of the report (UTC)
);

CREATE TABLE raw_entra_role_assignments (
    snapshot_date                  DATE NOT NULL,
    run_id                         VARCHAR NOT NULL,
    tenant_id                      VARCHAR NOT NULL,
    id                             VARCHAR NOT NULL,
    role_definition_id             VARCHAR,
    role_name                      VARCHAR,
    role_is_built_in               BOOLEAN,
    role_template_id               VARCHAR,
    directory_scope_id             VARCHAR,   -- '/' = tenant-wide; '/administrativeUnits/<id>' = scoped
    principal_id                   VARCHAR,
    principal_type                 VARCHAR,   -- user | group | servicePrincipal; NULL = principal deleted
    principal_user_principal_name  VARCHAR,
    principal_display_name         VARCHAR,
    principal_account_enabled      BOOLEAN
);

-- Every user account for the cross-system access controls. privileges: the directory roles assigned to
-- the user directly (roles held through a role-assignable group are not expanded). mfa_enabled: MFA
-- registration from the report (NULL when the report has no row for the user). last_activity: the last
-- successful sign-in (a failed attempt is not activity); older tenants without that property fall back
-- to the latest interactive or non-interactive sign-in.
CREATE VIEW accounts_entra AS
WITH user_roles AS (
    SELECT snapshot_date, principal_id, list_sort(list_distinct(list(role_name))) AS role_names
    FROM raw_entra_role_assignments
    WHERE principal_type = 'user'
    GROUP BY ALL
)
SELECT u.snapshot_date::DATE AS snapshot_date,
       'entra'::VARCHAR AS system,
       lower(u.user_principal_name)::VARCHAR AS account_id,
       lower(u.mail)::VARCHAR AS email,
       u.display_name::VARCHAR AS display_name,
       u.account_enabled::BOOLEAN AS is_active,
       (ur.role_names IS NOT NULL)::BOOLEAN AS is_privileged,
       coalesce(ur.role_names, [])::VARCHAR[] AS privileges,
       d.is_mfa_registered::BOOLEAN AS mfa_enabled,
       coalesce(u.last_successful_sign_in_at,
                greatest(u.last_sign_in_at, u.last_non_interactive_sign_in_at))::TIMESTAMP AS last_activity,
       u.created_at::TIMESTAMP AS created_at,
       ('https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/'
        || u.id)::VARCHAR AS resource_url,
       'entra.users'::VARCHAR AS dataset
FROM raw_entra_users u
LEFT JOIN user_roles ur ON ur.snapshot_date = u.snapshot_date AND ur.principal_id = u.id
LEFT JOIN raw_entra_user_registration_details d ON d.snapshot_date = u.snapshot_date AND d.id = u.id;
