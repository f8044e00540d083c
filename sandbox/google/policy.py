"""The sandbox customer's organisational units (Admin SDK Directory orgUnit resources) and Cloud Identity Policy API
policies (Policy resources: name, customer, policyQuery {query, orgUnit, group, sortOrder}, setting {type, value},
type), as Google documents them: explicitly set values per OU or group, never the effective value.

Planted on purpose:
- 2-Step Verification enforcement is on at the root, but /Staff/Sales has its own policy whose enforcement starts
  in 90 days (the Admin console's "Turn on enforcement from"): not enforced today, and every sub-unit of it inherits
  that; a group policy enforcing 2SV for the admins group only strengthens;
- the password policy at the root is strong with a 12-character minimum, but /IT overrides it with 8 characters and
  weak passwords allowed: /IT and every unit below it inherit the weak policy;
- a Gmail policy sits beside them: the security filter must leave it out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

ROOT = "/"
SALES_OU = "/Staff/Sales"
IT_OU = "/IT"
CONTROL_2SV_POLICY = "cc6_1_workspace_2sv_enforced_by_policy"
CONTROL_PASSWORD_POLICY = "cc6_1_workspace_password_policy"
STRONG_PASSWORD = {
    "allowedStrength": "STRONG",
    "minimumLength": 12,
    "maximumLength": 100,
    "enforceRequirementsAtLogin": True,
    "allowReuse": False,
    "expirationDuration": "0s",
}
WEAK_PASSWORD = {**STRONG_PASSWORD, "allowedStrength": "WEAK", "minimumLength": 8, "enforceRequirementsAtLogin": False}


@dataclass
class GooglePolicy:
    #: Directory orgUnit resources, the root first (orgunits.list type=allIncludingParent)
    org_units: list[dict[str, Any]] = field(default_factory=list)
    #: Cloud Identity Policy resources, every setting type (the fake applies policies.list's filter)
    policies: list[dict[str, Any]] = field(default_factory=list)


def org_unit_id(customer_id: str, path: str) -> str:
    """A stable id in Google's shape (03ph8a2z…) for the unit at `path`."""
    return "03ph8a2z" + hashlib.sha256(f"{customer_id}{path}".encode()).hexdigest()[:7]


def _ancestors(path: str) -> list[str]:
    """'/Staff/Sales' -> ['/', '/Staff', '/Staff/Sales']."""
    parts = [p for p in path.split("/") if p]
    return [ROOT] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def resolve(path: str, explicit: dict[str, Any]) -> Any:
    """The value the unit at `path` gets: its own policy, else its nearest ancestor's (None: Google's default)."""
    for unit in reversed(_ancestors(path)):
        if unit in explicit:
            return explicit[unit]
    return None


def build_policy(
    customer_id: str, domain: str, today: date, user_paths: set[str], active_staff_paths: set[str]
) -> tuple[GooglePolicy, dict[str, set[str]]]:
    """The units (every user's unit and its ancestors), the policies, and the expected exceptions (unit paths)."""
    paths = sorted({a for p in user_paths | {SALES_OU, IT_OU} for a in _ancestors(p)})
    units: list[dict[str, Any]] = []
    for path in paths:
        unit: dict[str, Any] = {
            "kind": "admin#directory#orgUnit",
            "etag": f'"{hashlib.sha256(path.encode()).hexdigest()[:27]}"',
            "name": domain if path == ROOT else path.rsplit("/", 1)[-1],
            "description": "",
            "orgUnitPath": path,
            "orgUnitId": f"id:{org_unit_id(customer_id, path)}",
        }
        if path != ROOT:
            parent = path.rsplit("/", 1)[0] or ROOT
            unit["parentOrgUnitPath"] = parent
            unit["parentOrgUnitId"] = f"id:{org_unit_id(customer_id, parent)}"
        units.append(unit)

    def policy(setting: str, value: dict[str, Any], path: str = ROOT, group: str | None = None) -> dict[str, Any]:
        unit = org_unit_id(customer_id, path)
        clause = f"entity.org_units.exists(org_unit, org_unit.org_unit_id == orgUnitId('{unit}'))"
        query: dict[str, Any] = {"query": clause, "orgUnit": f"orgUnits/{unit}"}
        if group:
            query = {
                "query": f"entity.groups.exists(group, group.group_id == groupId('{group}'))",
                "group": f"groups/{group}",
                "orgUnit": f"orgUnits/{unit}",
            }
        name = hashlib.sha256(f"{setting}{path}{group}".encode()).hexdigest()[:29]
        return {
            "name": f"policies/{name}",
            "customer": f"customers/{customer_id}",
            "policyQuery": query,
            "setting": {"type": f"settings/{setting}", "value": value},
            "type": "ADMIN",
        }

    enforcement = "security.two_step_verification_enforcement"
    sales_start = f"{today + timedelta(days=90):%Y-%m-%d}T00:00:00Z"
    policies = [
        policy("security.two_step_verification_enrollment", {"allowEnrollment": True}),
        policy(enforcement, {"enforcedFrom": "2025-01-06T00:00:00Z"}),
        policy(enforcement, {"enforcedFrom": sales_start}, SALES_OU),
        policy(enforcement, {"enforcedFrom": "2024-06-03T09:00:00Z"}, group="01hmsyys3kvf1gd"),
        policy("security.password", STRONG_PASSWORD),
        policy("security.password", WEAK_PASSWORD, IT_OU),
        policy("gmail.mail_delegation", {"enableMailDelegation": False}),
    ]
    # sortOrder: relative within a setting type, no duplicates (Policy API); group policies rank above OU ones
    by_type: dict[str, int] = {}
    for item in policies:
        setting = item["setting"]["type"]
        by_type[setting] = by_type.get(setting, 0) + 1
        item["policyQuery"]["sortOrder"] = float(by_type[setting])

    enforced = {ROOT: True, SALES_OU: False}
    password_ok = {ROOT: True, IT_OU: False}
    expected = {
        CONTROL_2SV_POLICY: {p for p in active_staff_paths if not resolve(p, enforced)},
        CONTROL_PASSWORD_POLICY: {p for p in active_staff_paths if not resolve(p, password_ok)},
    }
    return GooglePolicy(units, policies), expected
