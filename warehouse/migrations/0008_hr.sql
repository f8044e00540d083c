-- The HR roster (CSV export): every person the company has or had. The population of the
-- people controls (training) and the truth behind identity resolution (leavers, owners).
CREATE TABLE raw_hr_roster (
    snapshot_date  DATE NOT NULL,
    run_id         VARCHAR NOT NULL,
    email          VARCHAR NOT NULL,  -- lower-cased, unique per snapshot
    name           VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,  -- active | terminated
    start_date     DATE NOT NULL,
    end_date       DATE,
    manager        VARCHAR,           -- the manager's email, lower-cased
    department     VARCHAR,
    row_number     INTEGER            -- the row in the exported file (header = 1), to find it again
);
