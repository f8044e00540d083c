"""AWS: IAM credentials and access, AWS Backup and RDS, for every configured account and region.

Settings: AWS_REGIONS (comma list; enables the source), AWS_ROLE_ARNS (comma list of roles to assume, one
per account; empty = the base credentials' own account), AWS_ENDPOINT_URL (the sandbox or a proxy),
AWS_EXTERNAL_ID (optional), AWS_BACKUP_JOB_DAYS (days of backup jobs before the snapshot day, default 4).
Base credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance or container role) and never pass through Dagster.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date

import dagster as dg

from connectors.aws import (
    BACKUP_JOB_DAYS,
    AwsConfig,
    BackupJobs,
    CredentialReport,
    account_sessions,
    backup_jobs_created_after,
)
from connectors.aws import DATASETS as STREAMS
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class AwsResource(SourceResource):
    """Which accounts and regions to read; credentials stay in boto3's chain."""

    role_arns: str | None = None
    regions: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    external_id: str | None = None
    #: backup jobs created in the `backup_job_days` full UTC days before the snapshot day (and on it) are read;
    #: keep it above the backup controls' look-back (rpo_hours, job_lookback_days: one day) with a margin
    backup_job_days: int = BACKUP_JOB_DAYS

    def missing_settings(self) -> list[str]:
        return [] if _split(self.regions) else ["AWS_REGIONS (and AWS credentials: AWS_ROLE_ARNS to assume, "
                                                "base credentials from the standard AWS chain)"]

    def config(self) -> AwsConfig:
        return AwsConfig(role_arns=_split(self.role_arns), regions=_split(self.regions),
                         endpoint_url=self.endpoint_url or None, profile=self.profile or None,
                         external_id=self.external_id or None)


def _streams(dataset: str):
    cls, regional = STREAMS[dataset]

    def streams(resource: AwsResource, day: date) -> Iterable[Stream]:
        config = resource.config()
        for account in account_sessions(config):
            for region in config.regions if regional else (None,):
                client = account.client(cls.service, region)
                if cls is BackupJobs:
                    yield BackupJobs(client, account.account_id,
                                     created_after=backup_jobs_created_after(day, resource.backup_job_days))
                else:
                    yield cls(client, account.account_id)

    return streams


DESCRIPTIONS = {
    "credential_report": "The IAM credential report of every account (generate, poll until COMPLETE, get): each "
                         "IAM user's password, MFA and access keys with last use, and the <root_account> row. "
                         "GeneratedTime is the source timestamp.",
    "account_summary": "GetAccountSummary per account: whether the root user has MFA and access keys.",
    "authorization_details": "GetAccountAuthorizationDetails per account (1,000 items a page): users with groups, "
                             "attached and inline policies and tags (the `email` tag names the owner), groups, "
                             "roles and managed policies.",
    "password_policy": "GetAccountPasswordPolicy per account; an account without a policy is recorded as such.",
    "backup_jobs": "AWS Backup ListBackupJobs per account and region: the jobs created since midnight UTC "
                   "AWS_BACKUP_JOB_DAYS (default 4) days before the partition day (ByCreatedAfter, in provenance), "
                   "which covers the backup controls' one-day look-back with a margin.",
    "restore_jobs": "AWS Backup ListRestoreJobs per account and region: the restore tests.",
    "protected_resources": "AWS Backup ListProtectedResources per account and region: the RPO population.",
    "backup_plans": "AWS Backup ListBackupPlans per account and region.",
    "rds_instances": "RDS DescribeDBInstances per account and region (100 a page): backup retention, storage "
                     "encryption and public accessibility.",
}

DATASETS = [
    SourceDataset(source="aws", dataset=name, description=DESCRIPTIONS[name], streams=_streams(name), kinds=("aws",))
    for name in STREAMS
]


def aws_resource() -> AwsResource:
    return AwsResource(role_arns=env_value("AWS_ROLE_ARNS"), regions=env_value("AWS_REGIONS"),
                       endpoint_url=env_value("AWS_ENDPOINT_URL"), profile=env_value("AWS_PROFILE"),
                       external_id=env_value("AWS_EXTERNAL_ID"),
                       # not a secret: read the value itself
                       backup_job_days=int(os.environ.get("AWS_BACKUP_JOB_DAYS") or BACKUP_JOB_DAYS))


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, "aws", aws_resource())


__all__ = ["DATASETS", "AwsResource", "CredentialReport", "defs"]
