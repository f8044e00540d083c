-- Newly failing controls already reported (so a re-run of a day does not alert twice).
CREATE TABLE control_alerts (
    snapshot_date  DATE NOT NULL,
    control_id     VARCHAR NOT NULL,
    verdict        VARCHAR NOT NULL,
    delivered_to   VARCHAR NOT NULL,  -- 'log' or 'log+webhook'; never the webhook URL itself (a secret)
    alerted_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (snapshot_date, control_id)
);
