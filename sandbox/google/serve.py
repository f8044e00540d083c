"""Start the fake Google Workspace and say how the pipeline reaches it.

A service-account key is generated at start (a real RSA key in Google's key-file JSON
format) with `token_uri` pointing at the fake's token endpoint, exactly as a real key
file points at https://oauth2.googleapis.com/token. The fake verifies the JWT the
google-auth library signs with it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.google_workspace import GoogleWorkspaceConfig
from sandbox.company import SandboxOrg
from sandbox.google.server import CLOUD_IDENTITY_MOUNT, GoogleApp, ServiceAccount
from sandbox.server import FakeServer

SERVICE_ACCOUNT_EMAIL = "evidence-pipeline@sandbox-project.iam.gserviceaccount.com"


def service_account_key() -> tuple[dict[str, str], str]:
    """A new key file's JSON content and the matching public key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    info = {
        "type": "service_account",
        "project_id": "sandbox-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": private_pem,
        "client_email": SERVICE_ACCOUNT_EMAIL,
        "client_id": "1" + "".join(str(secrets.randbelow(10)) for _ in range(20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "",  # filled in once the server has a port
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "",
    }
    return info, public_pem


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    info, public_pem = service_account_key()
    data = org.systems["google"]
    app = GoogleApp(data, ServiceAccount(info["client_email"], info["private_key_id"], public_pem))
    server = FakeServer("google", app, latency=latency).start()
    info["token_uri"] = f"{server.url}/token"
    key_file = workdir / "google" / "service-account.json"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(json.dumps(info, indent=2))
    key_file.chmod(0o600)
    # The key's JSON goes in GOOGLE_WORKSPACE_CREDENTIALS_JSON (the secret the contract checks never
    # leaks); the same key is on disk for GOOGLE_WORKSPACE_CREDENTIALS_FILE users (tests cover both).
    env = {
        "GOOGLE_WORKSPACE_CREDENTIALS_JSON": json.dumps(info),
        "GOOGLE_WORKSPACE_ADMIN_SUBJECT": data.admin_subject,
        "GOOGLE_WORKSPACE_CUSTOMER_ID": "my_customer",
        "GOOGLE_WORKSPACE_EXCLUDED_OUS": ",".join(data.excluded_org_units),
        "GOOGLE_WORKSPACE_API_URL": server.url,
        "GOOGLE_WORKSPACE_CLOUD_IDENTITY_URL": f"{server.url}/{CLOUD_IDENTITY_MOUNT}",
        "GOOGLE_WORKSPACE_POLICY_SUBJECT": data.policy_subject,
    }
    return [server], env


def google_config(env: dict[str, str]) -> GoogleWorkspaceConfig:
    """The connector's configuration for the fake `start` put in `env` (the pipeline reads the same variables)."""
    return GoogleWorkspaceConfig.from_settings(
        admin_subject=env["GOOGLE_WORKSPACE_ADMIN_SUBJECT"],
        credentials_json=env.get("GOOGLE_WORKSPACE_CREDENTIALS_JSON"),
        credentials_file=env.get("GOOGLE_WORKSPACE_CREDENTIALS_FILE"),
        customer_id=env.get("GOOGLE_WORKSPACE_CUSTOMER_ID"),
        api_url=env.get("GOOGLE_WORKSPACE_API_URL"),
        excluded_org_units=env.get("GOOGLE_WORKSPACE_EXCLUDED_OUS", ""),
        cloud_identity_url=env.get("GOOGLE_WORKSPACE_CLOUD_IDENTITY_URL"),
        policy_subject=env.get("GOOGLE_WORKSPACE_POLICY_SUBJECT"),
    )
