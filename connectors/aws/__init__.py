"""AWS: IAM, AWS Backup and RDS evidence through boto3, across accounts (assumed roles) and regions."""

from connectors.aws.client import AccountSession, AwsConfig, account_sessions
from connectors.aws.streams import (
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
)

__all__ = [
    "DATASETS", "AccountSession", "AccountSummary", "AuthorizationDetails", "AwsConfig", "BackupJobs", "BackupPlans",
    "CredentialReport", "PasswordPolicy", "ProtectedResources", "RdsInstances", "RestoreJobs", "account_sessions",
]
