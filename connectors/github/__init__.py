"""GitHub: review rules, the organisation's 2FA requirement, members, outside collaborators, merged pull requests,
security alerts, repositories' security settings and environments (GraphQL and REST through PyGithub's requester)."""

from connectors.github.changes import MergedPullRequests
from connectors.github.client import GitHubConfig, make_github
from connectors.github.people import Organization, OrganizationMembers, OutsideCollaborators
from connectors.github.security import (
    CodeScanningAlerts,
    CodeScanningSetup,
    DependabotAlerts,
    Environments,
    RepositorySecurity,
    SecretScanningAlerts,
)
from connectors.github.streams import RepositoryReviewRules

__all__ = [
    "CodeScanningAlerts",
    "CodeScanningSetup",
    "DependabotAlerts",
    "Environments",
    "GitHubConfig",
    "MergedPullRequests",
    "Organization",
    "OrganizationMembers",
    "OutsideCollaborators",
    "RepositoryReviewRules",
    "RepositorySecurity",
    "SecretScanningAlerts",
    "make_github",
]
