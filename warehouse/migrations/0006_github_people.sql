-- GitHub people and changes: the organisation's 2FA requirement, members, outside collaborators and
-- the pull requests merged in each day's collection window.

CREATE TABLE raw_github_organization (
    snapshot_date                    DATE NOT NULL,
    run_id                           VARCHAR NOT NULL,
    org                              VARCHAR NOT NULL,
    login                            VARCHAR,
    name                             VARCHAR,
    url                              VARCHAR,
    two_factor_requirement_enabled   BOOLEAN,   -- NULL: GitHub shows it to owners only (unknown)
    raw                              VARCHAR
);

CREATE TABLE raw_github_members (
    snapshot_date           DATE NOT NULL,
    run_id                  VARCHAR NOT NULL,
    org                     VARCHAR NOT NULL,
    login                   VARCHAR NOT NULL,
    name                    VARCHAR,
    email                   VARCHAR,     -- public profile email; NULL when private
    verified_domain_emails  VARCHAR[],   -- emails on the org's verified domains; NULL when GitHub refused them
    role                    VARCHAR,     -- ADMIN (owner) | MEMBER
    two_factor_enabled      BOOLEAN,     -- NULL: hidden from a non-owner viewer (unknown)
    created_at              TIMESTAMP,   -- the GitHub account's creation
    url                     VARCHAR
);

CREATE TABLE raw_github_outside_collaborators (
    snapshot_date          DATE NOT NULL,
    run_id                 VARCHAR NOT NULL,
    org                    VARCHAR NOT NULL,
    repository             VARCHAR NOT NULL,  -- owner/name
    repository_url         VARCHAR,
    repository_archived    BOOLEAN,
    login                  VARCHAR,           -- NULL on the one row of a repository whose collaborators are hidden
    name                   VARCHAR,
    email                  VARCHAR,
    permission             VARCHAR,           -- READ | TRIAGE | WRITE | MAINTAIN | ADMIN
    collaborators_visible  BOOLEAN,
    url                    VARCHAR
);

CREATE TABLE raw_github_merged_pull_requests (
    snapshot_date       DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    org                 VARCHAR NOT NULL,
    repository          VARCHAR NOT NULL,
    number              INTEGER NOT NULL,
    pull_request        VARCHAR NOT NULL,  -- owner/name#number
    node_id             VARCHAR,
    title               VARCHAR,
    url                 VARCHAR,
    base_ref_name       VARCHAR,
    author              VARCHAR,           -- NULL: the account was deleted
    author_type         VARCHAR,           -- User | Bot | ...
    created_at          TIMESTAMP,
    merged_at           TIMESTAMP,
    merged_by           VARCHAR,
    merged_by_type      VARCHAR,
    review_decision     VARCHAR,
    review_count        INTEGER,           -- decisive reviews (approved, changes requested, dismissed)
    reviews             STRUCT(state VARCHAR, author VARCHAR, author_type VARCHAR, submitted_at TIMESTAMP)[],
    approvers_at_merge  VARCHAR[]          -- reviewers whose latest decisive review by the merge approved
);

-- Members as accounts for the cross-system access controls. GitHub shows no sign-in time outside the
-- enterprise audit log, so last_activity is NULL (unknown). The email is the member's verified
-- company-domain email, else the public profile email.
CREATE VIEW accounts_github AS
SELECT m.snapshot_date::DATE AS snapshot_date,
       'github'::VARCHAR AS system,
       lower(m.login)::VARCHAR AS account_id,
       lower(coalesce(m.verified_domain_emails[1], m.email))::VARCHAR AS email,
       coalesce(m.name, m.login)::VARCHAR AS display_name,
       TRUE AS is_active,
       (m.role = 'ADMIN')::BOOLEAN AS is_privileged,
       (CASE WHEN m.role = 'ADMIN' THEN ['owner'] ELSE [] END)::VARCHAR[] AS privileges,
       m.two_factor_enabled::BOOLEAN AS mfa_enabled,
       NULL::TIMESTAMP AS last_activity,
       m.created_at::TIMESTAMP AS created_at,
       -- the member's page in the organisation, on the host GitHub itself named (github.com or GHES)
       (regexp_replace(m.url, '/[^/]+$', '') || '/orgs/' || m.org || '/people/' || m.login)::VARCHAR AS resource_url,
       'github.members'::VARCHAR AS dataset
FROM raw_github_members m;
