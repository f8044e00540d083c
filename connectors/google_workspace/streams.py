"""Google Workspace datasets through the Admin SDK Directory API (googleapiclient).

| dataset          | method                | page size (discovery maximum) | requests for N |
|------------------|-----------------------|-------------------------------|----------------|
| users            | users.list            | 500                           | ⌈N/500⌉        |
| role_assignments | roleAssignments.list  | 200                           | ⌈N/200⌉        |
| roles            | roles.list            | 100                           | ⌈N/100⌉        |

An empty collection still takes one request. The OAuth token exchange (one POST to the
key's token_uri per source run, shared by its datasets; see client.py) is not a dataset page
and is not in these counts; each dataset's provenance lists it under `token_requests`, with
the attempts google-auth makes itself (5xx/429/408, at most 3). The discovery document is
not fetched.

Organisational-unit scoping: every user row keeps its `org_unit_path` and an `in_scope`
flag computed from the configured excluded units, which are also recorded in provenance.
No row is dropped here: the evidence shows the whole population and, beside it, exactly
which accounts the scoping rule set aside; the controls filter on `in_scope` in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from connectors.google_workspace.client import READONLY_SCOPES, GoogleWorkspaceConfig, credentials_of, in_scope
from connectors.stream import Retry, SourceError, Stream, http_retry

#: The partial-response mask of users.list: only what the controls read (identity keys, 2SV, admin, status, OU,
#: activity).
USER_FIELDS = (
    "nextPageToken,users(id,primaryEmail,aliases,nonEditableAliases,name(fullName),isEnrolledIn2Sv,"
    "isEnforcedIn2Sv,isAdmin,isDelegatedAdmin,suspended,archived,orgUnitPath,lastLoginTime,creationTime)"
)
#: Google's lastLoginTime for an account that never signed in; stored as NULL (the raw column keeps it).
NEVER_LOGGED_IN = "1970-01-01T00:00:00.000Z"
#: 403 reasons that are quota, not permission: retried like a 429.
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


def error_reasons(exc: HttpError) -> set[str]:
    try:
        body = json.loads(exc.content or b"{}")
    except ValueError:
        return set()
    errors = (body.get("error") or {}).get("errors") or [] if isinstance(body, dict) else []
    return {e.get("reason") for e in errors if isinstance(e, dict)}


class MalformedPage(Exception):
    """A 200 whose body is not the JSON object the API documents (a truncated transfer)."""


class DirectoryStream(Stream):
    """One paginated Directory list method. Subclasses name the method and its items key."""

    source = "google_workspace"
    method = "GET"
    max_page_size = 100
    items_key = "items"
    #: the OAuth scopes of the token the stream's client authenticates with (provenance)
    scopes: tuple[str, ...] = READONLY_SCOPES

    def __init__(self, directory: Resource, config: GoogleWorkspaceConfig, page_size: int | None = None) -> None:
        self.directory = directory
        self.config = config
        self.page_size = min(page_size or self.max_page_size, self.max_page_size)
        # The endpoint as googleapiclient builds it from the discovery document (no request is sent).
        self.endpoint = self.list_request(None).uri.split("?", 1)[0]
        super().__init__()

    # -- hooks -----------------------------------------------------------------
    def list_method(self) -> Any:
        raise NotImplementedError

    def query(self, cursor: Any) -> dict[str, Any]:
        """The list method's arguments for the page at `cursor`."""
        query: dict[str, Any] = {"customer": self.config.customer_id, "maxResults": self.page_size}
        if cursor:
            query["pageToken"] = cursor
        return query

    def list_request(self, cursor: Any) -> Any:
        return self.list_method()(**self.query(cursor))

    def parameters(self) -> dict[str, Any]:
        return {
            "customer": self.config.customer_id,
            "admin_subject": self.config.admin_subject,
            "service_account": self.config.service_account_email,
            "scopes": list(self.scopes),
            "page_size": self.page_size,
        }

    def params(self, cursor: Any) -> dict[str, Any]:
        return self.query(cursor)

    def records(self) -> Iterator[dict[str, Any]]:
        try:
            yield from super().records()
        finally:  # the token exchange(s) that authorised these pages: made once for the source run, shared
            self.provenance.parameters = {
                **self.provenance.parameters,
                "token_requests": credentials_of(self.directory).provenance(),
            }

    def identifier(self, item: dict[str, Any], key: str) -> str:
        """A record's identity (the warehouse's NOT NULL key): without it the record cannot be kept or judged,
        so the dataset fails with the field named rather than keep a row nobody can find again."""
        value = item.get(key)
        if value in (None, ""):
            raise SourceError(
                f"{self.source}.{self.dataset}: {self.endpoint} returned an item without {key} "
                f"({json.dumps(item, sort_keys=True)[:200]})"
            )
        return str(value)

    def request(self, cursor: Any) -> Any:
        payload = self.list_request(cursor).execute(num_retries=0)  # the shared policy retries, nobody else
        if not isinstance(payload, dict):  # googleapiclient hands back the raw text of a body that is not JSON
            raise MalformedPage(f"response is not a JSON object: {str(payload)[:120]!r}")
        return payload

    def items(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        return payload.get(self.items_key) or []  # Google omits an empty collection

    def next_cursor(self, payload: Any) -> Any:
        return payload.get("nextPageToken") or None

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, MalformedPage):
            return Retry(None, "malformed response body")
        if isinstance(exc, HttpError):
            status = exc.resp.status
            reasons = error_reasons(exc)
            if status == 403 and reasons & RATE_LIMIT_REASONS:
                retry_after = exc.resp.get("retry-after")
                wait = float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None
                return Retry(wait, f"403 {sorted(reasons & RATE_LIMIT_REASONS)[0]}")
            return http_retry(status, dict(exc.resp), exc)
        if isinstance(exc, RefreshError):
            return None  # the token exchange was refused: a credential or delegation problem, not transient
        if isinstance(exc, TransportError):
            return Retry(None, f"token endpoint transport error {type(exc).__name__}")
        return http_retry(None, None, exc)

    def status_of(self, exc: Exception | None) -> int | None:
        if exc is None:
            return 200
        return exc.resp.status if isinstance(exc, HttpError) else None


class Users(DirectoryStream):
    """Every account with its 2-Step Verification, admin, status and organisational unit."""

    dataset = "users"
    max_page_size = 500
    items_key = "users"

    def list_method(self) -> Any:
        return self.directory.users().list

    def query(self, cursor: Any) -> dict[str, Any]:
        return {**super().query(cursor), "fields": USER_FIELDS}

    def parameters(self) -> dict[str, Any]:
        return {
            **super().parameters(),
            "fields": USER_FIELDS,
            "excluded_org_units": list(self.config.excluded_org_units),
        }

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for user in self.items(payload):
            self.identifier(user, "id")
            self.identifier(user, "primaryEmail")
            yield user_record(self.config, user)


class RoleAssignments(DirectoryStream):
    """Every admin role assignment (who holds which role, over the customer or one unit)."""

    dataset = "role_assignments"
    max_page_size = 200

    def list_method(self) -> Any:
        return self.directory.roleAssignments().list

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for item in self.items(payload):
            yield {
                "customer": self.config.customer_id,
                "role_assignment_id": self.identifier(item, "roleAssignmentId"),
                "role_id": item.get("roleId"),
                "assigned_to": item.get("assignedTo"),
                "assignee_type": item.get("assigneeType"),
                "scope_type": item.get("scopeType"),
                "org_unit_id": item.get("orgUnitId"),
                "condition": item.get("condition"),
                "raw": json.dumps(item, sort_keys=True),
            }


class Roles(DirectoryStream):
    """Every admin role (system and custom) with its privileges; names the super admin role."""

    dataset = "roles"
    max_page_size = 100

    def list_method(self) -> Any:
        return self.directory.roles().list

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for item in self.items(payload):
            yield {
                "customer": self.config.customer_id,
                "role_id": self.identifier(item, "roleId"),
                "role_name": item.get("roleName"),
                "role_description": item.get("roleDescription"),
                "is_system_role": bool(item.get("isSystemRole")),
                "is_super_admin_role": bool(item.get("isSuperAdminRole")),
                "privilege_names": sorted(
                    {p.get("privilegeName") for p in item.get("rolePrivileges") or [] if p.get("privilegeName")}
                ),
                "raw": json.dumps(item, sort_keys=True),
            }


def user_record(config: GoogleWorkspaceConfig, user: dict[str, Any]) -> dict[str, Any]:
    last_login = user.get("lastLoginTime")
    return {
        "customer": config.customer_id,
        "id": user.get("id"),
        "primary_email": user.get("primaryEmail"),
        # every other address the account answers to: identity resolution tries each against the HR roster
        "aliases": _strings(user.get("aliases")),
        "non_editable_aliases": _strings(user.get("nonEditableAliases")),
        "full_name": (user.get("name") or {}).get("fullName"),
        # A field missing from the response stays NULL (unknown), never False.
        "is_enrolled_in_2sv": user.get("isEnrolledIn2Sv"),
        "is_enforced_in_2sv": user.get("isEnforcedIn2Sv"),
        "is_admin": user.get("isAdmin"),
        "is_delegated_admin": user.get("isDelegatedAdmin"),
        "suspended": user.get("suspended"),
        "archived": user.get("archived"),
        "org_unit_path": user.get("orgUnitPath"),
        "in_scope": in_scope(user.get("orgUnitPath"), config.excluded_org_units),
        "last_login_time": None if last_login == NEVER_LOGGED_IN else last_login,
        "creation_time": user.get("creationTime"),
        "raw": json.dumps(user, sort_keys=True),
    }


def _strings(value: Any) -> list[str]:
    """A Directory array of strings (omitted when empty) as a list; anything else in it is dropped."""
    return [item for item in value if isinstance(item, str) and item] if isinstance(value, list) else []
