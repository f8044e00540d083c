-- Security-awareness training: one table whichever provider (KnowBe4 Reporting API or the CSV roster)
-- filled it. One row per enrollment; `security_awareness` says whether the course or campaign matched
-- the configured course pattern (recorded in the collection's provenance parameters).
CREATE TABLE raw_training_enrollments (
    snapshot_date       DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    provider            VARCHAR NOT NULL,   -- knowbe4 | csv
    enrollment_id       VARCHAR NOT NULL,   -- KnowBe4 enrollment_id, or row-<n> of the CSV
    user_id             VARCHAR,            -- KnowBe4 user id (NULL for CSV)
    email               VARCHAR,            -- lower-cased
    user_name           VARCHAR,
    course              VARCHAR,            -- KnowBe4 module_name
    campaign            VARCHAR,            -- KnowBe4 campaign_name
    content_type        VARCHAR,
    status              VARCHAR,            -- as the provider says it (Passed, Past Due, completed, ...)
    completed           BOOLEAN,            -- status passed/completed and a completion date present
    security_awareness  BOOLEAN,            -- course or campaign matches the course pattern
    enrollment_date     TIMESTAMP,          -- UTC
    start_date          TIMESTAMP,          -- UTC
    completion_date     TIMESTAMP,          -- UTC
    time_spent          BIGINT,             -- seconds
    raw                 VARCHAR             -- the provider's record as JSON
);
