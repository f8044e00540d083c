"""AWS posture contract cases (connectors/aws/posture.py): each dataset for the sandbox's production account through
its assumed role, at the page-size minimum of connectors/aws/minimum.py's formulas over the model's counts
(sandbox/aws/posture.py): s3_buckets 1 + 4N, kms_keys ⌈K/1000⌉ + K + E, cloudtrail_trails R + 2T, the others one
request or ⌈N/page⌉. The development account (a region enabled but not read, no account block) is read by the
pipeline's day (tests/test_controls.py)."""

from connectors.aws import DATASETS, AccountWideStream, AwsConfig, account_sessions, account_stream
from sandbox.aws.model import REGION
from sandbox.aws.posture import POSTURE_DATASETS, posture_records, posture_requests
from sandbox.aws.serve import aws_config
from tests.connectors.contract import ConnectorCase


def _stream(dataset: str):
    def make(sandbox):
        config = aws_config(sandbox.env)
        production = account_sessions(AwsConfig(**{**config.__dict__, "role_arns": config.role_arns[:1]}))[0]
        cls, regional = DATASETS[dataset]
        options = {"session": production, "regions": config.regions} if issubclass(cls, AccountWideStream) else {}
        return account_stream(cls, production, REGION if regional else None, **options)

    return make


def _prod(org):
    return org.systems["aws"].production


CASES = [
    ConnectorCase(
        f"aws.{dataset}",
        ("aws",),
        _stream(dataset),
        expected_records=lambda org, dataset=dataset: posture_records(_prod(org), dataset),
        min_requests=lambda org, dataset=dataset: posture_requests(_prod(org), dataset),
        secret_env=("AWS_SECRET_ACCESS_KEY",),
    )
    for dataset in POSTURE_DATASETS
]
