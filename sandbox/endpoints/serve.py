"""Start the sandbox's HTTPS endpoints: a CA made for the run, one TLS server per host configuration
(sandbox/endpoints/model.py) and one plain-HTTP server answering every host by its Host header. The pipeline reaches
them as a deployment reaches its own: EVIDENCE_ENDPOINTS names the hosts, EVIDENCE_ENDPOINTS_RESOLVE where they listen
(curl's --resolve), EVIDENCE_ENDPOINTS_CA_BUNDLE the private CA."""

from __future__ import annotations

import ssl
import threading
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.company import SandboxOrg
from sandbox.endpoints.model import EndpointsData, HostConfig
from sandbox.server import FakeServer


@dataclass
class TlsEndpointServer(FakeServer):
    """A FakeServer with a TLS context of its own (versions and ciphers per host configuration)."""

    context: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> TlsEndpointServer:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, ssl_context=self.context)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    host: str, days: int, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], directory: Path
) -> tuple[Path, Path]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{host}.pem", directory / f"{host}-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def server_context(config: HostConfig, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))
    if config.legacy_tls:
        with warnings.catch_warnings():  # deliberately the bad configuration the control must catch
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = config.max_version
    return context


class HttpsApp:
    """The HTTPS answer of one host: 200 with its HSTS header (or none)."""

    def __init__(self, config: HostConfig) -> None:
        self.config = config

    def __call__(self, request: Request) -> Response:
        headers = {"Strict-Transport-Security": self.config.hsts} if self.config.hsts else {}
        return Response("<h1>Example Corp</h1>", status=200, headers=headers, content_type="text/html")


class HttpApp:
    """Plain HTTP for every host, by its Host header: a 301 to https on the same host, a 200, or a 301 elsewhere."""

    def __init__(self, data: EndpointsData) -> None:
        self.by_host = {data.host(h): h for h in data.hosts}
        self.domain = data.domain

    def __call__(self, request: Request) -> Response:
        host = request.host.split(":")[0].lower()
        config = self.by_host.get(host)
        if config is None:
            return Response("unknown host", status=404)
        if config.redirect == "none":
            return Response("<h1>Example Corp (plain HTTP)</h1>", status=200, content_type="text/html")
        target = host if config.redirect == "same" else f"www.other-{self.domain}"
        return Response("", status=301, headers={"Location": f"https://{target}{request.full_path.rstrip('?')}"})


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    data: EndpointsData = org.systems["endpoints"]
    directory = workdir / "endpoints"
    directory.mkdir(parents=True, exist_ok=True)
    ca, rogue = _ca("Example Corp Sandbox Endpoints CA"), _ca("Some Other CA")
    bundle = directory / "ca.pem"
    bundle.write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    servers: list[FakeServer] = []
    resolve: list[str] = []
    try:
        for config in data.hosts:
            host = data.host(config)
            cert_file, key_file = _leaf(host, config.cert_days, ca if config.trusted else rogue, directory)
            server = TlsEndpointServer(
                f"endpoint-{config.label}",
                HttpsApp(config),
                latency=latency,
                context=server_context(config, cert_file, key_file),
            ).start()
            servers.append(server)
            resolve.append(f"{host}:443=127.0.0.1:{server.port}")
        plain = FakeServer("endpoints-http", HttpApp(data), latency=latency).start()
        servers.append(plain)
    except Exception:
        for server in servers:
            server.stop()
        raise
    resolve += [f"{data.host(config)}:80=127.0.0.1:{plain.port}" for config in data.hosts]
    return servers, {
        "EVIDENCE_ENDPOINTS": ",".join(f"https://{data.host(config)}" for config in data.hosts),
        "EVIDENCE_ENDPOINTS_RESOLVE": ",".join(resolve),
        "EVIDENCE_ENDPOINTS_CA_BUNDLE": str(bundle),
    }
