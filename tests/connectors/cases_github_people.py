"""Contract cases: GitHub organisation, members, outside collaborators, merged pull requests.

Minimum requests (connectors/github/minimum.py; fixed calls included; N members, D of them without 2FA,
R repositories, C_r outside collaborators of repository r, P_W pull requests merged in window W):
- organization           1
- members                max(1, ⌈D/100⌉) + max(1, ⌈N/100⌉)
- outside_collaborators  max(1, ⌈R/100⌉) + Σ_r max(0, ⌈C_r/100⌉ − 1)
- merged_pull_requests   search(W) + Σ_pr max(0, ⌈decisive reviews/100⌉ − 1), where
                         search(W) = max(1, ⌈P_W/100⌉) if P_W ≤ 1000 else 1 + search(W₁) + search(W₂) (halves)
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from connectors.github import (
    GitHubConfig,
    MergedPullRequests,
    Organization,
    OrganizationMembers,
    OutsideCollaborators,
    make_github,
)
from sandbox.company import SandboxOrg
from sandbox.minimum import github_requests
from tests.connectors.contract import ConnectorCase

#: the merge window the contract collects: the 30 days before the sandbox's today
WINDOW_DAYS = 30


def _client(sandbox):
    env = sandbox.env
    return make_github(GitHubConfig(org=env["GITHUB_ORG"], base_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"]))


def window(org: SandboxOrg) -> tuple[datetime, datetime]:
    until = datetime.combine(org.today, time(0), UTC)
    return until - timedelta(days=WINDOW_DAYS), until


def pull_request_requests(org: SandboxOrg, since: datetime | None = None, until: datetime | None = None) -> int:
    """The merged pull requests' minimum for [since, until), the contract's window by default."""
    merged_window = window(org) if since is None or until is None else (since, until)
    return github_requests(org, "merged_pull_requests", merged_window)


def outside_collaborator_requests(org: SandboxOrg) -> int:
    return github_requests(org, "outside_collaborators")


CASES = [
    ConnectorCase(
        name="github.organization",
        systems=("github",),
        make_stream=lambda sandbox: Organization(_client(sandbox), sandbox.env["GITHUB_ORG"]),
        expected_records=lambda org: 1,
        min_requests=lambda org: github_requests(org, "organization"),
        secret_env=("GITHUB_TOKEN",),
    ),
    ConnectorCase(
        name="github.members",
        systems=("github",),
        make_stream=lambda sandbox: OrganizationMembers(_client(sandbox), sandbox.env["GITHUB_ORG"]),
        expected_records=lambda org: len(org.github.members),
        min_requests=lambda org: github_requests(org, "members"),
        folded_records=lambda org: sum(not m.two_factor for m in org.github.members),
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
