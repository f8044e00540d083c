"""GitHub security and delivery: the organisation's Dependabot, code-scanning and secret-scanning alerts, each
repository's security settings, and each environment's protection rules.

Requests (A_k alerts of kind k, every state; R repositories, R_e of them non-archived with E_r ≥ 1 environments):
- dependabot_alerts, code_scanning_alerts, secret_scanning_alerts   max(1, ⌈A_k/100⌉) each   REST, Link rel="next"
- repository_security   max(1, ⌈R/100⌉) REST GET /orgs/{org}/repos (security_and_analysis) + max(1, ⌈R/100⌉)
                        GraphQL (hasVulnerabilityAlertsEnabled), the two walks in turns
- environments          max(1, ⌈R/100⌉) GraphQL (which repositories have environments)
                        + Σ_{r ∈ R_e} max(1, ⌈E_r/100⌉) REST GET /repos/{owner}/{repo}/environments

What GitHub does not show is NULL (unknown), never "off": the security_and_analysis block it leaves out for a caller
without admin rights, a field a GraphQL viewer is FORBIDDEN, an alert list GitHub refuses because the feature is not
enabled or licensed (one `unavailable` row; zero alerts from an unscanned repository prove nothing)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from github import Github, GithubException

from connectors.github.streams import (
    PAGE_SIZE,
    GitHubGraphQLError,
    GraphQLStream,
    Task,
    classify_github,
    next_link,
    page_cursor,
    truncated,
)
from connectors.stream import SourceError, Stream

#: GitHub's documented answers for an alert list whose feature is off or not licensed (e.g. 403 "Advanced Security
#: must be enabled for this repository to use code scanning", 404 "Secret scanning is disabled on this repository").
#: Any other refusal ("Resource not accessible by integration", "Must have admin rights") fails the dataset.
FEATURE_UNAVAILABLE = re.compile(
    r"advanced security must be enabled"
    r"|(?:code scanning|secret scanning|dependabot alerts|advanced security|secret protection|code security)"
    r" (?:is|are) (?:not enabled|disabled)"
    r"|not licensed",
    re.IGNORECASE,
)
#: GraphQL says MODERATE where REST says medium (SOURCES-2 §1.7): one vocabulary in the warehouse
SEVERITY_ALIASES = {"moderate": "medium"}


def normalise_severity(severity: str | None) -> str | None:
    if not severity:
        return None
    severity = severity.lower()
    return SEVERITY_ALIASES.get(severity, severity)


def refusal_message(exc: GithubException) -> str | None:
    return exc.data.get("message") if isinstance(exc.data, dict) else None


class OrganizationAlerts(Stream):
    """One organisation-level alert list, every state, 100 a page, following GitHub's `Link: rel="next"` verbatim
    (these lists page by cursor: a page number is never built). Subclasses name the feature and flatten an alert."""

    source = "github"
    #: the path segment: dependabot | code-scanning | secret-scanning
    feature: str = ""
    #: what every first request adds to per_page
    query: dict[str, str] = {}
    columns: tuple[str, ...] = ()

    def __init__(self, client: Github, org: str) -> None:
        self.client = client
        self.org = org
        self._path = f"/orgs/{quote(org)}/{self.feature}/alerts"
        self.endpoint = f"{client.requester.base_url}{self._path}"
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {"org": self.org, "per_page": PAGE_SIZE, "state": "every state", **self.query}

    def params(self, cursor: Any) -> dict[str, Any]:
        return {"per_page": PAGE_SIZE, **self.query} if cursor is None else {"url": cursor}

    def request(self, cursor: Any) -> Any:
        requester = self.client.requester
        try:
            if cursor is None:
                headers, data = requester.requestJsonAndCheck(
                    "GET", self._path, parameters={"per_page": PAGE_SIZE, **self.query}
                )
            else:
                headers, data = requester.requestJsonAndCheck("GET", cursor)
        except GithubException as exc:
            message = refusal_message(exc)
            if exc.status in (403, 404) and classify_github(exc) is None and FEATURE_UNAVAILABLE.search(message or ""):
                return {"unavailable": f"{exc.status} {message}"}
            raise
        if not isinstance(data, list):
            raise SourceError(f"github.{self.dataset}: GitHub answered {self._path} with no list of alerts")
        return {"alerts": data, "next": next_link(headers)}

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        if "unavailable" in payload:
            self.provenance.parameters["unavailable"] = payload["unavailable"]
            yield {**dict.fromkeys(self.columns), "org": self.org, "unavailable": payload["unavailable"]}
            return
        for alert in payload["alerts"]:
            if not isinstance(alert, dict):
                raise SourceError(f"github.{self.dataset}: GitHub returned a null alert in the list")
            record = {**dict.fromkeys(self.columns), **self.flatten(alert)}
            record.update(
                org=self.org,
                repository=(alert.get("repository") or {}).get("full_name"),
                number=alert.get("number"),
                state=alert.get("state"),
                created_at=alert.get("created_at"),
                updated_at=alert.get("updated_at"),
                html_url=alert.get("html_url"),
                unavailable=None,
                raw=json.dumps(self.kept(alert), sort_keys=True),
            )
            yield record

    def next_cursor(self, payload: Any) -> Any:
        return payload.get("next")

    def flatten(self, alert: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def kept(self, alert: dict[str, Any]) -> dict[str, Any]:
        """The alert as stored in `raw`."""
        return alert

    def classify(self, exc: Exception) -> Any:
        return classify_github(exc)


COMMON_ALERT_COLUMNS = ("org", "repository", "number", "state", "created_at", "updated_at", "html_url", "unavailable")


class DependabotAlerts(OrganizationAlerts):
    """GET /orgs/{org}/dependabot/alerts: every state (open, fixed, dismissed, auto_dismissed), so a fix's date is
    evidence too; Dependabot alerts need no Advanced Security licence."""

    dataset = "dependabot_alerts"
    feature = "dependabot"
    columns = (
        *COMMON_ALERT_COLUMNS,
        "severity",
        "ghsa_id",
        "cve_id",
        "package_ecosystem",
        "package_name",
        "manifest_path",
        "dependency_scope",
        "fixed_at",
        "dismissed_at",
        "auto_dismissed_at",
        "dismissed_reason",
        "raw",
    )

    def flatten(self, alert: dict[str, Any]) -> dict[str, Any]:
        advisory = alert.get("security_advisory") or {}
        vulnerability = alert.get("security_vulnerability") or {}
        dependency = alert.get("dependency") or {}
        package = dependency.get("package") or vulnerability.get("package") or {}
        return {
            "severity": normalise_severity(advisory.get("severity") or vulnerability.get("severity")),
            "ghsa_id": advisory.get("ghsa_id"),
            "cve_id": advisory.get("cve_id"),
            "package_ecosystem": package.get("ecosystem"),
            "package_name": package.get("name"),
            "manifest_path": dependency.get("manifest_path"),
            "dependency_scope": dependency.get("scope"),
            "fixed_at": alert.get("fixed_at"),
            "dismissed_at": alert.get("dismissed_at"),
            "auto_dismissed_at": alert.get("auto_dismissed_at"),
            "dismissed_reason": alert.get("dismissed_reason"),
        }


class CodeScanningAlerts(OrganizationAlerts):
    """GET /orgs/{org}/code-scanning/alerts: every state, the default branch only (GitHub's org list covers no
    other branch), for repositories where code scanning runs."""

    dataset = "code_scanning_alerts"
    feature = "code-scanning"
    columns = (
        *COMMON_ALERT_COLUMNS,
        "security_severity",
        "rule_severity",
        "rule_id",
        "tool_name",
        "ref",
        "fixed_at",
        "dismissed_at",
        "dismissed_reason",
        "raw",
    )

    def flatten(self, alert: dict[str, Any]) -> dict[str, Any]:
        rule = alert.get("rule") or {}
        return {
            # null for a rule that is not a security query: such an alert has no severity to hold an SLA to
            "security_severity": normalise_severity(rule.get("security_severity_level")),
            "rule_severity": rule.get("severity"),
            "rule_id": rule.get("id"),
            "tool_name": (alert.get("tool") or {}).get("name"),
            "ref": (alert.get("most_recent_instance") or {}).get("ref"),
            "fixed_at": alert.get("fixed_at"),
            "dismissed_at": alert.get("dismissed_at"),
            "dismissed_reason": alert.get("dismissed_reason"),
        }


#: what of a secret-scanning alert is never stored: the secret itself (GitHub sends it unless hide_secret=true)
SECRET_FIELDS = frozenset({"secret"})


class SecretScanningAlerts(OrganizationAlerts):
    """GET /orgs/{org}/secret-scanning/alerts?hide_secret=true: every state (open, resolved). The secret literal is
    asked to be left out, and dropped if GitHub sends it anyway. An empty `after` asks for cursor paging (GitHub's
    documented way to receive an initial cursor)."""

    dataset = "secret_scanning_alerts"
    feature = "secret-scanning"
    query = {"hide_secret": "true", "after": ""}
    columns = (
        *COMMON_ALERT_COLUMNS,
        "secret_type",
        "secret_type_display_name",
        "validity",
        "resolution",
        "resolved_at",
        "push_protection_bypassed",
        "publicly_leaked",
        "raw",
    )

    def flatten(self, alert: dict[str, Any]) -> dict[str, Any]:
        return {
            "secret_type": alert.get("secret_type"),
            "secret_type_display_name": alert.get("secret_type_display_name"),
            "validity": alert.get("validity"),
            "resolution": alert.get("resolution"),
            "resolved_at": alert.get("resolved_at"),
            "push_protection_bypassed": alert.get("push_protection_bypassed"),
            "publicly_leaked": alert.get("publicly_leaked"),
        }

    def kept(self, alert: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in alert.items() if key not in SECRET_FIELDS}


#: the security_and_analysis members recorded (each {status: enabled|disabled}; a key GitHub leaves out is NULL)
SECURITY_SETTINGS = (
    "advanced_security",
    "code_security",
    "secret_protection",
    "secret_scanning",
    "secret_scanning_push_protection",
    "dependabot_security_updates",
)
SETTINGS_HIDDEN = (
    "GitHub did not show the repository's security settings (security_and_analysis is shown to organisation owners, "
    "security managers and repository admins only)"
)


#: a walk's position once it has read its last page
DONE = "done"


class RepositorySecurity(GraphQLStream):
    """Every repository's security settings, from two walks of the repositories taken in turns, both ordered by name
    and 100 a page: REST `GET /orgs/{org}/repos?sort=full_name` for the `security_and_analysis` block (shown to
    owners, security managers and repository admins only: an absent block is unknown, not disabled), and GraphQL
    `hasVulnerabilityAlertsEnabled` (Dependabot alerts on or off). A repository is yielded once both walks have shown
    it; one GraphQL did not show by the end of its walk is yielded with the flag NULL (unknown). One record per
    repository of the REST list.

    The cursor is (next walk, REST position, GraphQL position): None before a walk's first page, then the REST
    Link URL or the GraphQL endCursor, then DONE."""

    dataset = "repository_security"
    query_name = "repository_security"
    connection_path = ("organization", "repositories")

    def __init__(self, client: Github, org: str) -> None:
        #: repository name -> hasVulnerabilityAlertsEnabled, for the repositories GraphQL showed
        self.vulnerability_alerts: dict[str, bool] = {}
        #: repositories REST listed before GraphQL showed them, by name (released as GraphQL pages arrive)
        self._held: dict[str, dict[str, Any]] = {}
        self._graphql_done = False
        self._graphql_gaps: list[str] = []
        self._repos_path = f"/orgs/{quote(org)}/repos"
        super().__init__(client, org)
        self._graphql_url = self.endpoint
        self._at(self._position(None))

    def parameters(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "query": self.query_name,
            "page_size": PAGE_SIZE,
            "rest": "GET /orgs/{org}/repos?sort=full_name",
        }

    @staticmethod
    def _position(cursor: Any) -> tuple[str, Any, Any]:
        return cursor or ("rest", None, None)

    def _at(self, cursor: tuple[str, Any, Any]) -> None:
        rest = cursor[0] == "rest"
        self.endpoint = f"{self.client.requester.base_url}{self._repos_path}" if rest else self._graphql_url
        self.method = "GET" if rest else "POST"

    def page_scope(self, cursor: Any) -> Any:
        return self._position(cursor)[0]

    def params(self, cursor: Any) -> dict[str, Any]:
        kind, rest, graphql = self._position(cursor)
        if kind == "graphql":
            return {"org": self.org, "pageSize": PAGE_SIZE, "cursor": graphql}
        return dict(REPOSITORY_LIST) if rest is None else {"url": rest}

    def request(self, cursor: Any) -> Any:
        self._cursor = self._position(cursor)  # next_cursor continues from the position this page was asked at
        kind, rest, _ = self._cursor
        if kind == "graphql":
            try:
                data = self.graphql(self.query_name, self.params(cursor))
            except GitHubGraphQLError as exc:
                # a viewer refused the flag on some repositories gets them null beside the others: keep the rest
                if exc.types != {"FORBIDDEN"} or not (exc.payload or {}).get("data"):
                    raise
                self._graphql_gaps.append(str(exc))
                data = exc.payload
            return {"kind": "graphql", "data": data}
        requester = self.client.requester
        if rest is None:
            headers, data = requester.requestJsonAndCheck("GET", self._repos_path, parameters=dict(REPOSITORY_LIST))
        else:
            headers, data = requester.requestJsonAndCheck("GET", rest)
        if not isinstance(data, list):
            raise SourceError(f"github.{self.dataset}: GitHub answered {self._repos_path} with no list")
        return {"kind": "rest", "repos": data, "next": next_link(headers)}

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        if payload["kind"] == "graphql":
            connection = self.connection(payload["data"])
            nodes = connection.get("nodes")
            if nodes is None:
                raise SourceError(f"github.{self.dataset}: GitHub returned no repository list (nodes is null)")
            for node in nodes:
                if node is not None and node.get("hasVulnerabilityAlertsEnabled") is not None:
                    self.vulnerability_alerts[node["name"]] = bool(node["hasVulnerabilityAlertsEnabled"])
            self._graphql_done = not (connection.get("pageInfo") or {}).get("hasNextPage")
            released = [name for name in self._held if self._graphql_done or name in self.vulnerability_alerts]
            return [self.record(self._held.pop(name)) for name in released]
        records = []
        for repo in payload["repos"]:
            if not isinstance(repo, dict) or not repo.get("name"):
                raise SourceError(f"github.{self.dataset}: GitHub returned a repository without its name")
            if self._graphql_done or repo["name"] in self.vulnerability_alerts:
                records.append(self.record(repo))
            else:
                self._held[repo["name"]] = repo
        return records

    def record(self, repo: dict[str, Any]) -> dict[str, Any]:
        block = repo.get("security_and_analysis")
        incomplete = [] if isinstance(block, dict) else [SETTINGS_HIDDEN]
        alerts = self.vulnerability_alerts.get(repo["name"])
        if alerts is None:
            incomplete.append(
                "GitHub did not show whether Dependabot alerts are on (hasVulnerabilityAlertsEnabled)"
                + (f": {'; '.join(self._graphql_gaps)[:300]}" if self._graphql_gaps else "")
            )
        visibility = repo.get("visibility") or (
            None if repo.get("private") is None else "private" if repo["private"] else "public"
        )
        return {
            "org": self.org,
            "name": repo["name"],
            "full_name": repo.get("full_name") or f"{self.org}/{repo['name']}",
            "url": repo.get("html_url"),
            "is_archived": repo.get("archived"),
            "is_fork": repo.get("fork"),
            "visibility": visibility,
            "settings_shown": isinstance(block, dict),
            **{key: ((block or {}).get(key) or {}).get("status") for key in SECURITY_SETTINGS},
            "vulnerability_alerts": alerts,
            "incomplete": incomplete,
            "raw": json.dumps(repo, sort_keys=True),
        }

    def next_cursor(self, payload: Any) -> Any:
        kind, rest, graphql = self._cursor
        if payload["kind"] == "graphql":
            after = page_cursor(self.connection(payload["data"]), f"github.{self.dataset}: organization.repositories")
            graphql = after or DONE
        else:
            rest = payload.get("next") or DONE
        if rest == DONE and graphql == DONE:
            return None
        # take turns; a walk that has ended leaves the other to finish
        following = "graphql" if kind == "rest" else "rest"
        if (rest if following == "rest" else graphql) == DONE:
            following = kind
        cursor = (following, rest, graphql)
        self._at(cursor)
        return cursor


#: the REST list of the organisation's repositories, in the order GraphQL's NAME ordering walks them
REPOSITORY_LIST = {"per_page": PAGE_SIZE, "type": "all", "sort": "full_name", "direction": "asc"}


ENVIRONMENT_COLUMNS = (
    "org",
    "repository",
    "name",
    "url",
    "can_admins_bypass",
    "reviewers",
    "prevent_self_review",
    "wait_timer",
    "branch_policy",
    "incomplete",
    "raw",
)


class Environments(GraphQLStream):
    """Each environment of each non-archived repository, with its protection rules.

    GraphQL walks the repositories 100 a page and tells which have environments (`environments.totalCount`); each
    of those gets REST `GET /repos/{owner}/{repo}/environments` (100 a page), which alone shows `can_admins_bypass`
    and whether the deployment branch policy is protected branches or custom patterns. A repository's environments
    are held until its last page, so a list shorter than its `total_count` is one unknown row, never a silent gap.
    The cursor is the work queue (tasks as in QueuedGraphQLStream); follow-ups run before the next repository page."""

    dataset = "environments"
    query_name = "repository_environments"
    connection_path = ("organization", "repositories")

    def __init__(self, client: Github, org: str) -> None:
        #: repository full name -> environments read so far
        self._pending: dict[str, list[dict[str, Any]]] = {}
        super().__init__(client, org)
        self._graphql_url = self.endpoint

    def parameters(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "query": self.query_name,
            "page_size": PAGE_SIZE,
            "rest": "GET /repos/{owner}/{repo}/environments",
        }

    def _queue(self, cursor: Any) -> tuple[Task, ...]:
        return cursor if cursor is not None else (("repositories", None),)

    def _at(self, queue: tuple[Task, ...]) -> None:
        rest = queue[0][0] == "environments"
        self.endpoint = (
            f"{self.client.requester.base_url}/repos/{{owner}}/{{repo}}/environments" if rest else self._graphql_url
        )
        self.method = "GET" if rest else "POST"

    def page_scope(self, cursor: Any) -> Any:
        return self._queue(cursor)[0][:-1]

    def params(self, cursor: Any) -> dict[str, Any]:
        task = self._queue(cursor)[0]
        if task[0] == "repositories":
            return {"org": self.org, "pageSize": PAGE_SIZE, "cursor": task[1]}
        return {"repository": task[1], "per_page": PAGE_SIZE} if task[2] is None else {"url": task[2]}

    def request(self, cursor: Any) -> Any:
        self._current = self._queue(cursor)
        task = self._current[0]
        if task[0] == "repositories":
            return {"kind": "repositories", "data": self.graphql(self.query_name, self.params(cursor))}
        _, full_name, url = task
        requester = self.client.requester
        try:
            if url is None:
                headers, data = requester.requestJsonAndCheck(
                    "GET", f"/repos/{quote(full_name)}/environments", parameters={"per_page": PAGE_SIZE}
                )
            else:
                headers, data = requester.requestJsonAndCheck("GET", url)
        except GithubException as exc:
            if exc.status != 404:
                raise
            # the repository vanished (or was renamed) between the walk and this call: say so on its own row
            return {"kind": "environments", "missing": f"404 {refusal_message(exc) or 'Not Found'}"}
        if not isinstance(data, dict) or not isinstance(data.get("environments"), list):
            raise SourceError(f"github.{self.dataset}: GitHub answered {full_name}'s environments with no list")
        return {"kind": "environments", "body": data, "next": next_link(headers)}

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        task = self._current[0]
        self._follow_ups: list[Task] = []
        if payload["kind"] == "repositories":
            nodes = self.connection(payload["data"]).get("nodes")
            if nodes is None:
                raise SourceError(f"github.{self.dataset}: GitHub returned no repository list (nodes is null)")
            for repo in nodes:
                if repo is None:
                    raise SourceError(
                        f"github.{self.dataset}: GitHub returned a null repository in the list; "
                        "the organisation's environments cannot all be found"
                    )
                if not repo["isArchived"] and repo["environments"]["totalCount"] > 0:
                    self._pending[repo["nameWithOwner"]] = []
                    self._follow_ups.append(("environments", repo["nameWithOwner"], None))
            return []
        full_name = task[1]
        if "missing" in payload:
            del self._pending[full_name]
            return [self._repository_row(full_name, [f"its environments could not be read: {payload['missing']}"])]
        body = payload["body"]
        self._pending[full_name] += body["environments"]
        if payload.get("next"):
            self._follow_ups.append(("environments", full_name, payload["next"]))
            return []
        environments = self._pending.pop(full_name)
        records = [self.record(full_name, environment) for environment in environments]
        gaps = truncated(body.get("total_count"), len(environments), "environments")
        return records + ([self._repository_row(full_name, gaps)] if gaps else [])

    def next_cursor(self, payload: Any) -> Any:
        task = self._current[0]
        follow_ups = list(self._follow_ups)
        if task[0] == "repositories":
            after = page_cursor(self.connection(payload["data"]), f"github.{self.dataset}: organization.repositories")
            if after:
                follow_ups.append(("repositories", after))
        queue = tuple(follow_ups) + self._current[1:]
        if not queue:
            return None
        self._at(queue)
        return queue

    def _repository_row(self, full_name: str, incomplete: list[str]) -> dict[str, Any]:
        """A row for the repository itself (no environment name): what of its environments could not be read."""
        return {
            **dict.fromkeys(ENVIRONMENT_COLUMNS),
            "org": self.org,
            "repository": full_name,
            "incomplete": incomplete,
        }

    def record(self, full_name: str, environment: Any) -> dict[str, Any]:
        if not isinstance(environment, dict) or not environment.get("name"):
            return self._repository_row(full_name, ["GitHub returned an environment without its name"])
        incomplete: list[str] = []
        rules = environment.get("protection_rules")
        if not isinstance(rules, list):
            incomplete.append("GitHub did not show the environment's protection rules")
            rules = []
        reviewers: list[str] = []
        prevent_self_review = wait_timer = None
        for rule in rules:
            kind = (rule or {}).get("type")
            if kind == "required_reviewers":
                prevent_self_review = rule.get("prevent_self_review")
                for entry in rule.get("reviewers") or []:
                    reviewer = (entry or {}).get("reviewer") or {}
                    name = reviewer.get("login") or reviewer.get("slug")
                    if name is None:
                        incomplete.append("a required reviewer GitHub did not resolve")
                    else:
                        reviewers.append(f"{(entry.get('type') or '').lower() or 'reviewer'}:{name}")
            elif kind == "wait_timer":
                wait_timer = rule.get("wait_timer")
            elif kind is None:
                incomplete.append("a protection rule GitHub did not resolve")
        return {
            "org": self.org,
            "repository": full_name,
            "name": environment["name"],
            "url": environment.get("html_url"),
            "can_admins_bypass": environment.get("can_admins_bypass"),
            "reviewers": reviewers,
            "prevent_self_review": prevent_self_review,
            "wait_timer": wait_timer,
            "branch_policy": branch_policy(environment),
            "incomplete": incomplete,
            "raw": json.dumps(environment, sort_keys=True),
        }


def branch_policy(environment: dict[str, Any]) -> str | None:
    """`deployment_branch_policy`: null means any branch may deploy; absent means GitHub did not say (unknown)."""
    if "deployment_branch_policy" not in environment:
        return None
    policy = environment["deployment_branch_policy"]
    if policy is None:
        return "any"
    if policy.get("protected_branches"):
        return "protected_branches"
    if policy.get("custom_branch_policies"):
        return "custom"
    return None
