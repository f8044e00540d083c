"""endpoints.probes: one record per configured endpoint, one provenance request per probe.

The shared Stream loop drives the probes as its "pages": the cursor is (endpoint, probe), each probe is one
logical request in provenance (endpoint `tls1_0 https://host:port/`, method PROBE or GET), paced by the policy's
`min_interval`, and the endpoint's record is yielded with its last probe. A probe's outcome is data, never an
exception (connectors/endpoints/probe.py): one unreachable endpoint makes its own rows unknown, not the dataset failed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from connectors.endpoints.probe import (
    ACCEPTED,
    REFUSED,
    Endpoint,
    http_probe,
    https_probe,
    parse_hsts,
    version_probe,
)
from connectors.stream import RequestPolicy, Stream

#: the probes of one endpoint, in order; the record is complete after the last
PROBES = ("tls1_0", "tls1_1", "https", "http")
#: at most this many endpoints a run (a cap, so a mistaken list cannot turn the pipeline into a scanner)
MAX_ENDPOINTS = 100
#: seconds between two probes: the whole list is probed one connection at a time
PROBE_INTERVAL = 0.05
TIMEOUT = 10.0


class EndpointProbes(Stream):
    source = "endpoints"
    dataset = "probes"
    method = "PROBE"
    policy = RequestPolicy(max_retries=0, min_interval=PROBE_INTERVAL, timeout=TIMEOUT)

    def __init__(self, endpoints: list[Endpoint], ca_bundle: str | None = None, timeout: float = TIMEOUT) -> None:
        if len(endpoints) > MAX_ENDPOINTS:
            raise ValueError(f"EVIDENCE_ENDPOINTS: {len(endpoints)} endpoints, at most {MAX_ENDPOINTS} are probed")
        self.endpoints = endpoints
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.endpoint = endpoints[0].url if endpoints else ""
        #: the current endpoint's probe results, folded into its record at its last probe
        self._results: dict[str, dict[str, Any]] = {}
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {
            "endpoints": [e.url for e in self.endpoints],
            "probes": list(PROBES),
            "timeout_seconds": self.timeout,
            "probe_interval_seconds": PROBE_INTERVAL,
            "private_ca_bundle": bool(self.ca_bundle),
        }

    def params(self, cursor: Any) -> dict[str, Any]:
        if not self.endpoints:
            return {}
        endpoint, probe = self._target(cursor)
        address = endpoint.http_address() if probe == "http" else endpoint.address()
        return {"probe": probe, "host": endpoint.host, "connect": f"{address[0]}:{address[1]}"}

    def _target(self, cursor: Any) -> tuple[Endpoint, str]:
        index, probe = cursor or (0, 0)
        return self.endpoints[index], PROBES[probe]

    def call(self, cursor: Any, page: int) -> Any:
        if self.endpoints:
            endpoint, probe = self._target(cursor)
            # each probe is logged under what it reached: the https URL, or the http one for the redirect probe
            self.endpoint = f"http://{endpoint.host}{endpoint.path}" if probe == "http" else endpoint.url
            self.method = "GET" if probe in ("https", "http") else "PROBE"
        return super().call(cursor, page)

    def page_scope(self, cursor: Any) -> Hashable:
        return cursor or (0, 0)  # each probe is its own call: two endpoints may answer a probe identically

    def request(self, cursor: Any) -> dict[str, Any]:
        if not self.endpoints:
            return {"endpoints": 0}  # nothing to probe: one empty page, as an empty list is
        endpoint, probe = self._target(cursor)
        if probe == "tls1_0" or probe == "tls1_1":
            result = version_probe(endpoint, probe, self.timeout)
        elif probe == "https":
            result = https_probe(endpoint, self.timeout, self.ca_bundle)
        else:
            result = http_probe(endpoint, self.timeout)
        result["probed_at"] = datetime.now(UTC)
        self._results[probe] = result
        return {"endpoint": endpoint.name, "probe": probe, **result}

    def parse(self, payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        if payload.get("probe") != PROBES[-1]:
            return []
        index = next(i for i, e in enumerate(self.endpoints) if e.name == payload["endpoint"])
        record = endpoint_record(self.endpoints[index], self._results)
        self._results = {}
        return [record]

    def next_cursor(self, payload: dict[str, Any]) -> Any:
        if not self.endpoints:
            return None
        index, probe = self._cursor_of(payload)
        if probe + 1 < len(PROBES):
            return (index, probe + 1)
        return (index + 1, 0) if index + 1 < len(self.endpoints) else None

    def _cursor_of(self, payload: dict[str, Any]) -> tuple[int, int]:
        index = next(i for i, e in enumerate(self.endpoints) if e.name == payload["endpoint"])
        return index, PROBES.index(payload["probe"])


def endpoint_record(endpoint: Endpoint, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The raw_endpoints_probes row of one endpoint from its four probe results."""
    https, http = results["https"], results["http"]
    hsts = parse_hsts(https.get("hsts")) if https.get("status") is not None else parse_hsts(None)
    not_after: datetime | None = https.get("not_after")
    probed_at: datetime = https["probed_at"]
    location = http.get("location")
    return {
        "endpoint": endpoint.name,
        "url": endpoint.url,
        "host": endpoint.host,
        "port": endpoint.port,
        "probed_at": probed_at.isoformat(),
        "tls1_0": results["tls1_0"]["outcome"],
        "tls1_0_detail": results["tls1_0"]["detail"],
        "tls1_1": results["tls1_1"]["outcome"],
        "tls1_1_detail": results["tls1_1"]["detail"],
        # some probe connected: a handshake answered (accepted or refused), or an HTTP(S) connection opened
        "reachable": any(results[key]["outcome"] in (ACCEPTED, REFUSED) for key in ("tls1_0", "tls1_1"))
        or not https.get("unreachable")
        or not http.get("unreachable"),
        "negotiated_version": https.get("version"),
        "https_status": https.get("status"),
        "https_error": https.get("error"),
        "cert_verified": https.get("cert_verified"),
        "cert_not_after": not_after.isoformat() if not_after else None,
        "cert_days_to_expiry": round((not_after - probed_at).total_seconds() / 86400, 2) if not_after else None,
        "cert_subject": https.get("subject"),
        "cert_issuer": https.get("issuer"),
        "http_status": http.get("status"),
        "http_location": location,
        "http_redirects_to_https": redirects_to_https(http.get("status"), location, endpoint.host),
        "http_error": http.get("error"),
        "hsts_header": https.get("hsts"),
        "hsts_max_age": hsts["max_age"],
        "hsts_include_subdomains": hsts["include_subdomains"],
        "hsts_preload": hsts["preload"],
    }


def redirects_to_https(status: int | None, location: str | None, host: str) -> bool | None:
    """A 301/302/307/308 to an https URL on the same host; None when the HTTP probe got no answer."""
    if status is None:
        return None
    if status not in (301, 302, 307, 308) or not location:
        return False
    target = urlsplit(location)
    return target.scheme.lower() == "https" and (target.hostname or "").lower() == host
