"""Google Workspace on a real system: admins wherever they sit, one definition of a privileged account for every
privileged control, identity keys beyond the primary address, and one OAuth token per source run.

Records are built by the real connector code from Directory API responses (property names and shapes from the
discovery document shipped in googleapiclient), collected through the pipeline's own collect-and-land path, and
judged by the catalogue's SQL on DuckDB."""

from __future__ import annotations

import json
import threading
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors.google_workspace import GoogleWorkspaceConfig, RoleAssignments, Roles, Users, make_directory
from connectors.google_workspace.streams import DirectoryStream
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.defs.sources.factory import SourceDataset, collect_dataset
from evidence_pipeline.evaluate import ControlOutcome, evaluate_control
from evidence_pipeline.settings import project_file
from provenance import Provenance, utc_now
from sandbox.google.serve import service_account_key
from warehouse import Warehouse, stage_records

DAY = date(2026, 11, 20)
DOMAIN = "corp.example"
GOOGLE_CONTROLS = ("cc6_1_workspace_2sv_enrolled", "cc6_1_workspace_admins_2sv_enforced")
IDENTITY_CONTROLS = (
    "cc6_2_leavers_deprovisioned",
    "cc6_2_accounts_have_owner",
    "cc6_2_dormant_accounts",
    "cc6_3_admin_count_within_bounds",
    "cc6_3_privileged_access_review",
)
SUPER_ADMIN_ROLE_ID = "9170516996784129"


def directory_config(excluded: tuple[str, ...] = ("/Students",)) -> GoogleWorkspaceConfig:
    info, _ = service_account_key()
    info["token_uri"] = "http://127.0.0.1:9/token"  # never reached: these clients are served from memory
    return GoogleWorkspaceConfig(
        admin_subject=f"evidence@{DOMAIN}",
        service_account_info=info,
        api_endpoint="http://127.0.0.1:9",
        excluded_org_units=excluded,
    )


CONFIG = directory_config()
#: one client for every served stream: building one from the discovery document takes a while
DIRECTORY = make_directory(CONFIG)


def user(local: str, **fields: Any) -> dict[str, Any]:
    """A users.list item (discovery schema User) of an active, enrolled, enforced staff account."""
    return {
        "kind": "admin#directory#user",
        "id": str(10**20 + zlib.crc32(local.encode())),
        "primaryEmail": f"{local}@{DOMAIN}",
        "name": {"fullName": local.replace(".", " ").title()},
        "isEnrolledIn2Sv": True,
        "isEnforcedIn2Sv": True,
        "isAdmin": False,
        "isDelegatedAdmin": False,
        "suspended": False,
        "archived": False,
        "orgUnitPath": "/Staff",
        "lastLoginTime": "2026-11-19T08:00:00.000Z",
        "creationTime": "2024-03-01T08:00:00.000Z",
        **fields,
    }


def super_admin_role(role_id: str = SUPER_ADMIN_ROLE_ID) -> dict[str, Any]:
    """A roles.list item (schema Role): Google's super admin system role."""
    return {
        "kind": "admin#directory#role",
        "roleId": role_id,
        "roleName": "_SEED_ADMIN_ROLE",
        "roleDescription": "Google Workspace Administrator Seed Role",
        "isSystemRole": True,
        "isSuperAdminRole": True,
        "rolePrivileges": [{"privilegeName": "SUPER_ADMIN", "serviceId": "00haapch16h1ysv"}],
    }


def assignment(of: dict[str, Any], number: int, role_id: str = SUPER_ADMIN_ROLE_ID) -> dict[str, Any]:
    """A roleAssignments.list item (schema RoleAssignment): the super admin role over the whole customer."""
    return {
        "kind": "admin#directory#roleAssignment",
        "roleAssignmentId": str(9_000 + number),
        "roleId": role_id,
        "assignedTo": of["id"],
        "assigneeType": "user",
        "scopeType": "CUSTOMER",
    }


def person(local: str, status: str = "active", end: str | None = None) -> dict[str, Any]:
    """A raw_hr_roster record (connectors/hr)."""
    return {
        "email": f"{local}@{DOMAIN}",
        "name": local.title(),
        "status": status,
        "start_date": "2023-01-01",
        "end_date": end,
        "manager": None,
        "department": "Engineering",
        "row_number": 2,
    }


def served(kind: type[DirectoryStream], items: list[dict[str, Any]]) -> DirectoryStream:
    """The real connector stream with its one page answered from memory instead of the API."""
    items_key = kind.items_key

    class Served(kind):  # type: ignore[valid-type, misc]
        def request(self, cursor: Any) -> Any:
            return {"kind": "admin#directory#list", items_key: items} if items else {"kind": "admin#directory#list"}

    return Served(DIRECTORY, CONFIG)


class Day:
    """One warehouse, one snapshot day per case: Google datasets through the pipeline's collect-and-land path."""

    catalogue = load_catalogue(project_file("controls_map.yaml"))

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.warehouse = Warehouse(folder / "warehouse.duckdb")
        self.warehouse.migrate()

    def collect(
        self,
        day: date,
        users: list[dict],
        assignments: list[dict],
        roles: list[dict],
        people: list[dict],
        identity_map: list[dict] | None = None,
    ) -> dict[str, str | None]:
        """Collect and land the day; returns each Google dataset's failure (None when it landed)."""
        failures = {}
        for kind, items in ((Users, users), (RoleAssignments, assignments), (Roles, roles)):
            spec = SourceDataset(
                source="google_workspace",
                dataset=kind.dataset,
                description="",
                streams=lambda resource, day, kind=kind, items=items: [served(kind, items)],
            )
            collected = collect_dataset(spec, None, self.warehouse, self.folder, day, f"run-{day}", threading.Lock())
            failures[kind.dataset] = collected.failure
        self.land("hr", "roster", day, people)
        self.land("identity", "map", day, identity_map or [])
        return failures

    def land(self, source: str, dataset: str, day: date, records: list[dict]) -> None:
        staged = self.folder / f"{source}.{dataset}.jsonl"
        stage_records(records, staged)
        provenance = Provenance(
            source=source,
            dataset=dataset,
            parameters={},
            record_count=len(records),
            status="succeeded",
            finished_at=utc_now(),
        )
        self.warehouse.land(source, dataset, day, f"run-{day}", staged, provenance)

    def judge(self, control_id: str, day: date) -> ControlOutcome:
        return evaluate_control(self.warehouse, self.catalogue, self.catalogue.by_id[control_id], day, f"run-{day}")


def rows_of(outcome: ControlOutcome, account: str | None = None) -> dict[str, dict]:
    """The outcome's rows by resource id; with `account`, only those about that Google account."""
    rows = {r["resource_id"]: r for r in outcome.rows}
    if account is None:
        return rows
    return {key: row for key, row in rows.items() if key in (account, f"google_workspace:{account}")}


@pytest.fixture
def day(tmp_path: Path) -> Day:
    return Day(tmp_path)


# -- (a) an admin in an excluded unit is a privileged account like any other ---------------------------------------
def test_an_admin_in_an_excluded_unit_is_reviewed_and_counted(day: Day) -> None:
    ada = user("ada.admin", isAdmin=True)
    student_admin = user("sam.student", isAdmin=True, orgUnitPath="/Students/Year 7")
    student = user("sue.student", orgUnitPath="/Students")
    day.collect(
        DAY,
        [ada, student_admin, student],
        [assignment(ada, 1), assignment(student_admin, 2)],
        [super_admin_role()],
        [person("ada.admin"), person("sam.student")],
    )
    review = rows_of(day.judge("cc6_3_privileged_access_review", DAY))
    assert f"google_workspace:sam.student@{DOMAIN}" in review  # missing when the view kept in-scope accounts only
    assert review[f"google_workspace:sam.student@{DOMAIN}"]["status"] == "pass"
    assert f"google_workspace:sue.student@{DOMAIN}" not in review  # not an admin: the exclusion holds
    count = rows_of(day.judge("cc6_3_admin_count_within_bounds", DAY))["google_workspace"]
    assert count["reason"].startswith("2 active administrator(s)") and f"sam.student@{DOMAIN}" in count["reason"]
    admins = rows_of(day.judge("cc6_1_workspace_admins_2sv_enforced", DAY))
    assert set(admins) == {f"ada.admin@{DOMAIN}", f"sam.student@{DOMAIN}"}


# -- (b) one definition of "privileged" for every privileged control ------------------------------------------------
def test_every_privileged_control_judges_the_same_google_accounts(day: Day) -> None:
    flagged = user("flag.admin", isAdmin=True)
    delegated = user("del.admin", isDelegatedAdmin=True)
    # Google reports admin flags only when the mask asks and the caller may see them: a role assignment alone
    # (flags not reported) still makes the account privileged
    role_only = {k: v for k, v in user("role.only").items() if k not in ("isAdmin", "isDelegatedAdmin")}
    staff = user("plain.staff")
    day.collect(
        DAY,
        [flagged, delegated, role_only, staff],
        [assignment(flagged, 1), assignment(role_only, 2)],
        [super_admin_role()],
        [person(p) for p in ("flag.admin", "del.admin", "role.only", "plain.staff")],
    )
    privileged = {f"{p}@{DOMAIN}" for p in ("flag.admin", "del.admin", "role.only")}
    admins_2sv = set(rows_of(day.judge("cc6_1_workspace_admins_2sv_enforced", DAY)))
    review = {
        key.removeprefix("google_workspace:")
        for key in rows_of(day.judge("cc6_3_privileged_access_review", DAY))
        if key.startswith("google_workspace:")
    }
    counted = rows_of(day.judge("cc6_3_admin_count_within_bounds", DAY))["google_workspace"]["reason"]
    assert admins_2sv == review == privileged
    assert counted.startswith(f"{len(privileged)} active administrator(s)")
    assert all(account in counted for account in privileged) and f"plain.staff@{DOMAIN}" not in counted
    role_row = rows_of(day.judge("cc6_1_workspace_admins_2sv_enforced", DAY))[f"role.only@{DOMAIN}"]
    assert role_row["status"] == "pass" and "_SEED_ADMIN_ROLE" in role_row["reason"]


def test_the_admin_control_takes_its_population_from_the_accounts_view() -> None:
    sql = Day.catalogue.by_id["cc6_1_workspace_admins_2sv_enforced"].sql
    assert "accounts_google_workspace" in sql and "is_privileged" in sql
    assert "is_admin OR is_delegated_admin" not in sql  # no second definition of an admin


# -- (c) identity keys: aliases and non-editable aliases -----------------------------------------------------------
def test_a_person_known_to_hr_by_an_alias_owns_the_account(day: Day) -> None:
    renamed = user("adalovelace", aliases=[f"ada.lovelace@{DOMAIN}"])
    managed = user("grace", nonEditableAliases=[f"grace.hopper@{DOMAIN}"], suspended=False)
    day.collect(
        DAY,
        [renamed, managed],
        [],
        [],
        [person("ada.lovelace"), person("grace.hopper", status="terminated", end="2026-10-01")],
    )
    owners = rows_of(day.judge("cc6_2_accounts_have_owner", DAY))
    assert owners[f"google_workspace:adalovelace@{DOMAIN}"]["status"] == "pass"
    assert f"belongs to ada.lovelace@{DOMAIN}" in owners[f"google_workspace:adalovelace@{DOMAIN}"]["reason"]
    leavers = rows_of(day.judge("cc6_2_leavers_deprovisioned", DAY))
    assert leavers[f"google_workspace:grace@{DOMAIN}"]["status"] == "fail"  # a leaver known by a managed alias
    emails = day.warehouse.query("SELECT account_id, emails FROM accounts_google_workspace ORDER BY account_id")
    assert [(r["account_id"], r["emails"]) for r in emails] == [
        (f"adalovelace@{DOMAIN}", [f"adalovelace@{DOMAIN}", f"ada.lovelace@{DOMAIN}"]),
        (f"grace@{DOMAIN}", [f"grace@{DOMAIN}", f"grace.hopper@{DOMAIN}"]),
    ]


def test_the_fake_serves_aliases_and_the_sandbox_person_known_by_one_resolves(tmp_path: Path) -> None:
    from sandbox.launch import start_sandbox
    from tests.connectors.cases_google_workspace import google_config

    with start_sandbox(tmp_path / "sandbox", size=50, today=DAY, systems=("google",)) as sandbox:
        google = sandbox.org.systems["google"]
        config = google_config(sandbox.env)
        records = {r["primary_email"]: r for r in Users(make_directory(config), config).records()}
    planted = google.planted["known_by_alias"]
    assert len(planted) == 1
    account = next(iter(planted))
    known = google.user(account)
    assert records[account]["aliases"] == [known.person_email] != [account]
    assert records[account]["non_editable_aliases"] == known.non_editable_aliases != []
    assert all(r["aliases"] == [] for email, r in records.items() if email != account)  # omitted when empty
    day = Day(tmp_path)
    people = [
        {
            "email": p.email,
            "name": p.name,
            "status": p.status,
            "start_date": str(p.start_date),
            "end_date": str(p.end_date) if p.end_date else None,
            "manager": None,
            "department": p.department,
            "row_number": 2,
        }
        for p in sandbox.org.people
    ]
    day.land("hr", "roster", DAY, people)
    day.land("identity", "map", DAY, [])
    day.land("google_workspace", "users", DAY, list(records.values()))  # the records the connector read
    resolved = day.warehouse.query(
        "SELECT person_email, matched_by FROM resolved_accounts WHERE account_id = ?", [account]
    )
    assert resolved == [{"person_email": known.person_email, "matched_by": "email"}]


# -- 2. one OAuth token per source run ------------------------------------------------------------------------------
def test_one_token_per_scope_set_per_source_run_shared_by_its_datasets_and_recorded(tmp_path: Path) -> None:
    """The directory datasets share one token; the policy datasets (org units, Cloud Identity policies) share a second
    of their own scopes, so a deployment that has not granted those scopes loses only those two datasets."""
    import dagster as dg

    from evidence_pipeline.defs.resources import WarehouseResource
    from evidence_pipeline.defs.sources import google_workspace as source
    from evidence_pipeline.defs.sources.factory import source_step
    from evidence_pipeline.settings import Paths
    from sandbox.launch import start_sandbox

    with start_sandbox(tmp_path / "sandbox", size=50, today=DAY, systems=("google",)) as sandbox:
        server = sandbox.servers["google"]
        server.reset_log()
        env = sandbox.env
        resource = source.GoogleWorkspaceResource(
            credentials_json=env["GOOGLE_WORKSPACE_CREDENTIALS_JSON"],
            admin_subject=env["GOOGLE_WORKSPACE_ADMIN_SUBJECT"],
            excluded_org_units=env["GOOGLE_WORKSPACE_EXCLUDED_OUS"],
            api_url=env["GOOGLE_WORKSPACE_API_URL"],
            cloud_identity_url=env["GOOGLE_WORKSPACE_CLOUD_IDENTITY_URL"],
            policy_subject=env["GOOGLE_WORKSPACE_POLICY_SUBJECT"],
        )
        home = tmp_path / "home"
        result = dg.materialize(
            [source_step(source.DATASETS, "google_workspace")],
            partition_key=DAY.isoformat(),
            resources={"google_workspace": resource, "warehouse": WarehouseResource(home=str(home))},
        )
        assert result.success
        token_posts = [r for r in server.requests if r.path == "/token"]
        issued = list(server.app.issued)
    assert len(token_posts) == 2 and len(issued) == 2, f"{len(token_posts)} token requests for one source run"
    logged = Warehouse(Paths(home).warehouse).query(
        "SELECT dataset, provenance FROM collection_log WHERE source = 'google_workspace' ORDER BY dataset"
    )
    assert [r["dataset"] for r in logged] == sorted(d.dataset for d in source.DATASETS)
    token_uri = json.loads(env["GOOGLE_WORKSPACE_CREDENTIALS_JSON"])["token_uri"]
    scopes_of = {}
    for row in logged:
        exchanges = json.loads(row["provenance"])["parameters"]["token_requests"]
        assert [(e["endpoint"], e["method"], e["status"]) for e in exchanges] == [(token_uri, "POST", 200)]
        policy_dataset = row["dataset"] in ("org_units", "policies")
        subject = env["GOOGLE_WORKSPACE_POLICY_SUBJECT" if policy_dataset else "GOOGLE_WORKSPACE_ADMIN_SUBJECT"]
        assert exchanges[0]["params"]["subject"] == subject
        scopes_of[row["dataset"]] = json.dumps(exchanges[0]["params"].get("scopes"), sort_keys=True)
        assert not any(token in row["provenance"] for token in issued)  # the tokens themselves never
    directory = {scopes_of[d] for d in ("users", "role_assignments", "roles")}
    policy = {scopes_of[d] for d in ("org_units", "policies")}
    assert len(directory) == 1 and len(policy) == 1 and directory != policy


def judge_all(day: Day, on: date) -> dict[str, ControlOutcome]:
    return {control: day.judge(control, on) for control in GOOGLE_CONTROLS + IDENTITY_CONTROLS}
