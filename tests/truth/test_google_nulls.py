"""Every Directory API property the connector reads, absent or null, through the real connector and the catalogue's
SQL: nothing crashes and no row passes on what Google did not report.

The properties come from Google's own discovery document (googleapiclient ships it:
googleapiclient/discovery_cache/documents/admin.directory_v1.json), schemas User, RoleAssignment and Role; none is
required in a list response (their `required` annotations name insert methods only). Absent and null give the same
record (asserted), so each property is judged once, null, on a day of its own; lastLoginTime also with Google's
documented never-signed-in sentinel 1970-01-01T00:00:00.000Z."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from googleapiclient.discovery_cache import get_static_doc

from connectors.google_workspace import RoleAssignments, Roles, Users
from connectors.google_workspace.streams import NEVER_LOGGED_IN, USER_FIELDS
from sandbox.google.server import parse_fields
from tests.truth.test_google_truth import (
    DOMAIN,
    GOOGLE_CONTROLS,
    IDENTITY_CONTROLS,
    Day,
    assignment,
    person,
    rows_of,
    served,
    super_admin_role,
    user,
)

DISCOVERY = json.loads(get_static_doc("admin", "directory_v1"))["schemas"]
#: what RoleAssignments and Roles parse (streams.py); Users reads its `fields` mask
READ = {
    "User": sorted(parse_fields(USER_FIELDS)["users"]),
    "RoleAssignment": [
        "roleAssignmentId",
        "roleId",
        "assignedTo",
        "assigneeType",
        "scopeType",
        "orgUnitId",
        "condition",
    ],
    "Role": ["roleId", "roleName", "roleDescription", "isSystemRole", "isSuperAdminRole", "rolePrivileges"],
}
FIRST_DAY = date(2026, 10, 1)
BASELINE = ("baseline", "")
#: Ada's rows when Google reports everything: pass, except that an active person is no leaver (no row there)
BASELINE_STATUS: dict[str, str | None] = {"cc6_2_leavers_deprovisioned": None, "cc6_3_admin_count_within_bounds": None}

# What each missing value does to Ada's rows (an active super admin and staff member in the HR roster who passes
# everything when Google reports it all): control -> status of her row; a control not named keeps its pass.
UNKNOWN_DATASET = dict.fromkeys(GOOGLE_CONTROLS + IDENTITY_CONTROLS, None)
EXPECTED: dict[tuple[str, str], dict[str, str | None]] = {
    # an item without its identity fails its dataset (None: no row for Ada, the verdict is not a pass; the
    # cross-system controls show the unusable dataset as one unknown row)
    ("User", "id"): UNKNOWN_DATASET,
    ("User", "primaryEmail"): UNKNOWN_DATASET,
    ("User", "isEnrolledIn2Sv"): {
        "cc6_1_workspace_2sv_enrolled": "unknown",
        "cc6_1_workspace_admins_2sv_enforced": "unknown",
    },
    ("User", "isEnforcedIn2Sv"): {"cc6_1_workspace_admins_2sv_enforced": "unknown"},
    # never signed in (sentinel) or not reported: judged by the creation time (2024: dormant), never as recent use
    ("User", "lastLoginTime"): {"cc6_2_dormant_accounts": "fail"},
    ("User", "lastLoginTime=sentinel"): {"cc6_2_dormant_accounts": "fail"},
    ("RoleAssignment", "roleAssignmentId"): {"cc6_1_workspace_admins_2sv_enforced": None},
    ("Role", "roleId"): {"cc6_1_workspace_admins_2sv_enforced": None},
}
#: Not a verdict input, so the row keeps its pass: identity keys beyond the primary (aliases), display name,
#: status flags whose absence keeps the account active and judged (suspended, archived), the unit (unknown stays
#: in scope), the admin flags (the super admin role assignment still makes Ada privileged), creationTime (her last
#: sign-in is reported), and the role details other than its id.
#: The dataset an item without its identity fails (its NOT NULL key in the warehouse).
FAILS = {
    ("User", "id"): "users",
    ("User", "primaryEmail"): "users",
    ("RoleAssignment", "roleAssignmentId"): "role_assignments",
    ("Role", "roleId"): "roles",
}


def variants() -> list[tuple[str, str]]:
    cases = [(schema, name) for schema, names in READ.items() for name in names]
    return [*cases, ("User", "lastLoginTime=sentinel")]


def without(item: dict[str, Any], name: str, mode: str) -> dict[str, Any]:
    copy = {k: v for k, v in item.items() if k != name}
    if mode == "null":
        copy[name] = None
    return copy


def local_of(case: tuple[str, str]) -> str:
    """Each case has its own Ada: an active super admin and staff member, in the HR roster."""
    return "ada." + re.sub(r"[^a-z]", "", f"{case[0]}{case[1]}".lower())


def responses(case: tuple[str, str], mode: str = "null") -> tuple[dict, dict, dict]:
    """The case's user, role assignment and role, with the property absent or null (or the sentinel)."""
    schema, name = case
    number = variants().index(case) + 1 if case in variants() else 0
    ada = user(local_of(case), isAdmin=True)
    role = super_admin_role(role_id=str(10**15 + number))
    ada_assignment = assignment(ada, number, role_id=role["roleId"])
    if name == "lastLoginTime=sentinel":
        ada = {**ada, "lastLoginTime": NEVER_LOGGED_IN}
    elif schema == "User":
        ada = without(ada, name, mode)
    elif schema == "RoleAssignment":
        ada_assignment = without(ada_assignment, name, mode)
    elif schema == "Role":
        role = without(role, name, mode)
    return ada, ada_assignment, role


def collect(day: Day, on: date, cases: list[tuple[str, str]]) -> tuple[dict, dict]:
    triples = [responses(case) for case in cases]
    failures = day.collect(on, *([t[i] for t in triples] for i in range(3)), [person(local_of(case)) for case in cases])
    return failures, {control: day.judge(control, on) for control in GOOGLE_CONTROLS + IDENTITY_CONTROLS}


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[dict, dict]]:
    """The cases whose items keep their identity side by side on one day (each its own Ada, role assignment and
    role), each case that fails a dataset on a day of its own beside the baseline."""
    day = Day(tmp_path_factory.mktemp("google-nulls"))
    landing = [BASELINE, *(case for case in variants() if case not in FAILS)]
    together = collect(day, FIRST_DAY, landing)
    results = dict.fromkeys(landing, together)
    for offset, case in enumerate(FAILS, start=1):
        results[case] = collect(day, FIRST_DAY + timedelta(days=offset), [BASELINE, case])
    return results


def ada_status(outcome: Any, case: tuple[str, str]) -> str | None:
    account = f"{local_of(case)}@{DOMAIN}"
    statuses = {r["status"] for r in outcome.rows if r["resource_id"] in (account, f"google_workspace:{account}")}
    assert len(statuses) <= 1
    return next(iter(statuses), None)


def test_the_properties_are_googles_and_none_is_required_in_a_response() -> None:
    for schema, names in READ.items():
        properties = DISCOVERY[schema]["properties"]
        for name in names:
            assert name in properties, f"{schema}.{name} is not in Google's discovery document"
            required = properties[name].get("annotations", {}).get("required", [])
            assert all(method.endswith(".insert") for method in required), (schema, name, required)
    assert DISCOVERY["User"]["properties"]["lastLoginTime"]["format"] == "date-time"


@pytest.mark.parametrize("case", [c for c in variants() if "=" not in c[1]], ids=lambda c: f"{c[0]}.{c[1]}")
def test_absent_and_null_give_the_same_record(case: tuple[str, str]) -> None:
    kind = {"User": Users, "RoleAssignment": RoleAssignments, "Role": Roles}[case[0]]

    def records(mode: str) -> list[dict] | str:
        item = dict(zip(("User", "RoleAssignment", "Role"), responses(case, mode=mode), strict=True))[case[0]]
        try:
            return [{k: v for k, v in r.items() if k != "raw"} for r in served(kind, [item]).records()]
        except Exception as exc:  # the same clear failure either way
            return str(exc).split(" (")[0]  # the item it quotes differs, by construction

    assert records("absent") == records("null")


@pytest.mark.parametrize("case", variants(), ids=lambda c: f"{c[0]}.{c[1]}")
def test_a_missing_property_never_passes_and_nothing_crashes(judged, case: tuple[str, str]) -> None:
    failures, outcomes = judged[case]
    _, baseline = judged[BASELINE]
    expected = EXPECTED.get(case, {})
    for control, outcome in outcomes.items():
        assert ada_status(baseline[control], BASELINE) == BASELINE_STATUS.get(control, "pass"), control
        want = expected.get(control, BASELINE_STATUS.get(control, "pass"))
        assert ada_status(outcome, case) == want, (control, [r for r in outcome.rows if "ada." in r["resource_id"]])
        if control in expected:  # the control relies on the missing value: its verdict cannot be a pass
            assert outcome.verdict != "pass", (control, outcome.verdict)
    failed = {dataset: failure for dataset, failure in failures.items() if failure}
    assert set(failed) == ({FAILS[case]} if case in FAILS else set())
    for dataset, failure in failed.items():
        assert f"without {case[1]}" in failure  # one clear line naming the missing field
        standing_in = rows_of(outcomes["cc6_2_accounts_have_owner"]).get(f"google_workspace.{dataset}")
        assert dataset != "users" or (standing_in and standing_in["status"] == "unknown")


def test_unreported_enforcement_is_not_called_not_enforced(judged) -> None:
    case = ("User", "isEnforcedIn2Sv")
    _, outcomes = judged[case]
    row = next(r for r in outcomes["cc6_1_workspace_2sv_enrolled"].rows if r["resource_id"].startswith(local_of(case)))
    assert row["status"] == "pass" and "enforcement not reported" in row["reason"]


def test_the_never_signed_in_sentinel_is_no_sign_in(judged) -> None:
    case = ("User", "lastLoginTime=sentinel")
    _, outcomes = judged[case]
    account = f"google_workspace:{local_of(case)}@{DOMAIN}"
    row = next(r for r in outcomes["cc6_2_dormant_accounts"].rows if r["resource_id"] == account)
    assert row["reason"].startswith("never used") and "1970" not in row["reason"]
