"""The endpoint probe's documented edge cases (SOURCES-2 §6, RFC 6797, hstspreload.org) through the real probes and the
endpoint controls' SQL: a refusal on our side is never the server's, an unverified certificate is never read for its
expiry, HSTS directives are case-insensitive and an invalid header is no HSTS, an endpoint that cannot be reached is
unknown everywhere, and a bad EVIDENCE_ENDPOINTS is refused naming the item."""

from __future__ import annotations

import logging
import socket
import ssl
import warnings
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from connectors.endpoints import EndpointProbes, parse_endpoints, parse_hsts
from connectors.endpoints.probe import REFUSED, UNREACHABLE, UNTESTABLE, can_offer, https_probe, version_probe
from connectors.endpoints.streams import redirects_to_https
from evidence_pipeline.catalogue import Catalogue
from sandbox.endpoints.model import HostConfig, legacy_testable
from sandbox.endpoints.serve import HttpsApp, TlsEndpointServer, _ca, _leaf, server_context
from tests.truth.edge_catalogue import edge_catalogue, judge

DAY = date(2026, 11, 20)
HOST = "www.example-corp.test"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return edge_catalogue(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(scope="module")
def tls_servers(tmp_path_factory: pytest.TempPathFactory):
    """A TLS 1.2+ server with a trusted certificate and one with a certificate from a CA the bundle lacks."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    folder = tmp_path_factory.mktemp("tls")
    trusted_ca, other_ca = _ca("Test CA"), _ca("Unknown CA")
    (folder / "ca.pem").write_bytes(trusted_ca[0].public_bytes(serialization.Encoding.PEM))
    servers = {}
    for name, ca in (("trusted", trusted_ca), ("untrusted", other_ca)):
        config = HostConfig(name)
        cert, key = _leaf(HOST, 200, ca, folder)
        servers[name] = TlsEndpointServer(name, HttpsApp(config), context=server_context(config, cert, key)).start()
    yield servers, str(folder / "ca.pem")
    for server in servers.values():
        server.stop()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def endpoint_at(port: int, http_port: int | None = None):
    resolve = f"{HOST}:443=127.0.0.1:{port},{HOST}:80=127.0.0.1:{http_port or closed_port()}"
    return parse_endpoints(f"https://{HOST}", resolve)[0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=31536000; includeSubDomains; preload", (31536000, True, True)),
        ("MAX-AGE=31536000; INCLUDESUBDOMAINS; PRELOAD", (31536000, True, True)),  # directive names: any case
        ('max-age="63072000"; includesubdomains', (63072000, True, False)),  # a quoted value
        ("includeSubDomains; preload", (None, True, True)),  # no max-age: the header is invalid
        ("max-age=31536000; max-age=60", (None, False, False)),  # max-age twice: invalid (RFC 6797 6.1)
        ("max-age=one-year", (None, False, False)),
        (None, (None, None, None)),
    ],
)
def test_hsts_directives_are_case_insensitive_and_an_invalid_max_age_is_none(header, expected) -> None:
    parsed = parse_hsts(header)
    assert (parsed["max_age"], parsed["include_subdomains"], parsed["preload"]) == expected


def test_a_version_this_machine_cannot_offer_is_untestable_never_refused() -> None:
    # a context whose only version is switched off: OpenSSL cannot write a ClientHello, whatever the server does
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.options |= ssl.OP_NO_TLSv1_3
    result = version_probe(endpoint_at(closed_port()), "tls1_0", 2.0, context)
    assert result["outcome"] == UNTESTABLE and "cannot offer" in result["detail"]
    # OpenSSL 3's default security level (no SECLEVEL=0) cannot offer TLS 1.0: the documented false pass
    legacy_default = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    legacy_default.check_hostname, legacy_default.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        legacy_default.minimum_version = legacy_default.maximum_version = ssl.TLSVersion.TLSv1
    outcome = version_probe(endpoint_at(closed_port()), "tls1_0", 2.0, legacy_default)["outcome"]
    assert outcome == (UNTESTABLE if can_offer(legacy_default, HOST) else UNREACHABLE)


def test_a_server_alert_is_a_refusal_and_a_closed_port_is_unreachable(tls_servers) -> None:
    servers, _ = tls_servers
    result = version_probe(endpoint_at(servers["trusted"].port), "tls1_1", 5.0)
    if legacy_testable():
        assert result["outcome"] == REFUSED and "ALERT" in result["detail"], result
    else:
        assert result["outcome"] == UNTESTABLE
    assert version_probe(endpoint_at(closed_port()), "tls1_0", 2.0)["outcome"] in (UNREACHABLE, UNTESTABLE)


def test_an_untrusted_certificate_is_never_read_for_its_expiry(tls_servers, catalogue, tmp_path: Path) -> None:
    servers, bundle = tls_servers
    trusted = https_probe(endpoint_at(servers["trusted"].port), 5.0, bundle)
    assert trusted["cert_verified"] and trusted["not_after"] and trusted["version"] == "TLSv1.3"
    untrusted = https_probe(endpoint_at(servers["untrusted"].port), 5.0, bundle)
    assert untrusted["cert_verified"] is False and "not_after" not in untrusted and "version" not in untrusted
    # through the stream and the controls: the certificate fails, nothing the unverified peer said passes
    stream = EndpointProbes([endpoint_at(servers["untrusted"].port)], bundle, timeout=5.0)
    rows = judge(catalogue, tmp_path, ("endpoints", "probes"), list(stream.records()), DAY)
    name = HOST
    assert rows["cc6_7_endpoint_certificate_valid"][name]["failure"] == "certificate_untrusted"
    assert rows["cc6_7_endpoint_certificate_valid"][name]["status"] == "fail"
    assert rows["cc6_7_endpoint_tls13_negotiated"][name]["status"] == "unknown"
    assert rows["cc6_7_endpoint_hsts"][name]["status"] == "unknown"


def test_an_unreachable_endpoint_is_unknown_in_every_control(catalogue, tmp_path: Path) -> None:
    stream = EndpointProbes([endpoint_at(closed_port())], timeout=2.0)
    records = list(stream.records())
    assert stream.provenance.status == "succeeded" and stream.provenance.request_count == 4
    assert records[0]["reachable"] is False and records[0]["cert_days_to_expiry"] is None
    rows = judge(catalogue, tmp_path, ("endpoints", "probes"), records, DAY)
    assert {control: by_id[HOST]["status"] for control, by_id in rows.items()} == dict.fromkeys(rows, "unknown")
    assert len(rows) == 5


@pytest.mark.parametrize(
    ("status", "location", "expected"),
    [
        (301, f"https://{HOST}/", True),
        (308, f"HTTPS://{HOST.upper()}/login", True),
        (301, f"http://{HOST}/", False),  # still plain HTTP
        (302, "https://www.other.test/", False),  # another host first: preloading needs the same host
        (301, None, False),
        (200, None, False),
        (None, None, None),  # no answer: unknown, never a pass or a fail
    ],
)
def test_a_redirect_counts_only_to_https_on_the_same_host(status, location, expected) -> None:
    assert redirects_to_https(status, location, HOST) is expected


@pytest.mark.parametrize(
    ("value", "resolve", "message"),
    [
        (
            "https://ok.example.com,http://plain.example.com",
            "",
            "EVIDENCE_ENDPOINTS: item 2 'http://plain.example.com'",
        ),
        ("https://user:pw@example.com", "", "EVIDENCE_ENDPOINTS: item 1"),
        ("https://a.example.com,https://A.example.com", "", "a.example.com is listed twice"),
        ("https://a.example.com", "a.example.com=127.0.0.1", "EVIDENCE_ENDPOINTS_RESOLVE: item 1"),
    ],
)
def test_a_bad_endpoint_list_is_refused_naming_the_variable_and_item(value, resolve, message) -> None:
    with pytest.raises(ValueError) as raised:
        parse_endpoints(value, resolve)
    assert message in str(raised.value) and "\n" not in str(raised.value)
