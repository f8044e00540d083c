"""Start the fake Microsoft login and Graph endpoints over TLS and say how the pipeline reaches them.

msal only accepts an https authority, so both fakes serve TLS with a certificate made at start:
a throwaway CA signs a leaf for 127.0.0.1/localhost, and the pipeline trusts exactly that CA through
ENTRA_CA_BUNDLE (verification stays on; nothing is disabled). The app registration's client secret
is generated at start too; a client certificate can be registered with `register_certificate`.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.company import SandboxOrg
from sandbox.entra.model import guid
from sandbox.entra.server import AppRegistration, GraphApp, LoginApp, TokenStore
from sandbox.server import FakeServer

#: The sandbox app registration's client id (a fixed GUID, like one copied from the portal).
SANDBOX_CLIENT_ID = "5f2b8a46-3c1e-4d7a-9b0e-7c4f1d2e9a31"


def tls_material(directory: Path) -> tuple[Path, Path, Path]:
    """(CA bundle, server certificate, server key) for 127.0.0.1, written under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Evidence Pipeline Sandbox CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    bundle, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    bundle.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return bundle, cert_file, key_file


def client_certificate(directory: Path, name: str = "evidence-pipeline") -> tuple[Path, str, rsa.RSAPublicKey]:
    """A self-signed client certificate as Entra accepts for app credentials: (PEM with the private key and
    the certificate, SHA-1 thumbprint in hex as the portal shows it, public key)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name}.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    path.chmod(0o600)
    return path, cert.fingerprint(hashes.SHA1()).hex().upper(), key.public_key()  # noqa: S303 - Entra's x5t


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    data = org.systems["entra"]
    bundle, cert, key = tls_material(workdir / "entra" / "tls")
    client_secret = f"sbx~{secrets.token_urlsafe(30)}"  # Entra secrets look like this: opaque, ~40 chars
    tokens = TokenStore()
    app = AppRegistration(SANDBOX_CLIENT_ID, secrets=(client_secret,))
    login = LoginApp(data, [app], tokens)
    login_server = FakeServer("entra-login", login, tls=(cert, key), latency=latency).start()
    graph_server = FakeServer("entra-graph", GraphApp(data, tokens), tls=(cert, key), latency=latency).start()
    login.graph_resource = graph_server.url
    env = {
        "ENTRA_TENANT_ID": data.tenant_id,
        "ENTRA_CLIENT_ID": SANDBOX_CLIENT_ID,
        "ENTRA_CLIENT_SECRET": client_secret,
        "ENTRA_AUTHORITY_URL": login_server.url,
        "ENTRA_GRAPH_URL": graph_server.url,
        "ENTRA_CA_BUNDLE": str(bundle),
    }
    return [login_server, graph_server], env


def register_certificate(login_server: FakeServer, workdir: Path) -> tuple[Path, str]:
    """Add a new client certificate to the sandbox app registration: (PEM path, SHA-1 thumbprint)."""
    path, thumbprint, public_key = client_certificate(workdir / "entra" / "client-cert", f"cert-{guid_suffix()}")
    login: LoginApp = login_server.app  # type: ignore[assignment]
    login.apps[SANDBOX_CLIENT_ID].certificates[thumbprint.lower()] = public_key
    return path, thumbprint


def guid_suffix() -> str:
    return secrets.token_hex(4)


__all__ = ["SANDBOX_CLIENT_ID", "client_certificate", "guid", "register_certificate", "start", "tls_material"]
