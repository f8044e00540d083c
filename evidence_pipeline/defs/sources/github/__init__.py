"""GitHub: repositories and their default branches' review rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from connectors.github import GitHubConfig, RepositoryReviewRules, make_github
from connectors.github.client import DEFAULT_BASE_URL
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


class GitHubResource(SourceResource):
    """A token or a GitHub App installation; GITHUB_API_URL for GitHub Enterprise Server."""

    org: str | None = None
    api_url: str = DEFAULT_BASE_URL
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    app_installation_id: str | None = None

    def missing_settings(self) -> list[str]:
        missing = [] if self.org else ["GITHUB_ORG"]
        if not self.token and not (self.app_id and self.app_private_key and self.app_installation_id):
            missing.append("GITHUB_TOKEN (or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID)")
        return missing

    def config(self) -> GitHubConfig:
        return GitHubConfig(
            org=self.org or "", base_url=self.api_url, token=self.token, app_id=self.app_id,
            app_private_key=self.app_private_key,
            app_installation_id=int(self.app_installation_id) if self.app_installation_id else None,
        )


def repository_streams(resource: GitHubResource, day: date) -> Iterable[Stream]:
    yield RepositoryReviewRules(make_github(resource.config()), resource.org or "")


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
]


def github_resource() -> GitHubResource:
    return GitHubResource(
        org=env_value("GITHUB_ORG"),
        api_url=env_value("GITHUB_API_URL") or DEFAULT_BASE_URL,
        token=env_value("GITHUB_TOKEN"),
        app_id=env_value("GITHUB_APP_ID"),
        app_private_key=env_value("GITHUB_APP_PRIVATE_KEY"),
        app_installation_id=env_value("GITHUB_APP_INSTALLATION_ID"),
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, "github", github_resource())
