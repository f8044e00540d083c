-- Google Workspace identity policy (connectors/google_workspace/policies.py): the organisational units and the
-- Cloud Identity Policy API's explicitly set security policies (not effective values: the controls resolve
-- inheritance down the OU tree).
CREATE TABLE raw_google_workspace_org_units (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    customer             VARCHAR NOT NULL,
    org_unit_id          VARCHAR NOT NULL,  -- without Directory's "id:" prefix, as policyQuery.orgUnit names it
    org_unit_path        VARCHAR NOT NULL,  -- "/" is the root
    name                 VARCHAR,
    parent_org_unit_id   VARCHAR,
    parent_org_unit_path VARCHAR
);

CREATE TABLE raw_google_workspace_policies (
    snapshot_date                 DATE NOT NULL,
    run_id                        VARCHAR NOT NULL,
    customer                      VARCHAR NOT NULL,
    name                          VARCHAR NOT NULL,  -- policies/<id>
    policy_customer               VARCHAR,           -- customers/<id>
    policy_type                   VARCHAR,           -- ADMIN | SYSTEM
    org_unit_id                   VARCHAR,           -- policyQuery.orgUnit without "orgUnits/"
    group_id                      VARCHAR,           -- policyQuery.group without "groups/"; NULL: an OU policy
    query                         VARCHAR,           -- the CEL query
    sort_order                    DOUBLE,
    setting_type                  VARCHAR,           -- without "settings/": security.password, ...
    value                         VARCHAR,           -- the setting's value (JSON)
    enforced_from                 TIMESTAMP,         -- 2SV enforcement start (UTC); NULL: unset or the epoch
    enforced_from_sentinel        BOOLEAN,           -- true: Google sent its 1970-01-01 "no date"
    minimum_length                INTEGER,
    maximum_length                INTEGER,
    allowed_strength              VARCHAR,           -- STRONG | WEAK
    enforce_requirements_at_login BOOLEAN,
    allow_reuse                   BOOLEAN,
    expiration_duration           VARCHAR
);
