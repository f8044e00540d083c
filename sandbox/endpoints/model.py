"""The sandbox company's customer-facing HTTPS endpoints: one local TLS server per configuration (sandbox/endpoints/
serve.py), each a host of the company's domain reached through EVIDENCE_ENDPOINTS_RESOLVE, with a certificate from a
CA made for the run (EVIDENCE_ENDPOINTS_CA_BUNDLE). The company's website does not grow with its staff: the same
hosts at every size.

Planted, by host (everything else is the good configuration: TLS 1.2-1.3, a certificate valid 200 days, HSTS
max-age 2 years with includeSubDomains and preload, HTTP 301 to the same host over HTTPS):
- legacy:     also accepts TLS 1.0 and 1.1 (when this machine's OpenSSL can offer them; else untestable = unknown)
- tls12:      TLS 1.2 at most
- expiring:   certificate expires in 12 days
- nohsts:     no Strict-Transport-Security header
- weakhsts:   "Max-Age=86400; INCLUDESUBDOMAINS" (Cloudflare's default age, mixed case: parsed case-insensitively)
- noredirect: plain HTTP answers 200 itself
- offsite:    plain HTTP redirects to https on another host
- untrusted:  certificate from a CA the bundle does not hold: its expiry, version and HSTS are no evidence
"""

from __future__ import annotations

import random
import ssl
from dataclasses import dataclass, field

from connectors.endpoints.probe import can_offer, legacy_context
from sandbox.company import SandboxOrg

EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class HostConfig:
    label: str
    legacy_tls: bool = False
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    cert_days: int = 200
    hsts: str | None = "max-age=63072000; includeSubDomains; preload"
    #: plain HTTP: "same" (301 to https on the host), "none" (200) or "offsite" (301 to another host)
    redirect: str = "same"
    trusted: bool = True


HOSTS = (
    HostConfig("www"),
    HostConfig("app"),
    HostConfig("legacy", legacy_tls=True),
    HostConfig("tls12", max_version=ssl.TLSVersion.TLSv1_2),
    HostConfig("expiring", cert_days=12),
    HostConfig("nohsts", hsts=None),
    HostConfig("weakhsts", hsts="Max-Age=86400; INCLUDESUBDOMAINS"),
    HostConfig("noredirect", redirect="none"),
    HostConfig("offsite", redirect="offsite"),
    HostConfig("untrusted", trusted=False),
)


@dataclass
class EndpointsData:
    domain: str
    hosts: tuple[HostConfig, ...] = HOSTS
    #: whether this machine's OpenSSL offers TLS 1.0/1.1 at all (the legacy probe's honesty depends on it)
    legacy_testable: bool = True
    planted: dict[str, set[str]] = field(default_factory=dict)

    def host(self, config: HostConfig) -> str:
        return f"{config.label}.{self.domain}"


def legacy_testable() -> bool:
    return all(
        can_offer(legacy_context(v), "localhost") is None for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
    )


def build(org: SandboxOrg, rng: random.Random) -> EndpointsData:
    data = EndpointsData(domain=org.domain, legacy_testable=legacy_testable())
    name = data.host
    untrusted = {name(h) for h in HOSTS if not h.trusted}
    legacy = {name(h) for h in HOSTS if h.legacy_tls}
    org.expected["cc6_7_endpoint_legacy_tls_refused"] = legacy if data.legacy_testable else set()
    if not data.legacy_testable:  # the probe cannot offer TLS 1.0/1.1 here: every endpoint is untestable
        org.unknown["cc6_7_endpoint_legacy_tls_refused"] = {name(h) for h in HOSTS}
    org.expected["cc6_7_endpoint_tls13_negotiated"] = {name(h) for h in HOSTS if h.max_version < ssl.TLSVersion.TLSv1_3}
    org.expected["cc6_7_endpoint_certificate_valid"] = {
        name(h) for h in HOSTS if h.cert_days < EXPIRY_WARNING_DAYS or not h.trusted
    }
    org.expected["cc6_7_endpoint_http_redirects_https"] = {name(h) for h in HOSTS if h.redirect != "same"}
    org.expected["cc6_7_endpoint_hsts"] = {
        name(h) for h in HOSTS if h.trusted and (h.hsts is None or "max-age=63072000" not in h.hsts)
    }
    # without a trusted certificate nothing the HTTPS answer says is evidence: the version and HSTS are unknown
    org.unknown["cc6_7_endpoint_tls13_negotiated"] = untrusted
    org.unknown["cc6_7_endpoint_hsts"] = untrusted
    data.planted = {"untrusted": untrusted, "legacy": legacy}
    return data
