"""A fake GitHub: GraphQL at /graphql (executed with graphql-core against the
sandbox's subset of GitHub's schema, and validated against GitHub's full published
schema when ../shared/reference has it) plus the REST routes the connectors use."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync, parse, validate
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.org import SandboxOrg
from sandbox.server import FakeServer, RecordedRequest, json_response

SUBSET_SCHEMA = Path(__file__).with_name("schema.graphql")
MAX_PAGE = 100


def reference_schema_path() -> Path | None:
    """GitHub's published schema beside the repository (../shared/reference), if present."""
    env = os.environ.get("GITHUB_REFERENCE_SCHEMA")
    candidates = [Path(env)] if env else []
    candidates += [parent / "shared" / "reference" / "github-schema.graphql"
                   for parent in Path(__file__).resolve().parents]
    return next((p for p in candidates if p.is_file()), None)


@cache
def load_schema(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text(), assume_valid_sdl=True)


def encode_cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except Exception as exc:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from exc


def connection(items: Sequence[Any], first: int | None = None, after: str | None = None,
               last: int | None = None, **_: Any) -> dict[str, Any]:
    """A GitHub-style cursor connection over `items`, with GitHub's paging limits."""
    if first is None and last is None:
        raise GraphQLError("You must provide a `first` or `last` value to properly paginate the connection.")
    size = first if first is not None else last
    if size is None or size < 0 or size > MAX_PAGE:
        raise GraphQLError(f"Requested {size} records on the connection, but the limit is {MAX_PAGE}.")
    start = decode_cursor(after) + 1 if after else 0
    page = list(items[start:start + size])
    end = start + len(page) - 1
    return {
        "nodes": page,
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end + 1 < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": encode_cursor(start) if page else None,
            "endCursor": encode_cursor(end) if page else None,
        },
    }


def resolve_field(parent: Any, info: Any, **args: Any) -> Any:
    """Dict-backed resolver: callables receive the field's arguments (connections)."""
    value = parent.get(info.field_name) if isinstance(parent, dict) else getattr(parent, info.field_name, None)
    return value(**args) if callable(value) else value


def lazy_connection(items: Sequence[Any]) -> Callable[..., dict[str, Any]]:
    return lambda **args: connection(items, **args)


class GitHubApp:
    """The WSGI side: routes, authentication, GraphQL execution."""

    def __init__(self, org: SandboxOrg, tokens: set[str], app_public_key: str | None = None,
                 app_id: str | None = None) -> None:
        self.org = org
        self.tokens = set(tokens)
        self.app_public_key = app_public_key
        self.app_id = app_id
        self.schema = load_schema(SUBSET_SCHEMA)
        ref = reference_schema_path()
        self.reference = load_schema(ref) if ref else None
        self.graphql_resolvers: dict[str, Callable[..., Any]] = {}
        self.rest_routes: dict[str, Callable[..., Response]] = {
            "org": self.get_org,
            "installation_token": self.create_installation_token,
        }
        self.url_map = Map([
            Rule("/graphql", endpoint="graphql", methods=["POST"]),
            Rule("/api/graphql", endpoint="graphql", methods=["POST"]),
            Rule("/orgs/<org>", endpoint="org", methods=["GET"]),
            Rule("/api/v3/orgs/<org>", endpoint="org", methods=["GET"]),
            Rule("/app/installations/<int:installation>/access_tokens", endpoint="installation_token",
                 methods=["POST"]),
            Rule("/api/v3/app/installations/<int:installation>/access_tokens", endpoint="installation_token",
                 methods=["POST"]),
        ])
        self.root = self._build_root()

    # -- data --------------------------------------------------------------
    def _build_root(self) -> dict[str, Any]:
        org = self.org
        repos = [self._repository(r) for r in sorted(org.github.repositories, key=lambda r: r.name)]
        organization = {"login": org.org_login, "name": "Example Corp", "repositories": lazy_connection(repos)}
        return {
            "organization": lambda login: organization if login.lower() == org.org_login else None,
            "rateLimit": {"cost": 1, "limit": 5000, "remaining": 4999, "resetAt": "2100-01-01T00:00:00Z"},
        }

    def _repository(self, repo: Any) -> dict[str, Any]:
        owner = self.org.org_login
        rules = []
        for ruleset in repo.rulesets:
            ruleset_node = {"name": ruleset["name"], "enforcement": ruleset["enforcement"],
                            "bypassActors": lazy_connection(ruleset["bypass"])}
            for rule in ruleset["rules"]:
                parameters = rule["parameters"]
                if parameters and parameters["__typename"] == "PullRequestParameters":
                    parameters = {"dismissStaleReviewsOnPush": False, "requireCodeOwnerReview": False,
                                  "requireLastPushApproval": False, "requiredReviewThreadResolution": False,
                                  **parameters}
                elif parameters:
                    parameters = {"strictRequiredStatusChecksPolicy": False, **parameters}
                rules.append({"type": rule["type"], "parameters": parameters, "repositoryRuleset": ruleset_node})
        return {
            "name": repo.name,
            "nameWithOwner": f"{owner}/{repo.name}",
            "url": f"https://github.example.test/{owner}/{repo.name}",
            "isArchived": repo.archived,
            "isFork": False,
            "visibility": "PRIVATE",
            "defaultBranchRef": {"name": "main", "branchProtectionRule": repo.classic,
                                 "rules": lazy_connection(rules)},
        }

    # -- HTTP --------------------------------------------------------------
    @staticmethod
    def is_write(recorded: RecordedRequest) -> bool:
        """GraphQL reads are POSTs; a mutation or any other non-GET REST call is a write."""
        if recorded.path.endswith("/graphql"):
            return b"mutation" in recorded.body.split(b"{", 1)[0] or b'"mutation' in recorded.body
        if recorded.path.endswith("/access_tokens"):
            return False  # exchanging the App's JWT for a read-only installation token
        return recorded.method not in ("GET", "HEAD")

    def __call__(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return json_response({"message": "Not Found",
                                  "documentation_url": "https://docs.github.com/rest"}, 404)
        except HTTPException as exc:
            return json_response({"message": exc.description}, exc.code or 400)
        if endpoint != "installation_token" and not self._authorized(request):
            return json_response({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                                 401)
        if endpoint == "graphql":
            return self.graphql(request)
        return self.rest_routes[endpoint](request, **values)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        return scheme.lower() in ("token", "bearer") and credential in self.tokens

    def graphql(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            document = parse(body["query"])
        except (ValueError, KeyError, GraphQLError) as exc:
            return json_response({"errors": [{"message": f"Parse error: {exc}"}]}, 200)
        for schema in filter(None, (self.reference, self.schema)):
            errors = validate(schema, document)
            if errors:
                return json_response({"errors": [_error_json(e) for e in errors]}, 200)
        result = graphql_sync(self.schema, body["query"], root_value=self.root,
                              variable_values=body.get("variables") or {}, field_resolver=resolve_field)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [_error_json(e) for e in result.errors]
        return json_response(payload, 200, {"X-RateLimit-Remaining": "4999", "X-RateLimit-Limit": "5000"})

    def get_org(self, request: Request, org: str) -> Response:
        if org.lower() != self.org.org_login:
            return json_response({"message": "Not Found"}, 404)
        return json_response({
            "login": self.org.org_login, "id": 1, "name": "Example Corp",
            "two_factor_requirement_enabled": self.org.github.two_factor_required,
            "url": f"{request.host_url.rstrip('/')}/orgs/{self.org.org_login}",
        })

    def create_installation_token(self, request: Request, installation: int) -> Response:
        header = request.headers.get("Authorization", "")
        scheme, _, assertion = header.partition(" ")
        if scheme.lower() != "bearer" or not self.app_public_key:
            return json_response({"message": "A JSON web token could not be decoded"}, 401)
        try:
            claims = jwt.decode(assertion, self.app_public_key, algorithms=["RS256"])
        except jwt.PyJWTError as exc:
            return json_response({"message": f"A JSON web token could not be decoded: {exc}"}, 401)
        if str(claims.get("iss")) != str(self.app_id):
            return json_response({"message": "Integration not found"}, 404)
        token = f"ghs_sandbox_installation_{installation}"
        self.tokens.add(token)
        return json_response({"token": token, "expires_at": "2100-01-01T00:00:00Z", "permissions": {
            "members": "read", "metadata": "read", "administration": "read"}}, 201)


def _error_json(error: GraphQLError) -> dict[str, Any]:
    data: dict[str, Any] = {"message": error.message}
    if error.locations:
        data["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        data["path"] = list(error.path)
    data["extensions"] = {"code": "undefinedField" if "Cannot query field" in error.message else "graphqlError"}
    return data


def serve_github(org: SandboxOrg, token: str, latency: float = 0.0, app_public_key: str | None = None,
                 app_id: str | None = None) -> FakeServer:
    return FakeServer("github", GitHubApp(org, {token}, app_public_key, app_id), latency=latency).start()
