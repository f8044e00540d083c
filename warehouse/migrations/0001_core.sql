-- Core tables: provenance of every collection, control results, evidence snapshots.
CREATE TABLE collection_log (
    run_id            VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    dataset           VARCHAR NOT NULL,
    snapshot_date     DATE NOT NULL,
    status            VARCHAR NOT NULL,  -- succeeded | failed | not_configured
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    record_count      BIGINT,
    request_count     INTEGER,
    retry_count       INTEGER,
    payload_sha256    VARCHAR,
    source_timestamp  VARCHAR,
    error             VARCHAR,
    provenance        JSON,
    logged_at         TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- The latest attempt per source dataset and day decides whether its rows may be trusted.
CREATE VIEW source_status AS
SELECT * EXCLUDE (attempt) FROM (
    SELECT *, row_number() OVER (PARTITION BY source, dataset, snapshot_date ORDER BY logged_at DESC) AS attempt
    FROM collection_log
) WHERE attempt = 1;

CREATE TABLE control_results (
    snapshot_date  DATE NOT NULL,
    control_id     VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    resource_id    VARCHAR NOT NULL,
    resource_name  VARCHAR,
    resource_url   VARCHAR,
    status         VARCHAR NOT NULL,  -- pass | fail | unknown | waived
    reason         VARCHAR NOT NULL,
    details        JSON
);

CREATE TABLE control_verdicts (
    snapshot_date  DATE NOT NULL,
    control_id     VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    verdict        VARCHAR NOT NULL,  -- pass | fail | unknown
    reason         VARCHAR NOT NULL,
    population     INTEGER NOT NULL,
    passed         INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    unknown        INTEGER NOT NULL,
    waived         INTEGER NOT NULL,
    sql_sha256     VARCHAR NOT NULL,
    parameters     JSON,
    evaluated_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (snapshot_date, control_id)
);

CREATE TABLE evidence_snapshots (
    snapshot_date    DATE NOT NULL,
    snapshot_id      VARCHAR NOT NULL PRIMARY KEY,
    path             VARCHAR NOT NULL,
    manifest_sha256  VARCHAR NOT NULL,
    run_id           VARCHAR NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
