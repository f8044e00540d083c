"""Microsoft Entra ID datasets through Microsoft Graph v1.0 (app-only, read-only).

- users: GET /users?$select=...,signInActivity&$top=500. 500 is Graph's documented maximum page
  when signInActivity is selected (999 without it): ⌈N/500⌉ requests.
- user_registration_details: GET /reports/authenticationMethods/userRegistrationDetails. The API
  documents no $top (only $filter/$orderby): the page size is the server's; ⌈N/server page⌉.
- role_assignments: GET /roleManagement/directory/roleDefinitions?$select=... (one page, names the
  roles), then GET /roleManagement/directory/roleAssignments?$expand=principal (server-driven pages):
  1 + ⌈A/server page⌉.

An empty collection still takes one request. Every page follows `@odata.nextLink` to the end.

Fixed calls outside these counts: before its first Graph request a client asks msal for a token,
and msal makes two requests to the authority, once per client (then msal's cache serves the token
until it nears expiry): GET the tenant's OpenID configuration and POST the token request (instance
discovery is off, see client.py). A source run uses one client for all its datasets
(EntraResource.graph()), so a run makes them once. They are not dataset pages and are not RequestLogs;
they run inside the first page's request, so a failure there is classified and retried by the shared
policy like a page failure. Provenance `parameters` names the authority, tenant, client id,
credential kind and scope the token was asked for (never the credential), and
`identity_platform_requests` lists those requests of the run's client (method, URL, status, time;
never a body or the token).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from connectors.entra.client import EntraAuthError, GraphClient, GraphError, MalformedResponse
from connectors.stream import Retry, Stream, http_retry

#: The documented maximum $top for GET /users when signInActivity is selected (999 without it).
USERS_PAGE_SIZE = 500
#: otherMails and proxyAddresses are the user's other e-mail addresses (Graph: user resource; both "Returned only
#: on $select", readable with User.Read.All): identity resolution tries them when `mail` is null.
USER_SELECT = (
    "id,userPrincipalName,mail,otherMails,proxyAddresses,displayName,accountEnabled,userType,"
    "createdDateTime,signInActivity"
)
ROLE_DEFINITION_SELECT = "id,displayName,isBuiltIn,templateId"
#: Wall-clock values Graph (.NET DateTimeOffset) sends for "no date": DateTimeOffset.MinValue (0001-01-01T00:00:00Z,
#: e.g. a signInActivity date of a user who never signed in that way), the Windows FILETIME epoch
#: (1601-01-01T00:00:00Z, a zero FILETIME synchronised from Active Directory) and DateTimeOffset.MaxValue.
_NO_DATE_WALL_CLOCKS = (datetime(1, 1, 1), datetime(1601, 1, 1))


def parse_graph_time(value: str | None) -> str | None:
    """Graph's ISO 8601 UTC timestamps (up to 7 fractional digits, `Z`) as naive UTC ISO strings, so the
    warehouse's TIMESTAMP columns read them without a time-zone conversion. Graph's "no date" sentinels are None:
    a never is not a date (0001-01-01 would win every greatest() and make a new account look unused for 2,000
    years). Every Graph DateTimeOffset the connector reads goes through here."""
    if not value or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # Python reads at most 6 fractional digits
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    moment = datetime.fromisoformat(text)
    wall_clock = moment.replace(tzinfo=None)
    # before converting: MinValue at a positive offset is not representable in UTC
    if wall_clock.replace(microsecond=0) in _NO_DATE_WALL_CLOCKS or wall_clock.year == 9999:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def _strings(value: Any) -> list[str]:
    """A Graph string collection as a list (null -> [], non-strings dropped)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


class GraphStream(Stream):
    """One Graph collection read page by page through `@odata.nextLink` (the cursor is the next link)."""

    source = "entra"
    method = "GET"
    path = ""

    def __init__(self, client: GraphClient) -> None:
        self.client = client
        self.endpoint = client.graph_root + self.path
        super().__init__()

    def query(self) -> dict[str, str]:
        """The first page's OData query options (later pages: the nextLink carries them)."""
        return {}

    def parameters(self) -> dict[str, Any]:
        config = self.client.config
        return {
            "tenant_id": config.tenant_id,
            "client_id": config.client_id,
            "authority": config.authority,
            "graph": config.graph_root,
            "credential": config.credential_kind,
            "scope": config.scope,
            "query": self.query(),
        }

    def params(self, cursor: Any) -> dict[str, Any]:
        return self.query() if cursor is None else {**self.query(), "next_link": cursor}

    def request(self, cursor: Any) -> Any:
        return self.client.get(cursor) if cursor else self.client.get(self.endpoint, params=self.query())

    def items(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        return payload.get("value") or []

    def next_cursor(self, payload: Any) -> Any:
        return payload.get("@odata.nextLink") or None

    def records(self) -> Iterator[dict[str, Any]]:
        try:
            yield from super().records()
        finally:
            # The run's one token: the identity-platform requests of the client this dataset shares with the
            # source's other datasets (made by whichever asked first), never the token or the credential.
            self.provenance.parameters = {
                **self.provenance.parameters,
                "identity_platform_requests": self.client.identity_platform_requests,
            }

    def classify(self, exc: Exception) -> Retry | None:
        return classify_graph(exc)

    def status_of(self, exc: Exception | None) -> int | None:
        if exc is None:
            return 200
        return getattr(exc, "status", None)


def classify_graph(exc: Exception) -> Retry | None:
    """Graph's failures under the shared HTTP policy: 429 and 5xx retry after Retry-After; a refused
    credential or permission (401/403, invalid_client) is fatal; a malformed body is retried."""
    if isinstance(exc, GraphError):
        return http_retry(exc.status, exc.headers, exc)
    if isinstance(exc, EntraAuthError):
        return Retry(None, f"token endpoint {exc.error}") if exc.transient else None
    if isinstance(exc, MalformedResponse):
        return Retry(None, "malformed response body")
    if isinstance(exc, ValueError):
        return None
    response = getattr(exc, "response", None)  # requests' HTTPError from msal on a token-endpoint 5xx
    if response is not None and getattr(response, "status_code", None):
        return http_retry(response.status_code, dict(response.headers), exc)
    return http_retry(None, None, exc)


class Users(GraphStream):
    """Every user with account status, type, creation and sign-in activity (last successful sign-in)."""

    dataset = "users"
    path = "/users"

    def query(self) -> dict[str, str]:
        return {"$select": USER_SELECT, "$top": str(USERS_PAGE_SIZE)}

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for user in self.items(payload):
            activity = user.get("signInActivity") or {}
            yield {
                "tenant_id": self.client.config.tenant_id,
                "id": user["id"],
                "user_principal_name": user.get("userPrincipalName"),
                "mail": user.get("mail"),
                "other_mails": _strings(user.get("otherMails")),
                "proxy_addresses": _strings(user.get("proxyAddresses")),
                "display_name": user.get("displayName"),
                "account_enabled": user.get("accountEnabled"),
                "user_type": user.get("userType"),
                "created_at": parse_graph_time(user.get("createdDateTime")),
                "last_sign_in_at": parse_graph_time(activity.get("lastSignInDateTime")),
                "last_non_interactive_sign_in_at": parse_graph_time(activity.get("lastNonInteractiveSignInDateTime")),
                "last_successful_sign_in_at": parse_graph_time(activity.get("lastSuccessfulSignInDateTime")),
                "sign_in_activity_reported": bool(user.get("signInActivity")),
            }


class UserRegistrationDetails(GraphStream):
    """The authentication-methods registration report: MFA registration, methods, admin flag per user."""

    dataset = "user_registration_details"
    path = "/reports/authenticationMethods/userRegistrationDetails"

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for row in self.items(payload):
            updated = parse_graph_time(row.get("lastUpdatedDateTime"))
            if updated and (self.provenance.source_timestamp is None or updated > self.provenance.source_timestamp):
                self.provenance.source_timestamp = updated  # when Graph last refreshed the report
            yield {
                "tenant_id": self.client.config.tenant_id,
                "id": row["id"],
                "user_principal_name": row.get("userPrincipalName"),
                "user_display_name": row.get("userDisplayName"),
                "user_type": row.get("userType"),
                "is_admin": row.get("isAdmin"),
                "is_mfa_registered": row.get("isMfaRegistered"),
                "is_mfa_capable": row.get("isMfaCapable"),
                "is_passwordless_capable": row.get("isPasswordlessCapable"),
                "is_sspr_registered": row.get("isSsprRegistered"),
                "is_sspr_enabled": row.get("isSsprEnabled"),
                "is_sspr_capable": row.get("isSsprCapable"),
                "methods_registered": _strings(row.get("methodsRegistered")),
                "system_preferred_methods": _strings(row.get("systemPreferredAuthenticationMethods")),
                "user_preferred_method": row.get("userPreferredMethodForSecondaryAuthentication"),
                "last_updated_at": updated,
            }


class RoleAssignments(GraphStream):
    """Active directory role assignments with their principal, named by the role definitions.

    The cursor is ("definitions", link) for the role definitions (first, so every assignment can be
    named as it is parsed) and ("assignments", link) for the assignments; link None = the first page.
    PIM-eligible (not activated) roles are not assignments and do not appear here.
    """

    dataset = "role_assignments"
    path = "/roleManagement/directory/roleAssignments"
    definitions_path = "/roleManagement/directory/roleDefinitions"

    def __init__(self, client: GraphClient) -> None:
        super().__init__(client)
        self.assignments_endpoint = self.endpoint
        self.definitions_endpoint = client.graph_root + self.definitions_path
        self.roles: dict[str, dict[str, Any]] = {}
        self._phase = "definitions"

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "role_definitions_query": {"$select": ROLE_DEFINITION_SELECT}}

    def query(self) -> dict[str, str]:
        return {"$expand": "principal"}

    @staticmethod
    def _split(cursor: Any) -> tuple[str, str | None]:
        return ("definitions", None) if cursor is None else cursor

    def call(self, cursor: Any, page: int) -> Any:
        phase, _ = self._split(cursor)
        self._phase = phase
        self.endpoint = self.definitions_endpoint if phase == "definitions" else self.assignments_endpoint
        return super().call(cursor, page)

    def params(self, cursor: Any) -> dict[str, Any]:
        phase, link = self._split(cursor)
        first = {"$select": ROLE_DEFINITION_SELECT} if phase == "definitions" else self.query()
        return first if link is None else {**first, "next_link": link}

    def request(self, cursor: Any) -> Any:
        phase, link = self._split(cursor)
        if link:
            return self.client.get(link)
        if phase == "definitions":
            return self.client.get(self.definitions_endpoint, params={"$select": ROLE_DEFINITION_SELECT})
        return self.client.get(self.assignments_endpoint, params=self.query())

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        if self._phase == "definitions":
            for role in self.items(payload):
                self.roles[role["id"]] = role
            return
        for assignment in self.items(payload):
            role = self.roles.get(assignment.get("roleDefinitionId") or "") or {}
            principal = assignment.get("principal") or {}
            kind = str(principal.get("@odata.type") or "").rsplit(".", 1)[-1] or None
            yield {
                "tenant_id": self.client.config.tenant_id,
                "id": assignment["id"],
                "role_definition_id": assignment.get("roleDefinitionId"),
                "role_name": role.get("displayName"),
                "role_is_built_in": role.get("isBuiltIn"),
                "role_template_id": role.get("templateId"),
                "directory_scope_id": assignment.get("directoryScopeId"),
                "principal_id": assignment.get("principalId") or principal.get("id"),
                # None when the principal was deleted (Graph expands it as null)
                "principal_type": kind,
                "principal_user_principal_name": principal.get("userPrincipalName"),
                "principal_display_name": principal.get("displayName"),
                "principal_account_enabled": principal.get("accountEnabled"),
            }

    def next_cursor(self, payload: Any) -> Any:
        link = payload.get("@odata.nextLink") or None
        if self._phase == "definitions":
            return ("definitions", link) if link else ("assignments", None)
        return ("assignments", link) if link else None
