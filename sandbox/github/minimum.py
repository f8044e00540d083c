"""The page-size minimum of the GitHub security datasets for a sandbox organisation, from its model (not from what
the fake serves), through the connector's formulas (connectors/github/minimum.py)."""

from __future__ import annotations

from connectors.github import minimum as github
from sandbox.company import SandboxOrg

#: dataset -> the model's alert kind
ALERT_KINDS = {
    "dependabot_alerts": "dependabot",
    "code_scanning_alerts": "code_scanning",
    "secret_scanning_alerts": "secret_scanning",
}
SECURITY_DATASETS = (*ALERT_KINDS, "repository_security", "environments")


def security_records(org: SandboxOrg, dataset: str) -> int:
    data = org.github
    if dataset in ALERT_KINDS:
        return len(data.security.alerts_of(ALERT_KINDS[dataset]))
    if dataset == "repository_security":
        return len(data.repositories)
    active = [r.name for r in data.repositories if not r.archived]
    return sum(len(data.security.environments_of(name)) for name in active)


def security_requests(org: SandboxOrg, dataset: str) -> int:
    data = org.github
    if dataset in ALERT_KINDS:
        return github.alert_requests(security_records(org, dataset))
    if dataset == "repository_security":
        return github.repository_security_requests(len(data.repositories))
    active = [r.name for r in data.repositories if not r.archived]
    return github.environment_requests(
        len(data.repositories), (len(data.security.environments_of(name)) for name in active)
    )
