"""GitHub datasets. GraphQL pages of 100 through PyGithub's requester: ⌈N/100⌉ requests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from github import Github, GithubException
from requests.utils import parse_header_links

from connectors.stream import Retry, SourceError, Stream, http_retry

PAGE_SIZE = 100


@cache
def load_query(name: str) -> str:
    return files("connectors.github").joinpath("queries", f"{name}.graphql").read_text()


class GitHubGraphQLError(Exception):
    def __init__(self, errors: list[dict[str, Any]], payload: dict[str, Any] | None = None) -> None:
        self.errors = errors
        self.types = {e.get("type") for e in errors}
        #: the whole response: GitHub still returns the fields it could resolve beside the errors
        self.payload = payload or {}
        super().__init__("; ".join(str(e.get("message")) for e in errors)[:500])


class GraphQLStream(Stream):
    """A cursor-paginated GraphQL connection. Subclasses name the query and the connection path."""

    source = "github"
    method = "POST"
    query_name: str = ""
    connection_path: tuple[str, ...] = ()

    def __init__(self, client: Github, org: str) -> None:
        self.client = client
        self.org = org
        self.endpoint = client.requester.graphql_url
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {"org": self.org, "query": self.query_name, "page_size": PAGE_SIZE}

    def params(self, cursor: Any) -> dict[str, Any]:
        return {"org": self.org, "pageSize": PAGE_SIZE, "cursor": cursor}

    def request(self, cursor: Any) -> Any:
        return self.graphql(self.query_name, self.params(cursor))

    def graphql(self, query_name: str, variables: dict[str, Any]) -> Any:
        """One GraphQL request; GraphQL errors (PyGithub raises them as 400) keep their `type`s."""
        try:
            _, data = self.client.requester.graphql_query(load_query(query_name), variables)
        except GithubException as exc:
            errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
            if exc.status == 400 and errors:
                raise GitHubGraphQLError(errors, exc.data) from exc
            raise
        return data

    def connection(self, payload: dict[str, Any]) -> dict[str, Any]:
        node: Any = payload.get("data")
        for key in self.connection_path:
            if node is None:
                raise SourceError(f"github.{self.dataset}: response has no {'.'.join(self.connection_path)}")
            node = node.get(key)
        return node or {"nodes": [], "pageInfo": {"hasNextPage": False}}

    def next_cursor(self, payload: Any) -> Any:
        return page_cursor(self.connection(payload), f"github.{self.dataset}: {'.'.join(self.connection_path)}")

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, GitHubGraphQLError):
            return Retry(None, "GraphQL RATE_LIMITED") if "RATE_LIMITED" in exc.types else None
        return classify_github(exc)


def page_cursor(connection: dict[str, Any], what: str) -> str | None:
    """The cursor of a connection's next page, or None on its last page. A page that says there is more but gives
    no `endCursor` (nullable in GitHub's schema) cannot be followed: stopping there would silently drop the rest."""
    info = connection.get("pageInfo") or {}
    if not info.get("hasNextPage"):
        return None
    if not info.get("endCursor"):
        raise SourceError(
            f"{what}: GitHub says there is a next page but gave no endCursor; the list cannot be read to its end"
        )
    return info["endCursor"]


def truncated(total: int | None, read: int, what: str) -> list[str]:
    """A reason when a connection read to its end holds fewer (or more) items than its `totalCount` says."""
    return [] if total is None or total == read else [f"list truncated: {total} {what}, {read} read"]


def next_link(headers: dict[str, Any] | None) -> str | None:
    """The URL of a REST answer's `Link: <...>; rel="next"`, to be followed verbatim (GitHub pages some lists by
    number, others by cursor: never build one), or None on the last page."""
    link = next((value for key, value in (headers or {}).items() if key.lower() == "link"), None)
    return next((entry.get("url") for entry in parse_header_links(link or "") if entry.get("rel") == "next"), None)


def classify_github(exc: Exception) -> Retry | None:
    """GitHub's HTTP failures (REST or GraphQL transport) under the shared HTTP policy."""
    if isinstance(exc, GithubException):
        return http_retry(exc.status, exc.headers, exc)
    return http_retry(None, None, exc)


#: One unit of work of a `QueuedGraphQLStream`: ("kind", arguments...), hashable and printable.
Task = tuple[Any, ...]


class QueuedGraphQLStream(GraphQLStream):
    """A dataset that needs follow-up queries: a nested connection longer than one page, or the
    search API's 1,000-result cap. The cursor is the remaining work queue (a tuple of tasks); its
    head is the next request. Follow-ups go to the front, so the queue stays short and every
    request is still one logged, paced, retried page of the shared loop."""

    def initial_tasks(self) -> tuple[Task, ...]:
        raise NotImplementedError

    def task_query(self, task: Task) -> tuple[str, dict[str, Any]]:
        """The query file name and variables of `task`."""
        raise NotImplementedError

    def task_records(self, task: Task, payload: Any) -> Iterable[dict[str, Any]]:
        raise NotImplementedError

    def task_follow_ups(self, task: Task, payload: Any) -> list[Task]:
        """Tasks `payload` reveals (more pages); they run before the rest of the queue."""
        raise NotImplementedError

    def _queue(self, cursor: Any) -> tuple[Task, ...]:
        return cursor if cursor is not None else self.initial_tasks()

    def params(self, cursor: Any) -> dict[str, Any]:
        name, variables = self.task_query(self._queue(cursor)[0])
        return {"operation": name, **variables}

    def page_scope(self, cursor: Any) -> Any:
        # a task without its cursor (last item) is one call: a follow-up page (a pull request's reviews) need
        # not name its parent, so only pages of the same task may be compared for a repeat
        return self._queue(cursor)[0][:-1]

    def request(self, cursor: Any) -> Any:
        self._current = self._queue(cursor)
        return self.graphql(*self.task_query(self._current[0]))

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        return self.task_records(self._current[0], payload)

    def next_cursor(self, payload: Any) -> Any:
        queue = tuple(self.task_follow_ups(self._current[0], payload)) + self._current[1:]
        return queue or None


class RepositoryReviewRules(QueuedGraphQLStream):
    """Every repository with its default branch's classic protection and active rulesets.

    The repositories come 100 a page, each with the first 25 rules of its default branch and the first 10 bypass
    actors of each rule's ruleset. A branch with more rules, or a ruleset with more bypass actors, gets follow-up
    pages of its own (100 a page), so nothing is judged from a truncated list:

        requests = max(1, ⌈R/100⌉) + Σ_branch max(0, ⌈(rules − 25)/100⌉)
                   + Σ_active ruleset max(0, ⌈(bypass actors − 10)/100⌉)

    A repository waiting for follow-ups is held back until its last page arrives."""

    dataset = "repositories"
    query_name = "repository_review_rules"
    connection_path = ("organization", "repositories")

    def __init__(self, client: Github, org: str) -> None:
        self._pending: dict[str, BranchRules] = {}
        self._follow_ups: list[Task] = []
        super().__init__(client, org)

    def initial_tasks(self) -> tuple[Task, ...]:
        return (("repositories", None),)

    def task_query(self, task: Task) -> tuple[str, dict[str, Any]]:
        match task:
            case ("repositories", after):
                return "repository_review_rules", {"org": self.org, "pageSize": PAGE_SIZE, "cursor": after}
            case ("rules", name, after):
                return "repository_branch_rules", {
                    "owner": self.org,
                    "name": name,
                    "pageSize": PAGE_SIZE,
                    "cursor": after,
                }
            case ("bypass_actors", _, ruleset_id, after):
                return "ruleset_bypass_actors", {"id": ruleset_id, "pageSize": PAGE_SIZE, "cursor": after}
        raise ValueError(f"unknown task {task!r}")

    def task_records(self, task: Task, payload: Any) -> list[dict[str, Any]]:
        self._follow_ups = []
        if task[0] == "repositories":
            records = []
            nodes = self.connection(payload).get("nodes")
            if nodes is None:
                raise SourceError(f"github.{self.dataset}: GitHub returned no repository list (nodes is null)")
            for repo in nodes:
                if repo is None:
                    raise SourceError(
                        f"github.{self.dataset}: GitHub returned a null repository in the list; "
                        "the organisation's repositories cannot all be judged"
                    )
                branch = BranchRules(repo)
                follow_ups = branch.start()
                if follow_ups:
                    self._hold(branch, follow_ups)
                else:
                    records.append(branch.record(self.org))
            return records
        branch = self._pending[task[1]]
        branch.outstanding -= 1
        data = payload.get("data") or {}
        if task[0] == "rules":
            if data.get("repository") is None:
                raise SourceError(
                    f"github.{self.dataset}: repository {self.org}/{task[1]} vanished while paging its rules"
                )
            ref = data["repository"].get("defaultBranchRef")
            if ref is None:
                branch.rules_incomplete.append("the default branch vanished while its rules were read")
                follow_ups = []
            else:
                follow_ups = branch.add_rules(ref.get("rules"))
        else:
            ruleset = data.get("node")
            follow_ups = branch.add_bypass_actors(
                task[2], None if ruleset is None else ruleset.get("bypassActors"), vanished=ruleset is None
            )
        self._hold(branch, follow_ups)
        if branch.outstanding:
            return []
        del self._pending[task[1]]
        return [branch.record(self.org)]

    def _hold(self, branch: BranchRules, follow_ups: list[Task]) -> None:
        self._pending[branch.name] = branch
        branch.outstanding += len(follow_ups)
        self._follow_ups += follow_ups

    def task_follow_ups(self, task: Task, payload: Any) -> list[Task]:
        follow_ups = list(self._follow_ups)
        if task[0] == "repositories":
            after = page_cursor(self.connection(payload), f"github.{self.dataset}: organization.repositories")
            if after:
                follow_ups.append(("repositories", after))
        return follow_ups


def classic_contexts(classic: dict[str, Any] | None) -> list[str] | None:
    """The status check contexts classic protection requires ([] when it requires none); None when it requires checks
    but GitHub did not name them all (requiredStatusCheckContexts is a nullable list of nullable strings)."""
    if not (classic or {}).get("requiresStatusChecks"):
        return []
    contexts = classic.get("requiredStatusCheckContexts")
    return None if contexts is None or None in contexts else sorted(set(contexts))


def ruleset_contexts(active_rules: list[dict[str, Any]]) -> list[str] | None:
    """The contexts the active required-status-checks rules require together; None when one rule's parameters or
    a check's context GitHub did not show."""
    contexts: set[str] = set()
    for rule in active_rules:
        if rule["type"] != "REQUIRED_STATUS_CHECKS":
            continue
        checks = (rule.get("parameters") or {}).get("requiredStatusChecks")
        if checks is None or any(check is None or check.get("context") is None for check in checks):
            return None
        contexts.update(check["context"] for check in checks)
    return sorted(contexts)


#: review-rule roles that let their holders past a ruleset (GitHub's built-in repository roles)
ADMIN_ROLES = ("admin", "maintain")


@dataclass
class BranchRules:
    """One repository's default-branch rules as its pages arrive, and what could not be read of them.

    `rules_incomplete` says why the branch's list of rules is not known in full (it touches every judgement of the
    branch); `review_incomplete` why the review requirement's details are not (bypass actors, approval counts)."""

    repo: dict[str, Any]
    rules: list[dict[str, Any] | None] = field(default_factory=list)
    rules_total: int | None = None
    #: ruleset id -> the ruleset as first seen; its bypass actors gathered in `actors`
    rulesets: dict[str, dict[str, Any]] = field(default_factory=dict)
    actors: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)
    actor_totals: dict[str, int | None] = field(default_factory=dict)
    rules_incomplete: list[str] = field(default_factory=list)
    review_incomplete: list[str] = field(default_factory=list)
    #: follow-up requests not yet answered
    outstanding: int = 0

    @property
    def name(self) -> str:
        return self.repo["name"]

    def start(self) -> list[Task]:
        branch = self.repo.get("defaultBranchRef")
        return [] if branch is None else self.add_rules(branch.get("rules"))

    def add_rules(self, connection: dict[str, Any] | None) -> list[Task]:
        """One page of the branch's rules; the follow-ups it calls for."""
        nodes = None if connection is None else connection.get("nodes")
        if nodes is None:
            self.rules_incomplete.append("GitHub did not show the default branch's rules")
            return []
        self.rules_total = connection.get("totalCount")
        follow_ups: list[Task] = []
        for rule in nodes:
            self.rules.append(rule)
            if rule is None:
                self.rules_incomplete.append("a rule GitHub did not resolve")
                continue
            ruleset = rule.get("repositoryRuleset")
            if ruleset is None:
                self.rules_incomplete.append(f"a {rule.get('type')} rule without its ruleset")
            elif ruleset["id"] not in self.rulesets:
                self.rulesets[ruleset["id"]] = ruleset
                self.actors[ruleset["id"]] = []
                if ruleset.get("enforcement") == "ACTIVE":  # an inactive ruleset's bypass list decides nothing
                    follow_ups += self.add_bypass_actors(ruleset["id"], ruleset.get("bypassActors"))
        after = page_cursor(connection, f"github.repositories: {self.name} rules")
        return follow_ups + ([("rules", self.name, after)] if after else [])

    def add_bypass_actors(
        self, ruleset_id: str, connection: dict[str, Any] | None, vanished: bool = False
    ) -> list[Task]:
        """One page of a ruleset's bypass actors; the follow-up it calls for."""
        label = f"ruleset '{self.rulesets[ruleset_id].get('name')}'"
        nodes = None if connection is None else connection.get("nodes")
        if nodes is None:
            self.review_incomplete.append(
                f"{label} vanished while its bypass actors were read"
                if vanished
                else f"GitHub did not show the bypass actors of {label} (needs admin access)"
            )
            self.actor_totals[ruleset_id] = None
            return []
        self.actor_totals[ruleset_id] = connection.get("totalCount")
        self.actors[ruleset_id] += nodes
        after = page_cursor(connection, f"github.repositories: {self.name} {label} bypass actors")
        return [("bypass_actors", self.name, ruleset_id, after)] if after else []

    def _active_rules(self) -> list[dict[str, Any]]:
        return [r for r in self.rules if r and (r.get("repositoryRuleset") or {}).get("enforcement") == "ACTIVE"]

    def _admin_bypass(self, ruleset_ids: set[str]) -> bool:
        """Can organisation owners, enterprise owners or the admin / maintain role bypass any of these rulesets?
        An actor GitHub did not resolve, or a role it did not name, is recorded as unknown."""
        bypass = False
        for ruleset_id in sorted(ruleset_ids):
            label = f"ruleset '{self.rulesets[ruleset_id].get('name')}'"
            actors = self.actors[ruleset_id]
            if self.actor_totals.get(ruleset_id) is not None:
                self.review_incomplete += truncated(
                    self.actor_totals[ruleset_id], len(actors), f"bypass actors of {label}"
                )
            for actor in actors:
                if actor is None:
                    self.review_incomplete.append(f"a bypass actor of {label} GitHub did not resolve")
                    continue
                role = actor.get("repositoryRoleName")
                if (
                    actor.get("organizationAdmin")
                    or actor.get("enterpriseOwner")
                    or (role or "").lower() in ADMIN_ROLES
                ):
                    bypass = True
                elif role is None and actor.get("repositoryRoleDatabaseId") is not None:
                    self.review_incomplete.append(f"a role bypass actor of {label} whose role GitHub did not name")
        return bypass

    def record(self, org: str) -> dict[str, Any]:
        """Flatten the repository: classic protection and active ruleset rules side by side."""
        repo = self.repo
        branch = repo.get("defaultBranchRef") or {}
        classic = branch.get("branchProtectionRule")
        rules = self._active_rules()
        self.rules_incomplete += truncated(self.rules_total, len(self.rules), "rules")
        rule_types = {r["type"] for r in rules}
        review_counts = []
        for rule in rules:
            if rule["type"] == "PULL_REQUEST":
                count = (rule.get("parameters") or {}).get("requiredApprovingReviewCount")
                if count is None:
                    self.review_incomplete.append(
                        f"GitHub did not show the approvals the pull request rule of "
                        f"ruleset '{rule['repositoryRuleset']['name']}' requires"
                    )
                review_counts.append(count or 0)
        admin_bypass = self._admin_bypass({r["repositoryRuleset"]["id"] for r in rules})
        classic_reviews = 0
        if (classic or {}).get("requiresApprovingReviews"):
            classic_reviews = classic.get("requiredApprovingReviewCount") or 0
            if classic.get("requiredApprovingReviewCount") is None:
                self.review_incomplete.append(
                    "classic protection requires approving reviews but GitHub did not say how many"
                )
        return {
            "org": org,
            "name": repo["name"],
            "full_name": repo["nameWithOwner"],
            "url": repo["url"],
            "is_archived": bool(repo["isArchived"]),
            "is_fork": bool(repo.get("isFork")),
            "is_empty": repo.get("isEmpty"),
            "visibility": repo.get("visibility"),
            "default_branch": branch.get("name"),
            "classic_protected": classic is not None,
            "classic_required_reviews": classic_reviews,
            "classic_admin_enforced": (classic or {}).get("isAdminEnforced"),
            "classic_allows_force_pushes": (classic or {}).get("allowsForcePushes"),
            "classic_allows_deletions": (classic or {}).get("allowsDeletions"),
            "classic_requires_status_checks": (classic or {}).get("requiresStatusChecks"),
            "ruleset_names": sorted({r["repositoryRuleset"]["name"] for r in rules}),
            "ruleset_required_reviews": max(review_counts, default=0),
            "ruleset_blocks_force_pushes": "NON_FAST_FORWARD" in rule_types,
            "ruleset_blocks_deletions": "DELETION" in rule_types,
            "ruleset_requires_status_checks": "REQUIRED_STATUS_CHECKS" in rule_types,
            "ruleset_admin_bypass": admin_bypass,
            "classic_status_check_contexts": classic_contexts(classic),
            "ruleset_status_check_contexts": ruleset_contexts(rules),
            "rules_incomplete": self.rules_incomplete,
            "review_incomplete": self.review_incomplete,
            "raw": json.dumps(self._raw(), sort_keys=True),
        }

    def _raw(self) -> dict[str, Any]:
        """The repository as GitHub sent it, with every page of its rules and bypass actors merged in."""
        branch = self.repo.get("defaultBranchRef")
        if branch is None or branch.get("rules") is None:
            return self.repo
        rules = [
            None if rule is None else {**rule, "repositoryRuleset": self._raw_ruleset(rule)} for rule in self.rules
        ]
        return {**self.repo, "defaultBranchRef": {**branch, "rules": {"totalCount": self.rules_total, "nodes": rules}}}

    def _raw_ruleset(self, rule: dict[str, Any]) -> dict[str, Any] | None:
        ruleset = rule.get("repositoryRuleset")
        if ruleset is None or ruleset.get("bypassActors") is None:
            return ruleset
        return {
            **ruleset,
            "bypassActors": {"totalCount": self.actor_totals.get(ruleset["id"]), "nodes": self.actors[ruleset["id"]]},
        }
