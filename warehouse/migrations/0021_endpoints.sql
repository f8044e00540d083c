-- Customer-facing HTTPS endpoints probed with Python's ssl (connectors/endpoints): one row per configured endpoint
-- a day. An outcome the probe could not establish is NULL (or 'untestable' / 'unreachable'), never a pass.
CREATE TABLE raw_endpoints_probes (
    snapshot_date            DATE NOT NULL,
    run_id                   VARCHAR NOT NULL,
    endpoint                 VARCHAR NOT NULL,   -- host, with :port when not 443 (the resource id)
    url                      VARCHAR NOT NULL,   -- the https URL probed
    host                     VARCHAR NOT NULL,
    port                     INTEGER NOT NULL,
    probed_at                TIMESTAMP NOT NULL, -- UTC, the HTTPS probe's time (expiry is counted from it)
    tls1_0                   VARCHAR NOT NULL,   -- accepted | refused | untestable | unreachable
    tls1_0_detail            VARCHAR,
    tls1_1                   VARCHAR NOT NULL,
    tls1_1_detail            VARCHAR,
    reachable                BOOLEAN NOT NULL,   -- false: no probe reached the endpoint
    negotiated_version       VARCHAR,            -- TLSv1.3, TLSv1.2 ... with the default verifying context
    https_status             INTEGER,
    https_error              VARCHAR,
    cert_verified            BOOLEAN,            -- chain and host name verified; NULL: no handshake
    cert_not_after           TIMESTAMP,          -- from the verified certificate only
    cert_days_to_expiry      DOUBLE,             -- from probed_at
    cert_subject             VARCHAR,
    cert_issuer              VARCHAR,
    http_status              INTEGER,            -- plain HTTP GET, redirects not followed
    http_location            VARCHAR,
    http_redirects_to_https  BOOLEAN,            -- 301/302/307/308 to https on the same host; NULL: no answer
    http_error               VARCHAR,
    hsts_header              VARCHAR,            -- Strict-Transport-Security of the HTTPS answer, as sent
    hsts_max_age             BIGINT,             -- NULL: no header, or no valid max-age
    hsts_include_subdomains  BOOLEAN,
    hsts_preload             BOOLEAN
);
