"""Attestations: the file validated like waivers.yaml (one line naming line and field), `attest` appending without
rewriting, artefacts hashed into the daily bundle and verified, the controls' verdicts on small warehouses, the
sandbox's planted cases against its accounts' truth, and the period export's listings."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.attestations import AttestationsError, AttestationsFile, VendorRegister
from connectors.attestations.artefacts import artefact_store
from connectors.attestations.model import parse_attestations
from connectors.stream import SourceError
from evidence_pipeline.attest import AttestError, append_attestation
from evidence_pipeline.catalogue import Catalogue, catalogue_document, load_catalogue
from evidence_pipeline.cli import main
from evidence_pipeline.evidence.daily import BundleInputs, write_bundle
from evidence_pipeline.evidence.model import ControlOutcome
from evidence_pipeline.evidence.period import load_period, write_export
from evidence_pipeline.evidence.pseudonymize import Pseudonymizer
from evidence_pipeline.evidence.signing import generate_key
from evidence_pipeline.evidence.verify import verify_bundle
from evidence_pipeline.settings import project_file
from sandbox.attestations.model import PERSON_CONTROLS
from sandbox.org import build_org
from tests.connectors.cases_aws import land_records
from warehouse import Warehouse

DAY = date(2026, 11, 20)
ATTESTATION_CONTROLS = {
    "cc7_4_tabletop_exercise_current",
    "cc4_1_penetration_test_current",
    "a1_3_dr_exercise_current",
    "cc5_3_policy_review_current",
    "cc3_1_risk_assessment_current",
    "cc9_2_vendor_reviews_current",
    "cc1_4_background_checks",
    "cc1_1_confidentiality_agreements",
}


def entry(**fields: Any) -> dict[str, Any]:
    base = {
        "kind": "tabletop_exercise",
        "summary": "ransomware scenario",
        "performed": "2026-05-12",
        "performer": "ciso@corp.test",
        "approver": "cto@corp.test",
        "artefact": "report.txt",
        "valid_months": 12,
    }
    return {k: v for k, v in {**base, **fields}.items() if v is not None}


def write_file(folder: Path, entries: list[dict[str, Any]], artefact: bytes = b"the report\n") -> Path:
    (folder / "report.txt").write_bytes(artefact)
    path = folder / "attestations.yaml"
    path.write_text("# kept by the security team\n" + yaml.safe_dump({"attestations": entries}, sort_keys=False))
    return path


def load(path: Path) -> list[dict[str, Any]]:
    return [e.record() for e in parse_attestations(path, path.read_bytes())]


# -- the file ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "line", "field", "says"),
    [
        (entry(performed="2026-13-01"), 12, "performed", "valid date"),
        (entry(kind="tabletop"), 10, "kind", "tabletop_exercise"),
        (entry(approver=None), 10, "approver", "required"),
        (entry(approver="ciso@corp.test"), 14, "approver", "someone other than the performer"),
        (entry(kind="background_check"), 10, "subject", "e-mail address"),
        (entry(subject="ada@corp.test"), 17, "subject", "has no subject"),
        (entry(artefact="missing.pdf"), 15, "artefact", "is not a file"),
        (entry(valid_months=1200), 16, "valid_months", "less than or equal to 120"),
        (entry(artefact_sha256="0" * 64), 15, "artefact", "changed since it was attested"),
    ],
)
def test_a_bad_entry_is_one_line_naming_its_line_and_field(
    tmp_path: Path, second: dict[str, Any], line: int, field: str, says: str
) -> None:
    path = write_file(tmp_path, [entry(), second])
    with pytest.raises(AttestationsError) as raised:
        load(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line {line} (attestation #2): field '{field}': "), message
    assert says in message


def test_each_artefact_is_hashed_and_the_expiry_follows_the_validity(tmp_path: Path) -> None:
    path = write_file(tmp_path, [entry(performed="2025-08-31", valid_months=6)], artefact=b"signed minutes")
    (record,) = load(path)
    assert record["artefact_sha256"] == hashlib.sha256(b"signed minutes").hexdigest()
    assert record["artefact_bytes"] == len(b"signed minutes")
    assert (record["expires"], record["line"]) == ("2026-02-28", 3)  # month-end clamped, as DuckDB's to_months


def test_the_collection_fails_on_a_changed_artefact_and_keeps_the_attested_bytes(tmp_path: Path) -> None:
    path = write_file(tmp_path, [entry(artefact_sha256=hashlib.sha256(b"v1").hexdigest())], artefact=b"v1")
    store = tmp_path / "store"
    (record,) = list(AttestationsFile(path, store).records())
    assert (store / f"{record['artefact_sha256']}-report.txt").read_bytes() == b"v1"
    (tmp_path / "report.txt").write_bytes(b"v2, edited after the approval")
    with pytest.raises(SourceError, match="line 8 .*field 'artefact'.*changed since it was attested"):
        list(AttestationsFile(path, store).records())


def test_the_vendor_register_names_the_row_and_column(tmp_path: Path) -> None:
    register = tmp_path / "vendors.csv"
    register.write_text(
        "vendor,service,data_access,owner\nAcme,hosting,customer data,sec@corp.test\nacme,mail,none,it@corp.test\n"
        "Newco,analytics,none,nobody\n"
    )
    with pytest.raises(SourceError) as raised:
        list(VendorRegister(register).records())
    assert "row 4, column 'owner': 'nobody' is not an email address" in str(raised.value)
    assert "row 3, column 'vendor': duplicate of row 2" in str(raised.value)


# -- attest --------------------------------------------------------------------------------------------------------


def test_attest_appends_one_entry_and_never_rewrites_the_others(tmp_path: Path) -> None:
    path = write_file(tmp_path, [entry()])
    before = path.read_bytes()
    (tmp_path / "check.pdf").write_bytes(b"screening passed")
    appended = append_attestation(
        path,
        {
            "kind": "background_check",
            "subject": "ada@corp.test",
            "performed": date(2026, 3, 1),
            "performer": "hr@corp.test",
            "approver": "people@corp.test",
            "artefact": tmp_path / "check.pdf",
            "valid_months": 120,
        },
        DAY,
    )
    assert path.read_bytes().startswith(before)
    records = load(path)
    assert len(records) == 2 and records[0] == load_before(before, path)
    assert records[1]["subject"] == "ada@corp.test" and records[1]["artefact_name"] == "check.pdf"
    assert appended.artefact_sha256 == hashlib.sha256(b"screening passed").hexdigest()
    # the hash is written into the entry: a later edit of the file is refused by every later read
    assert yaml.safe_load(path.read_text())["attestations"][1]["artefact_sha256"] == appended.artefact_sha256


def load_before(content: bytes, path: Path) -> dict[str, Any]:
    return parse_attestations(path, content)[0].record()


def test_attest_creates_the_file_and_refuses_a_bad_entry_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, report = tmp_path / "attestations.yaml", tmp_path / "pentest.pdf"
    report.write_bytes(b"findings")
    common = ["attest", "--file", str(path), "--performed", "2026-06-01", "--performer", "tester@pentest.test"]
    common += ["--approver", "cto@corp.test", "--artefact", str(report), "--valid-months", "12"]
    assert main([*common, "--kind", "penetration_test"]) == 0
    created = path.read_bytes()
    assert load(path)[0]["kind"] == "penetration_test"
    assert main([*common, "--kind", "vendor_review"]) == 2  # a vendor review names its vendor
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --subject: a vendor_review names the vendor, as in the vendor register"
    ]
    assert path.read_bytes() == created
    with pytest.raises(AttestError, match="--performed: 2026-12-01 is in the future"):
        append_attestation(path, {**entry(), "performed": date(2026, 12, 1), "artefact": report}, DAY)


# -- the daily bundle ----------------------------------------------------------------------------------------------


def one_file_catalogue(folder: Path, ids: set[str]) -> Catalogue:
    """The repository's catalogue reduced to `ids`, as one file (the controls as written, their SQL inline)."""
    document = catalogue_document(project_file("controls_map.yaml"))
    document["controls"] = [c for c in document["controls"] if c["id"] in ids]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "controls_map.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return load_catalogue(folder / "controls_map.yaml", trust_page=None)


def collect(warehouse: Warehouse, path: Path, day: date, home: Path) -> list[dict[str, Any]]:
    records = list(AttestationsFile(path, artefact_store(home)).records())
    land_records(warehouse, "attestations.attestations", day, records)
    return records


def test_the_artefacts_are_in_the_daily_bundle_and_verify(tmp_path: Path) -> None:
    home = tmp_path / "home"
    warehouse = Warehouse(home / "warehouse.duckdb")
    warehouse.migrate()
    path = write_file(tmp_path, [entry()], artefact=b"tabletop minutes")
    (record,) = collect(warehouse, path, DAY, home)
    catalogue = one_file_catalogue(tmp_path / "c", {"cc7_4_tabletop_exercise_current"})
    inputs = BundleInputs(DAY, "run", [], ["attestations.attestations"], catalogue)
    key = generate_key(tmp_path / "key.pem")
    bundle = write_bundle(warehouse, home / "evidence", inputs, signing_key=key)
    name = f"sources/attestations/artefacts/{record['artefact_sha256']}-report.txt"
    assert (bundle / name).read_bytes() == b"tabletop minutes"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert name in json.dumps(manifest)
    verify_bundle(bundle)
    # a stored copy that no longer verifies is never bundled as the attested artefact
    (artefact_store(home) / f"{record['artefact_sha256']}-report.txt").write_bytes(b"forged")
    with pytest.raises(RuntimeError, match="does not verify"):
        write_bundle(warehouse, home / "evidence", inputs, signing_key=key)


# -- the controls on small warehouses -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return one_file_catalogue(tmp_path_factory.mktemp("catalogue"), ATTESTATION_CONTROLS)


def judge(warehouse: Warehouse, catalogue: Catalogue, control_id: str, **parameters: Any) -> dict[str, dict]:
    control = catalogue.by_id[control_id]
    values = {**control.sql_parameters(DAY, catalogue.defaults), **parameters}
    with warehouse.connect() as con:
        cursor = con.execute(f"SELECT * FROM ({control.sql}) ORDER BY resource_id", values)
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def warehouse_with(tmp_path: Path, entries: list[dict[str, Any]]) -> Warehouse:
    tmp_path.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    collect(warehouse, write_file(tmp_path, entries), DAY, tmp_path)
    return warehouse


def test_an_organisation_attestation_passes_while_current_and_fails_saying_when_it_expired(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    warehouse = warehouse_with(
        tmp_path,
        [
            entry(performed="2025-01-10"),  # expired on 2026-01-10
            entry(kind="penetration_test", performed="2026-10-01", valid_months=24),  # capped at 12: current
            entry(kind="dr_exercise", performed="2024-06-01", valid_months=24),  # 24 claimed, 12 counted: expired
        ],
    )
    tabletop = judge(warehouse, catalogue, "cc7_4_tabletop_exercise_current")["tabletop_exercise"]
    assert (tabletop["status"], tabletop["failure"]) == ("fail", "expired")
    assert "expired on 2026-01-10" in tabletop["reason"]
    assert judge(warehouse, catalogue, "cc4_1_penetration_test_current")["penetration_test"]["status"] == "pass"
    dr = judge(warehouse, catalogue, "a1_3_dr_exercise_current")["dr_exercise"]
    assert (dr["status"], str(dr["valid_until"])) == ("fail", "2025-06-01")
    for control_id, kind in (
        ("cc3_1_risk_assessment_current", "risk_assessment"),
        ("cc5_3_policy_review_current", "policy_review"),
    ):
        missing = judge(warehouse, catalogue, control_id)[kind]
        assert (missing["status"], missing["failure"]) == ("fail", "missing")


def test_the_latest_current_attestation_counts_and_one_performed_after_the_day_does_not(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    later = warehouse_with(tmp_path / "later", [entry(performed="2025-01-10"), entry(performed="2026-06-01")])
    current = judge(later, catalogue, "cc7_4_tabletop_exercise_current")["tabletop_exercise"]
    assert current["status"] == "pass" and "current until 2027-06-01" in current["reason"]
    future = warehouse_with(tmp_path / "future", [entry(performed="2026-12-01")])
    assert judge(future, catalogue, "cc7_4_tabletop_exercise_current")["tabletop_exercise"]["failure"] == "missing"


def land_people(warehouse: Warehouse) -> None:
    people = [
        ("ada@corp.test", "active"),  # an AWS Identity Center user: production access
        ("ben@corp.test", "active"),  # a Google admin: privileged, so in scope
        ("cleo@corp.test", "active"),  # a plain Google account: in scope only with person_scope any_account
        ("dev@corp.test", "terminated"),  # a leaver keeps an account: HR says not active, out of scope
    ]
    roster = [
        {"email": e, "name": e.split("@")[0].title(), "status": s, "start_date": "2024-01-01", "row_number": n}
        | {"end_date": "2026-10-01" if s == "terminated" else None, "manager": None, "department": "Eng"}
        for n, (e, s) in enumerate(people, 2)
    ]
    land_records(warehouse, "hr.roster", DAY, roster)
    land_records(warehouse, "identity.map", DAY, [])
    center = {"account_id": "111122223333", "identity_store_id": "d-1", "external_ids": [], "display_name": None}
    land_records(
        warehouse,
        "aws.identity_center_users",
        DAY,
        [{**center, "user_id": "u1", "user_name": "ada@corp.test", "emails": [], "user_status": "ENABLED"}],
    )
    google = [
        {"primary_email": e, "is_admin": admin, "in_scope": True, "suspended": False, "id": e}
        for e, admin in (("ben@corp.test", True), ("cleo@corp.test", False), ("dev@corp.test", False))
    ]
    land_records(warehouse, "google_workspace.users", DAY, google)


def test_per_person_kinds_cover_everyone_with_production_access(tmp_path: Path, catalogue: Catalogue) -> None:
    warehouse = warehouse_with(
        tmp_path,
        [
            entry(kind="background_check", subject="Ada@Corp.test", performed="2024-01-01", valid_months=120),
            entry(kind="background_check", subject="ben@corp.test", performed="2014-01-01", valid_months=120),
        ],
    )
    land_people(warehouse)
    checks = judge(warehouse, catalogue, "cc1_4_background_checks")
    assert {k: v["status"] for k, v in checks.items()} == {"ada@corp.test": "pass", "ben@corp.test": "fail"}
    assert "expired on 2024-01-01" in checks["ben@corp.test"]["reason"]
    everyone = judge(warehouse, catalogue, "cc1_4_background_checks", person_scope="any_account")
    assert everyone["cleo@corp.test"]["failure"] == "missing" and "dev@corp.test" not in everyone
    agreements = judge(warehouse, catalogue, "cc1_1_confidentiality_agreements")
    assert {v["failure"] for v in agreements.values()} == {"missing"} and set(agreements) == set(checks)


def test_every_vendor_of_the_register_needs_a_current_review(tmp_path: Path, catalogue: Catalogue) -> None:
    warehouse = warehouse_with(tmp_path, [entry(kind="vendor_review", subject="acme ", performed="2026-02-01")])
    register = tmp_path / "vendors.csv"
    register.write_text("vendor,service,data_access,owner\nAcme,hosting,customer data,sec@corp.test\n")
    register.write_text(register.read_text() + "Newco,analytics,customer data,sec@corp.test\n")
    land_records(warehouse, "attestations.vendors", DAY, list(VendorRegister(register).records()))
    reviews = judge(warehouse, catalogue, "cc9_2_vendor_reviews_current")
    assert {k: (v["status"], v["failure"]) for k, v in reviews.items()} == {
        "Acme": ("pass", None),
        "Newco": ("fail", "missing"),
    }


# -- the sandbox ---------------------------------------------------------------------------------------------------


def test_the_sandbox_plants_exactly_the_people_its_accounts_put_in_scope() -> None:
    """The persons planted without an attestation hold production access by the accounts' truth, and everyone else
    in that scope is attested: the planted sets are the whole truth for the per-person controls."""
    org = build_org(seed=7, size=50)
    active = {p.email for p in org.people if p.status == "active"}
    production = {
        a.owner
        for a in org.accounts
        if a.active and a.owner in active and (a.system in ("aws", "aws_identity_center") or a.privileged)
    }
    data = org.systems["attestations"]
    for kind, control in PERSON_CONTROLS.items():
        assert org.expected[control], control
        assert org.expected[control] <= production
        current = {
            e["subject"]
            for e in data.entries
            if e["kind"] == kind and e["performed"] + timedelta(days=30 * e["valid_months"]) > org.today
        }
        assert production - current == org.expected[control]


# -- the period export ---------------------------------------------------------------------------------------------


def access_review_records(day: date) -> dict[str, list[dict[str, Any]]]:
    """The access_reviews source's raw records as a daily bundle holds them (interface17.md)."""
    campaign = {
        "campaign_id": "2026-Q4-all",
        "quarter": "2026-Q4",
        "scope": "all",
        "due": "2026-11-21",
        "started_at": "2026-11-01T09:00:00",
        "frozen_day": "2026-11-01",
        "frozen_bundle": "2026-11-01/v001-x",
        "population_sha256": "a" * 64,
        "population_count": 3,
        "revocation_window_days": 5,
        "bundle_manifest_sha256": "b" * 64,
    }
    population = [
        {"campaign_id": "2026-Q4-all", "account_key": f"github:{who}", "system": "github", "account_id": who}
        | {"account_name": who, "person_email": f"{who}@corp.test", "reviewer": "lead@corp.test"}
        | {"reviewer_rule": "manager", "privileges": []}
        for who in ("ann", "bob", "carl")
    ]
    decision = {"campaign_id": "2026-Q4-all", "reviewer": "lead@corp.test", "decided_by": "lead@corp.test"}
    decision |= {"comment": "left the team", "decided_on": "2026-11-19", "imported_at": "2026-11-19T10:00:00"}
    decision |= {"status": "accepted", "rejection": None, "import_bundle": "2026-Q4-all/v002-x"}
    decisions = [
        {**decision, "account_key": "github:ann", "decision": "keep", "comment": None},
        {**decision, "account_key": "github:bob", "decision": "revoke"},
        {**decision, "account_key": "github:carl", "decision": "revoke"},
        {**decision, "account_key": "github:ann", "decision": "keep", "decided_by": "ann@corp.test"}
        | {"status": "rejected", "rejection": "self-review: decided_by is the account's own person"},
    ]
    return {"campaigns": [campaign], "population": population, "decisions": decisions}


def test_the_period_export_lists_attestations_and_campaigns_with_revocations(tmp_path: Path) -> None:
    home = tmp_path / "home"
    warehouse = Warehouse(home / "warehouse.duckdb")
    warehouse.migrate()
    path = write_file(tmp_path, [entry()], artefact=b"tabletop minutes")
    catalogue = one_file_catalogue(tmp_path / "c", {"cc6_2_accounts_have_owner"})
    owners = catalogue.by_id["cc6_2_accounts_have_owner"]
    key = generate_key(tmp_path / "key.pem")
    # bob's account is gone the day after his revoke; carl's is still there
    held = {DAY - timedelta(1): ["ann", "bob", "carl"], DAY: ["ann", "carl"]}
    for day, accounts in held.items():
        collect(warehouse, path, day, home)
        rows = [
            {"resource_id": f"github:{a}", "resource_name": a, "resource_url": None, "status": "pass"}
            | {"reason": f"belongs to {a}@corp.test", "failure": None, "details": {}}
            for a in accounts
        ]
        outcome = ControlOutcome(owners, day, "pass", "all pass", rows, {"snapshot_date": day}, [])

        def access_reviews(work: Path, inputs: BundleInputs) -> None:
            folder = work / "sources" / "access_reviews"
            folder.mkdir(parents=True, exist_ok=True)
            for dataset, records in access_review_records(inputs.snapshot_date).items():
                (folder / f"{dataset}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))

        inputs = BundleInputs(day, f"run-{day}", [outcome], ["attestations.attestations"], catalogue)
        write_bundle(warehouse, home / "evidence", inputs, extras=[access_reviews], signing_key=key)
    period = load_period(home / "evidence", DAY - timedelta(1), DAY)
    (attestation,) = period.human_processes["attestations"]
    assert attestation["artefact_sha256"] == hashlib.sha256(b"tabletop minutes").hexdigest()
    assert (attestation["days_listed"], attestation["artefact_in_bundles"]) == (2, 2)
    assert (attestation["performed"], attestation["expires"], attestation["approver"]) == (
        "2026-05-12",
        "2027-05-12",
        "cto@corp.test",
    )
    (campaign,) = period.human_processes["campaigns"]
    assert (campaign["decided"], campaign["completed_on"], campaign["completed_by_due"]) == (3, "2026-11-19", True)
    assert (campaign["revocations"], campaign["revocations_effective"], campaign["rejected_rows"]) == (2, 1, 1)
    effects = {
        a["account_key"]: (a["effective_on"], a["effective"]) for a in period.human_processes["campaign_accounts"]
    }
    assert effects["github:bob"] == ("2026-11-20", "on time")
    assert effects["github:carl"] == (None, "still present by 2026-11-20")
    hidden = load_period(home / "evidence", DAY - timedelta(1), DAY, pseudonymizer=Pseudonymizer(b"k" * 32, "test"))
    shown = json.dumps(hidden.human_processes)
    assert "@corp.test" not in shown and attestation["artefact_sha256"] in shown
    export = write_export(home / "evidence", period, key)
    listed = (export / "human_processes" / "attestations.csv").read_text()
    assert attestation["artefact_sha256"] in listed
    assert "self-review" in (export / "human_processes" / "campaign_decisions.csv").read_text()
    assert json.loads((export / "period.json").read_text())["human_processes"]["campaign_accounts"] == 3
