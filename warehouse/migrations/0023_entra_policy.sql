-- Microsoft Entra ID identity policy (Microsoft Graph v1.0, connectors/entra/policies.py): Conditional Access
-- policies, authentication strengths, the authentication-methods policy, security defaults and the Password Rule
-- Settings. A row with unreadable_reason set (and no id) says the tenant cannot have the feature (no Entra ID P1).
CREATE TABLE raw_entra_conditional_access_policies (
    snapshot_date                     DATE NOT NULL,
    run_id                            VARCHAR NOT NULL,
    tenant_id                         VARCHAR NOT NULL,
    id                                VARCHAR,    -- NULL on the unreadable row
    display_name                      VARCHAR,
    state                             VARCHAR,    -- enabled | disabled | enabledForReportingButNotEnforced
    created_at                        TIMESTAMP,
    modified_at                       TIMESTAMP,  -- NULL: never modified
    include_users                     VARCHAR[],  -- user ids, All, None, GuestsOrExternalUsers
    exclude_users                     VARCHAR[],
    include_groups                    VARCHAR[],
    exclude_groups                    VARCHAR[],
    include_roles                     VARCHAR[],  -- directory role template ids
    exclude_roles                     VARCHAR[],
    excludes_guests_or_external_users BOOLEAN,
    include_applications              VARCHAR[],  -- All, Office365, app ids
    exclude_applications              VARCHAR[],
    client_app_types                  VARCHAR[],  -- all | browser | mobileAppsAndDesktopClients | exchangeActiveSync | other
    narrowing_conditions              VARCHAR[],  -- conditions limiting it to some sign-ins (locations, platforms, risk)
    conditions                        VARCHAR,    -- the policy's conditions as Graph sent them (JSON)
    grant_controls_present            BOOLEAN,    -- false: grantControls null (a session-only policy)
    grant_operator                    VARCHAR,    -- AND | OR
    built_in_controls                 VARCHAR[],  -- block, mfa, compliantDevice, domainJoinedDevice, ...
    custom_authentication_factors     VARCHAR[],
    terms_of_use                      VARCHAR[],
    authentication_strength_id        VARCHAR,
    authentication_strength_name      VARCHAR,
    session_controls                  VARCHAR,    -- JSON
    -- what the policy enforces, read once by the connector (policies.py, policy_facts) for every control:
    enforced                          BOOLEAN,    -- state enabled (report-only and disabled enforce nothing)
    requires_mfa                      BOOLEAN,    -- MFA or a strength is the only way in (OR with compliantDevice: no)
    blocks                            BOOLEAN,    -- grant block
    all_users                         BOOLEAN,    -- includeUsers All
    all_applications                  BOOLEAN,    -- includeApplications All, none excluded
    all_client_apps                   BOOLEAN,    -- clientAppTypes all (or none given)
    excluded_principals               VARCHAR[],  -- 'user <id>', 'group <id>', 'guests or external users'
    grant_summary                     VARCHAR,    -- e.g. OR [mfa, compliantDevice]
    mfa_gaps                          VARCHAR[],  -- why it does not require MFA of those it names on every sign-in
    unreadable_reason                 VARCHAR
);

CREATE TABLE raw_entra_authentication_strength_policies (
    snapshot_date          DATE NOT NULL,
    run_id                 VARCHAR NOT NULL,
    tenant_id              VARCHAR NOT NULL,
    id                     VARCHAR,             -- NULL on the unreadable row
    display_name           VARCHAR,
    policy_type            VARCHAR,             -- builtIn | custom
    requirements_satisfied VARCHAR,             -- none | mfa
    allowed_combinations   VARCHAR[],           -- e.g. 'fido2', 'password,sms'; NULL: not reported
    created_at             TIMESTAMP,
    modified_at            TIMESTAMP,
    unreadable_reason      VARCHAR
);

CREATE TABLE raw_entra_authentication_methods_policy (
    snapshot_date          DATE NOT NULL,
    run_id                 VARCHAR NOT NULL,
    tenant_id              VARCHAR NOT NULL,
    id                     VARCHAR NOT NULL,    -- the method: Fido2, MicrosoftAuthenticator, Sms, ...
    state                  VARCHAR,             -- enabled | disabled
    include_targets        VARCHAR,             -- JSON [{targetType, id, isRegistrationRequired}]
    exclude_targets        VARCHAR,             -- JSON
    include_target_ids     VARCHAR[],           -- group ids, or all_users
    exclude_target_ids     VARCHAR[],
    settings               VARCHAR,             -- the method's other properties (JSON)
    policy_migration_state VARCHAR,
    policy_modified_at     TIMESTAMP
);

CREATE TABLE raw_entra_security_defaults (
    snapshot_date DATE NOT NULL,
    run_id        VARCHAR NOT NULL,
    tenant_id     VARCHAR NOT NULL,
    id            VARCHAR,
    display_name  VARCHAR,
    is_enabled    BOOLEAN                       -- NULL: not reported (unknown)
);

CREATE TABLE raw_entra_password_rule_settings (
    snapshot_date                            DATE NOT NULL,
    run_id                                   VARCHAR NOT NULL,
    tenant_id                                VARCHAR NOT NULL,
    settings_id                              VARCHAR,   -- NULL: no Password Rule Settings object
    template_id                              VARCHAR,
    defaults_apply                           BOOLEAN,   -- true: no object, Microsoft's defaults apply
    lockout_threshold                        INTEGER,
    lockout_duration_seconds                 INTEGER,
    enable_banned_password_check             BOOLEAN,
    banned_password_count                    INTEGER,
    enable_banned_password_check_on_premises BOOLEAN,
    banned_password_check_on_premises_mode   VARCHAR
);
