"""Contract case: GitHub repositories with their default branch's review rules.

Minimum requests (R repositories; a branch's rules and a ruleset's bypass actors beyond the first page the
repositories query reads, 25 and 10, come 100 a page):
    max(1, ⌈R/100⌉) + Σ_branch max(0, ⌈(rules − 25)/100⌉) + Σ_active ruleset max(0, ⌈(bypass actors − 10)/100⌉)
"""

import math

from connectors.github import GitHubConfig, RepositoryReviewRules, make_github
from sandbox.org import SandboxOrg
from tests.connectors.contract import ConnectorCase, pages

#: what the repositories query reads of each branch's rules and each ruleset's bypass actors
FIRST_RULES, FIRST_BYPASS_ACTORS = 25, 10


def _repositories(sandbox):
    env = sandbox.env
    client = make_github(GitHubConfig(org=env["GITHUB_ORG"], base_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"]))
    return RepositoryReviewRules(client, env["GITHUB_ORG"])


def follow_up_pages(count: int, first_page: int) -> int:
    return max(0, math.ceil((count - first_page) / 100))


def repository_requests(org: SandboxOrg) -> int:
    repositories = org.github.repositories
    branches = [r for r in repositories if not r.empty]
    rules = sum(follow_up_pages(sum(len(rs["rules"]) for rs in r.rulesets), FIRST_RULES) for r in branches)
    bypass = sum(
        follow_up_pages(len(rs["bypass"]), FIRST_BYPASS_ACTORS)
        for r in branches
        for rs in r.rulesets
        if rs["enforcement"] == "ACTIVE" and rs["rules"]
    )
    return pages(len(repositories), 100) + rules + bypass


CASES = [
    ConnectorCase(
        name="github.repositories",
        systems=("github",),
        make_stream=_repositories,
        expected_records=lambda org: len(org.github.repositories),
        min_requests=repository_requests,
        secret_env=("GITHUB_TOKEN",),
    ),
]
