from connectors.github import GitHubConfig, RepositoryReviewRules, make_github
from tests.connectors.contract import ConnectorCase, pages


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
        min_requests=lambda org: pages(len(org.github.repositories), 100),
        secret_env=("GITHUB_TOKEN",),
    ),
]
