"""AWS operations contract cases (connectors/aws/posture_ops.py): each dataset for the sandbox's production account in
its region, through a role assumed with the sandbox's base credentials (session setup, outside each count). Records
and the fewest requests come from the sandbox model (sandbox/aws/posture_ops.py), through the connector's formulas
(connectors/aws/minimum.py re-exports them): ⌈N/page⌉ for the listed datasets, ⌈LB/400⌉ + LB + H for the load
balancers' listeners (H: HTTP listeners whose default action is not an HTTPS redirect), ⌈D/50⌉ + D for GuardDuty.

Copy jobs are read as the pipeline reads them: ByCreatedAfter midnight UTC BACKUP_JOB_DAYS days before the sandbox's
today, N counted from the model's jobs one by one."""

from __future__ import annotations

from connectors.aws import BACKUP_JOB_DAYS, DATASETS, AwsConfig, account_sessions, account_stream
from connectors.aws import backup_jobs_created_after as created_after
from connectors.aws.posture_ops import CopyJobs
from sandbox.aws.model import REGION
from sandbox.aws.posture_ops import OPERATIONS_DATASETS, operations_records, operations_requests
from sandbox.aws.serve import aws_config
from tests.connectors.contract import ConnectorCase


def _stream(dataset: str):
    def make(sandbox):
        config = aws_config(sandbox.env)
        production = account_sessions(AwsConfig(**{**config.__dict__, "role_arns": config.role_arns[:1]}))[0]
        cls, _ = DATASETS[dataset]
        options = {"created_after": created_after(sandbox.org.today, BACKUP_JOB_DAYS)} if cls is CopyJobs else {}
        return account_stream(cls, production, REGION, **options)

    return make


def _case(dataset: str) -> ConnectorCase:
    return ConnectorCase(
        f"aws.{dataset}",
        ("aws",),
        _stream(dataset),
        expected_records=lambda org: operations_records(_prod(org), dataset, org.today, BACKUP_JOB_DAYS),
        min_requests=lambda org: operations_requests(_prod(org), dataset, org.today, BACKUP_JOB_DAYS),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    )


def _prod(org):
    return org.systems["aws"].production


#: every key type of certificate (the EC and RSA-4096 ones ListCertificates hides by default); one GuardDuty record
#: per region (its detector, or the row saying there is none)
CASES = [_case(dataset) for dataset in OPERATIONS_DATASETS]
