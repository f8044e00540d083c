"""GitHub datasets. GraphQL pages of 100 through PyGithub's requester: ⌈N/100⌉ requests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Any

from github import Github, GithubException

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
        info = self.connection(payload)["pageInfo"]
        return info["endCursor"] if info.get("hasNextPage") else None

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, GitHubGraphQLError):
            return Retry(None, "GraphQL RATE_LIMITED") if "RATE_LIMITED" in exc.types else None
        return classify_github(exc)


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


class RepositoryReviewRules(GraphQLStream):
    """Every repository with its default branch's classic protection and active rulesets."""

    dataset = "repositories"
    query_name = "repository_review_rules"
    connection_path = ("organization", "repositories")

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for repo in self.connection(payload)["nodes"]:
            yield review_rules_record(self.org, repo)


def review_rules_record(org: str, repo: dict[str, Any]) -> dict[str, Any]:
    """Flatten one repository: classic protection and active ruleset rules side by side."""
    branch = repo.get("defaultBranchRef") or {}
    classic = branch.get("branchProtectionRule")
    rules = [r for r in ((branch.get("rules") or {}).get("nodes") or [])
             if ((r.get("repositoryRuleset") or {}).get("enforcement") == "ACTIVE")]
    rule_types = {r["type"] for r in rules}
    review_counts = [(r.get("parameters") or {}).get("requiredApprovingReviewCount") or 0
                     for r in rules if r["type"] == "PULL_REQUEST"]
    admin_bypass = any(
        actor.get("organizationAdmin") or actor.get("repositoryRoleName") in ("admin", "Admin", "maintain")
        for r in rules
        for actor in ((((r.get("repositoryRuleset") or {}).get("bypassActors")) or {}).get("nodes") or [])
    )
    return {
        "org": org,
        "name": repo["name"],
        "full_name": repo["nameWithOwner"],
        "url": repo["url"],
        "is_archived": bool(repo["isArchived"]),
        "is_fork": bool(repo.get("isFork")),
        "visibility": repo.get("visibility"),
        "default_branch": branch.get("name"),
        "classic_protected": classic is not None,
        "classic_required_reviews": (classic or {}).get("requiredApprovingReviewCount") or 0
        if (classic or {}).get("requiresApprovingReviews") else 0,
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
        "raw": json.dumps(repo, sort_keys=True),
    }
