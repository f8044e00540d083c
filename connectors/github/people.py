"""GitHub people: the organisation's 2FA setting, its members and its outside collaborators.

Requests (N members, R repositories, C_r outside collaborators of repository r):
- org_settings           1 (REST GET /orgs/{org})
- members                ⌈N/100⌉ (+1 retry, once, if GitHub refuses organizationVerifiedDomainEmails)
- outside_collaborators  ⌈R/100⌉ + Σ_r max(0, ⌈C_r/100⌉ − 1)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from github import Github

from connectors.github.streams import (
    PAGE_SIZE,
    GitHubGraphQLError,
    GraphQLStream,
    QueuedGraphQLStream,
    Task,
    classify_github,
)
from connectors.stream import Retry, SourceError, Stream

VERIFIED_EMAILS_FIELD = "organizationVerifiedDomainEmails"


class OrganizationSettings(Stream):
    """The organisation's own settings (REST): is two-factor authentication required of everyone?

    `two_factor_requirement_enabled` is only shown to owners (or a token with Administration read);
    when GitHub leaves it out the record keeps null, which the controls treat as unknown."""

    source = "github"
    dataset = "org_settings"

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
            "two_factor_requirement_enabled": payload.get("two_factor_requirement_enabled"),
            "default_repository_permission": payload.get("default_repository_permission"),
            "members_can_create_repositories": payload.get("members_can_create_repositories"),
            "raw": json.dumps(payload, sort_keys=True),
        }

    def classify(self, exc: Exception) -> Retry | None:
        return classify_github(exc)


class OrganizationMembers(GraphQLStream):
    """Every member with their role and 2FA state (both live on the membership edge).

    `has_two_factor_enabled` is null when GitHub hides it from the viewer: unknown, never "off"."""

    dataset = "members"
    query_name = "organization_members"
    connection_path = ("organization", "membersWithRole")

    def __init__(self, client: Github, org: str) -> None:
        self.ask_verified_emails = True
        super().__init__(client, org)

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "verified_domain_emails": "requested"}

    def request(self, cursor: Any) -> Any:
        name = self.query_name if self.ask_verified_emails else "organization_members_basic"
        return self.graphql(name, self.params(cursor))

    def classify(self, exc: Exception) -> Retry | None:
        # A viewer without access to members' verified emails gets FORBIDDEN for that one field;
        # the members themselves are still readable, so ask again without it (logged as a retry).
        if self.ask_verified_emails and isinstance(exc, GitHubGraphQLError) and forbidden_field(
                exc, VERIFIED_EMAILS_FIELD):
            self.ask_verified_emails = False
            self.provenance.parameters["verified_domain_emails"] = "forbidden: read without them"
            return Retry(0.0, f"{VERIFIED_EMAILS_FIELD} FORBIDDEN; reading members without it")
        return super().classify(exc)

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for edge in self.connection(payload).get("edges") or []:
            user = edge.get("node")
            if user is None:
                raise SourceError(f"github.{self.dataset}: a membership edge without its user")
            yield {
                "org": self.org,
                "login": user["login"],
                "name": user.get("name") or None,
                # the public profile email; GitHub sends "" when it is private
                "email": user.get("email") or None,
                "verified_domain_emails": user.get(VERIFIED_EMAILS_FIELD) if self.ask_verified_emails else None,
                "role": edge.get("role"),
                "has_two_factor_enabled": edge.get("hasTwoFactorEnabled"),
                "url": user.get("url"),
            }


def forbidden_field(exc: GitHubGraphQLError, field: str) -> bool:
    """True when every error is a FORBIDDEN on `field` (and nothing else went wrong)."""
    return bool(exc.errors) and all(
        e.get("type") == "FORBIDDEN" and field in [str(p) for p in (e.get("path") or [])] for e in exc.errors
    )


class OutsideCollaborators(QueuedGraphQLStream):
    """One record per (repository, outside collaborator) with the permission they hold.

    The organisation's repositories are read in pages of 100, each with its first 100 outside
    collaborators; a repository with more gets follow-up pages of its own. A repository whose
    collaborators GitHub will not show (null) yields one record with `collaborators_visible` false
    and no login, so the controls can say "unknown" instead of "none"."""

    dataset = "outside_collaborators"
    query_name = "outside_collaborators"
    connection_path = ("organization", "repositories")

    def parameters(self) -> dict[str, Any]:
        return {"org": self.org, "query": self.query_name, "page_size": PAGE_SIZE, "affiliation": "OUTSIDE"}

    def initial_tasks(self) -> tuple[Task, ...]:
        return (("repositories", None),)

    def task_query(self, task: Task) -> tuple[str, dict[str, Any]]:
        if task[0] == "repositories":
            return "outside_collaborators", {"org": self.org, "pageSize": PAGE_SIZE, "cursor": task[1]}
        _, name, after = task
        return "repository_outside_collaborators", {"owner": self.org, "name": name, "pageSize": PAGE_SIZE,
                                                    "cursor": after}

    def task_records(self, task: Task, payload: Any) -> Iterable[dict[str, Any]]:
        for repo in self._repositories(task, payload):
            yield from self._collaborator_records(repo)

    def task_follow_ups(self, task: Task, payload: Any) -> list[Task]:
        follow_ups: list[Task] = [
            ("repository", repo["name"], repo["collaborators"]["pageInfo"]["endCursor"])
            for repo in self._repositories(task, payload)
            if repo.get("collaborators") and repo["collaborators"]["pageInfo"].get("hasNextPage")
        ]
        if task[0] == "repositories":
            info = self.connection(payload)["pageInfo"]
            if info.get("hasNextPage"):
                follow_ups.append(("repositories", info["endCursor"]))
        return follow_ups

    def _repositories(self, task: Task, payload: Any) -> list[dict[str, Any]]:
        if task[0] == "repositories":
            return [r for r in self.connection(payload).get("nodes") or [] if r]
        repo = (payload.get("data") or {}).get("repository")
        if repo is None:
            raise SourceError(f"github.{self.dataset}: repository {self.org}/{task[1]} vanished while paging")
        return [repo]

    def _collaborator_records(self, repo: dict[str, Any]) -> Iterator[dict[str, Any]]:
        base = {"org": self.org, "repository": repo["nameWithOwner"], "repository_archived": repo.get("isArchived")}
        collaborators = repo.get("collaborators")
        if collaborators is None:
            yield {**base, "login": None, "name": None, "email": None, "permission": None,
                   "collaborators_visible": False, "url": None}
            return
        for edge in collaborators.get("edges") or []:
            user = edge.get("node") or {}
            yield {**base, "login": user.get("login"), "name": user.get("name") or None,
                   "email": user.get("email") or None, "permission": edge.get("permission"),
                   "collaborators_visible": True, "url": user.get("url")}
