-- Attestations (connectors/attestations): the human processes no API shows, from the company's attestations file,
-- each artefact hashed on the day it was read; and the vendor register the vendor reviews cover.
CREATE TABLE raw_attestations_attestations (
    snapshot_date    DATE NOT NULL,
    run_id           VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,  -- tabletop_exercise | penetration_test | dr_exercise | policy_review |
                                        -- risk_assessment | vendor_review | background_check |
                                        -- confidentiality_agreement
    subject          VARCHAR,           -- person kinds: the normalized e-mail; vendor_review: the vendor; else NULL
    summary          VARCHAR,
    performed        DATE NOT NULL,
    performer        VARCHAR NOT NULL,
    approver         VARCHAR NOT NULL,
    artefact_name    VARCHAR NOT NULL,  -- the file's name; the bundle holds it as artefacts/<sha256>-<name>
    artefact_sha256  VARCHAR NOT NULL,  -- of the file as read that day
    artefact_bytes   BIGINT NOT NULL,
    valid_months     INTEGER NOT NULL,
    expires          DATE NOT NULL,     -- performed + valid_months: the last day it is current
    line             INTEGER NOT NULL   -- the entry's line in the file, to find it again
);

CREATE TABLE raw_attestations_vendors (
    snapshot_date  DATE NOT NULL,
    run_id         VARCHAR NOT NULL,
    vendor         VARCHAR NOT NULL,    -- unique per snapshot, case-insensitively
    service        VARCHAR NOT NULL,
    data_access    VARCHAR NOT NULL,    -- what data the vendor processes (free text, e.g. "customer data", "none")
    owner          VARCHAR NOT NULL,    -- the accountable owner's e-mail, lower-cased
    row_number     INTEGER              -- the row in the register (header = 1)
);
