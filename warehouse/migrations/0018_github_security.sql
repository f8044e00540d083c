-- GitHub security and delivery: the organisation's Dependabot, code-scanning and secret-scanning alerts (every
-- state), each repository's security settings and each environment's protection rules; and the required status
-- check contexts of every default branch. A NULL is what GitHub did not show (unknown), never "off".

-- the contexts classic protection requires (requiredStatusCheckContexts) and those of active rulesets'
-- required-status-checks rules: a branch that requires "any check" is not one that requires the tests
ALTER TABLE raw_github_repositories ADD COLUMN classic_status_check_contexts VARCHAR[];
ALTER TABLE raw_github_repositories ADD COLUMN ruleset_status_check_contexts VARCHAR[];

-- REST GET /orgs/{org}/dependabot/alerts (every state). `unavailable`: on the one row of an organisation whose
-- alerts GitHub refused with its documented "not enabled / not licensed" answer (the other columns NULL).
CREATE TABLE raw_github_dependabot_alerts (
    snapshot_date       DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    org                 VARCHAR NOT NULL,
    repository          VARCHAR,            -- owner/name
    number              INTEGER,
    state               VARCHAR,            -- open | fixed | dismissed | auto_dismissed
    severity            VARCHAR,            -- security_advisory.severity: low | medium | high | critical
    ghsa_id             VARCHAR,
    cve_id              VARCHAR,
    package_ecosystem   VARCHAR,
    package_name        VARCHAR,
    manifest_path       VARCHAR,
    dependency_scope    VARCHAR,            -- runtime | development | NULL
    created_at          TIMESTAMP,
    updated_at          TIMESTAMP,
    fixed_at            TIMESTAMP,          -- NULL while open
    dismissed_at        TIMESTAMP,
    auto_dismissed_at   TIMESTAMP,
    dismissed_reason    VARCHAR,
    html_url            VARCHAR,
    unavailable         VARCHAR,
    raw                 VARCHAR
);

-- REST GET /orgs/{org}/code-scanning/alerts (every state; GitHub lists the default branch's alerts only)
CREATE TABLE raw_github_code_scanning_alerts (
    snapshot_date       DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    org                 VARCHAR NOT NULL,
    repository          VARCHAR,
    number              INTEGER,
    state               VARCHAR,            -- open | dismissed | fixed
    security_severity   VARCHAR,            -- rule.security_severity_level: critical | high | medium | low | NULL
    rule_severity       VARCHAR,            -- rule.severity: error | warning | note | none
    rule_id             VARCHAR,
    tool_name           VARCHAR,
    ref                 VARCHAR,            -- most_recent_instance.ref
    created_at          TIMESTAMP,
    updated_at          TIMESTAMP,
    fixed_at            TIMESTAMP,
    dismissed_at        TIMESTAMP,
    dismissed_reason    VARCHAR,
    html_url            VARCHAR,
    unavailable         VARCHAR,
    raw                 VARCHAR
);

-- REST GET /orgs/{org}/secret-scanning/alerts?hide_secret=true (every state). No secret literal is stored: GitHub
-- is asked to leave it out and the connector drops the field if it is sent anyway.
CREATE TABLE raw_github_secret_scanning_alerts (
    snapshot_date            DATE NOT NULL,
    run_id                   VARCHAR NOT NULL,
    org                      VARCHAR NOT NULL,
    repository               VARCHAR,
    number                   INTEGER,
    state                    VARCHAR,       -- open | resolved
    secret_type              VARCHAR,
    secret_type_display_name VARCHAR,
    validity                 VARCHAR,       -- active | inactive | unknown
    resolution               VARCHAR,
    created_at               TIMESTAMP,
    updated_at               TIMESTAMP,
    resolved_at              TIMESTAMP,
    push_protection_bypassed BOOLEAN,
    publicly_leaked          BOOLEAN,
    html_url                 VARCHAR,
    unavailable              VARCHAR,
    raw                      VARCHAR
);

-- REST GET /orgs/{org}/repos (security_and_analysis, shown to owners, security managers and repository admins
-- only: absent = unknown) with GraphQL hasVulnerabilityAlertsEnabled (Dependabot alerts on or off)
CREATE TABLE raw_github_repository_security (
    snapshot_date               DATE NOT NULL,
    run_id                      VARCHAR NOT NULL,
    org                         VARCHAR NOT NULL,
    name                        VARCHAR NOT NULL,
    full_name                   VARCHAR NOT NULL,
    url                         VARCHAR,
    is_archived                 BOOLEAN,
    is_fork                     BOOLEAN,
    visibility                  VARCHAR,    -- public | private | internal
    settings_shown              BOOLEAN,    -- false: GitHub left security_and_analysis out for this caller
    advanced_security           VARCHAR,    -- enabled | disabled | NULL (not shown)
    code_security               VARCHAR,
    secret_protection           VARCHAR,
    secret_scanning             VARCHAR,
    secret_scanning_push_protection VARCHAR,
    dependabot_security_updates VARCHAR,
    vulnerability_alerts        BOOLEAN,    -- hasVulnerabilityAlertsEnabled; NULL: not shown
    incomplete                  VARCHAR[],
    raw                         VARCHAR
);

-- each environment of each non-archived repository with environments (GraphQL finds them, REST
-- GET /repos/{owner}/{repo}/environments reads their protection rules, admin bypass and branch policy)
CREATE TABLE raw_github_environments (
    snapshot_date           DATE NOT NULL,
    run_id                  VARCHAR NOT NULL,
    org                     VARCHAR NOT NULL,
    repository              VARCHAR NOT NULL,   -- owner/name
    name                    VARCHAR,            -- NULL on a repository's row whose environments could not be read
    url                     VARCHAR,
    can_admins_bypass       BOOLEAN,            -- NULL: not shown
    reviewers               VARCHAR[],          -- required reviewers (User login, Team slug)
    prevent_self_review     BOOLEAN,
    wait_timer              INTEGER,
    branch_policy           VARCHAR,            -- any | protected_branches | custom | NULL (not shown)
    incomplete              VARCHAR[],
    raw                     VARCHAR
);
