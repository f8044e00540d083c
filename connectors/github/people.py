"""GitHub people: the organisation's 2FA requirement, its members (role, identity, 2FA) and its
outside collaborators with the permission each holds on each repository.

Requests (N members, D members without 2FA, R repositories, C_r outside collaborators of repository r):
- organization           1                                   REST GET /orgs/{org}
- members                max(1, ⌈D/100⌉) + max(1, ⌈N/100⌉)    REST members?filter=2fa_disabled, then GraphQL
                         (1 + max(1, ⌈N/100⌉) when GitHub hides 2FA from a non-owner: one 422, then GraphQL)
- outside_collaborators  max(1, ⌈R/100⌉) + Σ_r max(0, ⌈C_r/100⌉ − 1)   GraphQL
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from github import Github, GithubException

from connectors.github.streams import (
    PAGE_SIZE,
    GitHubGraphQLError,
    QueuedGraphQLStream,
    Task,
    classify_github,
    load_query,
    next_link,
    page_cursor,
    truncated,
)
from connectors.stream import Retry, SourceError, Stream

VERIFIED_EMAILS_FIELD = "organizationVerifiedDomainEmails"


class Organization(Stream):
    """The organisation itself (REST): is two-factor authentication required of every member?

    GitHub shows `two_factor_requirement_enabled` to owners only (a token of an owner, or a GitHub
    App with Administration read); for anyone else the field is absent and the record keeps null,
    which the controls report as unknown, never as "not required"."""

    source = "github"
    dataset = "organization"

    def __init__(self, client: Github, org: str) -> None:
        self.client = client
        self.org = org
        self.endpoint = f"{client.requester.base_url}/orgs/{quote(org)}"
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {"org": self.org}

    def request(self, cursor: Any) -> Any:
        _, data = self.client.requester.requestJsonAndCheck("GET", f"/orgs/{quote(self.org)}")
        return data

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        yield {
            "org": self.org,
            "login": payload.get("login"),
            "name": payload.get("name"),
            "url": payload.get("html_url") or payload.get("url"),
            "two_factor_requirement_enabled": payload.get("two_factor_requirement_enabled"),
            "raw": json.dumps(payload, sort_keys=True),
        }

    def classify(self, exc: Exception) -> Retry | None:
        return classify_github(exc)


class OrganizationMembers(Stream):
    """Every member with their role, identity and 2FA state, in two phases of one stream.

    1. REST `GET /orgs/{org}/members?filter=2fa_disabled` (100 a page, Link header): who lacks 2FA.
       GitHub answers owners only; anyone else gets 422 (documented as "Validation failed"), or 403,
       and then every member's `two_factor_enabled` is null (unknown), never false.
    2. GraphQL `membersWithRole` (100 a page): login, role (ADMIN = owner), profile, and
       `organizationVerifiedDomainEmails`, which ties an account to a person even when the public
       profile email is private. A viewer refused that field (FORBIDDEN) is asked again without it.

    Only the (few) logins without 2FA are held in memory; members stream page by page."""

    source = "github"
    dataset = "members"

    def __init__(self, client: Github, org: str) -> None:
        self.client = client
        self.org = org
        self.ask_verified_emails = True
        #: lower-cased logins GitHub lists as lacking 2FA; None while unknown (hidden from this viewer)
        self.without_two_factor: set[str] | None = set()
        self._members_path = f"/orgs/{quote(org)}/members"
        self._at(("two_factor", None))
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "page_size": PAGE_SIZE,
            "two_factor": "filter=2fa_disabled",
            "query": "organization_members",
            "verified_domain_emails": "requested",
        }

    def _at(self, cursor: tuple[str, Any]) -> None:
        """Point endpoint and method at the request `cursor` names (they go into its request log)."""
        rest = cursor[0] == "two_factor"
        self.endpoint = (
            f"{self.client.requester.base_url}{self._members_path}" if rest else self.client.requester.graphql_url
        )
        self.method = "GET" if rest else "POST"

    def params(self, cursor: Any) -> dict[str, Any]:
        kind, position = cursor or ("two_factor", None)
        if kind == "two_factor":
            return {"filter": "2fa_disabled", "per_page": PAGE_SIZE, "url": position}
        return {"org": self.org, "pageSize": PAGE_SIZE, "cursor": position}

    def request(self, cursor: Any) -> Any:
        kind, position = cursor or ("two_factor", None)
        if kind == "two_factor":
            return self._two_factor_page(position)
        name = "organization_members" if self.ask_verified_emails else "organization_members_basic"
        return {
            "kind": "members",
            "data": self._graphql(name, {"org": self.org, "pageSize": PAGE_SIZE, "cursor": position}),
        }

    def _two_factor_page(self, url: str | None) -> dict[str, Any]:
        requester = self.client.requester
        try:
            if url is None:
                headers, data = requester.requestJsonAndCheck(
                    "GET", self._members_path, parameters={"filter": "2fa_disabled", "per_page": PAGE_SIZE}
                )
            else:
                headers, data = requester.requestJsonAndCheck("GET", url)
        except GithubException as exc:
            # 422/403 that is not a rate limit: this viewer may not see 2FA. Anything else fails.
            if exc.status in (403, 422) and classify_github(exc) is None:
                message = exc.data.get("message") if isinstance(exc.data, dict) else None
                return {"kind": "two_factor", "hidden": exc.status, "message": message}
            raise
        return {"kind": "two_factor", "logins": [m["login"] for m in data], "next": next_link(headers)}

    def _graphql(self, name: str, variables: dict[str, Any]) -> Any:
        try:
            _, data = self.client.requester.graphql_query(load_query(name), variables)
        except GithubException as exc:
            errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
            if exc.status == 400 and errors:
                raise GitHubGraphQLError(errors, exc.data) from exc
            raise
        return data

    def classify(self, exc: Exception) -> Retry | None:
        # A viewer without access to members' verified emails gets FORBIDDEN for that one field;
        # the members themselves are still readable, so ask again without it (logged as a retry).
        if isinstance(exc, GitHubGraphQLError):
            if self.ask_verified_emails and forbidden_field(exc, VERIFIED_EMAILS_FIELD):
                self.ask_verified_emails = False
                self.provenance.parameters["verified_domain_emails"] = "forbidden: read without them"
                return Retry(0.0, f"{VERIFIED_EMAILS_FIELD} FORBIDDEN; reading members without it")
            return Retry(None, "GraphQL RATE_LIMITED") if "RATE_LIMITED" in exc.types else None
        return classify_github(exc)

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        if payload["kind"] == "two_factor":
            if "hidden" in payload:
                self.without_two_factor = None
                self.provenance.parameters["two_factor"] = (
                    f"hidden from this viewer: {payload['hidden']} {payload.get('message') or ''}".strip()
                )
            elif self.without_two_factor is not None:
                self.without_two_factor.update(login.lower() for login in payload["logins"])
            return
        yield from self._member_records(payload["data"])

    def page_records(self, payload: Any, parsed: int) -> int:
        # a 2FA page's members become no records of their own (they mark the GraphQL pages' members), yet they are
        # what the page returned: its request log counts them (none when the list was hidden from this viewer)
        if payload["kind"] == "two_factor":
            return len(payload.get("logins", []))
        return parsed

    def _member_records(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        edges = _members_connection(self.dataset, data).get("edges")
        if edges is None:  # a page without its members would drop them from the population
            raise SourceError(f"github.{self.dataset}: GitHub returned a page of members without its edges")
        for edge in edges:
            user = (edge or {}).get("node")
            if user is None:
                raise SourceError(f"github.{self.dataset}: a membership edge without its user")
            login = user["login"]
            yield {
                "org": self.org,
                "login": login,
                "name": user.get("name") or None,
                # the public profile email; GitHub sends "" when it is private
                "email": user.get("email") or None,
                "verified_domain_emails": user.get(VERIFIED_EMAILS_FIELD) if self.ask_verified_emails else None,
                "role": edge.get("role"),
                "two_factor_enabled": None
                if self.without_two_factor is None
                else login.lower() not in self.without_two_factor,
                "created_at": user.get("createdAt"),
                "url": user.get("url"),
            }

    def next_cursor(self, payload: Any) -> Any:
        if payload["kind"] == "two_factor":
            cursor: tuple[str, Any] = ("two_factor", payload["next"]) if payload.get("next") else ("members", None)
        else:
            after = page_cursor(
                _members_connection(self.dataset, payload["data"]),
                f"github.{self.dataset}: organization.membersWithRole",
            )
            if after is None:
                return None
            cursor = ("members", after)
        self._at(cursor)
        return cursor


def _members_connection(dataset: str, data: dict[str, Any]) -> dict[str, Any]:
    organization = (data.get("data") or {}).get("organization")
    if organization is None:
        raise SourceError(f"github.{dataset}: response has no organization (wrong GITHUB_ORG, or no access)")
    return organization.get("membersWithRole") or {"edges": [], "pageInfo": {"hasNextPage": False}}


def forbidden_field(exc: GitHubGraphQLError, field: str) -> bool:
    """True when every error is a FORBIDDEN on `field` (and nothing else went wrong)."""
    return bool(exc.errors) and all(
        e.get("type") == "FORBIDDEN" and field in [str(p) for p in (e.get("path") or [])] for e in exc.errors
    )


class OutsideCollaborators(QueuedGraphQLStream):
    """One record per (repository, outside collaborator) with the permission they hold.

    Fewest requests: the organisation's repositories in pages of 100, each with its first 100
    outside collaborators (`collaborators(affiliation: OUTSIDE)`); a repository with more gets
    follow-up pages of its own. REST would need one request per repository (the org-level
    /outside_collaborators list carries no repository or permission). A repository whose
    collaborators GitHub will not show (null) yields one record with `collaborators_visible` false
    and no login, so the controls can say "unknown" instead of "none"; one whose list could not be read
    whole (edges GitHub did not resolve, fewer read than `totalCount`) yields, beside the collaborators
    read, one record without a login whose `incomplete` says why."""

    dataset = "outside_collaborators"
    query_name = "outside_collaborators"
    connection_path = ("organization", "repositories")

    def parameters(self) -> dict[str, Any]:
        return {"org": self.org, "query": self.query_name, "page_size": PAGE_SIZE, "affiliation": "OUTSIDE"}

    def __init__(self, client: Github, org: str) -> None:
        #: repository -> why its collaborators could not all be read, and how many were, while it is paged
        self._gaps: dict[str, list[str]] = {}
        self._read: dict[str, int] = {}
        super().__init__(client, org)

    def initial_tasks(self) -> tuple[Task, ...]:
        return (("repositories", None),)

    def graphql(self, query_name: str, variables: dict[str, Any]) -> Any:
        """GitHub answers a viewer who may not list a repository's collaborators with a FORBIDDEN error
        on that repository's `collaborators` (null) and the rest of the page: keep the page."""
        try:
            return super().graphql(query_name, variables)
        except GitHubGraphQLError as exc:
            if exc.payload.get("data") and all(
                e.get("type") == "FORBIDDEN" and (e.get("path") or [None])[-1] == "collaborators" for e in exc.errors
            ):
                return exc.payload
            raise

    def task_query(self, task: Task) -> tuple[str, dict[str, Any]]:
        if task[0] == "repositories":
            return "outside_collaborators", {"org": self.org, "pageSize": PAGE_SIZE, "cursor": task[1]}
        _, name, after = task
        return "repository_outside_collaborators", {
            "owner": self.org,
            "name": name,
            "pageSize": PAGE_SIZE,
            "cursor": after,
        }

    def task_records(self, task: Task, payload: Any) -> Iterable[dict[str, Any]]:
        for repo in self._repositories(task, payload):
            yield from self._collaborator_records(repo)

    def task_follow_ups(self, task: Task, payload: Any) -> list[Task]:
        follow_ups: list[Task] = []
        for repo in self._repositories(task, payload):
            after = _next_collaborators(repo, self.dataset)
            if after:
                follow_ups.append(("repository", repo["name"], after))
        if task[0] == "repositories":
            after = page_cursor(self.connection(payload), f"github.{self.dataset}: organization.repositories")
            if after:
                follow_ups.append(("repositories", after))
        return follow_ups

    def _repositories(self, task: Task, payload: Any) -> list[dict[str, Any]]:
        if task[0] == "repositories":
            nodes = self.connection(payload).get("nodes")
            if nodes is None or None in nodes:  # a repository missing from the list would hide its collaborators
                raise SourceError(
                    f"github.{self.dataset}: GitHub returned a page of repositories with "
                    f"{'no list' if nodes is None else 'a null repository'}"
                )
            return nodes
        repo = (payload.get("data") or {}).get("repository")
        if repo is None:
            raise SourceError(f"github.{self.dataset}: repository {self.org}/{task[1]} vanished while paging")
        return [repo]

    def _collaborator_records(self, repo: dict[str, Any]) -> Iterator[dict[str, Any]]:
        base = {
            "org": self.org,
            "repository": repo["nameWithOwner"],
            "repository_url": repo.get("url"),
            "repository_archived": repo.get("isArchived"),
        }
        unread = {**base, "login": None, "name": None, "email": None, "permission": None, "url": None}
        collaborators = repo.get("collaborators")
        if collaborators is None:
            yield {**unread, "collaborators_visible": False, "incomplete": []}
            return
        name = repo["nameWithOwner"]
        gaps = self._gaps.setdefault(name, [])
        edges = collaborators.get("edges")
        if edges is None:
            gaps.append("GitHub returned a page of collaborators without its edges")
        for edge in edges or []:
            user = (edge or {}).get("node")
            if user is None:
                gaps.append("a collaborator GitHub did not resolve")
                continue
            self._read[name] = self._read.get(name, 0) + 1
            yield {
                **base,
                "login": user.get("login"),
                "name": user.get("name") or None,
                "email": user.get("email") or None,
                "permission": edge.get("permission"),
                "collaborators_visible": True,
                "url": user.get("url"),
                "incomplete": [],
            }
        if _next_collaborators(repo, self.dataset) is None:  # the repository's last page: was every one read?
            gaps += truncated(collaborators.get("totalCount"), self._read.pop(name, 0), "outside collaborators")
            if self._gaps.pop(name):
                yield {**unread, "collaborators_visible": True, "incomplete": gaps}


def _next_collaborators(repo: dict[str, Any], dataset: str) -> str | None:
    """The cursor of a repository's next page of collaborators (None: shown whole, or hidden)."""
    collaborators = repo.get("collaborators")
    return (
        None
        if collaborators is None
        else page_cursor(collaborators, f"github.{dataset}: {repo['nameWithOwner']} collaborators")
    )
