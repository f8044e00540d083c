"""A fake Microsoft identity platform (login) and Microsoft Graph v1.0 for the sandbox tenant.

Built from Microsoft's published API reference, not from what our connector sends:

Login (what msal's ConfidentialClientApplication calls for the client-credentials flow)
- `GET /common/discovery/instance` (instance discovery: `tenant_discovery_endpoint`, `metadata`; the
  connector turns it off, msal apps pointed at it here still work)
- `GET /{tenant}/v2.0/.well-known/openid-configuration` (OpenID discovery; unknown tenant -> AADSTS90002)
- `POST /{tenant}/oauth2/v2.0/token` grant_type=client_credentials with a client secret or a client
  assertion (RS256 JWT, `x5t` = SHA-1 thumbprint of a registered certificate, aud = token endpoint,
  iss = sub = client id), scope `<graph>/.default`. Errors in AAD's OAuth shape (error, error_description
  "AADSTSnnnn: ...", error_codes, trace_id, correlation_id). Tokens carry the app's application
  permissions (`roles`), which Graph checks per endpoint.

Graph (`/v1.0`)
- `GET /users`: `$select` (unknown properties are a 400), `$top` 1..999, and at most 500 when
  `signInActivity` is selected (Microsoft's documented limit; a larger `$top` is refused loudly rather
  than capped, so a connector relying on it fails here first). Default page 100. Needs User.Read.All
  (or a broader directory permission) plus AuditLog.Read.All for signInActivity.
- `GET /reports/authenticationMethods/userRegistrationDetails`: documented query options are only
  `$filter`/`$orderby` (not served here, refused); server-driven pages of `REPORT_PAGE_SIZE`.
  Needs AuditLog.Read.All.
- `GET /roleManagement/directory/roleAssignments` (`$expand=principal`) and `.../roleDefinitions`
  (`$select`). Server-driven pages. Need RoleManagement.Read.Directory (or broader).
- `GET /identity/conditionalAccess/policies` and `/policies/authenticationStrengthPolicies` (server-driven pages of
  `POLICY_PAGE_SIZE`; a tenant without Entra ID P1 gets a 403 naming the premium licence),
  `/policies/authenticationMethodsPolicy` and `/policies/identitySecurityDefaultsEnforcementPolicy` (one object
  each): Policy.Read.All. `GET /settings` (directory setting objects, server-driven pages): Directory.Read.All.
  The payloads are sandbox/entra/policy.py's, in Graph's documented shapes.
Paging follows `@odata.nextLink` (absolute, same host, opaque `$skiptoken`). Errors use Graph's shape:
`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from werkzeug.wrappers import Request, Response

from sandbox.entra.model import PHISHING_RESISTANT_METHODS, EntraData, EntraUser
from sandbox.server import RecordedRequest, json_response

USERS_MAX_PAGE = 999
USERS_SIGN_IN_ACTIVITY_MAX_PAGE = 500
USERS_DEFAULT_PAGE = 100
#: Server-driven page sizes (the APIs take no $top); the connector cannot change them.
REPORT_PAGE_SIZE = 1000
ROLE_ASSIGNMENT_PAGE_SIZE = 100
TOKEN_LIFETIME = 3599
#: How long before a request Graph last refreshed the registration report (it refreshes several times a day).
REPORT_AGE = timedelta(hours=3)
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: Application permissions that allow each endpoint (least privileged first), from the Graph reference.
READ_USERS = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
READ_AUDIT = frozenset({"AuditLog.Read.All"})
READ_ROLES = frozenset(
    {
        "RoleManagement.Read.Directory",
        "RoleManagement.Read.All",
        "Directory.Read.All",
        "RoleManagement.ReadWrite.Directory",
        "Directory.ReadWrite.All",
    }
)
READ_POLICY = frozenset({"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"})
READ_SETTINGS = frozenset({"Directory.Read.All", "Directory.ReadWrite.All"})
#: The permissions the sandbox's app registration was granted (admin consent): least privilege.
SANDBOX_APP_ROLES = frozenset(
    {"User.Read.All", "AuditLog.Read.All", "RoleManagement.Read.Directory", "Policy.Read.All", "Directory.Read.All"}
)
#: Server-driven page of the policy and settings collections (the connector sends no $top).
POLICY_PAGE_SIZE = 100

#: user properties the fake serves (Graph has many more; selecting one of those is refused loudly).
USER_PROPERTIES = (
    "id",
    "userPrincipalName",
    "mail",
    "otherMails",
    "proxyAddresses",
    "displayName",
    "givenName",
    "surname",
    "accountEnabled",
    "createdDateTime",
    "userType",
    "signInActivity",
    "department",
    "jobTitle",
)
#: Returned when no $select is given (Graph's documented default set).
USER_DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
ROLE_DEFINITION_PROPERTIES = (
    "id",
    "description",
    "displayName",
    "isBuiltIn",
    "isEnabled",
    "resourceScopes",
    "templateId",
    "version",
    "rolePermissions",
)
#: OData options Graph documents for an endpoint but the fake does not implement: refused, never ignored.
UNIMPLEMENTED_OPTIONS = {"$filter", "$orderby", "$search", "$count", "$expand", "$skip", "$format"}


def graph_time(moment: datetime | None, fraction: bool = False) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if fraction:  # Graph's sign-in timestamps carry 7 fractional digits
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond * 10:07d}Z"
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def graph_error_response(
    status: int, code: str, message: str, request: Request | None = None, headers: dict[str, str] | None = None
) -> Response:
    client_request_id = (request.headers.get("client-request-id") if request else None) or str(uuid.uuid4())
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    return json_response(
        body, status, {"request-id": request_id, "client-request-id": client_request_id, **(headers or {})}
    )


@dataclass(frozen=True)
class Grant:
    client_id: str
    roles: frozenset[str]
    expires_at: float


@dataclass
class TokenStore:
    """Access tokens the login fake issued, shared with the Graph fake that accepts them."""

    tokens: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, client_id: str, roles: frozenset[str]) -> str:
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.tokens[token] = Grant(client_id, roles, time.time() + TOKEN_LIFETIME)
        return token

    def grant(self, token: str) -> Grant | None:
        with self._lock:
            grant = self.tokens.get(token)
        return grant if grant and grant.expires_at > time.time() else None

    def issued(self) -> int:
        with self._lock:
            return len(self.tokens)


@dataclass
class AppRegistration:
    """An app registration in the tenant: its secrets, certificates and consented application permissions."""

    client_id: str
    secrets: tuple[str, ...] = ()
    #: SHA-1 thumbprint (lower-case hex) -> the certificate's public key
    certificates: dict[str, RSAPublicKey] = field(default_factory=dict)
    roles: frozenset[str] = SANDBOX_APP_ROLES


def sha1_thumbprint_x5t(thumbprint_hex: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(thumbprint_hex)).decode().rstrip("=")


class LoginApp:
    """The Microsoft identity platform endpoints msal needs for the client-credentials flow."""

    def __init__(self, data: EntraData, apps: Iterable[AppRegistration], tokens: TokenStore) -> None:
        self.data = data
        self.apps = {a.client_id: a for a in apps}
        self.tokens = tokens
        #: the Graph resource whose `/.default` scope tokens are issued for (set once Graph is listening)
        self.graph_resource = ""

    @staticmethod
    def is_write(recorded: RecordedRequest) -> bool:
        # The token request is a POST that changes nothing in the tenant.
        return recorded.method not in ("GET", "HEAD", "OPTIONS") and not recorded.path.endswith("/oauth2/v2.0/token")

    def fault_response(self, kind: str, retry_after: float) -> Response | None:
        if kind == "429":
            return self._oauth_error(
                429,
                "temporarily_unavailable",
                50196,
                "The server is temporarily unable to handle the request.",
                {"Retry-After": str(retry_after)},
            )
        if kind == "5xx":
            return self._oauth_error(503, "temporarily_unavailable", 90033, "A transient error has occurred.")
        return None

    def __call__(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if request.method == "GET" and parts == ["common", "discovery", "instance"]:
            return self.instance_discovery(request)
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"] and request.method == "GET":
            return self.openid_configuration(request, parts[0])
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            if request.method != "POST":
                return self._oauth_error(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
            return self.token(request, parts[0])
        return self._oauth_error(404, "invalid_request", 90010, f"The request is not supported: {request.path}.")

    def _base(self, request: Request) -> str:
        return request.host_url.rstrip("/")

    def _tenant_known(self, tenant: str) -> bool:
        return tenant.lower() in (self.data.tenant_id, self.data.domain.lower())

    def instance_discovery(self, request: Request) -> Response:
        # msal names the instance by host name only (no port): https://<host>/<tenant>/oauth2/v2.0/authorize
        endpoint = urlparse(request.args.get("authorization_endpoint", ""))
        segments = [p for p in endpoint.path.split("/") if p]
        if (
            endpoint.scheme != "https"
            or endpoint.hostname != request.host.rsplit(":", 1)[0]
            or segments[1:] != ["oauth2", "v2.0", "authorize"]
        ):
            return json_response(
                {"error": "invalid_instance", "error_description": "AADSTS50049: Unknown or invalid instance."}, 400
            )
        tenant = segments[0]
        host = request.host
        return json_response(
            {
                "tenant_discovery_endpoint": f"{self._base(request)}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": request.args.get("api-version", "1.1"),
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    def openid_configuration(self, request: Request, tenant: str) -> Response:
        if not self._tenant_known(tenant):
            return self._oauth_error(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make "
                "sure you have the correct tenant ID and are signing into the correct cloud.",
            )
        base, tid = self._base(request), self.data.tenant_id
        return json_response(
            {
                "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{tid}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{self.graph_resource}/oidc/userinfo",
                "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": request.host,
            }
        )

    def token(self, request: Request, tenant: str) -> Response:
        if not self._tenant_known(tenant):
            return self._oauth_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        form = request.form
        for name in ("grant_type", "client_id", "scope"):
            if not form.get(name):
                return self._oauth_error(
                    400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
                )
        if form["grant_type"] != "client_credentials":
            return self._oauth_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        app = self.apps.get(form["client_id"])
        if app is None:
            return self._oauth_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form['client_id']}' was not found in the directory.",
            )
        scopes = form["scope"].split()
        expected_scope = f"{self.graph_resource}/.default"
        if scopes != [expected_scope]:
            return self._oauth_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form['scope']} "
                f"is not valid. Client credential flows must have a scope value with /.default "
                f"suffixed to the resource identifier (application ID URI).",
            )
        refusal = self._authenticate(request, app)
        if refusal is not None:
            return refusal
        token = self.tokens.issue(app.client_id, app.roles)
        return json_response(
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": token,
            }
        )

    def _authenticate(self, request: Request, app: AppRegistration) -> Response | None:
        form = request.form
        if form.get("client_secret"):
            if any(hmac.compare_digest(form["client_secret"], s) for s in app.secrets):
                return None
            return self._oauth_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the "
                "secret being sent in the request is the client secret value, not the client "
                f"secret ID, for a secret added to app '{app.client_id}'.",
            )
        if form.get("client_assertion"):
            if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
                return self._oauth_error(400, "invalid_request", 90058, "client_assertion_type is not supported.")
            return self._verify_assertion(request, app, form["client_assertion"])
        return self._oauth_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )

    def _verify_assertion(self, request: Request, app: AppRegistration, assertion: str) -> Response | None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return self._oauth_error(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
        # x5t is base64url of the SHA-1 thumbprint; msal keeps the "=" padding, other clients drop it
        x5t = str(header.get("x5t") or "").rstrip("=")
        thumbprint = next((t for t in app.certificates if sha1_thumbprint_x5t(t) == x5t), None)
        if thumbprint is None:
            return self._oauth_error(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered on application.",
            )
        audience = f"{self._base(request)}/{self.data.tenant_id}/oauth2/v2.0/token"
        try:
            claims = jwt.decode(
                assertion,
                app.certificates[thumbprint],
                algorithms=["RS256"],
                audience=audience,
                issuer=app.client_id,
                options={"require": ["exp", "sub", "jti"]},
            )
        except jwt.PyJWTError as exc:
            return self._oauth_error(
                401, "invalid_client", 700027, f"Client assertion failed signature validation ({type(exc).__name__})."
            )
        if claims.get("sub") != app.client_id:
            return self._oauth_error(401, "invalid_client", 700023, "Client assertion subject is not the client id.")
        return None

    @staticmethod
    def _oauth_error(
        status: int, error: str, code: int, description: str, headers: dict[str, str] | None = None
    ) -> Response:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return json_response(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} "
                f"Timestamp: {stamp}",
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"https://login.microsoftonline.com/error?code={code}",
            },
            status,
            headers,
        )


def _skiptoken(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}).encode()
    return "RFNwdAIAAQAA" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_skiptoken(token: str, fingerprint: str) -> int:
    if not token.startswith("RFNwdAIAAQAA"):
        raise GraphError(400, "Directory_InvalidSkipToken", "The specified page token value has expired or is invalid.")
    body = token[len("RFNwdAIAAQAA") :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError as exc:
        raise GraphError(400, "Directory_InvalidSkipToken", "The specified page token value is invalid.") from exc
    if data.get("f") != fingerprint:
        raise GraphError(400, "Directory_InvalidSkipToken", "The page token does not belong to this query.")
    return int(data["o"])


class GraphApp:
    """Microsoft Graph v1.0: the directory reads the pipeline needs."""

    def __init__(
        self,
        data: EntraData,
        tokens: TokenStore,
        report_page_size: int = REPORT_PAGE_SIZE,
        role_assignment_page_size: int = ROLE_ASSIGNMENT_PAGE_SIZE,
    ) -> None:
        self.data = data
        self.tokens = tokens
        self.report_page_size = report_page_size
        self.role_assignment_page_size = role_assignment_page_size
        self.routes: dict[str, Callable[[Request, Grant], Response]] = {
            "/v1.0/users": self.list_users,
            "/v1.0/reports/authenticationMethods/userRegistrationDetails": self.list_registration_details,
            "/v1.0/roleManagement/directory/roleAssignments": self.list_role_assignments,
            "/v1.0/roleManagement/directory/roleDefinitions": self.list_role_definitions,
            "/v1.0/identity/conditionalAccess/policies": self.list_conditional_access_policies,
            "/v1.0/policies/authenticationStrengthPolicies": self.list_authentication_strengths,
            "/v1.0/policies/authenticationMethodsPolicy": self.get_authentication_methods_policy,
            "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy": self.get_security_defaults,
            "/v1.0/settings": self.list_settings,
        }
        self._role_names = data.role_names()
        self._principals: dict[str, dict[str, Any]] = {}

    @staticmethod
    def is_write(recorded: RecordedRequest) -> bool:
        return recorded.method not in ("GET", "HEAD", "OPTIONS")

    def fault_response(self, kind: str, retry_after: float) -> Response | None:
        """Injected faults in Graph's error shape (what a throttled or failing Graph answers)."""
        if kind == "429":
            return graph_error_response(
                429, "TooManyRequests", "Too many requests.", headers={"Retry-After": str(retry_after)}
            )
        if kind == "5xx":
            return graph_error_response(503, "serviceNotAvailable", "Service unavailable.")
        if kind == "401":
            return graph_error_response(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        if kind == "403":
            return graph_error_response(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        return None

    def __call__(self, request: Request) -> Response:
        try:
            handler = self.routes.get(request.path.rstrip("/"))
            if handler is None:
                segment = request.path.rstrip("/").rsplit("/", 1)[-1]
                raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
            if request.method != "GET":
                raise GraphError(
                    405,
                    "Request_BadRequest",
                    f"The method {request.method} is not supported by the "
                    "sandbox for this resource; the pipeline only reads.",
                )
            return handler(request, self._authorize(request))
        except GraphError as exc:
            return graph_error_response(exc.status, exc.code, exc.message, request, exc.headers)

    # -- request validation --------------------------------------------------------
    def _authorize(self, request: Request) -> Grant:
        header = request.headers.get("Authorization", "")
        if not header:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        scheme, _, token = header.partition(" ")
        grant = self.tokens.grant(token) if scheme.lower() == "bearer" else None
        if grant is None:
            raise GraphError(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.)."
            )
        return grant

    @staticmethod
    def _require(grant: Grant, allowed: frozenset[str]) -> None:
        if not grant.roles & allowed:
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

    @staticmethod
    def _options(request: Request, allowed: set[str]) -> dict[str, str]:
        options: dict[str, str] = {}
        for name, value in request.args.items(multi=True):
            if not name.startswith("$"):
                continue  # Graph ignores non-OData query parameters
            lowered = name.lower()
            if lowered in options:
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Query option '{name}' was specified more than once, but it must be specified at most once.",
                )
            if lowered not in allowed:
                if lowered in UNIMPLEMENTED_OPTIONS:
                    raise GraphError(
                        400,
                        "BadRequest",
                        f"Query option '{name}' is valid on Graph but not implemented by the sandbox.",
                    )
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Query option '{name.lstrip('$').title()}' is not allowed. "
                    "To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or "
                    "QueryValidationSettings.",
                )
            options[lowered] = value
        return options

    @staticmethod
    def _select(
        options: dict[str, str], known: tuple[str, ...], entity: str, default: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        if "$select" not in options:
            return default if default is not None else known
        chosen = tuple(p.strip() for p in options["$select"].split(",") if p.strip())
        by_lower = {p.lower(): p for p in known}
        unknown = [p for p in chosen if p.lower() not in by_lower]
        if unknown or not chosen:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Could not find a property named '{(unknown or [''])[0]}' on type 'microsoft.graph.{entity}'.",
            )
        return tuple(dict.fromkeys(by_lower[p.lower()] for p in chosen))  # Graph matches names case-insensitively

    def _page(
        self,
        request: Request,
        options: dict[str, str],
        items: list[Any],
        size: int,
        render: Callable[[Any], dict[str, Any]],
        context: str,
    ) -> Response:
        fingerprint = hashlib.sha256(
            json.dumps(sorted((k, v) for k, v in options.items() if k != "$skiptoken")).encode()
        ).hexdigest()[:16]
        offset = _read_skiptoken(options["$skiptoken"], fingerprint) if "$skiptoken" in options else 0
        page = items[offset : offset + size]
        base = request.host_url.rstrip("/")
        body: dict[str, Any] = {
            "@odata.context": f"{base}/v1.0/$metadata#{context}",
            "value": [render(item) for item in page],
        }
        if offset + size < len(items):
            query = [(k, v) for k, v in request.args.items(multi=True) if k.lower() != "$skiptoken"]
            query.append(("$skiptoken", _skiptoken(offset + size, fingerprint)))
            body["@odata.nextLink"] = f"{base}{request.path}?{urlencode(query, safe='$,')}"
        return json_response(body)

    # -- endpoints -----------------------------------------------------------------
    def list_users(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_USERS)
        options = self._options(request, {"$select", "$top", "$skiptoken"})
        selected = self._select(options, USER_PROPERTIES, "user", USER_DEFAULT_PROPERTIES)
        sign_in = "signInActivity" in selected
        if sign_in:
            self._require(grant, READ_AUDIT)
        size = USERS_DEFAULT_PAGE
        if "$top" in options:
            try:
                size = int(options["$top"])
            except ValueError:
                raise GraphError(
                    400, "Request_BadRequest", f"Invalid value '{options['$top']}' for query option '$top'."
                ) from None
            if not 1 <= size <= USERS_MAX_PAGE:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Invalid page size specified: '{size}'. Must be between 1 and {USERS_MAX_PAGE} inclusive.",
                )
            if sign_in and size > USERS_SIGN_IN_ACTIVITY_MAX_PAGE:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    "Cannot query data for more than "
                    f"{USERS_SIGN_IN_ACTIVITY_MAX_PAGE} users at a time when selecting signInActivity.",
                )
        context = f"users({','.join(selected)})" if "$select" in options else "users"
        return self._page(request, options, self.data.users, size, lambda u: self._user(u, selected), context)

    def _user(self, user: EntraUser, selected: tuple[str, ...]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": user.id,
            "userPrincipalName": user.user_principal_name,
            "mail": user.mail,
            # string collections are never null in Graph: empty when the user has none
            "otherMails": list(user.other_mails),
            "proxyAddresses": user.proxy_addresses,
            "displayName": user.display_name,
            "givenName": user.given_name,
            "surname": user.surname,
            "accountEnabled": user.account_enabled,
            "createdDateTime": graph_time(user.created),
            "userType": user.user_type,
            "department": user.department,
            "jobTitle": user.job_title,
            "businessPhones": [],
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
        }
        if "signInActivity" in selected:
            values["signInActivity"] = _sign_in_activity(user)
        return {name: values.get(name) for name in selected}

    def list_registration_details(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_AUDIT)
        options = self._options(request, {"$skiptoken"})
        updated = graph_time(self.data.report_updated or datetime.now(UTC) - REPORT_AGE, fraction=True)
        return self._page(
            request,
            options,
            self.data.users,
            self.report_page_size,
            lambda u: self._registration(u, updated),
            "reports/authenticationMethods/userRegistrationDetails",
        )

    def _registration(self, user: EntraUser, updated: str | None) -> dict[str, Any]:
        mfa = user.is_mfa_registered
        preferred = _preferred(user.methods)
        return {
            "id": user.id,
            "userPrincipalName": user.user_principal_name,
            "userDisplayName": user.display_name,
            "userType": user.user_type.lower(),
            "isAdmin": user.id in self._role_names,
            "isSsprRegistered": mfa,
            "isSsprEnabled": True,
            "isSsprCapable": mfa,
            "isMfaRegistered": mfa,
            "isMfaCapable": mfa,
            "isPasswordlessCapable": bool(
                set(user.methods) & (PHISHING_RESISTANT_METHODS | {"microsoftAuthenticatorPasswordless"})
            ),
            "lastUpdatedDateTime": updated,
            "methodsRegistered": list(user.methods),
            "isSystemPreferredAuthenticationMethodEnabled": True,
            "systemPreferredAuthenticationMethods": [preferred] if preferred != "none" else [],
            "userPreferredMethodForSecondaryAuthentication": preferred,
        }

    def list_role_definitions(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_ROLES)
        options = self._options(request, {"$select", "$skiptoken"})
        selected = self._select(options, ROLE_DEFINITION_PROPERTIES, "unifiedRoleDefinition")

        def render(role: Any) -> dict[str, Any]:
            values = {
                "id": role.id,
                "description": role.description,
                "displayName": role.display_name,
                "isBuiltIn": role.is_built_in,
                "isEnabled": True,
                "resourceScopes": ["/"],
                "templateId": role.template_id or role.id,
                "version": "1" if role.is_built_in else None,
                "rolePermissions": [{"allowedResourceActions": [], "condition": None}],
            }
            return {name: values[name] for name in selected}

        # A tenant has about 100 built-in roles: one page, like Graph.
        return self._page(request, options, self.data.roles, 1000, render, "roleManagement/directory/roleDefinitions")

    def list_role_assignments(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_ROLES)
        options = self._options(request, {"$expand", "$skiptoken"})
        expand = options.get("$expand")
        if expand is not None and expand.strip().lower() != "principal":
            raise GraphError(
                400,
                "BadRequest",
                f"Parsing OData Select and Expand failed: Could not find a property "
                f"named '{expand}' on type 'microsoft.graph.unifiedRoleAssignment'.",
            )

        def render(assignment: Any) -> dict[str, Any]:
            item: dict[str, Any] = {
                "id": assignment.id,
                "principalId": assignment.principal_id,
                "directoryScopeId": assignment.directory_scope_id,
                "roleDefinitionId": assignment.role_definition_id,
                "resourceScope": "/",
                "condition": None,
            }
            if expand is not None:
                item["principal"] = self._principal(assignment.principal_id)
            return item

        context = "roleManagement/directory/roleAssignments" + ("(principal())" if expand else "")
        return self._page(request, options, self.data.role_assignments, self.role_assignment_page_size, render, context)

    def _premium(self) -> None:
        if not self.data.policy.licensed:
            raise GraphError(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Tenant does not have a SKU required for this feature: Microsoft Entra ID P1 or P2 (premium license).",
            )

    def list_conditional_access_policies(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_POLICY)
        self._premium()
        options = self._options(request, {"$skiptoken"})
        return self._page(
            request,
            options,
            self.data.policy.ca_policies,
            POLICY_PAGE_SIZE,
            dict,
            "identity/conditionalAccess/policies",
        )

    def list_authentication_strengths(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_POLICY)
        self._premium()
        options = self._options(request, {"$skiptoken"})
        return self._page(
            request,
            options,
            self.data.policy.strengths,
            POLICY_PAGE_SIZE,
            dict,
            "policies/authenticationStrengthPolicies",
        )

    def get_authentication_methods_policy(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_POLICY)
        self._options(request, set())
        base = request.host_url.rstrip("/")
        return json_response(
            {"@odata.context": f"{base}/v1.0/$metadata#authenticationMethodsPolicy", **self.data.policy.methods_policy}
        )

    def get_security_defaults(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_POLICY)
        self._options(request, set())
        base = request.host_url.rstrip("/")
        return json_response(
            {
                "@odata.context": f"{base}/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
                **self.data.policy.security_defaults,
            }
        )

    def list_settings(self, request: Request, grant: Grant) -> Response:
        self._require(grant, READ_SETTINGS)
        options = self._options(request, {"$skiptoken"})
        return self._page(request, options, self.data.policy.settings, POLICY_PAGE_SIZE, dict, "settings")

    def _principal(self, principal_id: str) -> dict[str, Any] | None:
        if not self._principals:
            for user in self.data.users:
                self._principals[user.id] = {
                    "@odata.type": "#microsoft.graph.user",
                    "id": user.id,
                    "displayName": user.display_name,
                    "userPrincipalName": user.user_principal_name,
                    "mail": user.mail,
                    "accountEnabled": user.account_enabled,
                    "userType": user.user_type,
                }
            for sp in self.data.service_principals:
                self._principals[sp.id] = {
                    "@odata.type": "#microsoft.graph.servicePrincipal",
                    "id": sp.id,
                    "displayName": sp.display_name,
                    "appId": sp.app_id,
                    "accountEnabled": True,
                    "servicePrincipalType": "Application",
                }
        return self._principals.get(principal_id)


def _sign_in_activity(user: EntraUser) -> dict[str, Any] | None:
    if user.last_sign_in is None and user.last_non_interactive_sign_in is None:
        return None  # Graph returns no signInActivity for a user who never signed in

    def request_id(kind: str, moment: datetime | None) -> str | None:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user.id}/{kind}/{moment}")) if moment else None

    return {
        "lastSignInDateTime": graph_time(user.last_sign_in, fraction=True),
        "lastSignInRequestId": request_id("interactive", user.last_sign_in),
        "lastNonInteractiveSignInDateTime": graph_time(user.last_non_interactive_sign_in, fraction=True),
        "lastNonInteractiveSignInRequestId": request_id("non-interactive", user.last_non_interactive_sign_in),
        "lastSuccessfulSignInDateTime": graph_time(user.last_successful_sign_in, fraction=True),
        "lastSuccessfulSignInRequestId": request_id("successful", user.last_successful_sign_in),
    }


#: methodsRegistered -> the userPreferredMethodForSecondaryAuthentication / systemPreferred value.
_PREFERRED = (
    ("microsoftAuthenticatorPush", "push"),
    ("softwareOneTimePasscode", "oath"),
    ("hardwareOneTimePasscode", "oath"),
    ("mobilePhone", "sms"),
    ("alternateMobilePhone", "voiceAlternateMobile"),
    ("officePhone", "voiceOffice"),
)


def _preferred(methods: tuple[str, ...]) -> str:
    return next((value for method, value in _PREFERRED if method in methods), "none")
