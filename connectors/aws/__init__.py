"""AWS: IAM, AWS Backup and RDS evidence through boto3, across accounts (assumed roles) and regions."""

from connectors.aws.client import AccountSession, AwsConfig, account_sessions
from connectors.aws.streams import (
    BACKUP_JOB_DAYS,
    DATASETS,
    AccountSummary,
    AuthorizationDetails,
    BackupJobs,
    BackupPlans,
    CredentialReport,
    PasswordPolicy,
    ProtectedResources,
    RdsInstances,
    RestoreJobs,
    backup_jobs_created_after,
)

__all__ = [
    "BACKUP_JOB_DAYS", "DATASETS", "AccountSession", "AccountSummary", "AuthorizationDetails", "AwsConfig",
    "BackupJobs", "BackupPlans", "CredentialReport", "PasswordPolicy", "ProtectedResources", "RdsInstances",
    "RestoreJobs", "account_sessions", "backup_jobs_created_after",
]
