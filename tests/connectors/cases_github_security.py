"""Contract cases: GitHub security alerts, repositories' security settings and environments.

Minimum requests (connectors/github/minimum.py; A_k alerts of kind k in every state, R repositories, E_r
environments of non-archived repository r):
- dependabot_alerts, code_scanning_alerts, secret_scanning_alerts   max(1, ⌈A_k/100⌉)
- repository_security   2 · max(1, ⌈R/100⌉)   (GraphQL hasVulnerabilityAlertsEnabled + REST GET /orgs/{org}/repos)
- environments          max(1, ⌈R/100⌉) + Σ_{r: E_r > 0} max(1, ⌈E_r/100⌉)
- code_scanning_setup   max(1, ⌈C/100⌉) + Σ_c max(1, ⌈A_c/100⌉) + max(1, ⌈R/100⌉) + F   (C configurations, A_c
                        attachments of c in every status, F active repositories no trusted attachment proves)
"""

from __future__ import annotations

from connectors.github import (
    CodeScanningAlerts,
    CodeScanningSetup,
    DependabotAlerts,
    Environments,
    GitHubConfig,
    RepositorySecurity,
    SecretScanningAlerts,
    make_github,
)
from sandbox.github.minimum import security_records
from sandbox.minimum import github_requests
from tests.connectors.contract import ConnectorCase


def _client(sandbox):
    env = sandbox.env
    return make_github(GitHubConfig(org=env["GITHUB_ORG"], base_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"]))


def _case(dataset: str, stream) -> ConnectorCase:
    return ConnectorCase(
        name=f"github.{dataset}",
        systems=("github",),
        make_stream=lambda sandbox: stream(_client(sandbox), sandbox.env["GITHUB_ORG"]),
        expected_records=lambda org: security_records(org, dataset),
        min_requests=lambda org: github_requests(org, dataset),
        secret_env=("GITHUB_TOKEN",),
    )


CASES = [
    _case("dependabot_alerts", DependabotAlerts),
    _case("code_scanning_alerts", CodeScanningAlerts),
    _case("secret_scanning_alerts", SecretScanningAlerts),
    _case("repository_security", RepositorySecurity),
    _case("environments", Environments),
    _case("code_scanning_setup", CodeScanningSetup),
]
