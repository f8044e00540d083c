"""Builds the real Admin SDK Directory client: googleapiclient with a service account
using domain-wide delegation (impersonating an admin), read-only scopes only.

Transport: googleapiclient's documented `http=` hook ("an instance of httplib2.Http or
something that acts like it") is given a small adapter over google-auth's requests
`AuthorizedSession`, instead of the default httplib2. Why: httplib2 re-sends a request
on its own after a dropped connection (invisible to our retry count), reads proxies
from the environment and cannot take an explicit CA bundle per client. With requests
the shared policy in connectors/stream.py is the only thing that retries, every retry
is counted, and `trust_env=False` keeps the machine's environment out of it.

Discovery: the client is built from the Directory discovery document that ships inside
googleapiclient (`static_discovery=True`), its rootUrl replaced by `api_endpoint` (the
documented client option; GOOGLE_WORKSPACE_API_URL, default https://admin.googleapis.com).
Why not fetch the document at run time: the request shape then is pinned to the library
version the tests validate, and no request beyond the token exchange precedes the data.
The sandbox serves the same document at `$discovery/rest` and a test builds a client from
it (`discoveryServiceUrl`), so both ways reach the fake with identical requests.

Fixed calls per source run: one POST to the key's token_uri (the JWT-bearer grant), made by
google-auth before the first page of whichever dataset asks first. The datasets of a run share
one `SharedCredentials` (their clients run side by side in threads; a lock makes the exchange
happen once) and each records that exchange in its provenance parameters (`token_requests`:
endpoint, status, timing; never the assertion or the token). It is not a dataset page and not
in provenance's request count; the sandbox tests assert the server saw exactly pages + 1 requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httplib2
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account
from googleapiclient.discovery import Resource, build

from provenance import RequestLog, utc_now

DEFAULT_API_ENDPOINT = "https://admin.googleapis.com/"
DEFAULT_CLOUD_IDENTITY_ENDPOINT = "https://cloudidentity.googleapis.com/"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Least privilege: the two read-only Directory scopes (users, role management).
READONLY_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
)
#: The identity-policy datasets' scopes (org units, Cloud Identity policies), asked for in a token of their own: a
#: delegation not yet granted them fails those two datasets only, never the users and roles.
POLICY_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
    "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
)


@dataclass(frozen=True)
class GoogleWorkspaceConfig:
    #: the admin the service account impersonates (domain-wide delegation needs one)
    admin_subject: str
    #: the service account key file's JSON content (never logged, never in provenance)
    service_account_info: Mapping[str, Any] = field(repr=False)
    customer_id: str = "my_customer"
    api_endpoint: str = DEFAULT_API_ENDPOINT
    #: the super administrator the Policy API datasets impersonate (the Policy API answers super admins only);
    #: None: admin_subject
    policy_subject: str | None = None
    #: the Cloud Identity API's base URL (GOOGLE_WORKSPACE_CLOUD_IDENTITY_URL; the sandbox's fake elsewhere)
    cloud_identity_endpoint: str = DEFAULT_CLOUD_IDENTITY_ENDPOINT
    #: organisational units whose accounts are out of scope of staff controls (rows are kept, marked)
    excluded_org_units: tuple[str, ...] = ()
    ca_bundle: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # credentials never reach logs
        return (
            f"GoogleWorkspaceConfig(customer_id={self.customer_id!r}, admin_subject={self.admin_subject!r}, "
            f"api_endpoint={self.api_endpoint!r}, excluded_org_units={self.excluded_org_units!r}, "
            f"service_account={self.service_account_email!r})"
        )

    @property
    def service_account_email(self) -> str:
        return str(self.service_account_info.get("client_email", ""))

    @classmethod
    def from_settings(
        cls,
        *,
        admin_subject: str,
        credentials_json: str | None = None,
        credentials_file: str | None = None,
        customer_id: str | None = None,
        api_url: str | None = None,
        excluded_org_units: str = "",
        ca_bundle: str | None = None,
        cloud_identity_url: str | None = None,
        policy_subject: str | None = None,
    ) -> GoogleWorkspaceConfig:
        """From the settings a deployment makes (GOOGLE_WORKSPACE_*): the key as JSON or a file path."""
        if credentials_json:
            info = load_service_account(credentials_json, "GOOGLE_WORKSPACE_CREDENTIALS_JSON")
        elif credentials_file:
            info = load_service_account_file(credentials_file)
        else:
            raise ValueError(
                "Google Workspace needs GOOGLE_WORKSPACE_CREDENTIALS_FILE or GOOGLE_WORKSPACE_CREDENTIALS_JSON"
            )
        return cls(
            admin_subject=admin_subject,
            service_account_info=info,
            customer_id=customer_id or "my_customer",
            api_endpoint=api_url or DEFAULT_API_ENDPOINT,
            cloud_identity_endpoint=cloud_identity_url or DEFAULT_CLOUD_IDENTITY_ENDPOINT,
            policy_subject=policy_subject or None,
            excluded_org_units=parse_org_units(excluded_org_units),
            ca_bundle=ca_bundle or None,
        )


def load_service_account_file(path: str) -> dict[str, Any]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"GOOGLE_WORKSPACE_CREDENTIALS_FILE: no key file at {file}")
    return load_service_account(file.read_text(), f"key file {file}")


def load_service_account(text: str, origin: str) -> dict[str, Any]:
    """A service-account key's JSON content; errors name where it came from, never echo it."""
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{origin} is not valid JSON (line {exc.lineno})") from None
    if (
        not isinstance(info, dict)
        or info.get("type") != "service_account"
        or not info.get("private_key")
        or not info.get("client_email")
        or not info.get("token_uri")
    ):
        raise ValueError(f"{origin} is not a service account key (type, client_email, private_key, token_uri)")
    return info


def parse_org_units(value: str) -> tuple[str, ...]:
    """'/Students, Alumni/' -> ('/Students', '/Alumni'): absolute paths, no trailing slash."""
    units = []
    for part in (p.strip() for p in value.split(",")):
        if part:
            units.append("/" + part.strip("/"))
    return tuple(dict.fromkeys(units))


def in_scope(org_unit_path: str | None, excluded: tuple[str, ...]) -> bool:
    """False when the path is an excluded unit or below one (`/Students/Year 7`), but not `/StudentsX`.
    An account whose unit is unknown stays in scope: scoping never hides an account by accident."""
    if not org_unit_path:
        return True
    return not any(unit == "/" or org_unit_path == unit or org_unit_path.startswith(unit + "/") for unit in excluded)


class RequestsHttp:
    """httplib2.Http's `request()` over a requests session (see the module docstring)."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self.session = session
        self.timeout = timeout
        self.credentials: SharedCredentials | None = None

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        response = self.session.request(
            method, uri, data=body, headers=dict(headers or {}), timeout=self.timeout, allow_redirects=False
        )
        info = {
            **{k.lower(): v for k, v in response.headers.items()},
            "status": str(response.status_code),
            "reason": response.reason or "",
        }
        return httplib2.Response(info), response.content

    def close(self) -> None:
        self.session.close()


class SharedCredentials:
    """The service account's OAuth token for one source run, shared by its datasets' clients.

    google-auth's credentials refresh on the first request that finds no valid token; several
    clients in threads would each exchange their own. Here the check and the exchange happen
    under one lock, so a run makes one exchange (another only when the token nears expiry), and
    every exchange attempt (google-auth retries a 5xx itself) is logged for provenance."""

    def __init__(
        self, config: GoogleWorkspaceConfig, scopes: tuple[str, ...] = READONLY_SCOPES, subject: str | None = None
    ) -> None:
        self.scopes = scopes
        self.subject = subject or config.admin_subject
        self.credentials = service_account.Credentials.from_service_account_info(
            dict(config.service_account_info), scopes=list(scopes), subject=self.subject
        )
        session = requests.Session()
        session.trust_env = False
        session.verify = config.ca_bundle or True
        self._transport = Request(session)
        self._lock = threading.Lock()
        self.token_requests: list[RequestLog] = []

    def before_request(self, request: Any, method: str, url: str, headers: dict[str, str]) -> None:
        """The google-auth Credentials hook AuthorizedSession calls: a valid token in `headers`."""
        with self._lock:
            self.credentials.before_request(self._exchange, method, url, headers)

    def refresh(self, request: Any) -> None:  # AuthorizedSession's refresh-on-status path (switched off)
        with self._lock:
            self.credentials.refresh(self._exchange)

    def _exchange(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """google-auth's transport for the token exchange, each attempt recorded (what was asked, never the
        assertion in the body nor the token in the answer)."""
        log = RequestLog(
            endpoint=url.split("?", 1)[0],
            method=method,
            page=0,
            started_at=utc_now(),
            params={"grant_type": JWT_BEARER_GRANT, "scopes": list(self.scopes), "subject": self.subject},
        )
        started = time.monotonic()
        try:
            response = self._transport(url, method=method, body=body, headers=headers, timeout=timeout, **kwargs)
        except Exception as exc:
            log.error = type(exc).__name__
            raise
        else:
            log.status = response.status
            return response
        finally:
            log.duration_ms = round((time.monotonic() - started) * 1000, 1)
            self.token_requests.append(log)

    def provenance(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(log) for log in self.token_requests]


def make_directory(
    config: GoogleWorkspaceConfig, discovery_url: str | None = None, credentials: SharedCredentials | None = None
) -> Resource:
    """The Directory API client (read-only scopes, no retries of its own), authenticated by `credentials`:
    the source run's shared token, or one of its own.

    `discovery_url` builds it from a discovery document fetched there instead of the copy
    shipped in googleapiclient (one more GET, through the same session, before any page)."""
    credentials = credentials or SharedCredentials(config)
    http = _http(config, credentials)
    options = {"api_endpoint": normalized_endpoint(config.api_endpoint)}
    if discovery_url:
        return build(
            "admin",
            "directory_v1",
            http=http,
            discoveryServiceUrl=discovery_url,
            static_discovery=False,
            cache_discovery=False,
            num_retries=0,
            client_options=options,
        )
    return build(
        "admin", "directory_v1", http=http, static_discovery=True, cache_discovery=False, client_options=options
    )


def _http(config: GoogleWorkspaceConfig, credentials: SharedCredentials) -> RequestsHttp:
    # refresh_status_codes=(): a 401 is reported, not silently retried with a new token;
    # tokens are refreshed before they expire anyway.
    session = AuthorizedSession(credentials, refresh_status_codes=())  # type: ignore[arg-type]
    session.trust_env = False
    session.verify = config.ca_bundle or True
    http = RequestsHttp(session, config.timeout)
    http.credentials = credentials
    return http


def make_cloud_identity(config: GoogleWorkspaceConfig, credentials: SharedCredentials) -> Resource:
    """The Cloud Identity API client (policies.list), built from the discovery document googleapiclient ships
    (cloudidentity v1) with its base URL from the configuration, authenticated by the policy-scoped `credentials`."""
    return build(
        "cloudidentity",
        "v1",
        http=_http(config, credentials),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": normalized_endpoint(config.cloud_identity_endpoint)},
    )


def credentials_of(directory: Resource) -> SharedCredentials:
    """The credentials a client built by make_directory authenticates with (for provenance). googleapiclient
    keeps the `http=` object it was built with as `_http`: ours, a RequestsHttp."""
    return directory._http.credentials


def normalized_endpoint(endpoint: str) -> str:
    """Discovery paths are relative ("admin/directory/v1/users"): the base needs its slash."""
    return endpoint if endpoint.endswith("/") else endpoint + "/"
