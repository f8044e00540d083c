"""AWS: IAM, AWS Backup, RDS and IAM Identity Center evidence through boto3, across accounts (assumed roles) and
regions."""

from connectors.aws.client import AccountSession, AwsConfig, SharedAccounts, account_sessions
from connectors.aws.posture import POSTURE_DATASETS, AccountWideStream
from connectors.aws.posture_ops import OPERATIONS_DATASETS, CopyJobs
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

# the posture datasets (connectors/aws/posture.py) join the core ones; posture's rds_instances adds two columns
DATASETS = {**DATASETS, **POSTURE_DATASETS}
# the operations datasets (connectors/aws/posture_ops.py): Backup vaults and copies, ACM, ELBv2, Logs, GuardDuty
DATASETS = {**DATASETS, **OPERATIONS_DATASETS}

__all__ = [
    "BACKUP_JOB_DAYS",
    "DATASETS",
    "IDENTITY_TAG",
    "AccountSession",
    "AccountWideStream",
    "AccountSummary",
    "AuthorizationDetails",
    "AwsConfig",
    "BackupJobs",
    "BackupPlans",
    "CopyJobs",
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
