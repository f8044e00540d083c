"""A fake Google Workspace Admin SDK Directory API and OAuth token endpoint.

Routes, parameters, limits, scopes and field names come from the discovery document
that ships inside googleapiclient (the same one the connector builds its client from),
not from what the connector sends:

- each served method's path, its query parameters (unknown ones are rejected), the
  `maximum` of maxResults and the OAuth scopes that may call it;
- the `fields` partial-response mask is parsed with Google's syntax (`a,b/c,d(e,f)`,
  `*`), validated against the response schema ("Invalid field selection") and applied;
- `GET $discovery/rest?version=directory_v1` (and the V1 discovery path) serves that same
  document with this server as rootUrl, as the API host does;
- the Cloud Identity Policy API's `policies.list` (cloudidentity v1, its own discovery document): pageSize default
  50, at most 100 (larger values are served as 100, as documented), the CEL `filter` clauses the API documents for
  setting type (`setting.type.matches('<regex>')`) and customer (`customer == "customers/<id>"`), joined by `&&`
  (anything else is refused loudly); a super administrator only. The real API has its own host; this one fake
  serves it under /admin/cloudidentity/ (GOOGLE_WORKSPACE_CLOUD_IDENTITY_URL), so the fault matrix's one prefix,
  /admin, reaches every data path and never the token endpoint;
- `orgunits.list` (type all / children / allIncludingParent), one response, as the API does;
- `POST /token` is the service-account JWT-bearer grant: the assertion's RS256
  signature is verified with the service account's public key, its audience, issuer,
  lifetime, the domain-wide-delegation scopes and the impersonated admin are checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jwt
from googleapiclient.discovery_cache import get_static_doc
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.google.model import GoogleData, GoogleUser
from sandbox.server import RecordedRequest, json_response

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: The audience Google requires in a service-account assertion, whatever host the token_uri names
#: (google-auth signs exactly this; a key file's token_uri only says where to send it).
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
#: Scopes the sandbox's domain-wide delegation grants the service account: read-only, as documented.
DELEGATED_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/admin.directory.user.readonly",
        "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
        "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
        "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
    }
)
#: Discovery method id -> handler name. Only these are served.
SERVED_METHODS = {
    "directory.users.list": "list_users",
    "directory.roleAssignments.list": "list_role_assignments",
    "directory.roles.list": "list_roles",
    "directory.orgunits.list": "list_org_units",
    "cloudidentity.policies.list": "list_policies",
}
#: where this fake serves the Cloud Identity API (its paths, e.g. v1/policies, below it)
CLOUD_IDENTITY_MOUNT = "admin/cloudidentity/"
POLICIES_DEFAULT_PAGE, POLICIES_MAX_PAGE = 50, 100
_SETTING_CLAUSE = re.compile(r"^setting\.type\.matches\('((?:[^'\\]|\\.)*)'\)$")
_CUSTOMER_CLAUSE = re.compile(r'^customer\s*==\s*"customers/([^"]+)"$')
#: Valid parameters the fake does not implement: rejected loudly rather than silently ignored.
UNIMPLEMENTED_PARAMS = {
    "query",
    "showDeleted",
    "event",
    "customFieldMask",
    "userKey",
    "roleId",
    "includeIndirectRoleAssignments",
    "callback",
}


@cache
def discovery() -> dict[str, Any]:
    return json.loads(get_static_doc("admin", "directory_v1"))


@cache
def cloud_identity_discovery() -> dict[str, Any]:
    return json.loads(get_static_doc("cloudidentity", "v1"))


def discovery_methods() -> dict[str, dict[str, Any]]:
    """Every method of the Directory and Cloud Identity discovery documents by id (e.g. directory.users.list); a
    Cloud Identity method's path is under CLOUD_IDENTITY_MOUNT and carries its document's global parameters."""
    methods: dict[str, dict[str, Any]] = {}

    def walk(resources: dict[str, Any], mount: str, api_parameters: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                methods[method["id"]] = {**method, "path": mount + method["path"], "api_parameters": api_parameters}
            walk(resource.get("resources", {}), mount, api_parameters)

    walk(discovery()["resources"], "", discovery()["parameters"])
    cloud_identity = cloud_identity_discovery()
    walk(cloud_identity["resources"], CLOUD_IDENTITY_MOUNT, cloud_identity["parameters"])
    return methods


class GoogleApiError(Exception):
    """An error in Google's JSON error format (the Directory API's v1 style)."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str,
        location: str | None = None,
        location_type: str | None = None,
        status: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason
        self.location, self.location_type, self.status = location, location_type, status

    def response(self) -> Response:
        error: dict[str, Any] = {"message": self.message, "domain": "global", "reason": self.reason}
        if self.location:
            error["location"], error["locationType"] = self.location, self.location_type or "parameter"
        body: dict[str, Any] = {"code": self.code, "message": self.message, "errors": [error]}
        if self.status:
            body["status"] = self.status
        return json_response({"error": body}, self.code)


# -- partial responses (the `fields` parameter) ----------------------------------------
FieldTree = dict[str, "FieldTree | None"]


def parse_fields(text: str) -> FieldTree:
    """Parse Google's partial-response syntax into a tree; None means the whole value."""
    position = 0

    def selection() -> FieldTree:
        nonlocal position
        tree: FieldTree = {}
        while True:
            path: list[str] = []
            while True:
                start = position
                while position < len(text) and (text[position].isalnum() or text[position] in "_*$.-@"):
                    position += 1
                if start == position:
                    raise ValueError(f"Invalid field selection {text}")
                path.append(text[start:position])
                if position < len(text) and text[position] == "/":
                    position += 1
                    continue
                break
            sub: FieldTree | None = None
            if position < len(text) and text[position] == "(":
                position += 1
                sub = selection()
                if position >= len(text) or text[position] != ")":
                    raise ValueError(f"Invalid field selection {text}")
                position += 1
            for name in reversed(path[1:]):
                sub = {name: sub}
            merge(tree, path[0], sub)
            if position < len(text) and text[position] == ",":
                position += 1
                continue
            return tree

    tree = selection()
    if position != len(text):
        raise ValueError(f"Invalid field selection {text}")
    return tree


def merge(tree: FieldTree, name: str, sub: FieldTree | None) -> None:
    if name in tree:
        existing = tree[name]
        if existing is None or sub is None:
            tree[name] = None
        else:
            for key, value in sub.items():
                merge(existing, key, value)
    else:
        tree[name] = sub


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = discovery()["schemas"][schema["$ref"]]
    return schema


def validate_fields(tree: FieldTree, schema: dict[str, Any], prefix: str = "") -> None:
    """Reject any selected name the response schema does not have, as Google does."""
    schema = resolve(schema)
    while schema.get("type") == "array":
        schema = resolve(schema["items"])
    properties = schema.get("properties", {})
    for name, sub in tree.items():
        if name == "*":
            continue
        if name not in properties:
            raise GoogleApiError(
                400, f"Invalid field selection {prefix}{name}", "invalidParameter", "fields", "parameter"
            )
        if sub is not None:
            validate_fields(sub, properties[name], f"{prefix}{name}/")


def apply_fields(tree: FieldTree | None, value: Any) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(tree, item) for item in value]
    if not isinstance(value, dict):
        return value
    if "*" in tree:
        wildcard = tree["*"]
        return {k: apply_fields(tree.get(k, wildcard), v) for k, v in value.items()}
    return {k: apply_fields(sub, value[k]) for k, sub in tree.items() if k in value}


# -- the app ----------------------------------------------------------------------------
@dataclass
class ServiceAccount:
    client_email: str
    key_id: str
    public_key_pem: str
    delegated_scopes: frozenset[str] = DELEGATED_SCOPES


@dataclass
class IssuedToken:
    scopes: frozenset[str]
    subject: str
    expires_at: float


@dataclass
class GoogleApp:
    data: GoogleData
    service_account: ServiceAccount
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    #: every access token ever issued (tests assert none leaks into provenance or logs)
    issued: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.methods = {mid: method for mid, method in discovery_methods().items() if mid in SERVED_METHODS}
        rules = [
            Rule("/token", endpoint="token", methods=["POST"]),
            # Both discovery URIs googleapiclient knows (V1 on www.googleapis.com, V2 on the API host).
            Rule("/discovery/v1/apis/<api>/<version>/rest", endpoint="discovery", methods=["GET"]),
            Rule("/$discovery/rest", endpoint="discovery", methods=["GET"]),
        ]
        for method_id, method in self.methods.items():
            path = "/" + method["path"].replace("{", "<").replace("}", ">")
            rules.append(Rule(path, endpoint=method_id, methods=[method["httpMethod"]]))
        self.url_map = Map(rules)
        self.users_by_email = {u.primary_email: u for u in self.data.users}
        # users are rendered a page at a time: a district's 100,000 resources held as JSON would double the fake
        self.users_sorted = sorted(self.data.users, key=lambda u: u.primary_email)
        self.roles_json = [self._role_json(r) for r in self.data.roles]
        self.assignments_json = [self._assignment_json(a) for a in self.data.role_assignments]

    # -- HTTP ------------------------------------------------------------------
    @staticmethod
    def is_write(recorded: RecordedRequest) -> bool:
        """Exchanging a signed JWT for an access token is a read; any other non-GET is a write."""
        if recorded.path == "/token":
            return False
        return recorded.method not in ("GET", "HEAD")

    def __call__(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return GoogleApiError(404, "Not Found", "notFound").response()
        except HTTPException as exc:
            return GoogleApiError(exc.code or 400, exc.description or "Bad Request", "badRequest").response()
        if endpoint == "token":
            return self.token(request)
        if endpoint == "discovery":
            return self.discovery_document(
                request, values.get("api", "admin"), values.get("version") or request.args.get("version", "")
            )
        method = self.methods[endpoint]
        try:
            self._authorize(request, method)
            params = self._parameters(request, method)
            payload = getattr(self, SERVED_METHODS[endpoint])(params, **values)
            fields = params.get("fields")
            if fields:
                try:
                    tree = parse_fields(fields)
                except ValueError as exc:
                    raise GoogleApiError(400, str(exc), "invalidParameter", "fields") from exc
                validate_fields(tree, method["response"])
                payload = apply_fields(tree, payload)
        except GoogleApiError as exc:
            return exc.response()
        return json_response(payload)

    def _authorize(self, request: Request, method: dict[str, Any]) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        issued = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if issued is None or issued.expires_at < time.time():
            raise GoogleApiError(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
                "required",
                "Authorization",
                "header",
                "UNAUTHENTICATED",
            )
        if not issued.scopes & set(method.get("scopes", [])):
            raise GoogleApiError(
                403,
                "Request had insufficient authentication scopes.",
                "insufficientPermissions",
                status="PERMISSION_DENIED",
            )
        if not self._is_admin(issued.subject):
            raise GoogleApiError(403, "Not Authorized to access this resource/api", "forbidden")
        if method["id"].startswith("cloudidentity.") and not self._is_super_admin(issued.subject):
            raise GoogleApiError(
                403, "The caller does not have permission", "forbidden", status="PERMISSION_DENIED"
            )  # only a super administrator can use the Policy API

    def _is_admin(self, email: str) -> bool:
        """Domain-wide delegation only works when impersonating an active admin. An empty
        sandbox directory (org size 0) has no accounts at all, so there the configured
        evidence account is accepted as is: the empty organisation must read as empty."""
        if not self.data.users:
            return email in (self.data.admin_subject, self.data.policy_subject)
        admin = self.users_by_email.get(email)
        return admin is not None and not admin.suspended and (admin.is_admin or admin.is_delegated_admin)

    def _is_super_admin(self, email: str) -> bool:
        if not self.data.users:
            return email in (self.data.admin_subject, self.data.policy_subject)
        admin = self.users_by_email.get(email)
        return admin is not None and not admin.suspended and admin.is_admin

    def _parameters(self, request: Request, method: dict[str, Any]) -> dict[str, Any]:
        """Query parameters checked against the discovery document: names, types, limits, enums."""
        allowed = {**method["api_parameters"], **method.get("parameters", {})}
        params: dict[str, Any] = {}
        for name, value in request.args.items():
            spec = allowed.get(name)
            if spec is None or spec.get("location") == "path":
                raise GoogleApiError(
                    400,
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter.',
                    "invalid",
                    name,
                )
            if name in UNIMPLEMENTED_PARAMS or (name == "alt" and value != "json"):
                # valid for Google, but a fake that ignored it would answer a different question
                raise GoogleApiError(
                    400, f"The sandbox does not implement the {name} parameter.", "notImplemented", name
                )
            if spec.get("type") == "integer":
                try:
                    number = int(value)
                except ValueError as exc:
                    raise GoogleApiError(
                        400,
                        f"Invalid value '{value}'. Values must match the following regular expression: '-?\\d+'",
                        "invalidParameter",
                        name,
                    ) from exc
                low, high = spec.get("minimum"), spec.get("maximum")
                if (low is not None and number < int(low)) or (high is not None and number > int(high)):
                    raise GoogleApiError(400, "Invalid Input", "invalid", name)
                params[name] = number
                continue
            if "enum" in spec and value not in spec["enum"]:
                raise GoogleApiError(400, f"Invalid value for {name}: {value}", "invalidParameter", name)
            params[name] = value
        return params

    # -- discovery ---------------------------------------------------------------
    def discovery_document(self, request: Request, api: str, version: str) -> Response:
        """The real Directory discovery document (as shipped in googleapiclient) with this server as its
        root, as the API's own host serves it: public, no credentials needed."""
        if (api, version) != ("admin", "directory_v1"):
            return GoogleApiError(
                404, f"Discovery document not found for API service: {api} {version}", "notFound"
            ).response()
        root = request.host_url if request.host_url.endswith("/") else request.host_url + "/"
        document = {
            **discovery(),
            "rootUrl": root,
            "mtlsRootUrl": root,
            "baseUrl": root + discovery().get("servicePath", ""),
        }
        return json_response(document)

    # -- token endpoint --------------------------------------------------------
    def token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != JWT_BEARER:
            return json_response({"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}, 400)
        assertion = form.get("assertion", "")
        account = self.service_account
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("kid") != account.key_id:
                raise jwt.InvalidTokenError("unknown key id")
            claims = jwt.decode(
                assertion,
                account.public_key_pem,
                algorithms=["RS256"],
                audience=TOKEN_AUDIENCE,
                issuer=account.client_email,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            return json_response({"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}, 400)
        if claims["exp"] - claims["iat"] > 3600:
            return json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "Invalid JWT: Token must be a "
                    "short-lived token (60 minutes) and in a reasonable timeframe.",
                },
                400,
            )
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= account.delegated_scopes:
            return json_response(
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to "
                    "retrieve access tokens using this method, or client not authorized for any of the "
                    "scopes requested.",
                },
                401,
            )
        subject = claims.get("sub")
        known = subject in self.users_by_email or (
            not self.data.users and subject in (self.data.admin_subject, self.data.policy_subject)
        )
        if not subject or not known:
            return json_response({"error": "invalid_grant", "error_description": "Invalid email or User ID"}, 400)
        access_token = "ya29.sandbox-" + secrets.token_urlsafe(32)
        self.tokens[access_token] = IssuedToken(scopes, subject, time.time() + 3599)
        self.issued.append(access_token)
        return json_response({"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"})

    # -- methods -----------------------------------------------------------------
    def _customer(self, customer: str | None) -> None:
        if customer not in ("my_customer", self.data.customer_id):
            raise GoogleApiError(400, "Bad Request", "badRequest")

    def list_users(self, params: dict[str, Any]) -> dict[str, Any]:
        if "customer" in params:
            self._customer(params["customer"])
        elif params.get("domain") != self.data.domain:
            raise GoogleApiError(400, "Bad Request", "badRequest")
        users = self.users_sorted
        order = params.get("orderBy")
        if order:
            key: Callable[[GoogleUser], str] = {
                "email": lambda u: u.primary_email,
                "givenName": lambda u: u.given_name,
                "familyName": lambda u: u.family_name,
            }[order]
            users = sorted(users, key=key, reverse=params.get("sortOrder") == "DESCENDING")
        return self._page("admin#directory#users", "users", users, params, default_size=100, render=self._user_json)

    def list_role_assignments(self, params: dict[str, Any], customer: str) -> dict[str, Any]:
        self._customer(customer)
        return self._page("admin#directory#roleAssignments", "items", self.assignments_json, params, default_size=100)

    def list_roles(self, params: dict[str, Any], customer: str) -> dict[str, Any]:
        self._customer(customer)
        return self._page("admin#directory#roles", "items", self.roles_json, params, default_size=100)

    def list_org_units(self, params: dict[str, Any], customerId: str) -> dict[str, Any]:  # noqa: N803 - the path's
        self._customer(customerId)
        if params.get("orgUnitPath") not in (None, "", "/"):
            raise GoogleApiError(400, "The sandbox does not implement orgUnitPath.", "notImplemented", "orgUnitPath")
        units = self.data.policy.org_units
        kind = params.get("type") or "children"
        if kind == "children":
            units = [u for u in units if u.get("parentOrgUnitPath") == "/"]
        elif kind == "all":
            units = [u for u in units if u["orgUnitPath"] != "/"]
        payload: dict[str, Any] = {"kind": "admin#directory#orgUnits", "etag": _etag("orgUnits", len(units))}
        if units:
            payload["organizationUnits"] = units
        return payload

    def list_policies(self, params: dict[str, Any]) -> dict[str, Any]:
        policies = self.data.policy.policies
        for clause in (c.strip() for c in str(params.get("filter") or "").split("&&") if c.strip()):
            setting, customer = _SETTING_CLAUSE.match(clause), _CUSTOMER_CLAUSE.match(clause)
            if setting:
                pattern = re.compile(re.sub(r"\\(.)", r"\1", setting.group(1)))  # the CEL string's escapes undone
                policies = [p for p in policies if pattern.search(p["setting"]["type"])]
            elif customer:
                self._customer(customer.group(1))
            else:
                raise GoogleApiError(
                    400, f"The sandbox does not implement the filter clause {clause!r}.", "notImplemented", "filter"
                )
        size = min(params.get("pageSize") or POLICIES_DEFAULT_PAGE, POLICIES_MAX_PAGE)
        start = _decode_token(params["pageToken"]) if params.get("pageToken") else 0
        payload: dict[str, Any] = {}
        if policies[start : start + size]:  # an empty list is omitted, as in every Google JSON response
            payload["policies"] = policies[start : start + size]
        if start + size < len(policies):
            payload["nextPageToken"] = _encode_token(start + size)
        return payload

    def _page(
        self,
        kind: str,
        key: str,
        items: list[Any],
        params: dict[str, Any],
        default_size: int,
        render: Callable[[Any], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One page of `items` (resources, or model records that `render` turns into resources)."""
        size = params.get("maxResults", default_size)
        start = _decode_token(params["pageToken"]) if params.get("pageToken") else 0
        page = items[start : start + size]
        if render is not None:
            page = [render(item) for item in page]
        payload: dict[str, Any] = {"kind": kind, "etag": _etag(kind, start, len(items))}
        if page:  # Google omits an empty collection
            payload[key] = page
        if start + size < len(items):
            payload["nextPageToken"] = _encode_token(start + size)
        return payload

    # -- resources ---------------------------------------------------------------
    def _user_json(self, user: GoogleUser) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "kind": "admin#directory#user",
            "id": user.id,
            "etag": _etag("user", user.id),
            "primaryEmail": user.primary_email,
            "name": {
                "givenName": user.given_name,
                "familyName": user.family_name,
                "fullName": f"{user.given_name} {user.family_name}",
            },
            "isAdmin": user.is_admin,
            "isDelegatedAdmin": user.is_delegated_admin,
            "lastLoginTime": user.last_login_time,
            "creationTime": user.creation_time,
            "agreedToTerms": True,
            "suspended": user.suspended,
            "archived": user.archived,
            "changePasswordAtNextLogin": False,
            "ipWhitelisted": False,
            "emails": [
                {"address": user.primary_email, "primary": True},
                *({"address": alias} for alias in user.aliases),
            ],
            "customerId": self.data.customer_id,
            "orgUnitPath": user.org_unit_path,
            "isMailboxSetup": True,
            "isEnrolledIn2Sv": user.is_enrolled_in_2sv,
            "isEnforcedIn2Sv": user.is_enforced_in_2sv,
            "includeInGlobalAddressList": True,
        }
        if user.suspended:
            resource["suspensionReason"] = "ADMIN"
        # arrays of strings, omitted when empty (discovery: User.aliases, User.nonEditableAliases)
        if user.aliases:
            resource["aliases"] = list(user.aliases)
        if user.non_editable_aliases:
            resource["nonEditableAliases"] = list(user.non_editable_aliases)
        return resource

    @staticmethod
    def _role_json(role: Any) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "kind": "admin#directory#role",
            "etag": _etag("role", role.role_id),
            "roleId": role.role_id,
            "roleName": role.role_name,
            "roleDescription": role.description,
            "rolePrivileges": [{"privilegeName": p, "serviceId": "00haapch16h1ysv"} for p in role.privileges],
            "isSystemRole": role.is_system_role,
        }
        if role.is_super_admin_role:
            resource["isSuperAdminRole"] = True
        return resource

    @staticmethod
    def _assignment_json(assignment: Any) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "kind": "admin#directory#roleAssignment",
            "etag": _etag("ra", assignment.role_assignment_id),
            "roleAssignmentId": assignment.role_assignment_id,
            "roleId": assignment.role_id,
            "assignedTo": assignment.assigned_to,
            "assigneeType": assignment.assignee_type,
            "scopeType": assignment.scope_type,
        }
        if assignment.org_unit_id:
            resource["orgUnitId"] = assignment.org_unit_id
        return resource


def _etag(*parts: Any) -> str:
    return '"' + hashlib.sha1(repr(parts).encode()).hexdigest()[:27] + '"'


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox-page:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, offset = text.partition(":")
        if prefix != "sandbox-page":
            raise ValueError(token)
        return int(offset)
    except ValueError as exc:
        raise GoogleApiError(400, "Invalid Input", "invalid", "pageToken") from exc
