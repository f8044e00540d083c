"""Contract case: GitHub repositories with their default branch's review rules.

Minimum requests (connectors/github/minimum.py; R repositories; a branch's rules and a ruleset's bypass actors
beyond the first page the repositories query reads, 25 and 10, come 100 a page):
    max(1, ⌈R/100⌉) + Σ_branch max(0, ⌈(rules − 25)/100⌉) + Σ_active ruleset max(0, ⌈(bypass actors − 10)/100⌉)
"""

from connectors.github import GitHubConfig, RepositoryReviewRules, make_github
from sandbox.minimum import github_requests
from tests.connectors.contract import ConnectorCase


def _repositories(sandbox):
    env = sandbox.env
    client = make_github(GitHubConfig(org=env["GITHUB_ORG"], base_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"]))
    return RepositoryReviewRules(client, env["GITHUB_ORG"])


CASES = [
    ConnectorCase(
        name="github.repositories",
        systems=("github",),
        make_stream=_repositories,
        expected_records=lambda org: len(org.github.repositories),
        min_requests=lambda org: github_requests(org, "repositories"),
        secret_env=("GITHUB_TOKEN",),
    ),
]
