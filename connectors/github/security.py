"""GitHub security and delivery: the organisation's Dependabot, code-scanning and secret-scanning alerts, each
repository's security settings, and each environment's protection rules.

Requests (A_k alerts of kind k, every state; R repositories, R_e of them non-archived with E_r ≥ 1 environments):
- dependabot_alerts, code_scanning_alerts, secret_scanning_alerts   max(1, ⌈A_k/100⌉) each   REST, Link rel="next"
- repository_security   max(1, ⌈R/100⌉) REST GET /orgs/{org}/repos (security_and_analysis) + max(1, ⌈R/100⌉)
                        GraphQL (hasVulnerabilityAlertsEnabled), the two walks in turns
- environments          max(1, ⌈R/100⌉) GraphQL (which repositories have environments)
                        + Σ_{r ∈ R_e} max(1, ⌈E_r/100⌉) REST GET /repos/{owner}/{repo}/environments
- code_scanning_setup   max(1, ⌈C/100⌉) + Σ_c max(1, ⌈A_c/100⌉) + max(1, ⌈R/100⌉) + F   REST (C code security
                        configurations, A_c attachments of configuration c, F active repositories no trusted
                        attachment proves: one GET /repos/{owner}/{repo}/code-scanning/default-setup each)

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
    r"(?:advanced|code) security must be enabled"
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


#: attachment statuses under which a repository has its configuration's settings (GitHub's "configuration
#: statuses" reference: attached inherits all settings, enforced also forbids overrides); attaching, updating,
#: failed, removed, removed_by_enterprise and detached prove nothing of the repository's setup
TRUSTED_ATTACHMENTS = frozenset({"attached", "enforced"})
#: what a configuration's code_scanning_default_setup says the attachment did: not_set leaves the repository alone
STATED_DEFAULT_SETUP = frozenset({"enabled", "disabled"})
#: GET /orgs/{org}/code-security/configurations/{id}/repositories, every attachment status
ATTACHMENT_LIST = {"per_page": PAGE_SIZE, "status": "all"}
SETUP_COLUMNS = (
    "org",
    "evidence",
    "repository",
    "url",
    "is_archived",
    "visibility",
    "code_licensed",
    "configuration_id",
    "configuration_name",
    "configuration_target_type",
    "configuration_default_setup",
    "configuration_enforcement",
    "attachment_status",
    "state",
    "languages",
    "query_suite",
    "setup_updated_at",
    "unavailable",
    "raw",
)


def code_licensed(repo: dict[str, Any]) -> bool | None:
    """Can code scanning run on this repository of GET /orgs/{org}/repos? Public repositories need no licence; a
    private or internal one needs Code Security (or Advanced Security) enabled; None when GitHub hid the block."""
    if repo.get("visibility") == "public" or repo.get("private") is False:
        return True
    block = repo.get("security_and_analysis")
    if not isinstance(block, dict):
        return None
    return any((block.get(key) or {}).get("status") == "enabled" for key in ("code_security", "advanced_security"))


class CodeScanningSetup(Stream):
    """Whether code scanning's default setup is configured on each active repository, with the fewest calls.

    The organisation's code security configurations (GET /orgs/{org}/code-security/configurations, 100 a page by
    cursor) and each one's repositories in every attachment status (.../configurations/{id}/repositories?status=all)
    state most repositories' setup: an `attached` or `enforced` attachment to a configuration whose
    code_scanning_default_setup is `enabled` or `disabled`. Any other attachment (failed, attaching, updating,
    removed, detached), none, a configuration that leaves default setup `not_set`, or an `enabled` one on a
    repository whose Code Security licence GitHub did not show as on, proves nothing: those active repositories get
    GET /repos/{owner}/{repo}/code-scanning/default-setup (configured / not-configured; 403 not licensed and 404 are
    one row saying so). GET /orgs/{org}/repos (100 a page) gives the repositories, archived or not, and licences.

        requests = max(1, ⌈C/100⌉) + Σ_c max(1, ⌈A_c/100⌉) + max(1, ⌈R/100⌉) + F

    (C configurations, A_c attachments of configuration c, R repositories, F active repositories whose attachment
    proves nothing). Rows, one per thing GitHub said (`evidence`): each configuration, each attachment, each
    repository and each default-setup answer; the control combines them. The cursor is the work queue (tasks as in
    QueuedGraphQLStream), follow-ups first, so every attachment is read before the repositories are judged."""

    source = "github"
    dataset = "code_scanning_setup"

    def __init__(self, client: Github, org: str) -> None:
        self.client = client
        self.org = org
        self._org_path = f"/orgs/{quote(org)}"
        #: configuration id -> the configuration object, as listed
        self._configurations: dict[int, dict[str, Any]] = {}
        #: repository full name -> configuration id of a trusted attachment stating default setup
        self._stated: dict[str, int] = {}
        self._current: tuple[Task, ...] = ()
        self._follow_ups: list[Task] = []
        self.endpoint = f"{client.requester.base_url}{self._org_path}/code-security/configurations"
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "per_page": PAGE_SIZE,
            "rest": "GET /orgs/{org}/code-security/configurations, .../{id}/repositories?status=all, "
            "/orgs/{org}/repos, /repos/{owner}/{repo}/code-scanning/default-setup",
        }

    @staticmethod
    def _queue(cursor: Any) -> tuple[Task, ...]:
        return cursor if cursor is not None else (("configurations", None), ("repositories", None))

    def _path(self, task: Task) -> str:
        match task:
            case ("configurations", _):
                return f"{self._org_path}/code-security/configurations"
            case ("attachments", configuration, _):
                return f"{self._org_path}/code-security/configurations/{configuration}/repositories"
            case ("repositories", _):
                return f"{self._org_path}/repos"
        return f"/repos/{quote(task[1])}/code-scanning/default-setup"

    def _at(self, queue: tuple[Task, ...]) -> None:
        """The endpoint the queue's head calls, as provenance names it (per-resource calls by their template)."""
        templates = {
            "attachments": f"{self._org_path}/code-security/configurations/{{configuration_id}}/repositories",
            "default_setup": "/repos/{owner}/{repo}/code-scanning/default-setup",
        }
        path = templates.get(queue[0][0]) or self._path(queue[0])
        self.endpoint = f"{self.client.requester.base_url}{path}"

    def page_scope(self, cursor: Any) -> Any:
        task = self._queue(cursor)[0]
        return task if task[0] == "default_setup" else task[:-1]

    def params(self, cursor: Any) -> dict[str, Any]:
        task = self._queue(cursor)[0]
        if task[0] == "default_setup":
            return {"repository": task[1]}
        if task[-1] is not None:
            return {"url": task[-1]}
        return {"configuration_id": task[1], **self._query(task)} if task[0] == "attachments" else self._query(task)

    @staticmethod
    def _query(task: Task) -> dict[str, Any]:
        """The query of a list's first page (later pages follow GitHub's Link URL verbatim)."""
        return {"configurations": {"per_page": PAGE_SIZE}, "attachments": ATTACHMENT_LIST}.get(task[0], REPOSITORY_LIST)

    def request(self, cursor: Any) -> Any:
        self._current = self._queue(cursor)
        task = self._current[0]
        requester = self.client.requester
        if task[0] == "default_setup":
            try:
                _, data = requester.requestJsonAndCheck("GET", self._path(task))
            except GithubException as exc:
                message = refusal_message(exc) or ""
                # GitHub's documented answers: 403 "Advanced Security must be enabled" (not licensed), 404 (code
                # scanning unavailable here, or the repository went): the row says so; any other refusal (a token
                # without the permission) fails the dataset
                licence = exc.status == 403 and FEATURE_UNAVAILABLE.search(message)
                if classify_github(exc) is None and (licence or exc.status == 404):
                    return {"unavailable": f"{exc.status} {message or 'Not Found'}"}
                raise
            if not isinstance(data, dict):
                raise SourceError(f"github.{self.dataset}: GitHub answered {task[1]}'s default setup with no object")
            return {"setup": data}
        url = task[-1]
        try:
            if url is None:
                headers, data = requester.requestJsonAndCheck(
                    "GET", self._path(task), parameters=dict(self._query(task))
                )
            else:
                headers, data = requester.requestJsonAndCheck("GET", url)
        except GithubException as exc:
            if task[0] != "attachments" or exc.status != 404 or classify_github(exc) is not None:
                raise
            # a configuration this organisation lists but whose repositories it does not (an enterprise's): its
            # repositories are then not proven and get their own default-setup call
            return {"unavailable": f"404 {refusal_message(exc) or 'Not Found'}"}
        if not isinstance(data, list):
            raise SourceError(f"github.{self.dataset}: GitHub answered {self._path(task)} with no list")
        return {"items": data, "next": next_link(headers)}

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        task = self._current[0]
        #: the tasks this page reveals, run before the rest of the queue: a configuration page's attachments before
        #: its next page, a repository page's default-setup calls before the next repository page
        self._follow_ups = []
        if task[0] == "default_setup":
            return [self._default_setup_row(task[1], payload)]
        if "unavailable" in payload:
            columns = self._configuration_columns(task[1])
            return [self._row("configuration", unavailable=payload["unavailable"], **columns)]
        items = payload["items"]
        if any(not isinstance(item, dict) for item in items):
            raise SourceError(f"github.{self.dataset}: GitHub returned a null entry in {self._path(task)}")
        if task[0] == "configurations":
            records = [self._configuration_row(item) for item in items]
            self._follow_ups = [("attachments", item["id"], None) for item in items]
        elif task[0] == "attachments":
            records = [self._attachment_row(task[1], item) for item in items]
        else:
            records = [self._repository_row(item) for item in items]
            self._follow_ups = [
                ("default_setup", r["repository"]) for r in records if not r["is_archived"] and not self._proven(r)
            ]
        if payload.get("next"):
            self._follow_ups.append(task[:-1] + (payload["next"],))
        return records

    def next_cursor(self, payload: Any) -> Any:
        queue = tuple(self._follow_ups) + self._current[1:]
        if not queue:
            return None
        self._at(queue)
        return queue

    def _proven(self, repository: dict[str, Any]) -> bool:
        """Does a trusted attachment state this repository's default setup? An `enabled` configuration is trusted
        only where code scanning can run (GitHub's attach enables only the free features when licences run short)."""
        stated = self._stated.get(repository["repository"])
        if stated is None:
            return False
        return self._configurations[stated].get("code_scanning_default_setup") == "disabled" or (
            repository["code_licensed"] is True
        )

    def _row(self, evidence: str, **values: Any) -> dict[str, Any]:
        return {**dict.fromkeys(SETUP_COLUMNS), "org": self.org, "evidence": evidence, **values}

    def _configuration_row(self, configuration: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(configuration.get("id"), int):
            raise SourceError(f"github.{self.dataset}: GitHub returned a code security configuration without its id")
        self._configurations[configuration["id"]] = configuration
        return self._row(
            "configuration",
            url=configuration.get("html_url"),
            raw=json.dumps(configuration, sort_keys=True),
            **self._configuration_columns(configuration["id"]),
        )

    def _configuration_columns(self, configuration_id: int) -> dict[str, Any]:
        configuration = self._configurations.get(configuration_id) or {}
        return {
            "configuration_id": configuration_id,
            "configuration_name": configuration.get("name"),
            "configuration_target_type": configuration.get("target_type"),
            "configuration_default_setup": configuration.get("code_scanning_default_setup"),
            "configuration_enforcement": configuration.get("enforcement"),
        }

    def _attachment_row(self, configuration_id: int, attachment: dict[str, Any]) -> dict[str, Any]:
        repo = attachment.get("repository") or {}
        full_name = repo.get("full_name")
        if not full_name:
            raise SourceError(f"github.{self.dataset}: GitHub returned an attachment without its repository")
        columns = self._configuration_columns(configuration_id)
        status = attachment.get("status")
        if status in TRUSTED_ATTACHMENTS and columns["configuration_default_setup"] in STATED_DEFAULT_SETUP:
            self._stated.setdefault(full_name, configuration_id)
        return self._row(
            "attachment",
            repository=full_name,
            url=repo.get("html_url"),
            attachment_status=status,
            raw=json.dumps(attachment, sort_keys=True),
            **columns,
        )

    def _repository_row(self, repo: dict[str, Any]) -> dict[str, Any]:
        if not repo.get("name"):
            raise SourceError(f"github.{self.dataset}: GitHub returned a repository without its name")
        full_name = repo.get("full_name") or f"{self.org}/{repo['name']}"
        visibility = repo.get("visibility") or (
            None if repo.get("private") is None else "private" if repo["private"] else "public"
        )
        return self._row(
            "repository",
            repository=full_name,
            url=repo.get("html_url"),
            is_archived=repo.get("archived"),
            visibility=visibility,
            code_licensed=code_licensed(repo),
            # what the control reads of the repository; its full object is github.repository_security's
            raw=json.dumps({"full_name": full_name, "archived": repo.get("archived"), "visibility": visibility}),
        )

    def _default_setup_row(self, full_name: str, payload: dict[str, Any]) -> dict[str, Any]:
        if "unavailable" in payload:
            return self._row("default_setup", repository=full_name, unavailable=payload["unavailable"])
        setup = payload["setup"]
        languages = setup.get("languages")
        return self._row(
            "default_setup",
            repository=full_name,
            state=setup.get("state"),
            languages=languages if isinstance(languages, list) else None,
            query_suite=setup.get("query_suite"),
            setup_updated_at=setup.get("updated_at"),
            raw=json.dumps(setup, sort_keys=True),
        )

    def classify(self, exc: Exception) -> Any:
        return classify_github(exc)
