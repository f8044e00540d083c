"""The fake GitHub's REST routes for security and delivery, in GitHub's documented response shapes: the organisation's
Dependabot, code-scanning and secret-scanning alert lists (cursor paging through the Link header; Dependabot offers no
page numbers), GET /orgs/{org}/repos with each repository's security_and_analysis block (left out for a caller
without admin rights), GET /repos/{owner}/{repo}/environments, and code scanning's setup: the organisation's code
security configurations, each one's repositories with their attachment status (both paged by cursor) and
GET /repos/{owner}/{repo}/code-scanning/default-setup (403 where code scanning is not licensed)."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.github.security import Alert, Configuration, Environment
from sandbox.server import json_response

MAX_PAGE = 100
DEFAULT_PAGE = 30
#: the feature's path segment -> the model's alert kind
ALERT_KINDS = {"dependabot": "dependabot", "code-scanning": "code_scanning", "secret-scanning": "secret_scanning"}
#: GitHub's documented answer for a repository's code scanning without an Advanced Security licence (tests serve it
#: for the whole organisation's list through GitHubApp.unavailable_alerts)
CODE_SCANNING_UNLICENSED = (403, "Advanced Security must be enabled for this repository to use code scanning.")
#: a made-up secret literal: GitHub sends the secret unless hide_secret=true, so the fake does too
FAKE_SECRET = "sandbox-leaked-secret-literal-never-stored"


def iso(moment: Any) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cursor_of(index: int) -> str:
    return base64.urlsafe_b64encode(f"cursor:{index}".encode()).decode().rstrip("=")


def index_of(cursor: str) -> int | None:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return None


def link(request: Request, **changes: str) -> str:
    """The same request with `changes` to its query, on the host the client called."""
    args = {**request.args.to_dict(), **changes}
    for key in [k for k, v in args.items() if v is None]:
        del args[key]
    return f"{request.base_url}?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in args.items())


def per_page(request: Request) -> int | None:
    try:
        return min(max(int(request.args.get("per_page", DEFAULT_PAGE)), 1), MAX_PAGE)
    except ValueError:
        return None


def cursor_page(request: Request, items: Sequence[Any]) -> tuple[Sequence[Any], dict[str, str]] | Response:
    """One page of `items` after the `after` cursor, with GitHub's Link header (next / prev only)."""
    size = per_page(request)
    after = request.args.get("after") or ""
    start = 0
    if after:
        position = index_of(after)
        if position is None or size is None:
            return json_response({"message": "Invalid cursor", "documentation_url": DOCS}, 400)
        start = position + 1
    if size is None:
        return json_response({"message": "Validation Failed", "documentation_url": DOCS}, 422)
    page = items[start : start + size]
    links = []
    if start + size < len(items):
        links.append(f'<{link(request, after=cursor_of(start + size - 1), page=None)}>; rel="next"')
    if start:
        links.append(f'<{link(request, before=cursor_of(start), after=None)}>; rel="prev"')
    return page, ({"Link": ", ".join(links)} if links else {})


def numbered_page(request: Request, items: Sequence[Any]) -> tuple[Sequence[Any], dict[str, str]] | Response:
    """One page of `items` by page number, with GitHub's Link header (next, last, first, prev)."""
    size = per_page(request)
    try:
        number = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        size = None
    if size is None:
        return json_response({"message": "Validation Failed", "documentation_url": DOCS}, 422)
    last = max(1, -(-len(items) // size))
    links = {"next": number + 1, "last": last} if number < last else {}
    if number > 1:
        links |= {"first": 1, "prev": number - 1}
    header = ", ".join(f'<{link(request, page=str(n))}>; rel="{rel}"' for rel, n in links.items())
    return items[(number - 1) * size : number * size], ({"Link": header} if header else {})


DOCS = "https://docs.github.com/rest"


class SecurityRoutes:
    """The routes, bound to a GitHubApp (its organisation, viewer and test switches)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def rules(self) -> list[Rule]:
        found = []
        for prefix in ("", "/api/v3"):
            found += [
                Rule(
                    f"{prefix}/orgs/<org>/<any(dependabot, 'code-scanning', 'secret-scanning'):feature>/alerts",
                    endpoint="org_alerts",
                    methods=["GET"],
                ),
                Rule(f"{prefix}/orgs/<org>/repos", endpoint="org_repos", methods=["GET"]),
                Rule(f"{prefix}/repos/<owner>/<repo>/environments", endpoint="environments", methods=["GET"]),
                Rule(f"{prefix}/orgs/<org>/code-security/configurations", endpoint="configurations", methods=["GET"]),
                Rule(
                    f"{prefix}/orgs/<org>/code-security/configurations/<int:configuration>/repositories",
                    endpoint="configuration_repositories",
                    methods=["GET"],
                ),
                Rule(
                    f"{prefix}/repos/<owner>/<repo>/code-scanning/default-setup",
                    endpoint="default_setup",
                    methods=["GET"],
                ),
            ]
        return found

    def routes(self) -> dict[str, Callable[..., Response]]:
        return {
            "org_alerts": self.org_alerts,
            "org_repos": self.org_repos,
            "environments": self.environments,
            "configurations": self.configurations,
            "configuration_repositories": self.configuration_repositories,
            "default_setup": self.default_setup,
        }

    def _send(self, request: Request, body: Any, headers: dict[str, str]) -> Response:
        if self.app.rewrite_rest is not None:
            body = self.app.rewrite_rest(request.path, body)
        return json_response(body, 200, headers)

    @property
    def org(self) -> Any:
        return self.app.org

    def _repository(self, request: Request, name: str) -> dict[str, Any]:
        """GitHub's simple-repository object, as alerts embed it."""
        login = self.org.org_login
        security = self.org.github.security.settings_of(name)
        return {
            "id": zlib.crc32(name.encode()),
            "node_id": f"R_{zlib.crc32(name.encode()):x}",
            "name": name,
            "full_name": f"{login}/{name}",
            "owner": {"login": login, "type": "Organization"},
            "private": security.visibility != "public",
            "html_url": f"https://github.example.test/{login}/{name}",
            "fork": False,
            "url": f"{request.host_url.rstrip('/')}/repos/{login}/{name}",
        }

    def org_alerts(self, request: Request, org: str, feature: str) -> Response:
        if org.lower() != self.org.org_login:
            return json_response({"message": "Not Found", "documentation_url": DOCS}, 404)
        refused = self.app.unavailable_alerts.get(feature)
        if refused is not None:
            status, message = refused
            return json_response({"message": message, "documentation_url": DOCS}, status)
        if feature == "dependabot" and "page" in request.args:
            # Dependabot's organisation list pages by cursor only
            return json_response(
                {"message": "Pagination by page number is not supported", "documentation_url": DOCS}, 400
            )
        kind = ALERT_KINDS[feature]
        alerts = self.org.github.security.alerts_of(kind)
        states = [s for s in (request.args.get("state") or "").split(",") if s]
        if states:
            alerts = [a for a in alerts if a.state in states]
        cursor_paged = feature == "dependabot" or "after" in request.args or "before" in request.args
        page = cursor_page(request, alerts) if cursor_paged else numbered_page(request, alerts)
        if isinstance(page, Response):
            return page
        items, headers = page
        hide_secret = request.args.get("hide_secret", "false").lower() == "true"
        body = [self._alert(request, alert, hide_secret) for alert in items]
        return self._send(request, body, headers)

    def _alert(self, request: Request, alert: Alert, hide_secret: bool) -> dict[str, Any]:
        login = self.org.org_login
        web = f"https://github.example.test/{login}/{alert.repository}"
        api = f"{request.host_url.rstrip('/')}/repos/{login}/{alert.repository}"
        common = {
            "number": alert.number,
            "state": alert.state,
            "created_at": iso(alert.created_at),
            "updated_at": iso(alert.closed_at or alert.created_at),
            "url": f"{api}/{alert.kind.replace('_', '-')}/alerts/{alert.number}",
            "html_url": f"{web}/security/{alert.kind.replace('_', '-')}/{alert.number}",
            "repository": self._repository(request, alert.repository),
        }
        closed = iso(alert.closed_at)
        if alert.kind == "dependabot":
            package = {"ecosystem": "pip", "name": f"package-{alert.number}"}
            return {
                **common,
                "dependency": {"package": package, "manifest_path": "requirements.txt", "scope": "runtime"},
                "security_advisory": {
                    "ghsa_id": f"GHSA-{alert.number:04d}-sand-box0",
                    "cve_id": None,  # documented nullable: many advisories have no CVE
                    "summary": "A vulnerability in a dependency",
                    "severity": alert.severity,
                    "identifiers": [{"type": "GHSA", "value": f"GHSA-{alert.number:04d}-sand-box0"}],
                    "published_at": common["created_at"],
                    "withdrawn_at": None,
                },
                "security_vulnerability": {
                    "package": package,
                    "severity": alert.severity,
                    "vulnerable_version_range": "< 2.0.2",
                    "first_patched_version": {"identifier": "2.0.2"},
                },
                "fixed_at": closed if alert.state == "fixed" else None,
                "dismissed_at": closed if alert.state == "dismissed" else None,
                "dismissed_by": None,
                "dismissed_reason": "tolerable_risk" if alert.state == "dismissed" else None,
                "dismissed_comment": None,
                "auto_dismissed_at": closed if alert.state == "auto_dismissed" else None,
            }
        if alert.kind == "code_scanning":
            return {
                **common,
                "fixed_at": closed if alert.state == "fixed" else None,
                "dismissed_at": closed if alert.state == "dismissed" else None,
                "dismissed_by": None,
                "dismissed_reason": "won't fix" if alert.state == "dismissed" else None,
                "dismissed_comment": None,
                "rule": {
                    "id": "py/sql-injection" if alert.severity else "py/unused-import",
                    "severity": "error" if alert.severity else "note",
                    "description": "A code scanning rule",
                    "name": "rule",
                    "tags": ["security"] if alert.severity else ["maintainability"],
                    # null for a rule that is not a security query (documented nullable)
                    "security_severity_level": alert.severity,
                },
                "tool": {"name": "CodeQL", "guid": None, "version": "2.19.0"},
                "most_recent_instance": {
                    "ref": "refs/heads/main",
                    "analysis_key": ".github/workflows/codeql.yml:analyze",
                    "state": alert.state,
                    "commit_sha": f"{zlib.crc32(alert.id.encode()):040x}"[:40],
                    "message": {"text": "Finding"},
                    "location": {"path": "app.py", "start_line": 1, "end_line": 1},
                },
            }
        body = {
            **common,
            "resolution": "revoked" if alert.state == "resolved" else None,
            "resolved_at": closed if alert.state == "resolved" else None,
            "resolved_by": None,
            "resolution_comment": None,
            "secret_type": "github_personal_access_token",
            "secret_type_display_name": "GitHub Personal Access Token",
            "validity": "active" if alert.state == "open" else "inactive",
            "push_protection_bypassed": False,
            "push_protection_bypassed_by": None,
            "push_protection_bypassed_at": None,
            "publicly_leaked": False,
            "multi_repo": False,
        }
        if not hide_secret:
            body["secret"] = FAKE_SECRET
        return body

    def org_repos(self, request: Request, org: str) -> Response:
        if org.lower() != self.org.org_login:
            return json_response({"message": "Not Found", "documentation_url": DOCS}, 404)
        repos = sorted(self.org.github.repositories, key=lambda r: r.name)
        page = numbered_page(request, repos)
        if isinstance(page, Response):
            return page
        items, headers = page
        body = []
        for repo in items:
            security = self.org.github.security.settings_of(repo.name)
            item = {
                **self._repository(request, repo.name),
                "archived": repo.archived,
                "disabled": False,
                "visibility": security.visibility,
                "default_branch": None if repo.empty else "main",
                "size": 0 if repo.empty else 1024,
            }
            # shown to owners, security managers and repository admins only: otherwise simply absent
            if self.app.viewer_is_owner and security.settings is not None:
                item["security_and_analysis"] = security.settings
            body.append(item)
        return self._send(request, body, headers)

    def environments(self, request: Request, owner: str, repo: str) -> Response:
        names = {r.name for r in self.org.github.repositories}
        if owner.lower() != self.org.org_login or repo not in names:
            return json_response({"message": "Not Found", "documentation_url": DOCS}, 404)
        environments = self.org.github.security.environments_of(repo)
        page = numbered_page(request, environments)
        if isinstance(page, Response):
            return page
        items, headers = page
        body = {
            "total_count": len(environments),
            "environments": [self._environment(request, e) for e in items],
        }
        return self._send(request, body, headers)

    def _environment(self, request: Request, environment: Environment) -> dict[str, Any]:
        login = self.org.org_login
        key = zlib.crc32(environment.id.encode())
        quoted = quote(environment.name)
        rules: list[dict[str, Any]] = []
        if environment.wait_timer:
            rules.append(
                {
                    "id": key + 1,
                    "node_id": f"GA_{key + 1:x}",
                    "type": "wait_timer",
                    "wait_timer": environment.wait_timer,
                }
            )
        if environment.reviewers:
            reviewers = []
            for entry in environment.reviewers:
                kind, name = entry.split(":", 1)
                reviewer = {"login": name, "type": "User"} if kind == "User" else {"slug": name, "name": name}
                reviewers.append({"type": kind, "reviewer": {"id": zlib.crc32(name.encode()), **reviewer}})
            rules.append(
                {
                    "id": key + 2,
                    "node_id": f"GA_{key + 2:x}",
                    "type": "required_reviewers",
                    "prevent_self_review": True,
                    "reviewers": reviewers,
                }
            )
        if environment.branch_policy != "any":
            rules.append({"id": key + 3, "node_id": f"GA_{key + 3:x}", "type": "branch_policy"})
        policy = None
        if environment.branch_policy != "any":
            protected = environment.branch_policy == "protected_branches"
            policy = {"protected_branches": protected, "custom_branch_policies": not protected}
        return {
            "id": key,
            "node_id": f"EN_{key:x}",
            "name": environment.name,
            "url": f"{request.host_url.rstrip('/')}/repos/{login}/{environment.repository}/environments/{quoted}",
            "html_url": f"https://github.example.test/{login}/{environment.repository}/deployments?environment={quoted}",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-06-01T00:00:00Z",
            "can_admins_bypass": environment.can_admins_bypass,
            "protection_rules": rules,
            # null: any branch may deploy
            "deployment_branch_policy": policy,
        }

    def configurations(self, request: Request, org: str) -> Response:
        """GET /orgs/{org}/code-security/configurations: cursor paging only (before / after from the Link header),
        `target_type` global or all (the default)."""
        if org.lower() != self.org.org_login:
            return json_response({"message": "Not Found", "documentation_url": DOCS}, 404)
        target = request.args.get("target_type", "all")
        if target not in ("global", "all"):
            return json_response({"message": "Validation Failed", "documentation_url": DOCS}, 422)
        listed = [c for c in self.org.github.security.configurations if target == "all" or c.target_type == "global"]
        page = cursor_page(request, listed)
        if isinstance(page, Response):
            return page
        items, headers = page
        return self._send(request, [self._configuration(request, c) for c in items], headers)

    def _configuration(self, request: Request, configuration: Configuration) -> dict[str, Any]:
        """A code-security-configuration object with its documented fields, the nullable ones null where a real
        configuration leaves them unset."""
        enabled = configuration.default_setup == "enabled"
        web = f"https://github.example.test/organizations/{self.org.org_login}/settings/security_products"
        return {
            "id": configuration.id,
            "name": configuration.name,
            "target_type": configuration.target_type,
            "description": configuration.description,
            "advanced_security": "enabled" if enabled else "disabled",
            "dependency_graph": "enabled",
            "dependency_graph_autosubmit_action": "not_set",
            "dependency_graph_autosubmit_action_options": {"labeled_runners": False},
            "dependabot_alerts": "enabled",
            "dependabot_security_updates": "enabled",
            "dependabot_delegated_alert_dismissal": None,
            "code_scanning_options": None,
            "code_scanning_default_setup": configuration.default_setup,
            "code_scanning_default_setup_options": {"runner_type": "standard", "runner_label": None}
            if enabled
            else None,
            "code_scanning_delegated_alert_dismissal": "not_set",
            "secret_scanning": "enabled",
            "secret_scanning_push_protection": "enabled",
            "secret_scanning_delegated_bypass": "disabled",
            "secret_scanning_delegated_bypass_options": {"reviewers": []},
            "secret_scanning_validity_checks": "disabled",
            "secret_scanning_non_provider_patterns": "disabled",
            "secret_scanning_generic_secrets": "disabled",
            "secret_scanning_delegated_alert_dismissal": "not_set",
            "secret_scanning_extended_metadata": "not_set",
            "private_vulnerability_reporting": "disabled",
            "enforcement": configuration.enforcement,
            "url": f"{request.host_url.rstrip('/')}/orgs/{self.org.org_login}/code-security/configurations/"
            f"{configuration.id}",
            "html_url": f"{web}/configurations/{configuration.id}/view",
            "created_at": "2025-03-01T10:00:00Z",
            "updated_at": "2025-09-01T10:00:00Z",
        }

    def configuration_repositories(self, request: Request, org: str, configuration: int) -> Response:
        """GET /orgs/{org}/code-security/configurations/{id}/repositories: every attachment status by default
        (`status` a comma list, `all` included), cursor paging, each entry {status, repository}."""
        security = self.org.github.security
        if org.lower() != self.org.org_login or configuration not in {c.id for c in security.configurations}:
            return json_response({"message": "Not Found", "documentation_url": DOCS}, 404)
        wanted = {s for s in (request.args.get("status") or "all").split(",") if s}
        names = [r.name for r in self.org.github.repositories]
        attachments = [
            a for a in security.attachments_of(configuration, names) if "all" in wanted or a.status in wanted
        ]
        page = cursor_page(request, attachments)
        if isinstance(page, Response):
            return page
        items, headers = page
        body = [{"status": a.status, "repository": self._repository(request, a.repository)} for a in items]
        return self._send(request, body, headers)

    def default_setup(self, request: Request, owner: str, repo: str) -> Response:
        """GET /repos/{owner}/{repo}/code-scanning/default-setup: 403 where Advanced Security / Code Security is not
        enabled (GitHub's documented answer), else the state with the documented nullable fields."""
        names = {r.name for r in self.org.github.repositories}
        if owner.lower() != self.org.org_login or repo not in names:
            return json_response({"message": "Not Found", "documentation_url": DOCS}, 404)
        security = self.org.github.security
        if not security.code_licensed(repo):
            status, message = CODE_SCANNING_UNLICENSED
            return json_response({"message": message, "documentation_url": DOCS}, status)
        configured = security.setup_of(repo).configured
        body = {
            "state": "configured" if configured else "not-configured",
            "languages": ["python", "javascript-typescript"] if configured else [],
            "runner_type": "standard" if configured else None,
            "runner_label": None,
            "query_suite": "default",
            "threat_model": "remote",
            "updated_at": "2025-10-01T08:00:00Z" if configured else None,
            "schedule": "weekly" if configured else None,
        }
        return self._send(request, body, {})
