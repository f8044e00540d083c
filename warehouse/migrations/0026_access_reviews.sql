-- Access-review campaigns (connectors/access_reviews): the signed campaign chain under
-- <EVIDENCE_HOME>/evidence/campaigns/ (evidence_pipeline/reviews/campaigns.py writes it), verified and read each day.
-- Every day's rows are the whole chain as it stood when collected: a control judges a day from that day's rows.

-- One row per campaign (its campaign_start bundle's campaign.json).
CREATE TABLE raw_access_reviews_campaigns (
    snapshot_date            DATE NOT NULL,
    run_id                   VARCHAR NOT NULL,
    campaign_id              VARCHAR NOT NULL,  -- <quarter>-<scope>, e.g. 2026-Q4-privileged
    quarter                  VARCHAR NOT NULL,  -- 2026-Q4
    scope                    VARCHAR NOT NULL,  -- privileged | all
    due                      DATE NOT NULL,     -- every account is decided by this day
    started_at               TIMESTAMPTZ,
    frozen_day               DATE NOT NULL,     -- the daily bundle's day the population was frozen from
    frozen_bundle            VARCHAR,           -- that bundle's <date>/<version>
    population_sha256        VARCHAR NOT NULL,
    population_count         INTEGER NOT NULL,
    revocation_window_days   INTEGER NOT NULL,  -- days a revoke or change has to show in the collected data
    bundle_manifest_sha256   VARCHAR NOT NULL   -- the campaign_start bundle's manifest
);

-- One row per frozen in-scope account (population.csv of the campaign_start bundle).
CREATE TABLE raw_access_reviews_population (
    snapshot_date    DATE NOT NULL,
    run_id           VARCHAR NOT NULL,
    campaign_id      VARCHAR NOT NULL,
    account_key      VARCHAR NOT NULL,  -- <system>:<account id>, the frozen control's resource_id
    system           VARCHAR NOT NULL,
    account_id       VARCHAR,
    account_name     VARCHAR,
    person_email     VARCHAR,           -- the account's person; NULL for service / break-glass / orphan accounts
    approved_owner   VARCHAR,           -- the approved owner of a service or break-glass account
    reviewer         VARCHAR NOT NULL,
    reviewer_rule    VARCHAR,           -- manager | approved owner | override <system> | fallback owner
    privileges       VARCHAR
);

-- One row per returned decision (decisions.csv of each decisions_import bundle), accepted and rejected alike:
-- a rejected row is the evidence of an attempt (a self-review).
CREATE TABLE raw_access_reviews_decisions (
    snapshot_date    DATE NOT NULL,
    run_id           VARCHAR NOT NULL,
    campaign_id      VARCHAR NOT NULL,
    account_key      VARCHAR NOT NULL,
    reviewer         VARCHAR NOT NULL,
    decided_by       VARCHAR,           -- who decided (the reviewer when the packet left it empty)
    decision         VARCHAR,           -- keep | revoke | change
    comment          VARCHAR,
    decided_on       DATE,
    imported_at      TIMESTAMPTZ,
    status           VARCHAR NOT NULL,  -- accepted | rejected
    rejection        VARCHAR,           -- why a rejected row was rejected
    import_bundle    VARCHAR NOT NULL   -- the decisions_import bundle's <campaign id>/<version>
);
