-- GitHub code scanning's setup per repository, with the fewest calls: one row per thing GitHub said (`evidence`):
-- each code security configuration of the organisation, each of its attachments (every status), each repository of
-- GET /orgs/{org}/repos, and each GET /repos/{owner}/{repo}/code-scanning/default-setup answer, read only for the
-- active repositories no attached or enforced configuration states. A NULL is what GitHub did not show (unknown).
CREATE TABLE raw_github_code_scanning_setup (
    snapshot_date               DATE NOT NULL,
    run_id                      VARCHAR NOT NULL,
    org                         VARCHAR NOT NULL,
    evidence                    VARCHAR NOT NULL,  -- configuration | attachment | repository | default_setup
    repository                  VARCHAR,           -- owner/name (NULL on configuration rows)
    url                         VARCHAR,
    is_archived                 BOOLEAN,           -- repository rows
    visibility                  VARCHAR,           -- repository rows: public | private | internal
    code_licensed               BOOLEAN,           -- repository rows: public, or Code Security / Advanced Security
                                                   -- enabled; NULL when security_and_analysis was not shown
    configuration_id            BIGINT,            -- configuration and attachment rows
    configuration_name          VARCHAR,
    configuration_target_type   VARCHAR,           -- global | organization | enterprise
    configuration_default_setup VARCHAR,           -- code_scanning_default_setup: enabled | disabled | not_set
    configuration_enforcement   VARCHAR,           -- enforced | unenforced
    attachment_status           VARCHAR,           -- attachment rows: attached | enforced | failed | attaching | ...
    state                       VARCHAR,           -- default_setup rows: configured | not-configured
    languages                   VARCHAR[],
    query_suite                 VARCHAR,
    setup_updated_at            TIMESTAMP,
    unavailable                 VARCHAR,           -- a refused answer: 403 not licensed, 404
    raw                         VARCHAR
);
