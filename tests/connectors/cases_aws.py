"""AWS contract cases: every dataset for the sandbox's production account, through a role assumed with
the sandbox's base credentials (the AssumeRole call is session setup, outside each dataset's count). The fewest
requests are connectors/aws/minimum.py's formulas over the account's counts (sandbox/minimum.py).

Backup jobs are read as the pipeline reads them for the sandbox's today: ByCreatedAfter midnight UTC
BACKUP_JOB_DAYS days before, so N is the jobs created strictly after that moment, counted from the
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
from evidence_pipeline.defs.sources.aws import DATASETS as AWS_SPECS
from evidence_pipeline.defs.sources.aws import AwsResource
from evidence_pipeline.defs.sources.factory import Collected, collect_dataset, log_optional_not_configured
from provenance import Provenance, utc_now
from sandbox.aws.model import REGION
from sandbox.aws.serve import aws_config
from sandbox.minimum import aws_requests, backup_jobs_in_window
from tests.connectors.contract import ConnectorCase
from warehouse import Warehouse, stage_records

__all__ = ["CASES", "aws_config", "backup_jobs_in_window", "collect_aws", "land_records"]


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


def _prod(org):
    return org.systems["aws"].production


def _minimum(dataset: str):
    return lambda org: aws_requests(_prod(org), dataset, org.today)


CASES = [
    # generate (STARTED) + one poll (the sandbox reports COMPLETE on it) + get; users + the root row
    ConnectorCase(
        "aws.credential_report",
        ("aws",),
        _stream("credential_report"),
        expected_records=lambda org: len(_prod(org).users) + 1,
        min_requests=_minimum("credential_report"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.account_summary",
        ("aws",),
        _stream("account_summary"),
        expected_records=lambda org: 1,
        min_requests=_minimum("account_summary"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.password_policy",
        ("aws",),
        _stream("password_policy"),
        expected_records=lambda org: 1,
        min_requests=_minimum("password_policy"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.authorization_details",
        ("aws",),
        _stream("authorization_details"),
        expected_records=lambda org: _prod(org).authorization_entities(),
        min_requests=_minimum("authorization_details"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.backup_jobs",
        ("aws",),
        _stream("backup_jobs"),
        expected_records=lambda org: backup_jobs_in_window(_prod(org), org.today),
        min_requests=_minimum("backup_jobs"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.restore_jobs",
        ("aws",),
        _stream("restore_jobs"),
        expected_records=lambda org: len(_prod(org).restore_jobs),
        min_requests=_minimum("restore_jobs"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.protected_resources",
        ("aws",),
        _stream("protected_resources"),
        expected_records=lambda org: len(_prod(org).protected),
        min_requests=_minimum("protected_resources"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.backup_plans",
        ("aws",),
        _stream("backup_plans"),
        expected_records=lambda org: len(_prod(org).plans),
        min_requests=_minimum("backup_plans"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.rds_instances",
        ("aws",),
        _stream("rds_instances"),
        expected_records=lambda org: len(_prod(org).db_instances),
        min_requests=_minimum("rds_instances"),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    ),
    ConnectorCase(
        "aws.identity_center_users",
        ("aws",),
        _identity_center,
        expected_records=lambda org: len(_prod(org).identity_center_users),
        min_requests=_minimum("identity_center_users"),
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
    with ThreadPoolExecutor(resource.datasets_at_once) as pool:
        return list(
            pool.map(lambda spec: collect_dataset(spec, resource, warehouse, staging, day, run_id, landing), selected)
        )
