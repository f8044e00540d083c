-- Cloudflare (connectors/cloudflare): the account's zones with their edge settings and WAF entrypoint rulesets, and
-- the account's members. A setting or field Cloudflare did not return is NULL (unknown), never its default.
CREATE TABLE raw_cloudflare_zones (
    snapshot_date              DATE NOT NULL,
    run_id                     VARCHAR NOT NULL,
    zone_id                    VARCHAR NOT NULL,
    zone_name                  VARCHAR,
    status                     VARCHAR,   -- active | pending | initializing | moved
    paused                     BOOLEAN,   -- true: Cloudflare does not proxy the zone's traffic
    plan                       VARCHAR,
    account_id                 VARCHAR,
    min_tls_version            VARCHAR,   -- "1.0" ... "1.3"
    tls_1_3                    VARCHAR,   -- on | off | zrt (on, with 0-RTT)
    always_use_https           VARCHAR,   -- on | off
    hsts_enabled               BOOLEAN,   -- security_header.strict_transport_security
    hsts_max_age               BIGINT,
    hsts_include_subdomains    BOOLEAN,
    hsts_preload               BOOLEAN,
    custom_entrypoint          VARCHAR NOT NULL,   -- present | none (404: no ruleset in the phase)
    custom_ruleset_id          VARCHAR,
    custom_rules               INTEGER NOT NULL,
    custom_blocking_rules      INTEGER NOT NULL,   -- enabled rules that block or challenge
    managed_entrypoint         VARCHAR NOT NULL,
    managed_ruleset_id         VARCHAR,
    managed_rules              INTEGER NOT NULL,
    managed_rulesets_executed  VARCHAR NOT NULL    -- JSON list of managed ruleset ids run by enabled execute rules
);

CREATE TABLE raw_cloudflare_members (
    snapshot_date                      DATE NOT NULL,
    run_id                             VARCHAR NOT NULL,
    member_id                          VARCHAR,
    user_id                            VARCHAR,
    email                              VARCHAR,   -- lower-cased
    first_name                         VARCHAR,
    last_name                          VARCHAR,
    status                             VARCHAR,   -- accepted | pending
    two_factor_authentication_enabled  BOOLEAN,   -- optional in Cloudflare's schema: NULL when not returned
    roles                              VARCHAR,   -- JSON list of role names
    policies                           INTEGER
);
