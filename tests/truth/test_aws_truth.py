"""AWS on real shapes of real accounts: IAM users named by their e-mail address (no tags), an identity tag of the
company's own name, three accounts read through assumed roles, and AWS Backup in two regions. Records are built by
the real connector from the local fake AWS (moto in server mode behind sandbox/aws), landed as the source's step
lands them, and judged by the catalogue's SQL on DuckDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from urllib.parse import parse_qs

import pytest

from evidence_pipeline.catalogue import Catalogue, load_catalogue
from evidence_pipeline.defs.sources import aws
from evidence_pipeline.defs.sources.aws import AwsResource
from evidence_pipeline.evaluate import ControlOutcome, evaluate_control
from evidence_pipeline.settings import project_file
from sandbox.aws.model import ADMIN_POLICY, REGION, AccessKey, AwsAccount, AwsData, IamUser, ProtectedResource
from sandbox.aws.serve import SANDBOX_SECRET_ACCESS_KEY, serve
from tests.connectors.cases_aws import collect_aws, land_records
from warehouse import Warehouse

DAY = date(2026, 11, 20)
MIDNIGHT = datetime(2026, 11, 20, tzinfo=UTC)
#: three accounts of one company; ids of their own so moto's per-account state is not shared with other tests
PEOPLE_ACCOUNT, SECOND_ACCOUNT, THIRD_ACCOUNT = "310000000001", "310000000002", "310000000003"
OTHER_REGION = "eu-west-1"
#: the company tags its IAM users' owners under its own key, in another case than the setting
IDENTITY_TAG_KEY = "Owner-Email"


def _key(name: str, n: int, active: bool = True) -> AccessKey:
    return AccessKey(
        f"AKIA{abs(hash((name, n))) % 10**16:016d}",
        active,
        MIDNIGHT - timedelta(days=20),
        MIDNIGHT - timedelta(days=2),
        "s3",
    )


def _user(account: str, name: str, **fields: object) -> IamUser:
    base: dict = dict(
        account_id=account,
        name=name,
        user_id=f"AIDA{abs(hash((account, name))) % 10**17:017d}",
        created=MIDNIGHT - timedelta(days=400),
        person=None,
        kind="person",
        email_tag=None,
        password_enabled=False,
        password_last_used=MIDNIGHT - timedelta(days=3),
        password_last_changed=MIDNIGHT - timedelta(days=100),
        mfa=True,
    )
    return IamUser(**{**base, **fields})


def world() -> AwsData:
    """The people account names its IAM users by e-mail address and tags none of them `email`; two of them left
    the company: one with an active access key, one with a console password and AdministratorAccess."""
    people = AwsAccount(
        PEOPLE_ACCOUNT,
        "people",
        MIDNIGHT - timedelta(days=900),
        password_policy=None,
        users=[
            _user(PEOPLE_ACCOUNT, "Ada.Leaver@corp.example", keys=(_key("ada", 1),)),  # programmatic only
            _user(PEOPLE_ACCOUNT, "bo.admin@corp.example", password_enabled=True, policies=(ADMIN_POLICY,)),
            _user(PEOPLE_ACCOUNT, "cy.stays@corp.example", password_enabled=True),
            # named by handle, owner in the company's own tag
            _user(PEOPLE_ACCOUNT, "dee", keys=(_key("dee", 1),), extra_tags=((IDENTITY_TAG_KEY, "dee@corp.example"),)),
        ],
        protected=[ProtectedResource(f"arn:aws:rds:{REGION}:{PEOPLE_ACCOUNT}:db:orders", "RDS", "orders")],
        protected_in={
            OTHER_REGION: [
                ProtectedResource(f"arn:aws:rds:{OTHER_REGION}:{PEOPLE_ACCOUNT}:db:orders-eu", "RDS", "orders-eu")
            ]
        },
    )
    second = AwsAccount(
        SECOND_ACCOUNT,
        "second",
        MIDNIGHT - timedelta(days=500),
        users=[_user(SECOND_ACCOUNT, "cy.stays@corp.example", password_enabled=True)],
    )
    third = AwsAccount(THIRD_ACCOUNT, "third", MIDNIGHT - timedelta(days=300))
    return AwsData(accounts=[people, second, third], today=DAY)


HR = [  # (email, status, end date)
    ("ada.leaver@corp.example", "terminated", date(2026, 10, 1)),
    ("bo.admin@corp.example", "terminated", date(2026, 9, 15)),
    ("cy.stays@corp.example", "active", None),
    ("dee@corp.example", "terminated", date(2026, 11, 2)),
]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, list[str], dict[str, str]]]:
    """One source run over the fake accounts in two regions: a warehouse holding the day (every AWS dataset
    collected by the real connector, the HR roster, an empty identity map), the RoleArn of every AssumeRole the
    fake AWS received, and the environment that points at it."""
    server, env = serve(world())
    try:
        with pytest.MonkeyPatch.context() as patch:  # base credentials from boto3's chain, as in a deployment
            patch.setenv("AWS_ACCESS_KEY_ID", env["AWS_ACCESS_KEY_ID"])
            patch.setenv("AWS_SECRET_ACCESS_KEY", env["AWS_SECRET_ACCESS_KEY"])
            warehouse = Warehouse(tmp_path_factory.mktemp("aws-truth") / "warehouse.duckdb")
            warehouse.migrate()
            resource = AwsResource(
                role_arns=env["AWS_ROLE_ARNS"],
                regions=f"{REGION},{OTHER_REGION}",
                endpoint_url=env["AWS_ENDPOINT_URL"],
                identity_tag=IDENTITY_TAG_KEY.lower(),
            )
            failures = [c.failure for c in collect_aws(resource, warehouse, DAY) if c.failure]
        assert not failures, failures
        assumed = [
            form["RoleArn"][0]
            for form in (parse_qs(r.body.decode()) for r in server.requests)
            if form.get("Action") == ["AssumeRole"]
        ]
    finally:
        server.stop()
    land_records(
        warehouse,
        "hr.roster",
        DAY,
        [
            {
                "email": email,
                "name": email.split("@")[0],
                "status": status,
                "start_date": "2020-01-06",
                "end_date": end.isoformat() if end else None,
                "manager": None,
                "department": "eng",
                "row_number": n + 2,
            }
            for n, (email, status, end) in enumerate(HR)
        ],
    )
    land_records(warehouse, "identity.map", DAY, [])
    yield warehouse, assumed, env


@cache
def the_catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"))


def judge(warehouse: Warehouse, control_id: str) -> ControlOutcome:
    catalogue = the_catalogue()
    return evaluate_control(warehouse, catalogue, catalogue.by_id[control_id], DAY, "test")


def aws_rows(outcome: ControlOutcome) -> dict[str, dict]:
    return {r["resource_id"]: r for r in outcome.rows if r["resource_id"].startswith("aws:")}


def test_iam_users_named_by_email_are_owned_and_their_leavers_fail(day) -> None:
    warehouse, _, _ = day
    leavers = aws_rows(judge(warehouse, "cc6_2_leavers_deprovisioned"))
    key_holder, admin, tagged = (
        f"aws:{PEOPLE_ACCOUNT}/{name}" for name in ("ada.leaver@corp.example", "bo.admin@corp.example", "dee")
    )
    # the leaver with an active key, the leaver with a password and AdministratorAccess, the one the tag names
    assert {k: r["status"] for k, r in leavers.items()} == {key_holder: "fail", admin: "fail", tagged: "fail"}
    assert "ada.leaver@corp.example left on 2026-10-01" in leavers[key_holder]["reason"]
    privileged = warehouse.query(
        "SELECT privileges FROM accounts WHERE account_id = ?", [f"{PEOPLE_ACCOUNT}/bo.admin@corp.example"]
    )
    assert privileged == [{"privileges": [ADMIN_POLICY]}]
    owners = aws_rows(judge(warehouse, "cc6_2_accounts_have_owner"))
    assert set(owners) == {
        key_holder,
        admin,
        tagged,
        f"aws:{PEOPLE_ACCOUNT}/cy.stays@corp.example",
        f"aws:{SECOND_ACCOUNT}/cy.stays@corp.example",
    }
    assert {r["status"] for r in owners.values()} == {"pass"}, owners
    assert "matched by email" in owners[key_holder]["reason"]


def test_the_identity_tag_is_the_one_configured(day) -> None:
    warehouse, _, _ = day
    read = warehouse.query("SELECT email, tags FROM raw_aws_authorization_details WHERE name = 'dee'")
    assert read[0]["email"] == "dee@corp.example" and IDENTITY_TAG_KEY in json.loads(read[0]["tags"])
    logged = warehouse.query("SELECT provenance FROM collection_log WHERE dataset = 'authorization_details'")
    streams = json.loads(logged[0]["provenance"])["parameters"]["streams"]
    assert {s["identity_tag"] for s in streams} == {"owner-email"}


def test_each_role_is_assumed_once_per_source_run_and_provenance_shows_it(day) -> None:
    warehouse, assumed, env = day
    roles = env["AWS_ROLE_ARNS"].split(",")
    # every dataset of 3 accounts: 3 AssumeRole calls, not one per dataset and account
    assert len(roles) == 3 and sorted(assumed) == sorted(roles)
    # collected datasets (Identity Center, not configured here, is logged as such and reads nothing)
    logs = warehouse.query(
        "SELECT dataset, provenance FROM collection_log WHERE source = 'aws' AND status = 'succeeded'"
    )
    assert sorted(log["dataset"] for log in logs) == sorted(
        d.dataset for d in aws.DATASETS if d.dataset != "identity_center_users"
    )
    request_ids = set()
    for log in logs:
        for stream in json.loads(log["provenance"])["parameters"]["streams"]:
            session = stream["account_session"]
            assert session["operation"] == "sts:AssumeRole", log["dataset"]
            assert session["role_arn"] == f"arn:aws:iam::{stream['account_id']}:role/evidence-collector"
            assert session["assumed_role_arn"] and session["expires_at"]
            request_ids.add(session["request_id"])
        # the assumed credentials never reach provenance
        assert SANDBOX_SECRET_ACCESS_KEY not in log["provenance"] and "SessionToken" not in log["provenance"]
    # every dataset cites one of the three assumptions the run made
    assert len(request_ids) == 3 and None not in request_ids


def test_regional_resources_have_one_row_per_region(day) -> None:
    warehouse, _, _ = day
    outcome = judge(warehouse, "a1_2_restore_tested")
    ids = [r["resource_id"] for r in outcome.rows]
    assert len(ids) == len(set(ids)), ids
    assert set(ids) == {f"{PEOPLE_ACCOUNT}/{REGION}/RDS", f"{PEOPLE_ACCOUNT}/{OTHER_REGION}/RDS"}
    rpo = judge(warehouse, "a1_2_backups_within_rpo")
    assert {r["resource_id"] for r in rpo.rows} == {
        f"arn:aws:rds:{REGION}:{PEOPLE_ACCOUNT}:db:orders",
        f"arn:aws:rds:{OTHER_REGION}:{PEOPLE_ACCOUNT}:db:orders-eu",
    }
