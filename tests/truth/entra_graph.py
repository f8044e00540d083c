"""A Microsoft Entra tenant written as Graph's documented JSON, read through the connector's own parsing, landed in
DuckDB and judged by the catalogue's controls: the truth tests' shared ground (no server, no network).

The shapes follow Microsoft Graph v1.0's reference pages: user (`GET /users` with `$select`), signInActivity,
userRegistrationDetails, unifiedRoleDefinition and unifiedRoleAssignment with `$expand=principal`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.entra import EntraConfig, GraphClient, RoleAssignments, UserRegistrationDetails, Users
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from provenance import Provenance
from warehouse import Warehouse, stage_records

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
DOMAIN = "contoso.example"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"  # Microsoft's built-in role template id
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
ENTRA_CONTROLS = ("cc6_1_entra_mfa_registered", "cc6_1_entra_admins_mfa")
IDENTITY_CONTROLS = (
    "cc6_2_leavers_deprovisioned",
    "cc6_2_accounts_have_owner",
    "cc6_2_dormant_accounts",
    "cc6_3_admin_count_within_bounds",
    "cc6_3_privileged_access_review",
)


def graph_time(moment: datetime) -> str:
    """Graph's DateTimeOffset as it sends it (UTC, seven fractional digits)."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.{moment.microsecond * 10:07d}Z"


def ago(days: float) -> str:
    return graph_time(NOW - timedelta(days=days))


def object_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, name))


def user(
    name: str,
    *,
    upn: str | None = None,
    mail: str | None = "",
    signed_in_days_ago: float | None = 3,
    created_days_ago: float = 400,
    **properties: Any,
) -> dict[str, Any]:
    """A user as `GET /users?$select=...,signInActivity` returns it; `mail=""` means mail = the UPN."""
    upn = upn or f"{name}@{DOMAIN}"
    activity = (
        None
        if signed_in_days_ago is None
        else {
            "lastSignInDateTime": ago(signed_in_days_ago),
            "lastSignInRequestId": object_id(name + "/i"),
            "lastNonInteractiveSignInDateTime": ago(signed_in_days_ago + 0.1),
            "lastNonInteractiveSignInRequestId": object_id(name + "/n"),
            "lastSuccessfulSignInDateTime": ago(signed_in_days_ago),
            "lastSuccessfulSignInRequestId": object_id(name + "/s"),
        }
    )
    body: dict[str, Any] = {
        "id": object_id(name),
        "userPrincipalName": upn,
        "mail": upn if mail == "" else mail,
        "otherMails": [],
        "proxyAddresses": [f"SMTP:{upn}"] if mail == "" else [],
        "displayName": name.title(),
        "accountEnabled": True,
        "userType": "Member",
        "createdDateTime": graph_time(NOW - timedelta(created_days_ago)),
        "signInActivity": activity,
    }
    body.update(properties)
    return body


def registration(
    for_user: dict[str, Any], methods: list[str], *, is_admin: bool = False, **properties: Any
) -> dict[str, Any]:
    """A userRegistrationDetails row (isMfaRegistered as Graph derives it: a strong method is registered)."""
    strong = [m for m in methods if m not in ("email", "securityQuestion", "temporaryAccessPass")]
    body: dict[str, Any] = {
        "id": for_user["id"],
        "userPrincipalName": for_user["userPrincipalName"],
        "userDisplayName": for_user["displayName"],
        "userType": "member",
        "isAdmin": is_admin,
        "isSsprRegistered": bool(strong),
        "isSsprEnabled": True,
        "isSsprCapable": bool(strong),
        "isMfaRegistered": bool(strong),
        "isMfaCapable": bool(strong),
        "isPasswordlessCapable": False,
        "lastUpdatedDateTime": graph_time(NOW - timedelta(hours=3)),
        "methodsRegistered": methods,
        "isSystemPreferredAuthenticationMethodEnabled": True,
        "systemPreferredAuthenticationMethods": [],
        "userPreferredMethodForSecondaryAuthentication": "none",
    }
    body.update(properties)
    return body


def role_definition(role_id: str, name: str, **properties: Any) -> dict[str, Any]:
    return {"id": role_id, "displayName": name, "isBuiltIn": True, "templateId": role_id, **properties}


def assignment(
    role_id: str, principal: dict[str, Any], *, kind: str = "user", scope: str = "/", **properties: Any
) -> dict[str, Any]:
    """A unifiedRoleAssignment with its principal expanded (`@odata.type` names user, group or servicePrincipal)."""
    expanded = {
        "@odata.type": f"#microsoft.graph.{kind}",
        "id": principal["id"],
        "displayName": principal.get("displayName"),
    }
    if kind == "user":
        expanded.update(
            userPrincipalName=principal.get("userPrincipalName"), accountEnabled=principal.get("accountEnabled")
        )
    body: dict[str, Any] = {
        "id": f"{role_id}-{principal['id']}-{scope}",
        "principalId": principal["id"],
        "roleDefinitionId": role_id,
        "directoryScopeId": scope,
        "resourceScope": scope,
        "condition": None,
        "principal": expanded,
    }
    body.update(properties)
    return body


def person(email: str, status: str = "active", end_days_ago: int | None = None) -> dict[str, Any]:
    """A row of the HR roster (raw_hr_roster)."""
    return {
        "email": email,
        "name": email.split("@")[0].title(),
        "status": status,
        "start_date": "2020-01-06",
        "end_date": (DAY - timedelta(days=end_days_ago)).isoformat() if end_days_ago is not None else None,
        "manager": None,
        "department": "Engineering",
        "row_number": 2,
    }


@dataclass
class Tenant:
    users: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    definitions: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    identity_map: list[dict[str, Any]] = field(default_factory=list)


def _client() -> GraphClient:
    return GraphClient(EntraConfig(tenant_id="contoso-tenant-id", client_id="client-id", client_secret="x"))


def parsed(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """The records the connector makes of the tenant's Graph pages (its own `parse`, as on a real response)."""
    client = _client()
    roles = RoleAssignments(client)
    roles._phase = "definitions"
    list(roles.parse({"value": tenant.definitions}))
    roles._phase = "assignments"
    return {
        "users": list(Users(client).parse({"value": tenant.users})),
        "user_registration_details": list(UserRegistrationDetails(client).parse({"value": tenant.registrations})),
        "role_assignments": list(roles.parse({"value": tenant.assignments})),
    }


def _land(warehouse: Warehouse, source: str, dataset: str, records: list[dict[str, Any]], tmp: Path) -> None:
    staged = tmp / f"{source}__{dataset}.jsonl"
    stage_records(records, staged)
    provenance = Provenance(source=source, dataset=dataset, parameters={})
    provenance.record_count, provenance.status, provenance.finished_at = len(records), "succeeded", NOW.isoformat()
    warehouse.land(source, dataset, DAY, "run-1", staged, provenance)


def land(tenant: Tenant, tmp: Path) -> Warehouse:
    """A fresh warehouse holding the tenant (as the connector parsed it), the HR roster and the identity map."""
    tmp.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    warehouse.migrate()
    for dataset, records in parsed(tenant).items():
        _land(warehouse, "entra", dataset, records, tmp)
    _land(warehouse, "hr", "roster", tenant.people, tmp)
    _land(warehouse, "identity", "map", tenant.identity_map, tmp)
    return warehouse


CATALOGUE = load_catalogue(project_file("controls_map.yaml"))


def judge(
    warehouse: Warehouse, control_ids: tuple[str, ...] = ENTRA_CONTROLS + IDENTITY_CONTROLS
) -> dict[str, dict[str, dict[str, Any]]]:
    """control id -> resource id -> the judged row (Entra rows only: other systems were not collected)."""
    judged: dict[str, dict[str, dict[str, Any]]] = {}
    for control_id in control_ids:
        outcome = evaluate_control(warehouse, CATALOGUE, CATALOGUE.by_id[control_id], DAY, "run-1")
        assert outcome.error is None, (control_id, outcome.error)
        judged[control_id] = {
            row["resource_id"]: row
            for row in outcome.rows
            if control_id in ENTRA_CONTROLS or str(row["resource_id"]).startswith("entra")
        }
    return judged
