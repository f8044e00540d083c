-- The identity map (connectors/identity_map): aliases and approved non-personal accounts.
CREATE TABLE raw_identity_map (
    snapshot_date  DATE NOT NULL,
    run_id         VARCHAR NOT NULL,
    account_key    VARCHAR NOT NULL,  -- '<system>:<account id>', lower-cased
    kind           VARCHAR NOT NULL,  -- alias | service | break_glass
    person_email   VARCHAR NOT NULL,  -- alias: the person; service / break_glass: the accountable owner
    approved_by    VARCHAR,
    reason         VARCHAR
);
