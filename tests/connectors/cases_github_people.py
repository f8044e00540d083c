"""Contract cases: GitHub organisation, members, outside collaborators, merged pull requests.

Minimum requests (fixed calls included; N members, D of them without 2FA, R repositories,
C_r outside collaborators of repository r, P_W pull requests merged in window W):
- organization           1
- members                max(1, ⌈D/100⌉) + max(1, ⌈N/100⌉)
- outside_collaborators  max(1, ⌈R/100⌉) + Σ_r max(0, ⌈C_r/100⌉ − 1)
- merged_pull_requests   search(W) + Σ_pr max(0, ⌈decisive reviews/100⌉ − 1), where
                         search(W) = max(1, ⌈P_W/100⌉) if P_W ≤ 1000 else 1 + search(W₁) + search(W₂) (halves)
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta

from connectors.github import (
    GitHubConfig,
    MergedPullRequests,
    Organization,
    OrganizationMembers,
    OutsideCollaborators,
    make_github,
)
from sandbox.org import SandboxOrg
from tests.connectors.contract import ConnectorCase, pages

#: the merge window the contract collects: the 30 days before the sandbox's today
WINDOW_DAYS = 30


def _client(sandbox):
    env = sandbox.env
    return make_github(GitHubConfig(org=env["GITHUB_ORG"], base_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"]))


def window(org: SandboxOrg) -> tuple[datetime, datetime]:
    until = datetime.combine(org.today, time(0), UTC)
    return until - timedelta(days=WINDOW_DAYS), until


def search_requests(merged: list[datetime], start: datetime, end: datetime, limit: int = 1000) -> int:
    """Requests to list the pull requests merged in [start, end] (whole seconds, both inclusive):
    ⌈P/100⌉ when search can serve them all, else one over-full first page plus both halves."""
    count = sum(start <= m <= end for m in merged)
    if count <= limit:
        return pages(count, 100)
    middle = (start + (end - start) / 2).replace(microsecond=0)
    return (
        1
        + search_requests(merged, start, middle, limit)
        + search_requests(merged, middle + timedelta(seconds=1), end, limit)
    )


def pull_request_requests(org: SandboxOrg, since: datetime | None = None, until: datetime | None = None) -> int:
    if since is None or until is None:
        since, until = window(org)
    merged = [pr.merged_at for pr in org.github.merged_between(since, until)]
    review_pages = sum(max(0, math.ceil(len(decisive(pr)) / 100) - 1) for pr in org.github.merged_between(since, until))
    return search_requests(merged, since, until - timedelta(seconds=1)) + review_pages


def decisive(pr) -> list:
    """The reviews the connector asks for: approvals, change requests and dismissed reviews."""
    return [r for r in pr.reviews if r.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")]


def member_requests(org: SandboxOrg) -> int:
    without_2fa = sum(not m.two_factor for m in org.github.members)
    return pages(without_2fa, 100) + pages(len(org.github.members), 100)


def outside_collaborator_requests(org: SandboxOrg) -> int:
    per_repository: dict[str, int] = {}
    for grant in org.github.outside_collaborators:
        per_repository[grant.repository] = per_repository.get(grant.repository, 0) + 1
    return pages(len(org.github.repositories), 100) + sum(
        max(0, math.ceil(n / 100) - 1) for n in per_repository.values()
    )


CASES = [
    ConnectorCase(
        name="github.organization",
        systems=("github",),
        make_stream=lambda sandbox: Organization(_client(sandbox), sandbox.env["GITHUB_ORG"]),
        expected_records=lambda org: 1,
        min_requests=lambda org: 1,
        secret_env=("GITHUB_TOKEN",),
    ),
    ConnectorCase(
        name="github.members",
        systems=("github",),
        make_stream=lambda sandbox: OrganizationMembers(_client(sandbox), sandbox.env["GITHUB_ORG"]),
        expected_records=lambda org: len(org.github.members),
        min_requests=member_requests,
        secret_env=("GITHUB_TOKEN",),
    ),
    ConnectorCase(
        name="github.outside_collaborators",
        systems=("github",),
        make_stream=lambda sandbox: OutsideCollaborators(_client(sandbox), sandbox.env["GITHUB_ORG"]),
        expected_records=lambda org: len(org.github.outside_collaborators),
        min_requests=outside_collaborator_requests,
        secret_env=("GITHUB_TOKEN",),
    ),
    ConnectorCase(
        name="github.merged_pull_requests",
        systems=("github",),
        make_stream=lambda sandbox: MergedPullRequests(
            _client(sandbox), sandbox.env["GITHUB_ORG"], *window(sandbox.org)
        ),
        expected_records=lambda org: len(org.github.merged_between(*window(org))),
        min_requests=pull_request_requests,
        secret_env=("GITHUB_TOKEN",),
    ),
]
