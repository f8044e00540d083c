"""GitHub: review rules, the organisation's 2FA requirement, members, outside collaborators and merged
pull requests (GraphQL and REST through PyGithub's requester)."""

from connectors.github.changes import MergedPullRequests
from connectors.github.client import GitHubConfig, make_github
from connectors.github.people import Organization, OrganizationMembers, OutsideCollaborators
from connectors.github.streams import RepositoryReviewRules

__all__ = [
    "GitHubConfig",
    "MergedPullRequests",
    "Organization",
    "OrganizationMembers",
    "OutsideCollaborators",
    "RepositoryReviewRules",
    "make_github",
]
