"""Schema-driven: every nullable property the Entra connector reads, null (and each DateTimeOffset at Graph's
"no date" sentinel), served through the connector's parsing and judged by the Entra and the cross-system identity
controls on DuckDB. Nothing may crash, and no row that fails (or is unknown) with the full record may pass, or drop
out of its population, when a property is missing.

The properties and their types are Microsoft Graph v1.0's documented shapes:
- user: https://learn.microsoft.com/graph/api/resources/user (mail "null for many users", see also
  https://learn.microsoft.com/graph/api/user-list; createdDateTime "null for some users created before June 2018";
  otherMails and proxyAddresses are documented not nullable, tested anyway)
- signInActivity: https://learn.microsoft.com/graph/api/resources/signinactivity (the property itself "isn't
  returned for a user who never signed in or last signed in before April 2020"; lastSuccessfulSignInDateTime is not
  backfilled before December 2023)
- userRegistrationDetails: https://learn.microsoft.com/graph/api/resources/userregistrationdetails
- unifiedRoleAssignment: https://learn.microsoft.com/graph/api/resources/unifiedroleassignment (principal null when
  the principal was deleted; directoryScopeId null when appScopeId scopes the assignment) and
  unifiedRoleDefinition: https://learn.microsoft.com/graph/api/resources/unifiedroledefinition
Object ids (`id`) are keys, never null, and are not listed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.truth.entra_graph import (
    DOMAIN,
    GLOBAL_ADMIN,
    Tenant,
    assignment,
    judge,
    land,
    object_id,
    person,
    registration,
    role_definition,
    user,
)

SENTINEL = "0001-01-01T00:00:00Z"

#: (entity, property path) for every nullable property the connector reads; DateTimeOffsets are also sent as SENTINEL
NULLABLE: list[tuple[str, str]] = [
    ("user", "userPrincipalName"),
    ("user", "mail"),
    ("user", "otherMails"),
    ("user", "proxyAddresses"),
    ("user", "displayName"),
    ("user", "accountEnabled"),
    ("user", "userType"),
    ("user", "createdDateTime"),
    ("user", "signInActivity"),
    ("user", "signInActivity.lastSignInDateTime"),
    ("user", "signInActivity.lastNonInteractiveSignInDateTime"),
    ("user", "signInActivity.lastSuccessfulSignInDateTime"),
    ("registration", "userPrincipalName"),
    ("registration", "userDisplayName"),
    ("registration", "userType"),
    ("registration", "isAdmin"),
    ("registration", "isMfaRegistered"),
    ("registration", "isMfaCapable"),
    ("registration", "isPasswordlessCapable"),
    ("registration", "isSsprRegistered"),
    ("registration", "isSsprEnabled"),
    ("registration", "isSsprCapable"),
    ("registration", "methodsRegistered"),
    ("registration", "systemPreferredAuthenticationMethods"),
    ("registration", "userPreferredMethodForSecondaryAuthentication"),
    ("registration", "lastUpdatedDateTime"),
    ("definition", "displayName"),
    ("definition", "isBuiltIn"),
    ("definition", "templateId"),
    ("assignment", "roleDefinitionId"),
    ("assignment", "directoryScopeId"),
    ("assignment", "principalId"),
    ("assignment", "principal"),
    ("assignment", "principal.userPrincipalName"),
    ("assignment", "principal.displayName"),
    ("assignment", "principal.accountEnabled"),
]
DATE_TIMES = {
    "createdDateTime",
    "signInActivity.lastSignInDateTime",
    "signInActivity.lastNonInteractiveSignInDateTime",
    "signInActivity.lastSuccessfulSignInDateTime",
    "lastUpdatedDateTime",
}
CASES = [(entity, path, None) for entity, path in NULLABLE] + [
    (entity, path, SENTINEL) for entity, path in NULLABLE if path in DATE_TIMES
]


def add_case(tenant: Tenant, case: str) -> tuple[str, str]:
    """Two accounts that fail with the full record, named for the case: a leaver who is a Global Administrator
    (a role of its own, so a case's role definition can lose a property alone) without MFA, dormant; and an
    ownerless account that never signed in, created long ago. Returns their object ids."""
    leaver = user(f"lea-{case}", signed_in_days_ago=200)
    orphan = user(f"orp-{case}", signed_in_days_ago=None)
    role_id = object_id(f"role-{case}")
    tenant.users += [leaver, orphan]
    tenant.registrations += [registration(leaver, [], is_admin=True), registration(orphan, ["mobilePhone"])]
    tenant.definitions.append(role_definition(role_id, "Global Administrator", templateId=GLOBAL_ADMIN))
    tenant.assignments.append(assignment(role_id, leaver))
    tenant.people.append(person(f"lea-{case}@{DOMAIN}", "terminated", end_days_ago=30))
    return leaver["id"], orphan["id"]


def _set_missing(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, name = path.split(".")
    for parent in parents:
        record = record.get(parent) or {}
        if not record:
            return  # the record has no such object (a user who never signed in has no signInActivity)
    record[name] = value


def tenant_of_cases() -> tuple[Tenant, dict[str, tuple[str, str]]]:
    """One tenant holding the baseline and one copy of it per case, that case's property missing: one landing and
    one judgement for all of them. Returns the tenant and user id -> (case, leaver | orphan)."""
    tenant, accounts = Tenant(), {}
    for index, (entity, path, value) in enumerate([("baseline", "", None), *CASES]):
        label = "baseline" if entity == "baseline" else f"{entity}.{path}={value!r}"
        leaver, orphan = add_case(tenant, "baseline" if entity == "baseline" else str(index))
        accounts.update({leaver: (label, "leaver"), orphan: (label, "orphan")})
        if entity == "baseline":
            continue
        records = {
            "user": tenant.users[-2:],
            "registration": tenant.registrations[-2:],
            "definition": tenant.definitions[-1:],
            "assignment": tenant.assignments[-1:],
        }[entity]
        for record in records:
            _set_missing(record, path, value)
    return tenant, accounts


def test_a_missing_property_never_passes_a_row(tmp_path: Path) -> None:
    tenant, accounts = tenant_of_cases()
    warehouse = land(tenant, tmp_path)
    judged = judge(warehouse)  # nothing crashes: judge() asserts every control ran without an error
    by_case: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for control, rows in judged.items():
        for row in rows.values():
            user_id = (row.get("resource_url") or "").rsplit("userId/", 1)[-1]
            if user_id in accounts:
                case, role = accounts[user_id]
                by_case.setdefault(case, {})[(control, role)] = row
    baseline = {key: row for key, row in by_case["baseline"].items() if row["status"] != "pass"}
    assert {control for control, _ in baseline} == set(judged) - {"cc6_3_admin_count_within_bounds"}
    problems = []
    for case in sorted({case for case, _ in accounts.values()} - {"baseline"}):
        for key, before in baseline.items():
            after = by_case.get(case, {}).get(key)
            if after is None:
                problems.append(f"{case}: {key} left the population (was {before['status']}: {before['reason']})")
            elif after["status"] == "pass" or not after["reason"]:
                problems.append(f"{case}: {key} {after['status']}: {after['reason']!r} (was {before['reason']})")
    # the admin count counts the same definition: every case's leaver is still an active privileged account
    counted = {
        r["url"].rsplit("userId/", 1)[-1]
        for r in warehouse.query("SELECT resource_url AS url FROM accounts_entra WHERE is_active AND is_privileged")
    }
    problems += [
        f"{accounts[user_id][0]}: the leaver is no longer counted as an administrator"
        for user_id, (_, role) in accounts.items()
        if role == "leaver" and user_id not in counted
    ]
    assert judged["cc6_3_admin_count_within_bounds"]["entra"]["status"] == "fail"  # far more than 5 admins
    assert not problems, "\n".join(problems)
