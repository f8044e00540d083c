"""Google Workspace's 2-Step Verification enforcement and password policy as the Cloud Identity Policy API documents
them: explicitly set policies per organisational unit or group (Policy: name, customer, policyQuery {query, orgUnit,
group, sortOrder}, setting {type, value}, type), never effective values. The controls resolve inheritance down the
OU tree (orgunits.list, ids without Directory's "id:"), fall back to Google's defaults, and say unknown where a
group's policy or an unplaced unit could change the answer. Records are made by the connector's own parsing from
those shapes, landed and judged by the catalogue's SQL."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest

from connectors.google_workspace import Users
from connectors.google_workspace.client import POLICY_SCOPES, SharedCredentials, make_cloud_identity
from connectors.google_workspace.policies import SECURITY_SETTINGS_FILTER, OrgUnits, Policies
from evidence_pipeline.evaluate import evaluate_control
from tests.truth.entra_graph import CATALOGUE, _land
from tests.truth.test_google_truth import CONFIG, DAY, DIRECTORY, user
from warehouse import Warehouse

CLOUD_IDENTITY = make_cloud_identity(CONFIG, SharedCredentials(CONFIG, POLICY_SCOPES))
TWO_SV = "cc6_1_workspace_2sv_enforced_by_policy"
PASSWORD = "cc6_1_workspace_password_policy"
PAST, FUTURE = "2025-01-06T00:00:00Z", "2027-06-01T00:00:00Z"
STRONG = {"allowedStrength": "STRONG", "minimumLength": 12, "enforceRequirementsAtLogin": True, "allowReuse": False}


def unit_id(path: str) -> str:
    return f"03ph8a2z{zlib.crc32(path.encode()):08x}"


def org_unit(path: str) -> dict[str, Any]:
    """An orgunits.list item (schema OrgUnit)."""
    unit = {
        "kind": "admin#directory#orgUnit",
        "name": path.rsplit("/", 1)[-1] or "corp",
        "orgUnitPath": path,
        "orgUnitId": f"id:{unit_id(path)}",
    }
    if path != "/":
        parent = path.rsplit("/", 1)[0] or "/"
        unit.update(parentOrgUnitPath=parent, parentOrgUnitId=f"id:{unit_id(parent)}")
    return unit


def policy(setting: str, value: dict[str, Any], path: str = "/", group: str | None = None, order: float = 1) -> dict:
    """A Policy resource as policies.list returns it."""
    query: dict[str, Any] = {
        "query": f"entity.org_units.exists(org_unit, org_unit.org_unit_id == orgUnitId('{unit_id(path)}'))",
        "orgUnit": f"orgUnits/{unit_id(path)}",
        "sortOrder": order,
    }
    if group:
        query.update(
            query=f"entity.groups.exists(group, group.group_id == groupId('{group}'))", group=f"groups/{group}"
        )
    return {
        "name": f"policies/{zlib.crc32(f'{setting}{path}{group}'.encode()):x}",
        "customer": "customers/C01abcdef",
        "policyQuery": query,
        "setting": {"type": f"settings/security.{setting}", "value": value},
        "type": "ADMIN",
    }


def enforcement(enforced_from: str | None, path: str = "/", **kwargs: Any) -> dict[str, Any]:
    value = {} if enforced_from is None else {"enforcedFrom": enforced_from}
    return policy("two_step_verification_enforcement", value, path, **kwargs)


UNITS = ["/", "/Staff", "/Staff/Sales", "/Staff/Sales/West", "/Students", "/Alumni"]
PEOPLE = [
    user("ada", orgUnitPath="/Staff"),
    user("bob", orgUnitPath="/Staff/Sales/West"),
    user("cy", orgUnitPath="/Staff/Sales"),
    user("dee", orgUnitPath="/Alumni", suspended=True),  # no active account: not a row
    user("eve", orgUnitPath="/Students"),  # excluded unit: not a row
]


def judge(tmp: Path, control_id: str, policies: list[dict[str, Any]], units: list[str] = UNITS) -> dict[str, dict]:
    records = {
        "users": list(Users(DIRECTORY, CONFIG).parse({"users": PEOPLE})),
        "org_units": list(OrgUnits(DIRECTORY, CONFIG).parse({"organizationUnits": [org_unit(u) for u in units]})),
        "policies": list(Policies(CLOUD_IDENTITY, CONFIG).parse({"policies": policies})),
    }
    tmp.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    warehouse.migrate()
    for dataset, rows in records.items():
        _land(warehouse, "google_workspace", dataset, rows, tmp)
    outcome = evaluate_control(warehouse, CATALOGUE, CATALOGUE.by_id[control_id], DAY, "run-1")
    assert outcome.error is None, outcome.error
    return {row["resource_id"]: row for row in outcome.rows}


def statuses(rows: dict[str, dict]) -> dict[str, str]:
    return {unit: row["status"] for unit, row in rows.items()}


def test_the_population_is_every_unit_with_an_active_in_scope_account(tmp_path: Path) -> None:
    assert set(judge(tmp_path, TWO_SV, [enforcement(PAST)])) == {"/Staff", "/Staff/Sales", "/Staff/Sales/West"}


def test_a_sub_unit_inherits_its_nearest_ancestors_policy(tmp_path: Path) -> None:
    rows = judge(tmp_path, TWO_SV, [enforcement(PAST), enforcement(FUTURE, "/Staff/Sales", order=2)])
    assert statuses(rows) == {"/Staff": "pass", "/Staff/Sales": "fail", "/Staff/Sales/West": "fail"}
    west = rows["/Staff/Sales/West"]
    assert (
        west["failure"] == "not_yet_enforced"
        and "enforcement starts 2027-06-01 (policy of /Staff/Sales)" in (west["reason"])
    )
    assert "inherited" in rows["/Staff"]["reason"]


def test_no_policy_is_googles_default_and_that_is_not_enforced(tmp_path: Path) -> None:
    rows = judge(tmp_path, TWO_SV, [policy("two_step_verification_enrollment", {"allowEnrollment": True})])
    assert set(statuses(rows).values()) == {"fail"}
    assert all("Google's default, not enforced" in r["reason"] for r in rows.values())


def test_an_explicit_policy_without_enforced_from_turns_enforcement_off(tmp_path: Path) -> None:
    rows = judge(tmp_path, TWO_SV, [enforcement(PAST), enforcement(None, "/Staff/Sales", order=2)])
    assert statuses(rows) == {"/Staff": "pass", "/Staff/Sales": "fail", "/Staff/Sales/West": "fail"}
    assert rows["/Staff/Sales"]["failure"] == "not_enforced"


def test_the_epoch_sentinel_a_weakening_group_and_an_unplaced_unit_are_unknown(tmp_path: Path) -> None:
    rows = judge(tmp_path / "epoch", TWO_SV, [enforcement("1970-01-01T00:00:00Z")])
    assert set(statuses(rows).values()) == {"unknown"}
    group_off = enforcement(FUTURE, group="01hmsyys3kvf1gd", order=2)
    rows = judge(tmp_path / "group", TWO_SV, [enforcement(PAST), group_off])
    assert set(statuses(rows).values()) == {"unknown"} and "group 01hmsyys3kvf1gd" in rows["/Staff"]["reason"]
    group_on = enforcement(PAST, group="01hmsyys3kvf1gd", order=2)  # only strengthens
    assert set(statuses(judge(tmp_path / "on", TWO_SV, [enforcement(PAST), group_on])).values()) == {"pass"}
    unplaced = judge(tmp_path / "unplaced", TWO_SV, [enforcement(PAST)], units=["/Staff"])
    assert set(statuses(unplaced).values()) == {"unknown"}


@pytest.mark.parametrize(
    ("policies", "status", "failure", "words"),
    [
        ([], "fail", "too_short", "Google's default, a minimum of 8 characters"),
        ([policy("password", STRONG)], "pass", None, "minimum length 12 (limit 12), strength STRONG"),
        ([policy("password", {**STRONG, "allowedStrength": "WEAK"})], "fail", "weak_allowed", "strength WEAK"),
        ([policy("password", {**STRONG, "minimumLength": 10})], "fail", "too_short", "minimum length 10"),
        ([policy("password", {"allowedStrength": "STRONG"})], "unknown", None, "minimum length not reported"),
    ],
)
def test_the_password_policy_in_force(
    tmp_path: Path, policies: list[dict], status: str, failure: str | None, words: str
) -> None:
    rows = judge(tmp_path, PASSWORD, policies)
    assert {r["status"] for r in rows.values()} == {status}
    assert all(r["failure"] == failure and words in r["reason"] for r in rows.values()), rows


def test_a_weak_sub_unit_fails_under_a_strong_root(tmp_path: Path) -> None:
    weak = policy("password", {**STRONG, "minimumLength": 8}, "/Staff/Sales", order=2)
    rows = judge(tmp_path, PASSWORD, [policy("password", STRONG), weak])
    assert statuses(rows) == {"/Staff": "pass", "/Staff/Sales": "fail", "/Staff/Sales/West": "fail"}


def test_the_connector_asks_for_the_security_settings_at_the_maximum_page() -> None:
    stream = Policies(CLOUD_IDENTITY, CONFIG)
    request = stream.list_request(None)
    assert stream.query(None) == {"pageSize": 100, "filter": SECURITY_SETTINGS_FILTER}
    assert request.uri.startswith("https://cloudidentity.googleapis.com/v1/policies?")
    (record,) = stream.parse({"policies": [enforcement("2025-01-06T09:30:00+01:00", "/Staff")]})
    assert record["enforced_from"] == "2025-01-06T08:30:00.000000" and record["org_unit_id"] == unit_id("/Staff")
    assert record["setting_type"] == "security.two_step_verification_enforcement" and record["group_id"] is None
