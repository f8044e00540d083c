"""The page-size minimum of every dataset for a sandbox organisation: the organisation's own counts (its model, not
what the fakes serve) through the connectors' formulas (connectors/<system>/minimum.py). The contract tests hold
each connector to it for one AWS account and the contract's windows; the bench for what the pipeline collects on a
day (every account, the pipeline's windows)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from connectors.aws import BACKUP_JOB_DAYS, backup_jobs_created_after
from connectors.aws import minimum as aws
from connectors.cloudflare import minimum as cloudflare
from connectors.endpoints import minimum as endpoints
from connectors.entra import minimum as entra
from connectors.github import minimum as github
from connectors.github.changes import DECISIVE_STATES
from connectors.google_workspace import minimum as google_workspace
from connectors.hr import minimum as hr
from connectors.knowbe4 import minimum as knowbe4
from sandbox.aws.model import AwsAccount
from sandbox.aws.posture import POSTURE_DATASETS, posture_requests
from sandbox.aws.posture_ops import operations_pipeline_min_requests
from sandbox.company import SandboxOrg
from sandbox.entra.server import POLICY_PAGE_SIZE, REPORT_PAGE_SIZE, ROLE_ASSIGNMENT_PAGE_SIZE
from sandbox.github import minimum as github_security

AWS_DATASETS = (*aws.FIXED_REQUESTS, *aws.PAGE_SIZE)


def backup_jobs_in_window(account: AwsAccount, today: date, days: int = BACKUP_JOB_DAYS) -> int:
    """The jobs ListBackupJobs returns with ByCreatedAfter = midnight `days` days before `today`: created after it,
    counted from the model's jobs one by one (not with the fake's own slicing)."""
    since = backup_jobs_created_after(today, days)
    return sum(1 for job in account.jobs() if job.created > since)


def aws_records(account: AwsAccount, dataset: str, today: date, backup_job_days: int = BACKUP_JOB_DAYS) -> int:
    """The records of `dataset` in `account` (users plus the root row in the credential report)."""
    counts = {
        "credential_report": lambda: len(account.users) + 1,
        "account_summary": lambda: 1,
        "password_policy": lambda: 1,
        "authorization_details": account.authorization_entities,
        "backup_jobs": lambda: backup_jobs_in_window(account, today, backup_job_days),
        "restore_jobs": lambda: len(account.restore_jobs),
        "protected_resources": lambda: len(account.protected),
        "backup_plans": lambda: len(account.plans),
        "rds_instances": lambda: len(account.db_instances),
        "identity_center_users": lambda: len(account.identity_center_users),
    }
    return counts[dataset]()


def aws_requests(account: AwsAccount, dataset: str, today: date, backup_job_days: int = BACKUP_JOB_DAYS) -> int:
    """One account's minimum; an account without an identity store is not asked for its users."""
    if dataset == "identity_center_users" and not account.identity_store_id:
        return 0
    return aws.min_requests(dataset, aws_records(account, dataset, today, backup_job_days))


def github_requests(org: SandboxOrg, dataset: str, merged_window: tuple[datetime, datetime] | None = None) -> int:
    """The organisation's minimum; merged_pull_requests needs the window [since, until) the connector searches."""
    data = org.github
    if dataset in github_security.SECURITY_DATASETS:
        return github_security.security_requests(org, dataset)
    if dataset == "organization":
        return github.ORGANIZATION_REQUESTS
    if dataset == "members":
        return github.member_requests(len(data.members), sum(not m.two_factor for m in data.members))
    if dataset == "outside_collaborators":
        per_repository: dict[str, int] = {}
        for grant in data.outside_collaborators:
            per_repository[grant.repository] = per_repository.get(grant.repository, 0) + 1
        return github.outside_collaborator_requests(len(data.repositories), per_repository.values())
    if dataset == "repositories":
        branches = [r for r in data.repositories if not r.empty]
        return github.repository_requests(
            len(data.repositories),
            (sum(len(rs["rules"]) for rs in r.rulesets) for r in branches),
            (len(rs["bypass"]) for r in branches for rs in r.rulesets if rs["enforcement"] == "ACTIVE" and rs["rules"]),
        )
    if dataset == "merged_pull_requests" and merged_window is not None:
        merged = data.merged_between(*merged_window)
        return github.merged_pull_request_requests(
            [pr.merged_at for pr in merged], *merged_window, (len(decisive(pr)) for pr in merged)
        )
    raise KeyError(f"github.{dataset} has no request minimum (merged_pull_requests needs a window)")


def decisive(pr) -> list:
    """The reviews the connector asks for: approvals, change requests and dismissed reviews."""
    return [r for r in pr.reviews if r.state in DECISIVE_STATES]


def entra_requests(org: SandboxOrg, dataset: str) -> int:
    data = org.systems["entra"]
    if dataset == "role_assignments":
        return entra.min_requests(dataset, len(data.role_assignments), ROLE_ASSIGNMENT_PAGE_SIZE)
    policy_records = {
        "conditional_access_policies": len(data.policy.ca_policies),
        "authentication_strength_policies": len(data.policy.strengths),
        "password_rule_settings": len(data.policy.settings),
    }
    if dataset in policy_records:
        return entra.min_requests(dataset, policy_records[dataset], POLICY_PAGE_SIZE)
    if dataset in entra.SINGLE_OBJECTS:
        return entra.min_requests(dataset, 1, POLICY_PAGE_SIZE)
    return entra.min_requests(dataset, len(data.users), REPORT_PAGE_SIZE)


def google_requests(org: SandboxOrg, dataset: str) -> int:
    data = org.systems["google"]
    if dataset == "org_units":
        return google_workspace.min_requests(dataset, len(data.policy.org_units))
    if dataset == "policies":
        security = [p for p in data.policy.policies if p["setting"]["type"].startswith("settings/security.")]
        return google_workspace.min_requests(dataset, len(security))
    return google_workspace.min_requests(dataset, len(getattr(data, dataset)))


def training_requests(org: SandboxOrg) -> int:
    return knowbe4.min_requests(len(org.systems["knowbe4"].enrollments))


def pipeline_min_requests(
    org: SandboxOrg,
    day: date,
    backup_job_days: int,
    merged_window: tuple[datetime, datetime],
    accounts: Iterable[AwsAccount] | None = None,
) -> dict[str, int]:
    """`<source>.<dataset>` -> the minimum of what the pipeline collects on `day`: every AWS account (or
    `accounts`), backup jobs created since midnight `backup_job_days` before the day, pull requests merged in
    `merged_window`; training through the KnowBe4 API."""
    accounts = list(org.systems["aws"].accounts if accounts is None else accounts)
    minimum = {
        f"aws.{name}": sum(aws_requests(account, name, day, backup_job_days) for account in accounts)
        for name in AWS_DATASETS
    }
    minimum |= {
        f"aws.{name}": sum(posture_requests(account, name) for account in accounts) for name in POSTURE_DATASETS
    }
    minimum |= operations_pipeline_min_requests(accounts, day, backup_job_days)
    minimum |= {f"github.{name}": github_requests(org, name, merged_window) for name in github.DATASETS}
    minimum |= {f"entra.{name}": entra_requests(org, name) for name in entra.DATASETS}
    minimum |= {f"google_workspace.{name}": google_requests(org, name) for name in google_workspace.STREAMS}
    minimum["cloudflare.zones"] = cloudflare.zone_requests(len(org.systems["cloudflare"].zones))
    minimum["cloudflare.members"] = cloudflare.member_requests(len(org.systems["cloudflare"].members))
    minimum["endpoints.probes"] = endpoints.min_requests(len(org.systems["endpoints"].hosts))
    minimum["training.enrollments"] = training_requests(org)
    minimum["hr.roster"] = hr.min_requests()
    return minimum
