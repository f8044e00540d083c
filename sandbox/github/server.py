"""A fake GitHub: GraphQL at /graphql (executed with graphql-core against the
sandbox's subset of GitHub's schema, and validated against GitHub's full published
schema when ../shared/reference has it) plus the REST routes the connectors use."""

from __future__ import annotations

import base64
import json
import os
import re
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_schema, execute, parse, validate
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.company import SandboxOrg
from sandbox.github.security_server import SecurityRoutes
from sandbox.server import FakeServer, RecordedRequest, json_response

SUBSET_SCHEMA = Path(__file__).with_name("schema.graphql")
MAX_PAGE = 100
#: GitHub search serves at most this many results per query (issueCount still counts them all).
SEARCH_LIMIT = 1000


def reference_schema_path() -> Path | None:
    """GitHub's published schema beside the repository (../shared/reference), if present."""
    env = os.environ.get("GITHUB_REFERENCE_SCHEMA")
    candidates = [Path(env)] if env else []
    candidates += [
        parent / "shared" / "reference" / "github-schema.graphql" for parent in Path(__file__).resolve().parents
    ]
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


def connection(
    items: Sequence[Any], first: int | None = None, after: str | None = None, last: int | None = None, **_: Any
) -> dict[str, Any]:
    """A GitHub-style cursor connection over `items`, with GitHub's paging limits."""
    if first is None and last is None:
        raise GraphQLError("You must provide a `first` or `last` value to properly paginate the connection.")
    size = first if first is not None else last
    if size is None or size < 0 or size > MAX_PAGE:
        raise GraphQLError(f"Requested {size} records on the connection, but the limit is {MAX_PAGE}.")
    start = decode_cursor(after) + 1 if after else 0
    page = list(items[start : start + size])
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


def edge_connection(edges: Sequence[dict[str, Any]], **args: Any) -> dict[str, Any]:
    """A connection whose edges carry data of their own (a member's role, a collaborator's permission)."""
    page = connection(edges, **args)
    start = decode_cursor(args["after"]) + 1 if args.get("after") else 0
    page["edges"] = [{**edge, "cursor": encode_cursor(start + i)} for i, edge in enumerate(page["nodes"])]
    page["nodes"] = [edge["node"] for edge in page["edges"]]
    return page


def node_id(prefix: str, key: str) -> str:
    return f"{prefix}_" + base64.b64encode(key.encode()).decode().rstrip("=")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SEARCH_TERM = re.compile(r"(\w+):(\S+)")


def parse_search(query: str) -> dict[str, str]:
    """The qualifiers of a GitHub search string; the sandbox serves merged-pull-request searches only."""
    terms = query.split()
    qualifiers: dict[str, str] = {}
    for term in terms:
        match = _SEARCH_TERM.fullmatch(term)
        if not match:
            raise GraphQLError(f"the sandbox search has no free-text search (got {term!r})")
        key, value = match.groups()
        qualifiers[f"is:{value}" if key == "is" else key] = value
    unknown = set(qualifiers) - {"org", "is:pr", "is:merged", "merged", "sort"}
    if unknown or "org" not in qualifiers or "is:pr" not in qualifiers:
        raise GraphQLError(
            f"the sandbox search serves `org:… is:pr [is:merged] [merged:a..b] [sort:…]` only; got {query!r}"
        )
    return qualifiers


def search_bound(text: str, end: bool) -> datetime:
    """A bound of a `merged:a..b` range: a date (whole day) or an ISO 8601 date-time."""
    if text == "*":
        return datetime.max.replace(tzinfo=UTC) if end else datetime.min.replace(tzinfo=UTC)
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day, time.max if end else time.min, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"invalid date {text!r} in search query") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class GitHubApp:
    """The WSGI side: routes, authentication, GraphQL execution."""

    def __init__(
        self, org: SandboxOrg, tokens: set[str], app_public_key: str | None = None, app_id: str | None = None
    ) -> None:
        self.org = org
        self.tokens = set(tokens)
        self.app_public_key = app_public_key
        self.app_id = app_id
        #: a viewer without access to members' verified emails gets FORBIDDEN on that field (tests flip it)
        self.verified_emails_forbidden = False
        #: owners see the org's 2FA requirement and who lacks 2FA; for anyone else GitHub leaves
        #: `two_factor_requirement_enabled` out of GET /orgs/{org}, answers the members list's
        #: `filter=2fa_disabled` with 422 and the membership edge's hasTwoFactorEnabled with null
        self.viewer_is_owner = True
        #: tests reshape answers GitHub may give (a nullable field null): called with the operation's document,
        #: its variables and the payload about to be sent, returns the payload to send
        self.rewrite_response: Callable[[DocumentNode, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
        #: alert feature (dependabot | code-scanning | secret-scanning) -> the (status, message) GitHub answers the
        #: organisation's list with when the feature is not enabled or licensed (tests set it)
        self.unavailable_alerts: dict[str, tuple[int, str]] = {}
        #: tests reshape REST answers GitHub may give (a documented nullable field null, a field left out): called
        #: with the request path and the JSON body about to be sent, returns the body to send
        self.rewrite_rest: Callable[[str, Any], Any] | None = None
        security = SecurityRoutes(self)
        self.schema = load_schema(SUBSET_SCHEMA)
        ref = reference_schema_path()
        self.reference = load_schema(ref) if ref else None
        self.graphql_resolvers: dict[str, Callable[..., Any]] = {}
        self._documents: dict[str, tuple[DocumentNode, list[GraphQLError]]] = {}
        self.rest_routes: dict[str, Callable[..., Response]] = {
            "org": self.get_org,
            "members": self.list_members,
            "installation_token": self.create_installation_token,
            **security.routes(),
        }
        self.url_map = Map(
            [
                Rule("/graphql", endpoint="graphql", methods=["POST"]),
                Rule("/api/graphql", endpoint="graphql", methods=["POST"]),
                Rule("/orgs/<org>", endpoint="org", methods=["GET"]),
                Rule("/api/v3/orgs/<org>", endpoint="org", methods=["GET"]),
                Rule("/orgs/<org>/members", endpoint="members", methods=["GET"]),
                Rule("/api/v3/orgs/<org>/members", endpoint="members", methods=["GET"]),
                Rule(
                    "/app/installations/<int:installation>/access_tokens",
                    endpoint="installation_token",
                    methods=["POST"],
                ),
                Rule(
                    "/api/v3/app/installations/<int:installation>/access_tokens",
                    endpoint="installation_token",
                    methods=["POST"],
                ),
                *security.rules(),
            ]
        )
        self.root = self._build_root()

    # -- data --------------------------------------------------------------
    def reload(self) -> None:
        """Serve the organisation's GitHub data again after a test changed it."""
        self.root = self._build_root()

    def _build_root(self) -> dict[str, Any]:
        org = self.org
        data = org.github
        #: rulesets by node id (`node(id:)`), filled as the repositories are built
        self._ruleset_nodes: dict[str, dict[str, Any]] = {}
        repos = [self._repository(r) for r in sorted(data.repositories, key=lambda r: r.name)]
        by_name = {r["name"]: r for r in repos}
        members = {m.account.login for m in data.members}
        users: dict[str, dict[str, Any]] = {}
        for account in [m.account for m in data.members] + [c.account for c in data.outside_collaborators]:
            users.setdefault(account.login, self._user(account, account.login in members))
        member_edges = [
            {
                "role": m.role,
                "node": users[m.account.login],
                "hasTwoFactorEnabled": lambda m=m: m.two_factor if self.viewer_is_owner else None,
            }
            for m in data.members
        ]
        outside: dict[str, list[dict[str, Any]]] = {}
        for grant in data.outside_collaborators:
            outside.setdefault(grant.repository, []).append(
                {"permission": grant.permission, "node": users[grant.account.login]}
            )
        for name, repo in by_name.items():
            repo["collaborators"] = self._collaborators(name, outside.get(name, []))
        # pull request nodes are built when first served: a reference-size org holds tens of thousands
        self._by_name = by_name
        self._pull_nodes: dict[str, dict[str, Any]] = {}
        pulls = {(pr.repository, pr.number): pr for pr in data.pull_requests}
        for name, repo in by_name.items():
            repo["pullRequest"] = lambda number, name=name: (
                self._pull_node(pulls[(name, number)]) if (name, number) in pulls else None
            )
        organization = {
            "login": org.org_login,
            "name": "Example Corp",
            "repositories": lazy_connection(repos),
            "membersWithRole": lambda **args: edge_connection(member_edges, **args),
        }
        return {
            "node": self._node,
            "organization": lambda login: organization if login.lower() == org.org_login else None,
            "repository": lambda owner, name, followRenames=None: self._find_repository(by_name, owner, name),
            "search": self.search,
            "rateLimit": {"cost": 1, "limit": 5000, "remaining": 4999, "resetAt": "2100-01-01T00:00:00Z"},
        }

    def _find_repository(self, by_name: dict[str, dict[str, Any]], owner: str, name: str) -> dict[str, Any]:
        repo = by_name.get(name) if owner.lower() == self.org.org_login else None
        if repo is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.", extensions={"type": "NOT_FOUND"}
            )
        return repo

    def _user(self, account: Any, member: bool) -> dict[str, Any]:
        def verified_emails(login: str) -> list[str]:
            if self.verified_emails_forbidden:
                raise GraphQLError("Resource not accessible by integration", extensions={"type": "FORBIDDEN"})
            return list(account.verified_emails) if member and login.lower() == self.org.org_login else []

        return {
            "__typename": "User",
            "id": node_id("U", account.login),
            "login": account.login,
            "name": account.name,
            "email": account.public_email,
            "createdAt": iso(account.created_at),
            "url": f"https://github.example.test/{account.login}",
            "organizationVerifiedDomainEmails": verified_emails,
        }

    def _collaborators(self, repository: str, edges: list[dict[str, Any]]) -> Callable[..., Any]:
        def collaborators(
            affiliation: str | None = None, login: str | None = None, query: str | None = None, **args: Any
        ) -> dict[str, Any] | None:
            if repository in self.org.github.collaborators_hidden:
                # GitHub shows collaborators only to viewers with push access: an error, the field null
                raise GraphQLError(
                    "Must have push access to view repository collaborators.", extensions={"type": "FORBIDDEN"}
                )
            if affiliation != "OUTSIDE" or login or query:
                raise GraphQLError("the sandbox models outside collaborators only (affiliation: OUTSIDE)")
            return edge_connection(sorted(edges, key=lambda e: e["node"]["login"]), **args)

        return collaborators

    def _actor(self, login: str, kind: str) -> dict[str, Any]:
        url = f"https://github.example.test/{'apps/' if kind == 'Bot' else ''}{login}"
        return {"__typename": kind, "id": node_id("BOT" if kind == "Bot" else "U", login), "login": login, "url": url}

    def _pull_node(self, pr: Any) -> dict[str, Any]:
        node = self._pull_nodes.get(pr.id)
        if node is None:
            node = self._pull_nodes[pr.id] = self._pull_request(pr, self._by_name[pr.repository])
        return node

    def _pull_request(self, pr: Any, repository: dict[str, Any]) -> dict[str, Any]:
        reviews = [
            {
                "id": node_id("PRR", f"{pr.id}:{i}"),
                "state": r.state,
                "submittedAt": iso(r.submitted_at),
                "author": self._actor(r.author, r.author_type),
            }
            for i, r in enumerate(pr.reviews)
        ]

        def review_connection(
            states: list[str] | None = None, author: str | None = None, **args: Any
        ) -> dict[str, Any]:
            chosen = [
                r
                for r in reviews
                if (not states or r["state"] in states) and (author is None or r["author"]["login"] == author)
            ]
            return connection(chosen, **args)

        return {
            "__typename": "PullRequest",
            "id": node_id("PR", pr.id),
            "number": pr.number,
            "title": pr.title,
            "url": f"{repository['url']}/pull/{pr.number}",
            "baseRefName": "main",
            "createdAt": iso(pr.created_at),
            "merged": True,
            "mergedAt": iso(pr.merged_at),
            "mergedBy": self._actor(pr.merged_by, "User"),
            "author": self._actor(pr.author, pr.author_type),
            "repository": repository,
            "reviewDecision": review_decision(pr.reviews),
            "reviews": review_connection,
        }

    def search(self, query: str, type: str, **args: Any) -> dict[str, Any]:  # noqa: A002 - GitHub's name
        if type != "ISSUE":
            raise GraphQLError("the sandbox search serves type: ISSUE only")
        qualifiers = parse_search(query)
        if qualifiers["org"].lower() != self.org.org_login:
            matches: list[Any] = []
        else:
            low, _, high = qualifiers.get("merged", "*..*").partition("..")
            since, until = search_bound(low, end=False), search_bound(high or "*", end=True)
            # data.pull_requests is in creation order: what `sort:created-asc` returns
            matches = [p for p in self.org.github.pull_requests if since <= p.merged_at <= until]
        if qualifiers.get("sort", "created-asc") not in ("created-asc", "created-desc"):
            raise GraphQLError(f"the sandbox search sorts by created only (got sort:{qualifiers['sort']})")
        if qualifiers.get("sort") == "created-desc":
            matches = matches[::-1]
        page = connection(matches[:SEARCH_LIMIT], **args)
        return {
            "issueCount": len(matches),
            "nodes": [self._pull_node(p) for p in page["nodes"]],
            "pageInfo": page["pageInfo"],
        }

    def _repository(self, repo: Any) -> dict[str, Any]:
        owner = self.org.org_login
        security = self.org.github.security.settings_of(repo.name)
        rules = []
        for ruleset in repo.rulesets:
            ruleset_node = self._ruleset_nodes.setdefault(
                node_id("RRS", f"{repo.name}:{ruleset['name']}"),
                {
                    "__typename": "RepositoryRuleset",
                    "id": node_id("RRS", f"{repo.name}:{ruleset['name']}"),
                    "name": ruleset["name"],
                    "enforcement": ruleset["enforcement"],
                    "bypassActors": lazy_connection([bypass_actor(actor) for actor in ruleset["bypass"]]),
                },
            )
            for rule in ruleset["rules"]:
                parameters = rule["parameters"]
                if parameters and parameters["__typename"] == "PullRequestParameters":
                    parameters = {
                        "dismissStaleReviewsOnPush": False,
                        "requireCodeOwnerReview": False,
                        "requireLastPushApproval": False,
                        "requiredReviewThreadResolution": False,
                        **parameters,
                    }
                elif parameters:
                    parameters = {"strictRequiredStatusChecksPolicy": False, **parameters}
                rules.append({"type": rule["type"], "parameters": parameters, "repositoryRuleset": ruleset_node})
        return {
            "name": repo.name,
            "nameWithOwner": f"{owner}/{repo.name}",
            "url": f"https://github.example.test/{owner}/{repo.name}",
            "isArchived": repo.archived,
            "isFork": False,
            "isEmpty": repo.empty,
            "visibility": "PUBLIC" if security.visibility == "public" else "PRIVATE",
            "hasVulnerabilityAlertsEnabled": security.vulnerability_alerts,
            "environments": lazy_connection(
                [
                    {"__typename": "Environment", "id": node_id("EN", e.id), "name": e.name}
                    for e in self.org.github.security.environments_of(repo.name)
                ]
            ),
            # GitHub has no default branch to show until the first push
            "defaultBranchRef": None
            if repo.empty
            else {"name": "main", "branchProtectionRule": repo.classic, "rules": lazy_connection(rules)},
        }

    def _node(self, id: str) -> dict[str, Any]:  # noqa: A002 - GitHub's name
        node = self._ruleset_nodes.get(id)
        if node is None:
            raise GraphQLError(
                f"Could not resolve to a node with the global id of '{id}'", extensions={"type": "NOT_FOUND"}
            )
        return node

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
            return json_response({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)
        except HTTPException as exc:
            return json_response({"message": exc.description}, exc.code or 400)
        if endpoint != "installation_token" and not self._authorized(request):
            return json_response(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401
            )
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
            document, errors = self._checked(body["query"])
        except (ValueError, KeyError, GraphQLError) as exc:
            return json_response({"errors": [{"message": f"Parse error: {exc}"}]}, 200)
        if errors:
            return json_response({"errors": [_error_json(e) for e in errors]}, 200)
        result = execute(
            self.schema,
            document,
            root_value=self.root,
            variable_values=body.get("variables") or {},
            field_resolver=resolve_field,
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [_error_json(e) for e in result.errors]
        if self.rewrite_response is not None:
            payload = self.rewrite_response(document, body.get("variables") or {}, payload)
        return json_response(payload, 200, {"X-RateLimit-Remaining": "4999", "X-RateLimit-Limit": "5000"})

    def _checked(self, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
        """Parse and validate a query once (against GitHub's schema and the sandbox's): clients send the
        same few query texts page after page."""
        if query not in self._documents:
            document = parse(query)
            errors: list[GraphQLError] = []
            for schema in filter(None, (self.reference, self.schema)):
                errors = list(validate(schema, document))
                if errors:
                    break
            self._documents[query] = (document, errors)
        return self._documents[query]

    def get_org(self, request: Request, org: str) -> Response:
        if org.lower() != self.org.org_login:
            return json_response({"message": "Not Found"}, 404)
        body: dict[str, Any] = {
            "login": self.org.org_login,
            "id": 1,
            "name": "Example Corp",
            "url": f"{request.host_url.rstrip('/')}/orgs/{self.org.org_login}",
            "html_url": f"https://github.example.test/{self.org.org_login}",
        }
        if self.viewer_is_owner:  # GitHub shows these to owners (Administration read) only
            body.update(
                {
                    "two_factor_requirement_enabled": self.org.github.two_factor_required,
                    "default_repository_permission": "read",
                    "members_can_create_repositories": False,
                }
            )
        return json_response(body)

    def list_members(self, request: Request, org: str) -> Response:
        """GET /orgs/{org}/members: page-numbered, 100 a page at most, a Link header to the next page.
        `filter=2fa_disabled` (members without 2FA) is for organisation owners only: anyone else gets
        422, GitHub's documented answer ("Validation failed") for this endpoint."""
        if org.lower() != self.org.org_login:
            return json_response({"message": "Not Found", "documentation_url": REST_DOCS}, 404)
        wanted, role = request.args.get("filter", "all"), request.args.get("role", "all")
        try:
            per_page = min(int(request.args.get("per_page", 30)), MAX_PAGE)
            page = max(int(request.args.get("page", 1)), 1)
        except ValueError:
            return json_response({"message": "Validation Failed", "documentation_url": REST_DOCS}, 422)
        if wanted not in ("all", "2fa_disabled") or role not in ("all", "admin", "member"):
            return json_response({"message": "Validation Failed", "documentation_url": REST_DOCS}, 422)
        if wanted == "2fa_disabled" and not self.viewer_is_owner:
            return json_response({"message": "Only owners can use this filter.", "documentation_url": REST_DOCS}, 422)
        chosen = [
            m
            for m in self.org.github.members
            if (wanted == "all" or not m.two_factor) and role in ("all", m.role.lower())
        ]
        body = [_simple_user(request, m.account.login) for m in chosen[(page - 1) * per_page : page * per_page]]
        last = max(1, -(-len(chosen) // per_page))
        links = {"next": page + 1, "last": last} if page < last else {}
        if page > 1:
            links |= {"first": 1, "prev": page - 1}
        headers = {"Link": ", ".join(f'<{_page_url(request, number)}>; rel="{rel}"' for rel, number in links.items())}
        return json_response(body, 200, headers if links else {})

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
        return json_response(
            {
                "token": token,
                "expires_at": "2100-01-01T00:00:00Z",
                "permissions": {
                    "members": "read",
                    "metadata": "read",
                    "administration": "read",
                    "pull_requests": "read",
                    "vulnerability_alerts": "read",
                    "security_events": "read",
                    "secret_scanning_alerts": "read",
                    "actions": "read",
                },
            },
            201,
        )


REST_DOCS = "https://docs.github.com/rest/orgs/members#list-organization-members"


def _page_url(request: Request, page: int) -> str:
    """The same request on another page, on the host:port the client called (GitHub's Link header)."""
    args = request.args.to_dict()
    args["page"] = str(page)
    return f"{request.base_url}?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in args.items())


def _simple_user(request: Request, login: str) -> dict[str, Any]:
    api = request.host_url.rstrip("/")
    return {
        "login": login,
        "id": zlib.crc32(login.encode()),
        "node_id": node_id("U", login),
        "url": f"{api}/users/{login}",
        "html_url": f"https://github.example.test/{login}",
        "type": "User",
        "site_admin": False,
    }


def review_decision(reviews: Sequence[Any]) -> str:
    """GitHub's reviewDecision: each reviewer's latest approving / changes-requested review counts."""
    latest: dict[str, str] = {}
    for review in sorted(reviews, key=lambda r: r.submitted_at):
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.author] = review.state
    if "CHANGES_REQUESTED" in latest.values():
        return "CHANGES_REQUESTED"
    return "APPROVED" if "APPROVED" in latest.values() else "REVIEW_REQUIRED"


#: GitHub's built-in repository roles by the id its rulesets' bypass actors carry (RepositoryRole/5 is admin)
REPOSITORY_ROLE_IDS = {"maintain": 2, "write": 4, "admin": 5}


def bypass_actor(actor: dict[str, Any]) -> dict[str, Any]:
    """A RepositoryRulesetBypassActor with every non-null field GitHub sends."""
    role = actor.get("repositoryRoleName")
    return {
        "organizationAdmin": False,
        "enterpriseOwner": False,
        "deployKey": False,
        "bypassMode": "ALWAYS",
        "repositoryRoleDatabaseId": REPOSITORY_ROLE_IDS.get((role or "").lower()),
        **actor,
    }


def _error_json(error: GraphQLError) -> dict[str, Any]:
    data: dict[str, Any] = {"message": error.message}
    if error.extensions and error.extensions.get("type"):
        data["type"] = error.extensions["type"]  # GitHub puts FORBIDDEN / NOT_FOUND / RATE_LIMITED here
    if error.locations:
        data["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        data["path"] = list(error.path)
    data["extensions"] = {"code": "undefinedField" if "Cannot query field" in error.message else "graphqlError"}
    return data


def serve_github(
    org: SandboxOrg, token: str, latency: float = 0.0, app_public_key: str | None = None, app_id: str | None = None
) -> FakeServer:
    return FakeServer("github", GitHubApp(org, {token}, app_public_key, app_id), latency=latency).start()
