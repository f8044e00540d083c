-- The toy source's one dataset (tests/toy_source): a widget, its owner and whether it is encrypted.
CREATE TABLE raw_toy_widgets (
    snapshot_date  DATE NOT NULL,
    run_id         VARCHAR NOT NULL,
    widget_id      VARCHAR NOT NULL,
    owner          VARCHAR,
    encrypted      BOOLEAN            -- NULL: the file did not say
);
