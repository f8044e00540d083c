"""AWS: IAM credentials and access, AWS Backup and RDS, for every configured account and region; the users of IAM
Identity Center when its identity store is named.

Settings: AWS_REGIONS (comma list; enables the source), AWS_ROLE_ARNS (comma list of roles to assume, one
per account; empty = the base credentials' own account), AWS_ENDPOINT_URL (the sandbox or a proxy),
AWS_EXTERNAL_ID (optional), AWS_BACKUP_JOB_DAYS (days of backup jobs before the snapshot day, default 4),
AWS_IDENTITY_TAG (the IAM user tag naming its person's e-mail, default `email`; a user named by its e-mail address
needs none). AWS_IDENTITY_STORE_ID (d-1234567890) switches on `identity_center_users`, read in
AWS_IDENTITY_CENTER_REGION (default the first of AWS_REGIONS) through the run's *first* account: the base
credentials' account, or the first role of AWS_ROLE_ARNS, which must be the management or delegated-administrator
account that holds the identity store; unset, that dataset is recorded as optional and not configured and the
cross-system controls leave Identity Center out of scope (they say so). Each role is assumed once per source run,
shared by the datasets. Base credentials come from boto3's
standard chain (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance or container role) and never pass through Dagster.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import date
from functools import cached_property
from typing import ClassVar

import dagster as dg

from connectors.aws import (
    BACKUP_JOB_DAYS,
    IDENTITY_TAG,
    AccountWideStream,
    AuthorizationDetails,
    AwsConfig,
    BackupJobs,
    CopyJobs,
    CredentialReport,
    IdentityCenterUsers,
    SharedAccounts,
    account_stream,
    backup_jobs_created_after,
)
from connectors.aws import DATASETS as STREAMS
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.aws.posture import POSTURE_DESCRIPTIONS
from evidence_pipeline.defs.sources.aws.posture_ops import (
    OPERATIONS_DESCRIPTIONS,
    OPERATIONS_MALFORMED_RETRIED,
    OPERATIONS_REPEATED_PAGE,
)
from evidence_pipeline.defs.sources.declaration import REPEATED_PAGE, AccountsView, FaultExpectations, SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions

#: guards the first creation of a resource's shared accounts (its datasets start in threads at once)
_SHARING = threading.Lock()


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class AwsResource(SourceResource):
    """Which accounts and regions to read; credentials stay in boto3's chain."""

    #: AWS's 36 datasets call as many services, each with its own rate limit: twice the default side by side
    datasets_at_once: ClassVar[int] = 8

    role_arns: str | None = None
    regions: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    external_id: str | None = None
    #: backup jobs created in the `backup_job_days` full UTC days before the snapshot day (and on it) are read;
    #: keep it above the backup controls' look-back (rpo_hours, job_lookback_days: one day) with a margin
    backup_job_days: int = BACKUP_JOB_DAYS
    #: the IAM user tag whose value is the user's person's e-mail (the user name counts when it is an e-mail)
    identity_tag: str = IDENTITY_TAG
    #: the IAM Identity Center identity store whose users are read (None: Identity Center is not used)
    identity_store_id: str | None = None
    #: where the identity store lives (default: the first of `regions`)
    identity_center_region: str | None = None

    def missing_settings(self) -> list[str]:
        return (
            []
            if _split(self.regions)
            else [
                "AWS_REGIONS (and AWS credentials: AWS_ROLE_ARNS to assume, "
                "base credentials from the standard AWS chain)"
            ]
        )

    def missing_dataset_settings(self, dataset: str) -> list[str]:
        if dataset == IdentityCenterUsers.dataset and not self.identity_store_id:
            return ["AWS_IDENTITY_STORE_ID (IAM Identity Center > Settings > Identity source)"]
        return []

    def config(self) -> AwsConfig:
        return AwsConfig(
            role_arns=_split(self.role_arns),
            regions=_split(self.regions),
            endpoint_url=self.endpoint_url or None,
            profile=self.profile or None,
            external_id=self.external_id or None,
        )

    @cached_property
    def _shared(self) -> SharedAccounts:
        return SharedAccounts(self.config())

    def shared_accounts(self) -> SharedAccounts:
        """The accounts of this resource instance's source run (one Dagster step): assumed once, for every dataset."""
        with _SHARING:
            return self._shared


def _streams(dataset: str):
    cls, regional = STREAMS[dataset]

    def streams(resource: AwsResource, day: date) -> Iterable[Stream]:
        config = resource.config()
        for account in resource.shared_accounts().sessions():
            for region in config.regions if regional else (None,):
                options: dict = {}
                if cls is BackupJobs or cls is CopyJobs:  # copy jobs: the backup jobs' window
                    options["created_after"] = backup_jobs_created_after(day, resource.backup_job_days)
                elif cls is AuthorizationDetails:
                    options["identity_tag"] = resource.identity_tag
                elif issubclass(cls, AccountWideStream):  # reads across regions with the account's session
                    options.update(session=account, regions=config.regions)
                yield account_stream(cls, account, region, **options)

    return streams


def _identity_center_streams(resource: AwsResource, day: date) -> Iterable[Stream]:
    """One identity store, read once per run with the run's first account session (no second role assumption): the
    account that holds it is the management or delegated-administrator account, listed first."""
    account = resource.shared_accounts().sessions()[0]
    region = resource.identity_center_region or resource.config().regions[0]
    yield account_stream(IdentityCenterUsers, account, region, identity_store_id=resource.identity_store_id or "")


DESCRIPTIONS = {
    "credential_report": "The IAM credential report of every account (generate, poll until COMPLETE, get): each "
    "IAM user's password, MFA and access keys with last use, and the <root_account> row. "
    "GeneratedTime is the source timestamp.",
    "account_summary": "GetAccountSummary per account: whether the root user has MFA and access keys.",
    "authorization_details": "GetAccountAuthorizationDetails per account (1,000 items a page): users with groups, "
    "attached and inline policies and tags (the AWS_IDENTITY_TAG tag, default `email`, "
    "names the owner; so does a user name that is an e-mail address), groups, roles and "
    "managed policies.",
    "password_policy": "GetAccountPasswordPolicy per account; an account without a policy is recorded as such.",
    "backup_jobs": "AWS Backup ListBackupJobs per account and region: the jobs created since midnight UTC "
    "AWS_BACKUP_JOB_DAYS (default 4) days before the partition day (ByCreatedAfter, in provenance), "
    "which covers the backup controls' one-day look-back with a margin.",
    "restore_jobs": "AWS Backup ListRestoreJobs per account and region: the restore tests.",
    "protected_resources": "AWS Backup ListProtectedResources per account and region: the RPO population.",
    "backup_plans": "AWS Backup ListBackupPlans per account and region.",
    "rds_instances": "RDS DescribeDBInstances per account and region (100 a page): backup retention, storage "
    "encryption and public accessibility.",
    **POSTURE_DESCRIPTIONS,
    **OPERATIONS_DESCRIPTIONS,
    "identity_center_users": "IAM Identity Center identitystore ListUsers (100 a page) of the AWS_IDENTITY_STORE_ID "
    "identity store, through the first configured account: each user's name, every e-mail "
    "(primary flagged) and UserStatus. Optional: without AWS_IDENTITY_STORE_ID it is recorded "
    "as not configured and Identity Center is out of the cross-system controls' scope.",
}

SOURCE = SourceDeclaration(
    source="aws",
    resource_key="aws",
    sandbox_system="aws",
    # base credentials come from boto3's chain, never through Dagster; the sandbox sets them in the environment
    secret_env=("AWS_SECRET_ACCESS_KEY",),
    faults=FaultExpectations(
        data_server="aws",
        malformed_retried=frozenset(
            {"aws.backup_jobs", "aws.restore_jobs", "aws.protected_resources", "aws.backup_plans"}
            | {"aws.identity_center_users"}
            | OPERATIONS_MALFORMED_RETRIED
            # posture: a body botocore cannot parse is retried (S3 turns it into a 500; KMS and CloudTrail into {})
            | {"aws.s3_buckets", "aws.kms_keys", "aws.cloudtrail_trails"}
        ),
        repeated_page={"aws.backup_jobs": REPEATED_PAGE, **OPERATIONS_REPEATED_PAGE},
    ),
    accounts=(
        AccountsView("aws", ("aws.authorization_details", "aws.credential_report"), "<account id>/<user name>"),
        AccountsView("aws_identity_center", ("aws.identity_center_users",), "<user name> (the user id when none)"),
    ),
)

#: the datasets whose calls grow with the account (a day's jobs page after page, calls per bucket, key or load
#: balancer): started first of the source's, or the step waits on the last of them to start
LONGEST_FIRST = ("backup_jobs", "copy_jobs", "s3_buckets", "log_groups", "lb_listeners", "kms_keys")

DATASETS = [
    SourceDataset(
        source="aws",
        dataset=name,
        description=DESCRIPTIONS[name],
        streams=_streams(name),
        kinds=("aws",),
        priority=1 if name in LONGEST_FIRST else 0,
    )
    for name in STREAMS
] + [
    SourceDataset(
        source="aws",
        dataset=IdentityCenterUsers.dataset,
        description=DESCRIPTIONS[IdentityCenterUsers.dataset],
        streams=_identity_center_streams,
        kinds=("aws",),
    )
]


def aws_resource() -> AwsResource:
    return AwsResource(
        role_arns=env_value("AWS_ROLE_ARNS"),
        regions=env_value("AWS_REGIONS"),
        endpoint_url=env_value("AWS_ENDPOINT_URL"),
        profile=env_value("AWS_PROFILE"),
        external_id=env_value("AWS_EXTERNAL_ID"),
        # not a secret: read the value itself
        backup_job_days=int(os.environ.get("AWS_BACKUP_JOB_DAYS") or BACKUP_JOB_DAYS),
        identity_tag=(os.environ.get("AWS_IDENTITY_TAG") or "").strip() or IDENTITY_TAG,
        identity_store_id=(os.environ.get("AWS_IDENTITY_STORE_ID") or "").strip() or None,
        identity_center_region=(os.environ.get("AWS_IDENTITY_CENTER_REGION") or "").strip() or None,
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, aws_resource())


__all__ = ["DATASETS", "AwsResource", "CredentialReport", "defs"]
