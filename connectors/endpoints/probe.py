"""Read-only probes of one customer-facing HTTPS endpoint with Python's `ssl` and `http.client`.

Four network operations per endpoint, each bounded by a timeout:
- a TLS 1.0 and a TLS 1.1 handshake (minimum = maximum version, ciphers at SECLEVEL=0 so that OpenSSL 3 offers
  the old versions at all): accepted, refused by the peer, or *untestable* when this machine cannot offer the version;
- one HTTPS GET over a verifying default context: the negotiated version, the certificate's expiry (read only from
  a verified chain: `getpeercert()` is `{}` without verification) and the Strict-Transport-Security header;
- one plain-HTTP GET, redirects not followed: the status and Location.
Nothing here raises for what the endpoint does: every outcome is data, and an endpoint that cannot be reached is
recorded as such, so that its rows are *unknown* and the other endpoints are still judged.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

#: outcomes of a single-version handshake
ACCEPTED, REFUSED, UNTESTABLE, UNREACHABLE = "accepted", "refused", "untestable", "unreachable"
#: OpenSSL reasons raised on this side before the peer answers: the version could not be offered, nothing was tested
LOCAL_REASONS = frozenset({"NO_CIPHERS_AVAILABLE", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE"})
LEGACY_VERSIONS = {"tls1_0": ssl.TLSVersion.TLSv1, "tls1_1": ssl.TLSVersion.TLSv1_1}
USER_AGENT = "evidence-pipeline endpoint probe (read-only SOC 2 evidence collection)"
#: bytes of a response read at most: the probes need the status line and headers only
MAX_BODY = 65536


@dataclass(frozen=True)
class Endpoint:
    """One configured endpoint: its https URL, where to connect (an override, like curl --resolve) and its http URL."""

    url: str
    host: str
    port: int
    path: str
    #: (address, port) to connect to instead of DNS for (host, port); SNI and Host still name `host`
    connect_to: tuple[str, int] | None = None
    #: (address, port) for the plain-HTTP probe instead of (host, 80)
    http_connect_to: tuple[str, int] | None = None

    @property
    def name(self) -> str:
        """The resource id: the host, with its port when it is not 443."""
        return self.host if self.port == 443 else f"{self.host}:{self.port}"

    def address(self) -> tuple[str, int]:
        return self.connect_to or (self.host, self.port)

    def http_address(self) -> tuple[str, int]:
        return self.http_connect_to or (self.host, 80)


def parse_endpoints(value: str, resolve: str = "", variable: str = "EVIDENCE_ENDPOINTS") -> list[Endpoint]:
    """`value`: comma-separated https URLs. `resolve`: comma-separated `host:port=address:port` overrides (port 80 for
    the plain-HTTP probe). A bad item raises ValueError naming the variable and the item."""
    overrides: dict[tuple[str, int], tuple[str, int]] = {}
    for number, item in enumerate(filter(None, (i.strip() for i in resolve.split(","))), 1):
        target, _, address = item.partition("=")
        try:
            overrides[_host_port(target)] = _host_port(address)
        except ValueError:
            raise ValueError(f"{variable}_RESOLVE: item {number} {item!r} is not host:port=address:port") from None
    endpoints: list[Endpoint] = []
    for number, item in enumerate(filter(None, (i.strip() for i in value.split(","))), 1):
        parts = urlsplit(item if "://" in item else f"https://{item}")
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password or parts.query:
            raise ValueError(f"{variable}: item {number} {item!r} is not an https URL with a host (and no query)")
        try:
            port = parts.port or 443
        except ValueError:
            raise ValueError(f"{variable}: item {number} {item!r} has an invalid port") from None
        host = parts.hostname.lower()
        endpoints.append(
            Endpoint(
                url=f"https://{host}{'' if port == 443 else f':{port}'}{parts.path or '/'}",
                host=host,
                port=port,
                path=parts.path or "/",
                connect_to=overrides.get((host, port)),
                http_connect_to=overrides.get((host, 80)),
            )
        )
    names = [e.name for e in endpoints]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ValueError(f"{variable}: {duplicate} is listed twice")
    return endpoints


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(text)
    return host.lower(), int(port)


def _connect(address: tuple[str, int], timeout: float) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


def legacy_context(version: ssl.TLSVersion) -> ssl.SSLContext:
    """A client context that offers exactly `version`. No verification: the question is only whether the server
    completes a handshake at that version (expiry is never read from this context)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLSv1/TLSv1_1 are deprecated on 3.11+: offering them is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3's default level refuses to offer TLS < 1.2 at all
    return context


def can_offer(context: ssl.SSLContext, host: str) -> str | None:
    """None when `context` can write a ClientHello on this machine; else the local reason it cannot (tested in
    memory, before any packet: a local refusal must never read as the server's)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    handshake = context.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        handshake.do_handshake()
    except ssl.SSLWantReadError:
        return None if outgoing.pending else "no ClientHello was written"
    except ssl.SSLError as exc:
        return exc.reason or str(exc)
    return None


def version_probe(
    endpoint: Endpoint, key: str, timeout: float, context: ssl.SSLContext | None = None
) -> dict[str, Any]:
    """One handshake offering only the version `key` names: {outcome, detail, version}."""
    context = context or legacy_context(LEGACY_VERSIONS[key])
    local = can_offer(context, endpoint.host)
    if local is not None:
        return {"outcome": UNTESTABLE, "detail": f"this machine's OpenSSL cannot offer {key}: {local}"}
    try:
        with (
            _connect(endpoint.address(), timeout) as raw,
            context.wrap_socket(raw, server_hostname=endpoint.host) as tls,
        ):
            return {"outcome": ACCEPTED, "detail": f"handshake completed ({tls.cipher()[0]})", "version": tls.version()}
    except ssl.SSLError as exc:
        return classify_handshake_error(exc)
    except (ConnectionResetError, BrokenPipeError) as exc:
        # the TCP connection was up and the server dropped it on the ClientHello: no session at that version
        return {"outcome": REFUSED, "detail": f"connection closed by the server during the handshake ({exc})"}
    except OSError as exc:
        return {"outcome": UNREACHABLE, "detail": f"{type(exc).__name__}: {exc}"}


def classify_handshake_error(exc: ssl.SSLError) -> dict[str, Any]:
    """A peer's alert (or its closing the connection) is a refusal; a reason raised on this side is untestable."""
    reason = exc.reason or type(exc).__name__
    if reason in LOCAL_REASONS:
        return {"outcome": UNTESTABLE, "detail": f"refused on this side, the server was not tested: {reason}"}
    if isinstance(exc, ssl.SSLEOFError) or "ALERT" in reason or "EOF" in reason:
        return {"outcome": REFUSED, "detail": f"refused by the server: {reason}"}
    return {"outcome": REFUSED, "detail": f"handshake failed: {reason}"}


def https_probe(endpoint: Endpoint, timeout: float, ca_bundle: str | None) -> dict[str, Any]:
    """One verified HTTPS GET: negotiated version, certificate expiry (verified chain only) and the HSTS header."""
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    result: dict[str, Any] = {}
    try:
        raw = _connect(endpoint.address(), timeout)
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "unreachable": True}
    try:
        with raw, context.wrap_socket(raw, server_hostname=endpoint.host) as tls:
            result["version"] = tls.version()
            certificate = tls.getpeercert()
            not_after = certificate.get("notAfter") if certificate else None
            if not not_after:  # a verified chain always has one: an empty answer is no evidence of expiry
                raise ssl.SSLError("the verified certificate has no notAfter")
            result["not_after"] = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
            result["subject"] = _name(certificate.get("subject"))
            result["issuer"] = _name(certificate.get("issuer"))
            result["cert_verified"] = True
            status, headers = _get(tls, endpoint.host, endpoint.port, endpoint.path)
            result["status"] = status
            result["hsts"] = headers.get("strict-transport-security")
    except ssl.SSLCertVerificationError as exc:
        result.update(cert_verified=False, error=f"certificate not trusted: {exc.verify_message or exc.reason}")
    except (ssl.SSLError, OSError, http.client.HTTPException) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


def http_probe(endpoint: Endpoint, timeout: float) -> dict[str, Any]:
    """One plain-HTTP GET of the same host and path, redirects not followed: {status, location} or {error}."""
    try:
        raw = _connect(endpoint.http_address(), timeout)
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "unreachable": True}
    try:
        with raw:
            status, headers = _get(raw, endpoint.host, 80, endpoint.path)
            return {"status": status, "location": headers.get("location")}
    except (OSError, http.client.HTTPException) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _get(sock: socket.socket, host: str, port: int, path: str) -> tuple[int, dict[str, str]]:
    """GET `path` over an open socket with http.client's parser; headers lower-cased, the body left unread."""
    default = 443 if isinstance(sock, ssl.SSLSocket) else 80
    host_header = host if port == default else f"{host}:{port}"
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n"
        "Connection: close\r\n\r\n".encode("ascii")
    )
    response = http.client.HTTPResponse(sock)
    response.begin()
    headers = {name.lower(): value for name, value in response.getheaders()}
    response.read(MAX_BODY)
    return response.status, headers


def _name(fields: Any) -> str | None:
    """An RDN sequence from getpeercert() as 'CN=..., O=...'."""
    if not fields:
        return None
    return ", ".join(f"{key}={value}" for rdn in fields for key, value in rdn)


_DIRECTIVE = re.compile(r"^\s*([A-Za-z-]+)\s*(?:=\s*\"?([^\";]*)\"?)?\s*$")


def parse_hsts(header: str | None) -> dict[str, Any]:
    """RFC 6797 directives, names case-insensitive: {max_age, include_subdomains, preload}. A header that is
    absent gives Nones; a max-age that is missing, repeated or not a number gives max_age None (the header is
    invalid, RFC 6797 6.1), never a number it does not say."""
    if header is None:
        return {"max_age": None, "include_subdomains": None, "preload": None}
    seen: dict[str, list[str | None]] = {}
    for part in header.split(";"):
        if not part.strip():
            continue
        match = _DIRECTIVE.match(part)
        if match:
            seen.setdefault(match.group(1).lower(), []).append(match.group(2))
    ages = seen.get("max-age", [])
    max_age = int(ages[0]) if len(ages) == 1 and ages[0] and ages[0].strip().isdigit() else None
    return {"max_age": max_age, "include_subdomains": "includesubdomains" in seen, "preload": "preload" in seen}
