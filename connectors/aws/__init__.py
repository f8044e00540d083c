"""AWS: IAM, AWS Backup, RDS and IAM Identity Center evidence through boto3, across accounts (assumed roles) and
regions."""

from connectors.aws.client import AccountSession, AwsConfig, SharedAccounts, account_sessions
from connectors.aws.streams import (
    BACKUP_JOB_DAYS,
    DATASETS,
    IDENTITY_TAG,
    AccountSummary,
    AuthorizationDetails,
    BackupJobs,
    BackupPlans,
    CredentialReport,
    IdentityCenterUsers,
    PasswordPolicy,
    ProtectedResources,
    RdsInstances,
    RestoreJobs,
    account_stream,
    backup_jobs_created_after,
)

__all__ = [
    "BACKUP_JOB_DAYS",
    "DATASETS",
    "IDENTITY_TAG",
    "AccountSession",
    "AccountSummary",
    "AuthorizationDetails",
    "AwsConfig",
    "BackupJobs",
    "BackupPlans",
    "CredentialReport",
    "IdentityCenterUsers",
    "PasswordPolicy",
    "ProtectedResources",
    "RdsInstances",
    "RestoreJobs",
    "SharedAccounts",
    "account_sessions",
    "account_stream",
    "backup_jobs_created_after",
]
