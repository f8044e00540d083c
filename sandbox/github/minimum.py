"""The page-size minimum of the GitHub security datasets for a sandbox organisation, from its model (not from what
the fake serves), through the connector's formulas (connectors/github/minimum.py)."""

from __future__ import annotations

from connectors.github import minimum as github
from sandbox.company import SandboxOrg
from sandbox.github.security import default_setup_call

#: dataset -> the model's alert kind
ALERT_KINDS = {
    "dependabot_alerts": "dependabot",
    "code_scanning_alerts": "code_scanning",
    "secret_scanning_alerts": "secret_scanning",
}
SECURITY_DATASETS = (*ALERT_KINDS, "repository_security", "environments", "code_scanning_setup")


def code_scanning_counts(org: SandboxOrg) -> tuple[int, list[int], int, int]:
    """(configurations, attachments of each in every status, repositories, default-setup calls) of the model."""
    data = org.github
    names = [r.name for r in data.repositories]
    attachments = [len(data.security.attachments_of(c.id, names)) for c in data.security.configurations]
    calls = sum(default_setup_call(data.security, r.name) for r in data.repositories if not r.archived)
    return len(data.security.configurations), attachments, len(names), calls


def security_records(org: SandboxOrg, dataset: str) -> int:
    data = org.github
    if dataset in ALERT_KINDS:
        return len(data.security.alerts_of(ALERT_KINDS[dataset]))
    if dataset == "repository_security":
        return len(data.repositories)
    if dataset == "code_scanning_setup":
        # a row per configuration, per attachment, per repository and per default-setup answer
        configurations, attachments, repositories, calls = code_scanning_counts(org)
        return configurations + sum(attachments) + repositories + calls
    active = [r.name for r in data.repositories if not r.archived]
    return sum(len(data.security.environments_of(name)) for name in active)


def security_requests(org: SandboxOrg, dataset: str) -> int:
    data = org.github
    if dataset in ALERT_KINDS:
        return github.alert_requests(security_records(org, dataset))
    if dataset == "repository_security":
        return github.repository_security_requests(len(data.repositories))
    if dataset == "code_scanning_setup":
        return github.code_scanning_setup_requests(*code_scanning_counts(org))
    active = [r.name for r in data.repositories if not r.archived]
    return github.environment_requests(
        len(data.repositories), (len(data.security.environments_of(name)) for name in active)
    )
