"""GitHub: organisation repositories and their review rules (GraphQL through PyGithub's requester)."""

from connectors.github.client import GitHubConfig, make_github
from connectors.github.streams import RepositoryReviewRules

__all__ = ["GitHubConfig", "RepositoryReviewRules", "make_github"]
