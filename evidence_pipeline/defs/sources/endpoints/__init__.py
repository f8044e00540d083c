"""Customer-facing HTTPS endpoints, probed with Python's `ssl` (no cloud, no credentials): TLS 1.0 and 1.1 refused,
the version a default client negotiates, the certificate's expiry (verified chain only), HTTP redirected to HTTPS
and the HSTS header.

Configure:
  EVIDENCE_ENDPOINTS            comma-separated https URLs (https://app.example.com,https://example.com); at most 100
  EVIDENCE_ENDPOINTS_CA_BUNDLE  optional: a PEM bundle of the CAs to trust instead of the system's (a private CA)
  EVIDENCE_ENDPOINTS_RESOLVE    optional: host:port=address:port overrides, like curl's --resolve (port 80 for the
                                plain-HTTP probe), to probe an origin or a staging address under the public name
Each endpoint costs four connections (connectors/endpoints/minimum.py), one at a time, paced, each with a timeout;
only GET requests are sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from connectors.endpoints import EndpointProbes, parse_endpoints
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


class EndpointsResource(SourceResource):
    endpoints: str | None = None
    resolve: str | None = None
    ca_bundle: str | None = None

    def missing_settings(self) -> list[str]:
        return [] if self.endpoints else ["EVIDENCE_ENDPOINTS"]

    def streams(self) -> Iterable[Stream]:
        # a malformed list is refused whole, naming the variable and the item (one line, no traceback)
        yield EndpointProbes(parse_endpoints(self.endpoints or "", self.resolve or ""), self.ca_bundle)


def probe_streams(resource: EndpointsResource, day: date) -> Iterable[Stream]:
    yield from resource.streams()


SOURCE = SourceDeclaration(
    source="endpoints",
    resource_key="endpoints",
    sandbox_system="endpoints",
    # TLS handshakes and two GETs of a public page, not an HTTP JSON API: no credentials, and none of the fault
    # matrix's rows (429, 5xx, 401/403, truncated JSON, repeated pages) exist for it. Each probe's outcome is data
    # (refused, untestable, unreachable): tests/truth/test_endpoints_truth.py plays them.
    faults=None,
)

DATASETS = [
    SourceDataset(
        source="endpoints",
        dataset="probes",
        description="Each configured HTTPS endpoint (EVIDENCE_ENDPOINTS) probed with Python's ssl: a TLS 1.0 and a "
        "TLS 1.1 handshake (accepted, refused by the server, or untestable on this machine), one verified HTTPS GET "
        "(negotiated version, certificate expiry, Strict-Transport-Security parsed) and one plain-HTTP GET with "
        "redirects not followed.",
        streams=probe_streams,
        kinds=("tls",),
    ),
]


def endpoints_resource() -> EndpointsResource:
    return EndpointsResource(
        endpoints=env_value("EVIDENCE_ENDPOINTS"),
        resolve=env_value("EVIDENCE_ENDPOINTS_RESOLVE"),
        ca_bundle=env_value("EVIDENCE_ENDPOINTS_CA_BUNDLE"),
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, endpoints_resource())
