"""IAM Identity Center users as identities: the users of one identity store (identitystore ListUsers, read through
the first account, the one that holds the store) join the cross-system controls on every e-mail they carry, the
primary and the others. Without AWS_IDENTITY_STORE_ID the dataset is recorded as optional and not configured, and
the cross-system controls judge every other system as before: Identity Center is out of their scope, and says so.
Records come from the real connector against the local fake AWS (sandbox/aws), landed as the source's step lands
them, and are judged by the catalogue's SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from evidence_pipeline.catalogue import Catalogue, load_catalogue
from evidence_pipeline.defs.sources.aws import AwsResource
from evidence_pipeline.evaluate import OPTIONAL_NOT_CONFIGURED, ControlOutcome, evaluate_control
from evidence_pipeline.settings import project_file
from sandbox.aws.model import AwsAccount, AwsData, IamUser, identity_center_user, identity_store_id
from sandbox.aws.serve import serve
from tests.connectors.cases_aws import collect_aws, land_records
from warehouse import Warehouse

DAY = date(2026, 11, 20)
MIDNIGHT = datetime(2026, 11, 20, tzinfo=UTC)
#: an account id of its own, so moto's per-account state is not shared with other tests
MANAGEMENT_ACCOUNT = "330000000001"
STORE = identity_store_id(MANAGEMENT_ACCOUNT)
#: more users than one ListUsers page (MaxResults 100) holds
FILLERS = 148
HR = [  # (email, status, end date)
    ("eve.left@corp.example", "terminated", date(2026, 10, 1)),
    ("fay@corp.example", "active", None),
]
LEAVER = "eve"  # her only e-mail is a non-primary `Emails` entry; her user name is no e-mail
#: every system source of the cross-system controls but AWS's, landed empty (collected, no accounts)
OTHER_SYSTEMS = ("google_workspace.users", "entra.users", "github.members")


def world() -> AwsData:
    created = MIDNIGHT - timedelta(days=300)
    users = [
        identity_center_user(STORE, LEAVER, None, (("eve.left@corp.example", "work", False),), "ENABLED", created),
        identity_center_user(
            STORE, "fay@corp.example", None, (("fay@corp.example", "work", True),), "ENABLED", created
        ),
        *(identity_center_user(STORE, f"contractor-{n:03d}", None, (), "DISABLED", created) for n in range(FILLERS)),
    ]
    account = AwsAccount(
        MANAGEMENT_ACCOUNT,
        "management",
        MIDNIGHT - timedelta(days=900),
        users=[
            IamUser(
                MANAGEMENT_ACCOUNT,
                "fay@corp.example",
                "AIDA33000000000000001",
                created,
                "fay@corp.example",
                "person",
                None,
                password_last_used=MIDNIGHT,
            )
        ],
        identity_store_id=STORE,
        identity_center_users=users,
    )
    return AwsData(accounts=[account], today=DAY)


def collected_day(warehouse_path: Path, env: dict[str, str], identity_store: str | None) -> Warehouse:
    warehouse = Warehouse(warehouse_path)
    warehouse.migrate()
    resource = AwsResource(
        role_arns=env["AWS_ROLE_ARNS"],
        regions=env["AWS_REGIONS"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        identity_store_id=identity_store,
    )
    with pytest.MonkeyPatch.context() as patch:  # base credentials from boto3's chain, as in a deployment
        patch.setenv("AWS_ACCESS_KEY_ID", env["AWS_ACCESS_KEY_ID"])
        patch.setenv("AWS_SECRET_ACCESS_KEY", env["AWS_SECRET_ACCESS_KEY"])
        failures = [c.failure for c in collect_aws(resource, warehouse, DAY) if c.failure]
    assert not failures, failures
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
    for dataset in OTHER_SYSTEMS:
        land_records(warehouse, dataset, DAY, [])
    return warehouse


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Warehouse]]:
    """The same company collected twice: with AWS_IDENTITY_STORE_ID set, and without it."""
    server, env = serve(world())
    try:
        assert env["AWS_IDENTITY_STORE_ID"] == STORE
        folder = tmp_path_factory.mktemp("identity-center")
        yield {
            "configured": collected_day(folder / "configured.duckdb", env, STORE),
            "not configured": collected_day(folder / "off.duckdb", env, None),
        }
    finally:
        server.stop()


@cache
def the_catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"))


def judge(warehouse: Warehouse, control_id: str) -> ControlOutcome:
    catalogue = the_catalogue()
    return evaluate_control(warehouse, catalogue, catalogue.by_id[control_id], DAY, "test")


def test_a_leaver_known_only_by_a_secondary_identity_center_email_fails(days) -> None:
    outcome = judge(days["configured"], "cc6_2_leavers_deprovisioned")
    rows = {r["resource_id"]: r for r in outcome.rows}
    assert rows[f"aws_identity_center:{LEAVER}"]["status"] == "fail"
    assert "eve.left@corp.example left on 2026-10-01" in rows[f"aws_identity_center:{LEAVER}"]["reason"]
    assert outcome.verdict == "fail"
    # the one active person's Identity Center user is owned through its primary e-mail
    owners = {r["resource_id"]: r for r in judge(days["configured"], "cc6_2_accounts_have_owner").rows}
    assert owners["aws_identity_center:fay@corp.example"]["status"] == "pass"


def test_identity_center_is_read_to_the_end_of_its_pages(days) -> None:
    logged = days["configured"].query(
        "SELECT status, record_count, request_count, provenance FROM collection_log "
        "WHERE dataset = 'identity_center_users'"
    )
    assert [(r["status"], r["record_count"], r["request_count"]) for r in logged] == [("succeeded", FILLERS + 2, 2)]
    requests = json.loads(logged[0]["provenance"])["requests"]
    assert [r["record_count"] for r in requests] == [100, FILLERS + 2 - 100]
    assert requests[0]["params"]["MaxResults"] == 100 and "NextToken" in requests[1]["params"]
    assert days["configured"].query("SELECT count(*) AS n FROM raw_aws_identity_center_users") == [{"n": FILLERS + 2}]


def test_not_configured_identity_center_is_out_of_scope_not_unknown(days) -> None:
    warehouse = days["not configured"]
    status = warehouse.query("SELECT status, error FROM source_status WHERE dataset = 'identity_center_users'")
    assert status[0]["status"] == OPTIONAL_NOT_CONFIGURED and "AWS_IDENTITY_STORE_ID" in status[0]["error"]
    owners = judge(warehouse, "cc6_2_accounts_have_owner")
    # every other system is judged, and Identity Center stands in no unknown row: the control passes
    assert {r["resource_id"]: r["status"] for r in owners.rows} == {
        f"aws:{MANAGEMENT_ACCOUNT}/fay@corp.example": "pass"
    }
    assert owners.verdict == "pass", owners.reason
    assert (
        "aws.identity_center_users: optional and not configured: its system is out of scope, none of its "
        "accounts judged"
    ) in owners.reconciliation
