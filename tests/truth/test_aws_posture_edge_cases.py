"""AWS posture on the documented edge cases (SOURCES-2 §2.1-2.5): a region enabled but not in AWS_REGIONS, a bucket
without a policy, a bucket created before 2023-01-05 without an encryption configuration and one created since, a
KMS key pending deletion and an asymmetric one, a multi-region trail whose shadow copy appears in a second region, a
trail logging without management events, and an Aurora member judged through its cluster. Records come from the real
connector against moto in server mode (sandbox/aws), landed as the source's step lands them and judged by the
catalogue's SQL; the policy and selector rules are also tested on their documented shapes directly."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from connectors.aws.posture import denies_insecure_transport, management_events, region_of_location
from evidence_pipeline.catalogue import Catalogue, load_catalogue
from evidence_pipeline.defs.sources.aws import DATASETS as AWS_SPECS
from evidence_pipeline.defs.sources.aws import AwsResource
from evidence_pipeline.defs.sources.factory import collect_dataset
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from sandbox.aws.model import REGION, AwsAccount, AwsData
from sandbox.aws.posture import (
    ALL_BLOCKED,
    POSTURE_DATASETS,
    AccountPosture,
    Bucket,
    Key,
    Trail,
    tls_only_policy,
)
from sandbox.aws.serve import serve
from tests.connectors.cases_aws import land_records
from warehouse import Warehouse

DAY = date(2026, 11, 20)
MIDNIGHT = datetime(2026, 11, 20, tzinfo=UTC)
#: an account id of its own: moto's per-account state is shared by the process
ACCOUNT = "320000000001"
SECOND_REGION = "eu-west-1"
#: opted in, not in AWS_REGIONS
UNREAD = "ap-south-2"
KMS = ("aws:kms", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-1111-4111-8111-111111111111")


def _bucket(name: str, **changes: object) -> Bucket:
    fields: dict = dict(
        name=name,
        region=REGION,
        created=MIDNIGHT - timedelta(days=30),
        sse=KMS,
        block=ALL_BLOCKED,
        policy=tls_only_policy(name),
    )
    return Bucket(**{**fields, **changes})


def world() -> AwsData:
    account = AwsAccount(ACCOUNT, "edge", MIDNIGHT - timedelta(days=900))
    account.posture = AccountPosture(
        {REGION: "opt-in-not-required", SECOND_REGION: "opt-in-not-required", UNREAD: "opted-in"},
        None,
        True,
        buckets=[
            _bucket("edge-legacy", sse=None, created=datetime(2021, 6, 1, tzinfo=UTC)),
            _bucket("edge-since-2023", sse=None),
            _bucket("edge-no-policy", policy=None),
            _bucket("edge-good"),
            _bucket("edge-trail"),
        ],
        keys=[
            Key("22222222-2222-4222-8222-222222222222", "rotating"),
            Key("33333333-3333-4333-8333-333333333333", "not rotating", rotation=False),
            Key("44444444-4444-4444-8444-444444444444", "retired", state="PendingDeletion", rotation=False),
            Key("55555555-5555-4555-8555-555555555555", "signing", spec="ECC_NIST_P256", usage="SIGN_VERIFY"),
        ],
        trails=[
            Trail("everything", True, True, True, ("basic", True, "All"), "edge-trail"),
            Trail("data-only", True, True, True, ("basic", False, "All"), "edge-trail"),
        ],
    )
    return AwsData(accounts=[account], today=DAY)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One collection of the posture datasets over two configured regions, landed as the source's step lands them."""
    server, env = serve(world())
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ACCESS_KEY_ID", env["AWS_ACCESS_KEY_ID"])
            patch.setenv("AWS_SECRET_ACCESS_KEY", env["AWS_SECRET_ACCESS_KEY"])
            store = Warehouse(tmp_path_factory.mktemp("aws-posture") / "warehouse.duckdb")
            store.migrate()
            resource = AwsResource(
                role_arns=env["AWS_ROLE_ARNS"],
                regions=f"{REGION},{SECOND_REGION}",
                endpoint_url=env["AWS_ENDPOINT_URL"],
            )
            staging, landing = Path(tempfile.mkdtemp()), threading.Lock()
            wanted = {f"aws.{d}" for d in POSTURE_DATASETS} | {"aws.rds_instances"}
            collected = [
                collect_dataset(spec, resource, store, staging, DAY, "test", landing)
                for spec in AWS_SPECS
                if spec.name in wanted
            ]
        assert not [c.failure for c in collected if c.failure]
    finally:
        server.stop()
    yield store


@cache
def the_catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"))


def verdicts(store: Warehouse, control_id: str) -> dict[str, tuple[str, str]]:
    catalogue = the_catalogue()
    outcome = evaluate_control(store, catalogue, catalogue.by_id[control_id], DAY, "test")
    return {r["resource_id"]: (r["status"], r["reason"]) for r in outcome.rows}


def test_an_enabled_region_not_read_is_unknown_never_a_pass(warehouse: Warehouse) -> None:
    rows = warehouse.query("SELECT region, configured FROM raw_aws_regions WHERE snapshot_date = ?", [DAY])
    assert {r["region"]: r["configured"] for r in rows} == {REGION: True, SECOND_REGION: True, UNREAD: False}
    found = verdicts(warehouse, "cc6_1_aws_ebs_encryption_default")
    assert found[f"{ACCOUNT}/{UNREAD}"][0] == "unknown"
    assert "add it to AWS_REGIONS" in found[f"{ACCOUNT}/{UNREAD}"][1]
    assert found[f"{ACCOUNT}/{REGION}"][0] == "pass"
    # the second configured region was read: moto's default there is off
    assert found[f"{ACCOUNT}/{SECOND_REGION}"][0] == "fail"
    for control in ("cc6_1_aws_kms_rotation", "cc6_6_aws_security_groups_restricted", "a1_2_aws_rds_multi_az"):
        assert verdicts(warehouse, control)[f"{ACCOUNT}/{UNREAD}"][0] == "unknown", control


def test_a_missing_encryption_configuration_is_judged_as_documented(warehouse: Warehouse) -> None:
    found = verdicts(warehouse, "cc6_1_aws_s3_default_encryption")
    legacy, since = found["arn:aws:s3:::edge-legacy"], found["arn:aws:s3:::edge-since-2023"]
    # created before S3 encrypted every new object: older objects may be in the clear
    assert legacy[0] == "unknown" and "2023-01-05" in legacy[1]
    # created since: S3's base level SSE-S3 applies, which is not the KMS the control asks for
    assert since[0] == "fail" and "SSE-S3" in since[1]
    assert found["arn:aws:s3:::edge-good"][0] == "pass"


def test_a_bucket_without_a_policy_is_not_tls_only(warehouse: Warehouse) -> None:
    found = verdicts(warehouse, "cc6_7_aws_s3_tls_only")
    assert found["arn:aws:s3:::edge-no-policy"] == ("fail", "no bucket policy: requests over plain HTTP are not denied")
    assert found["arn:aws:s3:::edge-good"][0] == "pass"


def test_without_an_account_block_each_bucket_needs_its_own(warehouse: Warehouse) -> None:
    rows = warehouse.query("SELECT configured FROM raw_aws_s3_account_public_access WHERE snapshot_date = ?", [DAY])
    assert [r["configured"] for r in rows] == [False]  # NoSuchPublicAccessBlockConfiguration, read through s3control
    found = verdicts(warehouse, "cc6_1_aws_s3_public_access_blocked")
    assert {status for status, _ in found.values()} == {"pass"}


def test_keys_rotation_does_not_apply_to_are_out_of_the_population(warehouse: Warehouse) -> None:
    found = verdicts(warehouse, "cc6_1_aws_kms_rotation")
    keys = {r.split("/")[-1]: s for r, (s, _) in found.items() if ":key/" in r}
    assert keys == {"22222222-2222-4222-8222-222222222222": "pass", "33333333-3333-4333-8333-333333333333": "fail"}
    states = warehouse.query("SELECT key_state, key_spec, rotation_applies FROM raw_aws_kms_keys ORDER BY key_id")
    assert {(r["key_state"], r["key_spec"], r["rotation_applies"]) for r in states} >= {
        ("PendingDeletion", "SYMMETRIC_DEFAULT", False),
        ("Enabled", "ECC_NIST_P256", False),
    }


def test_shadow_trails_are_read_once_and_management_events_are_required(warehouse: Warehouse) -> None:
    rows = warehouse.query(
        "SELECT name, listed_in_regions, management_events FROM raw_aws_cloudtrail_trails ORDER BY name"
    )
    # both trails are multi-region: each is listed in both configured regions and recorded once
    assert [(r["name"], sorted(r["listed_in_regions"]), r["management_events"]) for r in rows] == [
        ("data-only", sorted([REGION, SECOND_REGION]), None),
        ("everything", sorted([REGION, SECOND_REGION]), "All"),
    ]
    found = verdicts(warehouse, "cc7_2_aws_cloudtrail_multi_region")
    assert found[ACCOUNT][0] == "pass" and "everything" in found[ACCOUNT][1]
    (log,) = warehouse.query(
        "SELECT request_count FROM collection_log WHERE dataset = 'cloudtrail_trails' AND snapshot_date = ?", [DAY]
    )
    assert log["request_count"] == 2 + 2 * 2  # DescribeTrails per region, status and selectors per TrailARN


def test_a_trail_logging_without_management_events_fails_the_account(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "warehouse.duckdb")
    store.migrate()
    land_records(store, "aws.regions", DAY, [_region(REGION, True)])
    land_records(store, "aws.cloudtrail_trails", DAY, [_trail("data-only", management_events=None)])
    status, reason = verdicts(store, "cc7_2_aws_cloudtrail_multi_region")[ACCOUNT]
    assert status == "fail" and "records no management events" in reason


def test_an_aurora_member_is_judged_through_its_cluster(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "warehouse.duckdb")
    store.migrate()
    land_records(store, "aws.regions", DAY, [_region(REGION, True)])
    member = {
        "account_id": ACCOUNT,
        "region": REGION,
        "db_instance_identifier": "orders-1",
        "db_instance_arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-1",
        "engine": "aurora-postgresql",
        "engine_version": "16.4",
        "db_instance_class": "db.r6g.large",
        "status": "available",
        "backup_retention_period": 7,
        "storage_encrypted": True,
        "publicly_accessible": False,
        # an Aurora instance reports MultiAZ false and no log exports: both are the cluster's
        "multi_az": False,
        "deletion_protection": False,
        "latest_restorable_time": None,
        "instance_create_time": None,
        "db_cluster_identifier": "orders",
        "enabled_cloudwatch_logs_exports": [],
    }
    cluster = {
        "account_id": ACCOUNT,
        "region": REGION,
        "db_cluster_identifier": "orders",
        "db_cluster_arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders",
        "engine": "aurora-postgresql",
        "status": "available",
        "multi_az": True,
        "availability_zones": [f"{REGION}a", f"{REGION}b"],
        "deletion_protection": True,
        "storage_encrypted": True,
        "publicly_accessible": None,
        "enabled_cloudwatch_logs_exports": ["postgresql"],
        "members": ["orders-1"],
    }
    land_records(store, "aws.rds_instances", DAY, [member])
    land_records(store, "aws.rds_clusters", DAY, [cluster])
    for control in ("a1_2_aws_rds_multi_az", "a1_2_aws_rds_deletion_protection", "cc7_2_aws_rds_log_exports"):
        found = {r: status for r, (status, _) in verdicts(store, control).items()}
        assert found == {cluster["db_cluster_arn"]: "pass"}, control
    # the cluster reports no PubliclyAccessible: its members' decide
    assert verdicts(store, "cc6_6_aws_rds_not_public")[cluster["db_cluster_arn"]][0] == "pass"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        # the S3 User Guide's example, resources as a list
        (tls_only_policy("b")["Statement"][0], True),
        # Resource "*" covers the bucket and its objects; Principal {"AWS": "*"} is every principal
        ({**tls_only_policy("b")["Statement"][0], "Resource": "*", "Principal": {"AWS": "*"}}, True),
        # the bucket only, not its objects
        ({**tls_only_policy("b")["Statement"][0], "Resource": "arn:aws:s3:::b"}, False),
        # another condition narrows the deny to some requests
        (
            {
                **tls_only_policy("b")["Statement"][0],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            },
            False,
        ),
        # denies only s3:GetObject
        ({**tls_only_policy("b")["Statement"][0], "Action": "s3:GetObject"}, False),
        # an Allow is no deny
        ({**tls_only_policy("b")["Statement"][0], "Effect": "Allow"}, False),
    ],
)
def test_the_tls_only_rule_on_documented_policy_shapes(statement: dict, expected: bool) -> None:
    # Statement may be one object or a list of them
    assert denies_insecure_transport(json.dumps({"Statement": statement}), "b") is expected
    assert denies_insecure_transport(json.dumps({"Statement": [statement]}), "b") is expected


def test_an_unparsable_policy_is_unknown_and_no_policy_is_no_deny() -> None:
    assert denies_insecure_transport("[1, 2]", "b") is None
    assert denies_insecure_transport("{not json", "b") is None
    assert denies_insecure_transport(None, "b") is False


def test_management_events_from_basic_and_advanced_selectors() -> None:
    basic = {"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}
    assert management_events(basic) == "WriteOnly"
    assert management_events({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}) is None
    read_only = {
        "AdvancedEventSelectors": [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["true"]},
                ]
            }
        ]
    }
    assert management_events(read_only) == "ReadOnly"
    data_only = {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]}
    assert management_events(data_only) is None


def test_bucket_locations_as_documented() -> None:
    assert region_of_location(None) == "us-east-1"  # us-east-1 answers a null LocationConstraint
    assert region_of_location("EU") == "eu-west-1"
    assert region_of_location("ap-south-2") == "ap-south-2"


def _region(region: str, configured: bool) -> dict:
    return {"account_id": ACCOUNT, "region": region, "opt_in_status": "opt-in-not-required", "configured": configured}


def _trail(name: str, **changes: object) -> dict:
    record = {
        "account_id": ACCOUNT,
        "trail_arn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}",
        "name": name,
        "home_region": REGION,
        "is_multi_region": True,
        "is_organization_trail": False,
        "log_file_validation_enabled": True,
        "s3_bucket_name": "trail-bucket",
        "kms_key_id": None,
        "cloud_watch_logs_log_group_arn": None,
        "listed_in_regions": [REGION],
        "is_logging": True,
        "latest_delivery_error": None,
        "latest_delivery_time": None,
        "start_logging_time": None,
        "stop_logging_time": None,
        "event_selectors": "[]",
        "advanced_event_selectors": "[]",
        "management_events": "All",
    }
    return {**record, **changes}
