"""Builds the real Microsoft Graph client: msal's ConfidentialClientApplication (client secret or
certificate, app-only client-credentials flow) for tokens, and a requests session for Graph.

Every base URL is configuration, because national clouds need it:

| cloud                     | ENTRA_AUTHORITY_URL                   | ENTRA_GRAPH_URL                          |
|---------------------------|---------------------------------------|------------------------------------------|
| global                    | https://login.microsoftonline.com     | https://graph.microsoft.com              |
| US Government L4 (L5/DoD) | https://login.microsoftonline.us      | https://graph.microsoft.us (dod-graph.…) |
| China (21Vianet)          | https://login.chinacloudapi.cn        | https://microsoftgraph.chinacloudapi.cn  |

The token scope is always `<graph url>/.default` (app-only: the application permissions an admin
consented to). msal fetches the authority's OpenID configuration before the first token. Instance
discovery is off (`instance_discovery=False`): for a host msal does not know (the sandbox, a private
cloud) msal would otherwise ask login.microsoftonline.com, whatever authority is configured, both
before the first token and again after any token error (to look up cache aliases). With it off,
nothing ever leaves for a host the user did not configure; for Microsoft's own login hosts msal
skips instance discovery anyway.

TLS: `trust_env=False` keeps the machine's proxy and REQUESTS_CA_BUNDLE settings out of it; a CA bundle
(ENTRA_CA_BUNDLE: a TLS-inspecting proxy, or the sandbox's throwaway CA) is given explicitly to both
msal and Graph. Verification is never turned off.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msal
import requests

DEFAULT_AUTHORITY_URL = "https://login.microsoftonline.com"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
API_VERSION = "v1.0"
#: Least-privilege application permissions (admin consent) the connector needs, for the README.
REQUIRED_PERMISSIONS = (
    "User.Read.All",
    "AuditLog.Read.All",
    "RoleManagement.Read.Directory",
    "Policy.Read.All",
    "Directory.Read.All",
)


@dataclass(frozen=True)
class EntraConfig:
    tenant_id: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    #: PEM file holding the certificate's private key (and usually the certificate)
    certificate_path: str | None = None
    #: SHA-1 thumbprint of the certificate as the Entra portal shows it (hex)
    certificate_thumbprint: str | None = None
    authority_url: str = DEFAULT_AUTHORITY_URL
    graph_url: str = DEFAULT_GRAPH_URL
    ca_bundle: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # credentials never reach logs
        return (
            f"EntraConfig(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, "
            f"authority_url={self.authority_url!r}, graph_url={self.graph_url!r}, "
            f"credential={self.credential_kind})"
        )

    @property
    def credential_kind(self) -> str:
        if self.client_secret:
            return "client_secret"
        return "certificate" if self.certificate_path and self.certificate_thumbprint else "none"

    @property
    def authority(self) -> str:
        return f"{self.authority_url.rstrip('/')}/{self.tenant_id}"

    @property
    def scope(self) -> str:
        return f"{self.graph_url.rstrip('/')}/.default"

    @property
    def graph_root(self) -> str:
        return f"{self.graph_url.rstrip('/')}/{API_VERSION}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EntraConfig:
        """The configuration a real deployment sets:

        ENTRA_TENANT_ID                      directory (tenant) id or verified domain
        ENTRA_CLIENT_ID                      application (client) id
        ENTRA_CLIENT_SECRET                  client secret value, or
        ENTRA_CLIENT_CERTIFICATE_PATH        PEM with the certificate's private key, and
        ENTRA_CLIENT_CERTIFICATE_THUMBPRINT  its SHA-1 thumbprint (hex, as the portal shows)
        ENTRA_AUTHORITY_URL                  default https://login.microsoftonline.com
        ENTRA_GRAPH_URL                      default https://graph.microsoft.com
        ENTRA_CA_BUNDLE                      optional CA bundle (TLS-inspecting proxy; the sandbox)
        """
        env = os.environ if environ is None else environ
        missing = missing_settings(env)
        if missing:
            raise ValueError(f"Microsoft Entra ID is not configured: set {', '.join(missing)}")
        return cls(
            tenant_id=env["ENTRA_TENANT_ID"],
            client_id=env["ENTRA_CLIENT_ID"],
            client_secret=env.get("ENTRA_CLIENT_SECRET") or None,
            certificate_path=env.get("ENTRA_CLIENT_CERTIFICATE_PATH") or None,
            certificate_thumbprint=env.get("ENTRA_CLIENT_CERTIFICATE_THUMBPRINT") or None,
            authority_url=env.get("ENTRA_AUTHORITY_URL") or DEFAULT_AUTHORITY_URL,
            graph_url=env.get("ENTRA_GRAPH_URL") or DEFAULT_GRAPH_URL,
            ca_bundle=env.get("ENTRA_CA_BUNDLE") or None,
        )


def missing_settings(env: Mapping[str, str]) -> list[str]:
    missing = [name for name in ("ENTRA_TENANT_ID", "ENTRA_CLIENT_ID") if not env.get(name)]
    if not env.get("ENTRA_CLIENT_SECRET") and not (
        env.get("ENTRA_CLIENT_CERTIFICATE_PATH") and env.get("ENTRA_CLIENT_CERTIFICATE_THUMBPRINT")
    ):
        missing.append("ENTRA_CLIENT_SECRET (or ENTRA_CLIENT_CERTIFICATE_PATH and ENTRA_CLIENT_CERTIFICATE_THUMBPRINT)")
    return missing


class EntraAuthError(Exception):
    """The identity platform refused or failed to issue a token (msal's error result, without secrets)."""

    def __init__(self, error: str, description: str, status: int | None = None) -> None:
        self.error, self.description, self.status = error, description, status
        super().__init__(f"{error}: {description}"[:500])

    @property
    def transient(self) -> bool:
        return self.error in ("temporarily_unavailable", "server_error") or (self.status or 0) in (
            429,
            500,
            502,
            503,
            504,
        )


class GraphError(Exception):
    """A Graph error response: status, Graph's error code and message, and the headers (Retry-After)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})
        self.request_id = request_id
        super().__init__(
            f"HTTP {status} {code}: {message}"[:500] + (f" (request-id {request_id})" if request_id else "")
        )

    @classmethod
    def from_response(cls, response: requests.Response) -> GraphError:
        try:
            error = (response.json() or {}).get("error") or {}
        except ValueError:
            error = {}
        if not isinstance(error, dict):
            error = {"code": str(error)}
        inner = error.get("innerError") or {}
        return cls(
            response.status_code,
            str(error.get("code") or response.reason or "unknown"),
            str(error.get("message") or response.text[:200]),
            response.headers,
            inner.get("request-id") or response.headers.get("request-id"),
        )


class MalformedResponse(Exception):
    """Graph answered 200 with a body that is not the JSON it documents (truncated, proxy page)."""


def _session(config: EntraConfig) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = config.ca_bundle or True
    return session


def _credential(config: EntraConfig) -> str | dict[str, str]:
    if config.client_secret:
        return config.client_secret
    if config.certificate_path and config.certificate_thumbprint:
        pem = Path(config.certificate_path).expanduser()
        if not pem.is_file():
            raise ValueError(f"ENTRA_CLIENT_CERTIFICATE_PATH: no file at {pem}")
        # msal signs the client assertion (RS256, x5t = this SHA-1 thumbprint) with the private key.
        return {"private_key": pem.read_text(), "thumbprint": config.certificate_thumbprint.replace(":", "")}
    raise ValueError("Microsoft Entra ID needs a client secret or a certificate (path and thumbprint)")


class GraphClient:
    """App-only Graph reads. msal's app is built lazily, on the first request, so its discovery requests
    run inside a stream's first page: a failure there is classified and retried like any other.

    One client serves a whole source run: its datasets are read in threads through it, so they share one msal
    app and one token (a lock makes the first token request the only one). Every request to the identity
    platform is logged in `identity_platform_requests` (method, URL without query, status, time; never a body,
    a credential or the token), for the datasets' provenance."""

    def __init__(self, config: EntraConfig) -> None:
        self.config = config
        self.session = _session(config)
        self.session.headers.update({"Accept": "application/json"})
        self._auth_session = _session(config)
        self._auth_session.hooks["response"].append(self._log_identity_platform_request)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()
        self._token_lock = threading.Lock()
        self._log_lock = threading.Lock()  # the log is written while _lock is held (msal's discovery in _msal)
        self._identity_platform_requests: list[dict[str, Any]] = []

    def _log_identity_platform_request(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        url = str(request.url or "").split("?", 1)[0]  # a query could carry a parameter; the path never a secret
        entry = {
            "method": request.method,
            "url": url,
            "status": response.status_code,
            "duration_ms": round(response.elapsed.total_seconds() * 1000, 1),
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        with self._log_lock:
            self._identity_platform_requests.append(entry)

    @property
    def identity_platform_requests(self) -> list[dict[str, Any]]:
        """The requests this client made to the identity platform so far (OpenID discovery, token)."""
        with self._log_lock:
            return [dict(entry) for entry in self._identity_platform_requests]

    @property
    def graph_root(self) -> str:
        return self.config.graph_root

    def _msal(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.config.client_id,
                        client_credential=_credential(self.config),
                        authority=self.config.authority,
                        http_client=self._auth_session,
                        instance_discovery=False,
                        timeout=self.config.timeout,
                    )
                except ValueError as exc:  # msal reports a failed discovery as ValueError
                    raise EntraAuthError("discovery_failed", str(exc)) from None
            return self._app

    def token(self) -> str:
        """An app-only access token; msal serves it from its cache until it nears expiry."""
        app = self._msal()
        with self._token_lock:  # datasets start side by side: the first asks, the others find msal's cached token
            result = app.acquire_token_for_client(scopes=[self.config.scope])
        if "access_token" not in result:
            codes = result.get("error_codes") or []
            raise EntraAuthError(
                str(result.get("error") or "token_error"),
                str(result.get("error_description") or "no description").split(" Trace ID:")[0],
                status=429 if result.get("error") == "temporarily_unavailable" and 50196 in codes else None,
            )
        return str(result["access_token"])

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One Graph GET; a non-2xx answer raises GraphError, a body that is not JSON MalformedResponse."""
        if not url.startswith(self.graph_root + "/"):
            # A nextLink elsewhere would carry our bearer token to another host.
            raise ValueError(f"refusing to send the Graph token to {url!r}: not under {self.graph_root}")
        response = self.session.get(
            url, params=params, timeout=self.config.timeout, headers={"Authorization": f"Bearer {self.token()}"}
        )
        if response.status_code >= 400:
            raise GraphError.from_response(response)
        try:
            payload = response.json()
        except ValueError as exc:
            raise MalformedResponse(
                f"HTTP {response.status_code}: body is not JSON ({len(response.content)} bytes)"
            ) from exc
        if not isinstance(payload, dict):
            raise MalformedResponse(f"HTTP {response.status_code}: body is not a JSON object")
        return payload

    def close(self) -> None:
        self.session.close()
        self._auth_session.close()


def make_graph(config: EntraConfig) -> GraphClient:
    return GraphClient(config)
