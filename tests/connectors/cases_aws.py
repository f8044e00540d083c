"""AWS contract cases: every dataset for the sandbox's production account, through a role assumed with
the sandbox's base credentials (the AssumeRole call is session setup, outside each dataset's count).

Backup jobs are read as the pipeline reads them for the sandbox's today: ByCreatedAfter midnight UTC
BACKUP_JOB_DAYS days before, so N is the jobs created strictly after that moment, counted here from the
model's jobs one by one (not with the fake's own slicing)."""

from datetime import date

from connectors.aws import (
    BACKUP_JOB_DAYS,
    DATASETS,
    AwsConfig,
    BackupJobs,
    CredentialReport,
    account_sessions,
    backup_jobs_created_after,
)
from connectors.aws.streams import BACKUP_PAGE, IAM_PAGE, RDS_PAGE
from sandbox.aws.model import REGION
from tests.connectors.contract import ConnectorCase, pages


def aws_config(env: dict[str, str]) -> AwsConfig:
    return AwsConfig(role_arns=tuple(env["AWS_ROLE_ARNS"].split(",")), regions=tuple(env["AWS_REGIONS"].split(",")),
                     endpoint_url=env["AWS_ENDPOINT_URL"], access_key_id=env["AWS_ACCESS_KEY_ID"],
                     secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def _stream(dataset: str):
    def make(sandbox):
        config = aws_config(sandbox.env)
        production = account_sessions(AwsConfig(**{**config.__dict__, "role_arns": config.role_arns[:1]}))[0]
        cls, regional = DATASETS[dataset]
        client = production.client(cls.service, REGION if regional else None)
        if cls is CredentialReport:
            return CredentialReport(client, production.account_id, poll_interval=0.0)
        if cls is BackupJobs:
            return BackupJobs(client, production.account_id,
                              created_after=backup_jobs_created_after(sandbox.org.today, BACKUP_JOB_DAYS))
        return cls(client, production.account_id)
    return make


def _prod(org):
    return org.systems["aws"].production


def backup_jobs_in_window(account, today: date, days: int = BACKUP_JOB_DAYS) -> int:
    """The jobs ListBackupJobs returns with ByCreatedAfter = midnight `days` days before `today`: created after it."""
    since = backup_jobs_created_after(today, days)
    return sum(1 for job in account.jobs() if job.created > since)


CASES = [
    # generate (STARTED) + one poll (the sandbox reports COMPLETE on it) + get; users + the root row
    ConnectorCase("aws.credential_report", ("aws",), _stream("credential_report"),
                  expected_records=lambda org: len(_prod(org).users) + 1, min_requests=lambda org: 3,
                  secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.account_summary", ("aws",), _stream("account_summary"),
                  expected_records=lambda org: 1, min_requests=lambda org: 1, secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.password_policy", ("aws",), _stream("password_policy"),
                  expected_records=lambda org: 1, min_requests=lambda org: 1, secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.authorization_details", ("aws",), _stream("authorization_details"),
                  expected_records=lambda org: _prod(org).authorization_entities(),
                  min_requests=lambda org: pages(_prod(org).authorization_entities(), IAM_PAGE),
                  secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.backup_jobs", ("aws",), _stream("backup_jobs"),
                  expected_records=lambda org: backup_jobs_in_window(_prod(org), org.today),
                  min_requests=lambda org: pages(backup_jobs_in_window(_prod(org), org.today), BACKUP_PAGE),
                  secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.restore_jobs", ("aws",), _stream("restore_jobs"),
                  expected_records=lambda org: len(_prod(org).restore_jobs),
                  min_requests=lambda org: pages(len(_prod(org).restore_jobs), BACKUP_PAGE),
                  secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.protected_resources", ("aws",), _stream("protected_resources"),
                  expected_records=lambda org: len(_prod(org).protected),
                  min_requests=lambda org: pages(len(_prod(org).protected), BACKUP_PAGE),
                  secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.backup_plans", ("aws",), _stream("backup_plans"),
                  expected_records=lambda org: len(_prod(org).plans),
                  min_requests=lambda org: pages(len(_prod(org).plans), BACKUP_PAGE),
                  secret_env=("AWS_SECRET_ACCESS_KEY",)),
    ConnectorCase("aws.rds_instances", ("aws",), _stream("rds_instances"),
                  expected_records=lambda org: len(_prod(org).db_instances),
                  min_requests=lambda org: pages(len(_prod(org).db_instances), RDS_PAGE),
                  secret_env=("AWS_SECRET_ACCESS_KEY",)),
]
