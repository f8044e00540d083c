"""endpoints.probes against the sandbox's local TLS servers: four probes per endpoint, every endpoint one record."""

from connectors.endpoints import EndpointProbes, parse_endpoints
from connectors.endpoints import minimum as endpoints
from tests.connectors.contract import ConnectorCase


def probe_stream(sandbox) -> EndpointProbes:
    env = sandbox.env
    return EndpointProbes(
        parse_endpoints(env["EVIDENCE_ENDPOINTS"], env["EVIDENCE_ENDPOINTS_RESOLVE"]),
        env["EVIDENCE_ENDPOINTS_CA_BUNDLE"],
    )


CASES = [
    ConnectorCase(
        name="endpoints.probes",
        systems=("endpoints",),
        make_stream=probe_stream,
        expected_records=lambda org: len(org.systems["endpoints"].hosts),
        min_requests=lambda org: endpoints.min_requests(len(org.systems["endpoints"].hosts)),
        secret_env=(),
        # no credentials exist to name or leak: public endpoints, probed anonymously
        credentials_free=True,
    ),
]
