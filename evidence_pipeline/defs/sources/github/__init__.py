"""GitHub: repositories and their review rules, the organisation's 2FA requirement, members, outside
collaborators, the pull requests merged in each day's window, the organisation's security alerts, each repository's
security settings and each environment's protection rules."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from connectors.github import (
    CodeScanningAlerts,
    CodeScanningSetup,
    DependabotAlerts,
    Environments,
    GitHubConfig,
    MergedPullRequests,
    Organization,
    OrganizationMembers,
    OutsideCollaborators,
    RepositoryReviewRules,
    RepositorySecurity,
    SecretScanningAlerts,
    make_github,
)
from connectors.github.client import DEFAULT_BASE_URL
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import (
    REPEATED_CURSOR,
    REPEATED_PAGE,
    AccountsView,
    FaultExpectations,
    SourceDeclaration,
)
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions

#: Days of merged pull requests each daily partition collects: the full UTC days before the partition day.
DEFAULT_PULL_REQUEST_DAYS = 1


class GitHubResource(SourceResource):
    """A token or a GitHub App installation; GITHUB_API_URL for GitHub Enterprise Server."""

    org: str | None = None
    api_url: str = DEFAULT_BASE_URL
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    app_installation_id: str | None = None
    #: the merged-pull-request window; keep it equal to cc8_1_pull_requests_peer_approved's period_days
    pull_request_days: int = DEFAULT_PULL_REQUEST_DAYS

    def missing_settings(self) -> list[str]:
        missing = [] if self.org else ["GITHUB_ORG"]
        if not self.token and not (self.app_id and self.app_private_key and self.app_installation_id):
            missing.append("GITHUB_TOKEN (or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID)")
        return missing

    def config(self) -> GitHubConfig:
        return GitHubConfig(
            org=self.org or "",
            base_url=self.api_url,
            token=self.token,
            app_id=self.app_id,
            app_private_key=self.app_private_key,
            app_installation_id=int(self.app_installation_id) if self.app_installation_id else None,
        )


def repository_streams(resource: GitHubResource, day: date) -> Iterable[Stream]:
    yield RepositoryReviewRules(make_github(resource.config()), resource.org or "")


def organization_streams(resource: GitHubResource, day: date) -> Iterable[Stream]:
    yield Organization(make_github(resource.config()), resource.org or "")


def member_streams(resource: GitHubResource, day: date) -> Iterable[Stream]:
    yield OrganizationMembers(make_github(resource.config()), resource.org or "")


def outside_collaborator_streams(resource: GitHubResource, day: date) -> Iterable[Stream]:
    yield OutsideCollaborators(make_github(resource.config()), resource.org or "")


def merge_window(day: date, days: int) -> tuple[datetime, datetime]:
    """The `days` full UTC days before the partition day: complete days, so successive daily
    partitions cover every merge exactly once (the partition's own day is still under way)."""
    until = datetime.combine(day, time(0), UTC)
    return until - timedelta(days=days), until


def merged_pull_request_streams(resource: GitHubResource, day: date) -> Iterable[Stream]:
    yield MergedPullRequests(
        make_github(resource.config()), resource.org or "", *merge_window(day, resource.pull_request_days)
    )


def security_streams(kind: type[Stream]) -> Callable[[GitHubResource, date], Iterable[Stream]]:
    """The streams of one security dataset: `kind` over the organisation."""

    def streams(resource: GitHubResource, day: date) -> Iterable[Stream]:
        yield kind(make_github(resource.config()), resource.org or "")

    return streams


SOURCE = SourceDeclaration(
    source="github",
    resource_key="github",
    sandbox_system="github",
    secret_env=("GITHUB_TOKEN", "GITHUB_APP_PRIVATE_KEY"),
    faults=FaultExpectations(
        data_server="github",
        repeated_page={
            "github.repositories": REPEATED_PAGE,
            "github.members": REPEATED_PAGE,
            "github.outside_collaborators": REPEATED_PAGE,
            # the connector drops pull requests it has already seen (search results shift while paging), so it
            # yields nothing twice: the repeated cursor stops it
            "github.merged_pull_requests": REPEATED_CURSOR,
            "github.dependabot_alerts": REPEATED_PAGE,
            "github.code_scanning_alerts": REPEATED_PAGE,
            "github.secret_scanning_alerts": REPEATED_PAGE,
            # the REST page served twice repeats the repositories it holds
            "github.repository_security": REPEATED_PAGE,
            # a repositories page served twice yields nothing itself (its environments come from follow-up calls):
            # the work queue it leads to repeats, which stops it before any environment is read twice
            "github.environments": REPEATED_CURSOR,
            # a configuration's attachments page served twice repeats the attachments it holds
            "github.code_scanning_setup": REPEATED_PAGE,
        },
    ),
    accounts=(AccountsView("github", ("github.members",), "<login>"),),
)

DATASETS = [
    SourceDataset(
        source="github",
        dataset="repositories",
        description="Every repository of the organisation with its default branch's review rules: classic branch "
        "protection and active rulesets (GraphQL, 100 repositories a request). Archived repositories are "
        "recorded but out of scope.",
        streams=repository_streams,
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="organization",
        description="The organisation and whether it requires two-factor authentication (REST GET /orgs/{org}; "
        "the setting is shown to owners only, otherwise NULL = unknown). 1 request.",
        streams=organization_streams,
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="members",
        description="Every organisation member with role (ADMIN = owner), verified company-domain emails and 2FA "
        "state: REST members?filter=2fa_disabled (owners only; otherwise 2FA is NULL = unknown) then "
        "GraphQL membersWithRole, 100 a request.",
        streams=member_streams,
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="outside_collaborators",
        description="Every outside collaborator on every repository with the permission held (GraphQL, 100 "
        "repositories a request with their first 100 outside collaborators).",
        streams=outside_collaborator_streams,
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="merged_pull_requests",
        description="Pull requests merged in the full UTC day(s) before the partition day (GITHUB_PULL_REQUEST_DAYS, "
        "default 1) with their approvals, change requests and dismissed reviews (GraphQL search, 100 a "
        "request; windows over the search API's 1,000-result cap are split).",
        streams=merged_pull_request_streams,
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="dependabot_alerts",
        description="The organisation's Dependabot alerts, every state, with severity, package and created / fixed / "
        "dismissed dates (REST GET /orgs/{org}/dependabot/alerts, 100 a page by cursor; owners and security "
        "managers only). A list GitHub refuses as not enabled is one row saying so.",
        streams=security_streams(DependabotAlerts),
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="code_scanning_alerts",
        description="The organisation's code-scanning alerts on default branches, every state, with security "
        "severity and dates (REST GET /orgs/{org}/code-scanning/alerts, 100 a page). Unlicensed: one row saying so.",
        streams=security_streams(CodeScanningAlerts),
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="secret_scanning_alerts",
        description="The organisation's secret-scanning alerts, every state, without the secret (REST GET "
        "/orgs/{org}/secret-scanning/alerts?hide_secret=true, 100 a page). Unlicensed: one row saying so.",
        streams=security_streams(SecretScanningAlerts),
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="repository_security",
        description="Every repository's security settings: security_and_analysis from REST GET /orgs/{org}/repos "
        "(shown to owners, security managers and repository admins; absent = unknown) and Dependabot alerts on or off "
        "(GraphQL hasVulnerabilityAlertsEnabled), 100 repositories a request each.",
        streams=security_streams(RepositorySecurity),
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="environments",
        description="Each environment of each non-archived repository with its required reviewers, admin bypass and "
        "deployment branch policy: GraphQL finds the repositories with environments (100 a request), REST GET "
        "/repos/{owner}/{repo}/environments reads each of them.",
        streams=security_streams(Environments),
        kinds=("github",),
    ),
    SourceDataset(
        source="github",
        dataset="code_scanning_setup",
        description="Whether code scanning's default setup is configured on each repository: the organisation's code "
        "security configurations and each one's repositories with their attachment status (REST, 100 a page by "
        "cursor), GET /orgs/{org}/repos, and GET /repos/{owner}/{repo}/code-scanning/default-setup only for the active "
        "repositories no attached or enforced configuration states (403 not licensed: one row saying so).",
        streams=security_streams(CodeScanningSetup),
        kinds=("github",),
    ),
]


def github_resource() -> GitHubResource:
    return GitHubResource(
        org=env_value("GITHUB_ORG"),
        api_url=env_value("GITHUB_API_URL") or DEFAULT_BASE_URL,
        token=env_value("GITHUB_TOKEN"),
        app_id=env_value("GITHUB_APP_ID"),
        app_private_key=env_value("GITHUB_APP_PRIVATE_KEY"),
        app_installation_id=env_value("GITHUB_APP_INSTALLATION_ID"),
        # not a secret: read the value itself
        pull_request_days=int(os.environ.get("GITHUB_PULL_REQUEST_DAYS") or DEFAULT_PULL_REQUEST_DAYS),
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, github_resource())
