"""AWS contract cases: every dataset for the sandbox's production account, through a role assumed with
the sandbox's base credentials (the AssumeRole call is session setup, outside each dataset's count).

Backup jobs are read as the pipeline reads them for the sandbox's today: ByCreatedAfter midnight UTC
BACKUP_JOB_DAYS days before, so N is the jobs created strictly after that moment, counted here from the
model's jobs one by one (not with the fake's own slicing)."""

import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from connectors.aws import (
    BACKUP_JOB_DAYS,
    DATASETS,
    AwsConfig,
    BackupJobs,
    CredentialReport,
    IdentityCenterUsers,
    account_sessions,
    account_stream,
    backup_jobs_created_after,
)
from connectors.aws.streams import BACKUP_PAGE, IAM_PAGE, IDENTITY_STORE_PAGE, RDS_PAGE
from connectors.provenance import Provenance, utc_now
from evidence_pipeline.defs.sources.aws import DATASETS as AWS_SPECS
from evidence_pipeline.defs.sources.aws import AwsResource
from evidence_pipeline.defs.sources.factory import (
    DATASETS_AT_ONCE,
    Collected,
    collect_dataset,
    log_optional_not_configured,
)
from sandbox.aws.model import REGION
from tests.connectors.contract import ConnectorCase, pages
from warehouse import Warehouse, stage_records


def aws_config(env: dict[str, str]) -> AwsConfig:
    return AwsConfig(
        role_arns=tuple(env["AWS_ROLE_ARNS"].split(",")),
        regions=tuple(env["AWS_REGIONS"].split(",")),
        endpoint_url=env["AWS_ENDPOINT_URL"],
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _stream(dataset: str):
    def make(sandbox):
        config = aws_config(sandbox.env)
        production = account_sessions(AwsConfig(**{**config.__dict__, "role_arns": config.role_arns[:1]}))[0]
        cls, regional = DATASETS[dataset]
        options: dict = {}
        if cls is CredentialReport:
            options["poll_interval"] = 0.0
        elif cls is BackupJobs:
            options["created_after"] = backup_jobs_created_after(sandbox.org.today, BACKUP_JOB_DAYS)
        return account_stream(cls, production, REGION if regional else None, **options)

    return make


def _identity_center(sandbox):
    """The identity store, read as the pipeline reads it: through the first account (production holds it)."""
    config = aws_config(sandbox.env)
    production = account_sessions(AwsConfig(**{**config.__dict__, "role_arns": config.role_arns[:1]}))[0]
    return account_stream(
        IdentityCenterUsers, production, REGION, identity_store_id=sandbox.env["AWS_IDENTITY_STORE_ID"]
    )


def identity_center_requests(account) -> int:
    """ListUsers pages of the store the account holds; an account without one is not read."""
    return pages(len(account.identity_center_users), IDENTITY_STORE_PAGE) if account.identity_store_id else 0


def _prod(org):
    return org.systems["aws"].production


def backup_jobs_in_window(account, today: date, days: int = BACKUP_JOB_DAYS) -> int:
    """The jobs ListBackupJobs returns with ByCreatedAfter = midnight `days` days before `today`: created after it."""
    since = backup_jobs_created_after(today, days)
    return sum(1 for job in account.jobs() if job.created > since)


CASES = [
    # generate (STARTED) + one poll (the sandbox reports COMPLETE on it) + get; users + the root row
    ConnectorCase(
        "aws.credential_report",
        ("aws",),
        _stream("credential_report"),
        expected_records=lambda org: len(_prod(org).users) + 1,
        min_requests=lambda org: 3,
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.account_summary",
        ("aws",),
        _stream("account_summary"),
        expected_records=lambda org: 1,
        min_requests=lambda org: 1,
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.password_policy",
        ("aws",),
        _stream("password_policy"),
        expected_records=lambda org: 1,
        min_requests=lambda org: 1,
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.authorization_details",
        ("aws",),
        _stream("authorization_details"),
        expected_records=lambda org: _prod(org).authorization_entities(),
        min_requests=lambda org: pages(_prod(org).authorization_entities(), IAM_PAGE),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.backup_jobs",
        ("aws",),
        _stream("backup_jobs"),
        expected_records=lambda org: backup_jobs_in_window(_prod(org), org.today),
        min_requests=lambda org: pages(backup_jobs_in_window(_prod(org), org.today), BACKUP_PAGE),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.restore_jobs",
        ("aws",),
        _stream("restore_jobs"),
        expected_records=lambda org: len(_prod(org).restore_jobs),
        min_requests=lambda org: pages(len(_prod(org).restore_jobs), BACKUP_PAGE),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.protected_resources",
        ("aws",),
        _stream("protected_resources"),
        expected_records=lambda org: len(_prod(org).protected),
        min_requests=lambda org: pages(len(_prod(org).protected), BACKUP_PAGE),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.backup_plans",
        ("aws",),
        _stream("backup_plans"),
        expected_records=lambda org: len(_prod(org).plans),
        min_requests=lambda org: pages(len(_prod(org).plans), BACKUP_PAGE),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.rds_instances",
        ("aws",),
        _stream("rds_instances"),
        expected_records=lambda org: len(_prod(org).db_instances),
        min_requests=lambda org: pages(len(_prod(org).db_instances), RDS_PAGE),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.identity_center_users",
        ("aws",),
        _identity_center,
        expected_records=lambda org: len(_prod(org).identity_center_users),
        min_requests=lambda org: identity_center_requests(_prod(org)),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
]


def land_records(warehouse: Warehouse, dataset: str, day: date, records: list[dict], run_id: str = "test") -> None:
    """Land records of `<source>.<dataset>` for `day` through the warehouse's own landing (with a provenance record),
    as a collected dataset is landed."""
    source, name = dataset.split(".", 1)
    staged = Path(tempfile.mkdtemp()) / f"{source}__{name}.jsonl"
    stage_records(records, staged)
    warehouse.land(
        source,
        name,
        day,
        run_id,
        staged,
        Provenance(source=source, dataset=name, parameters={}, record_count=len(records), finished_at=utc_now()),
    )


def collect_aws(resource: AwsResource, warehouse: Warehouse, day: date, run_id: str = "test") -> list[Collected]:
    """Every AWS dataset collected and landed as the source's step does it (side by side in threads, one resource
    instance; an optional dataset switched off logged as such), without Dagster."""
    staging, landing = Path(tempfile.mkdtemp()), threading.Lock()
    selected = [spec for spec in AWS_SPECS if not log_optional_not_configured(spec, resource, warehouse, day, run_id)]
    with ThreadPoolExecutor(DATASETS_AT_ONCE) as pool:
        return list(
            pool.map(lambda spec: collect_dataset(spec, resource, warehouse, staging, day, run_id, landing), selected)
        )
