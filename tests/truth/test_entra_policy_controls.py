"""The identity-policy controls against Graph's documented shapes: each Conditional Access gap Microsoft documents
(report-only, OR with compliantDevice, grantControls null, excluded users and groups, excluded roles, narrowing
conditions), the authentication strengths, security defaults, the Fido2 method configuration and the Password Rule
Settings (with and without an object), read through the connector's own parsing, landed and judged by the catalogue.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from connectors.entra.policies import (
    AuthenticationMethodsPolicy,
    AuthenticationStrengthPolicies,
    ConditionalAccessPolicies,
    PasswordRuleSettings,
    SecurityDefaults,
)
from connectors.entra.streams import RoleAssignments
from evidence_pipeline.evaluate import evaluate_control
from sandbox.entra.policy import (
    BUILT_IN_STRENGTH_DATE,
    BUILT_IN_STRENGTHS,
    MULTIFACTOR_STRENGTH,
    PASSWORD_RULE_SETTINGS_TEMPLATE,
    PHISHING_RESISTANT_STRENGTH,
    ca_policy,
    grant,
)
from tests.truth.entra_graph import CATALOGUE, DAY, GLOBAL_ADMIN, USER_ADMIN, _client, _land, assignment, user
from warehouse import Warehouse

TENANT = "contoso-tenant-id"  # the truth client's tenant id (tests/truth/entra_graph.py)
TENANT_UUID = "2b1f0e4c-7d55-4f0a-9a51-9f8d3c1b6e21"  # policy ids are derived from it
ADMIN = user("ada")
PREMIUM_REFUSAL = {
    "unreadable_reason": "HTTP 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: Tenant does not have a SKU "
    "required for this feature (needs Microsoft Entra ID P1)"
}


def strength(sid: str) -> dict[str, Any]:
    name, description, combinations = next((n, d, c) for i, n, d, c in BUILT_IN_STRENGTHS if i == sid)
    return {
        "id": sid,
        "createdDateTime": BUILT_IN_STRENGTH_DATE,
        "modifiedDateTime": BUILT_IN_STRENGTH_DATE,
        "displayName": name,
        "description": description,
        "policyType": "builtIn",
        "requirementsSatisfied": "mfa",
        "allowedCombinations": combinations,
    }


def custom_strength(sid: str, combinations: list[str]) -> dict[str, Any]:
    return {
        **strength(PHISHING_RESISTANT_STRENGTH),
        "id": sid,
        "displayName": sid,
        "policyType": "custom",
        "allowedCombinations": combinations,
    }


def users(*, include=("All",), exclude_users=(), exclude_groups=(), roles=(), exclude_roles=()) -> dict[str, Any]:
    return {
        "includeUsers": list(include),
        "excludeUsers": list(exclude_users),
        "includeGroups": [],
        "excludeGroups": list(exclude_groups),
        "includeRoles": list(roles),
        "excludeRoles": list(exclude_roles),
        "includeGuestsOrExternalUsers": None,
        "excludeGuestsOrExternalUsers": None,
    }


def policy(name: str, **kwargs: Any) -> dict[str, Any]:
    return ca_policy(TENANT_UUID, name, **kwargs)


MFA_FOR_ALL = policy("mfa for all", users=users(), grant=grant("OR", ("mfa",)))
DEFAULTS_OFF = {"id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults", "isEnabled": False}


def methods(fido2_state: str | None = "enabled", targets=("all_users",)) -> dict[str, Any]:
    configurations = [
        {
            "@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration",
            "id": "Sms",
            "state": "disabled",
            "includeTargets": [],
            "excludeTargets": [],
        }
    ]
    if fido2_state is not None:
        configurations.append(
            {
                "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
                "id": "Fido2",
                "state": fido2_state,
                "includeTargets": [{"targetType": "group", "id": t, "isRegistrationRequired": False} for t in targets],
                "excludeTargets": [],
            }
        )
    return {
        "id": "authenticationMethodsPolicy",
        "policyMigrationState": "migrationComplete",
        "lastModifiedDateTime": "0001-01-01T00:00:00Z",  # Graph's "no date" sentinel
        "authenticationMethodConfigurations": configurations,
    }


def settings_page(values: dict[str, str] | None) -> dict[str, Any]:
    objects = [
        {
            "id": "u",
            "displayName": "Group.Unified",
            "templateId": "62375ab9-6b52-47ed-826b-58e47e0e304b",
            "values": [{"name": "EnableGroupCreation", "value": "true"}],
        }
    ]
    if values is not None:
        objects.append(
            {
                "id": "p",
                "displayName": "Password Rule Settings",
                "templateId": PASSWORD_RULE_SETTINGS_TEMPLATE,
                "values": [{"name": k, "value": v} for k, v in values.items()],
            }
        )
    return {"value": objects}


def judge(
    tmp: Path,
    control_id: str,
    *,
    policies: list[dict[str, Any]] | dict[str, Any] = (),
    strengths: list[dict[str, Any]] | dict[str, Any] | None = None,
    defaults: dict[str, Any] = DEFAULTS_OFF,
    methods_policy: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    roles: list[tuple[str, str]] = (),
) -> dict[str, dict[str, Any]]:
    """resource id -> judged row of `control_id` over a tenant made of Graph's documented payloads."""
    client = _client()

    def parse(kind, payload):
        return list(kind(client).parse(copy.deepcopy(payload)))

    as_page = lambda items: items if isinstance(items, dict) else {"value": list(items)}  # noqa: E731
    strengths = [strength(s) for s, *_ in BUILT_IN_STRENGTHS] if strengths is None else strengths
    records = {
        "conditional_access_policies": parse(ConditionalAccessPolicies, as_page(policies)),
        "authentication_strength_policies": parse(AuthenticationStrengthPolicies, as_page(strengths)),
        "security_defaults": parse(SecurityDefaults, defaults),
        "authentication_methods_policy": parse(AuthenticationMethodsPolicy, methods_policy or methods()),
        "password_rule_settings": parse(PasswordRuleSettings, settings or settings_page({"LockoutThreshold": "10"})),
    }
    role_stream = RoleAssignments(client)
    role_stream._phase = "definitions"
    list(
        role_stream.parse(
            {"value": [{"id": r, "displayName": n, "isBuiltIn": True, "templateId": r} for r, n in roles]}
        )
    )
    role_stream._phase = "assignments"
    records["role_assignments"] = list(role_stream.parse({"value": [assignment(r, ADMIN) for r, _ in roles]}))
    tmp.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    warehouse.migrate()
    for dataset, rows in records.items():
        _land(warehouse, "entra", dataset, rows, tmp)
    outcome = evaluate_control(warehouse, CATALOGUE, CATALOGUE.by_id[control_id], DAY, "run-1")
    assert outcome.error is None, outcome.error
    return {row["resource_id"]: row for row in outcome.rows}


def tenant_row(tmp: Path, control_id: str, **kwargs: Any) -> dict[str, Any]:
    rows = judge(tmp, control_id, **kwargs)
    assert set(rows) == {TENANT}
    return rows[TENANT]


# -- MFA for all users ---------------------------------------------------------------------------------------------
def test_an_enabled_all_users_mfa_policy_passes(tmp_path: Path) -> None:
    row = tenant_row(tmp_path, "cc6_1_entra_ca_mfa_all_users", policies=[MFA_FOR_ALL])
    assert row["status"] == "pass" and "mfa for all" in row["reason"]


@pytest.mark.parametrize(
    ("variant", "gap"),
    [
        ({"state": "enabledForReportingButNotEnforced"}, "report-only, not enforced"),
        ({"state": "disabled"}, "state disabled"),
        ({"grant": grant("OR", ("mfa", "compliantDevice"))}, "grants OR [mfa, compliantDevice], which does not"),
        ({"grant": None}, "grants nothing (grantControls null)"),
        ({"users": users(exclude_groups=["g-exempt"])}, "excludes group g-exempt"),
        ({"users": users(exclude_users=["u-breakglass"])}, "excludes user u-breakglass"),
        ({"client_app_types": ("browser",)}, "only client apps browser"),
    ],
)
def test_each_documented_gap_hollows_the_all_users_policy(tmp_path: Path, variant: dict[str, Any], gap: str) -> None:
    hollow = policy("hollow", **{"users": users(), "grant": grant("OR", ("mfa",)), **variant})
    row = tenant_row(tmp_path, "cc6_1_entra_ca_mfa_all_users", policies=[hollow])
    assert row["status"] == "fail" and row["failure"] == "hollow_policy"
    assert gap in row["reason"], row["reason"]


def test_and_with_a_device_and_a_strength_alone_require_mfa(tmp_path: Path) -> None:
    both = policy("mfa and device", users=users(), grant=grant("AND", ("mfa", "compliantDevice")))
    strength_only = policy("strength", users=users(), grant=grant("OR", strength=strength(MULTIFACTOR_STRENGTH)))
    for name, candidate in (("and", both), ("strength", strength_only)):
        assert tenant_row(tmp_path / name, "cc6_1_entra_ca_mfa_all_users", policies=[candidate])["status"] == "pass"


def test_a_location_condition_narrows_the_policy(tmp_path: Path) -> None:
    narrowed = policy("outside office", users=users(), grant=grant("OR", ("mfa",)))
    narrowed["conditions"]["locations"] = {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
    row = tenant_row(tmp_path, "cc6_1_entra_ca_mfa_all_users", policies=[narrowed])
    assert row["status"] == "fail" and "only some sign-ins (locations)" in row["reason"]


def test_no_policy_at_all_fails_and_an_unlicensed_tenant_is_unknown(tmp_path: Path) -> None:
    row = tenant_row(tmp_path / "none", "cc6_1_entra_ca_mfa_all_users", policies=[])
    assert (row["status"], row["failure"]) == ("fail", "no_policy")
    row = tenant_row(tmp_path / "unlicensed", "cc6_1_entra_ca_mfa_all_users", policies=PREMIUM_REFUSAL)
    assert row["status"] == "unknown" and "needs Microsoft Entra ID P1" in row["reason"]


# -- directory roles ------------------------------------------------------------------------------------------------
def test_every_role_in_use_and_global_administrator_are_judged_by_template_id(tmp_path: Path) -> None:
    admins = policy("admins", users=users(include=(), roles=[GLOBAL_ADMIN]), grant=grant("OR", ("mfa",)))
    rows = judge(
        tmp_path, "cc6_1_entra_ca_mfa_admin_roles", policies=[admins], roles=[(USER_ADMIN, "User Administrator")]
    )
    assert rows[f"{TENANT}/role/{GLOBAL_ADMIN}"]["status"] == "pass"
    user_admin = rows[f"{TENANT}/role/{USER_ADMIN}"]
    assert (user_admin["status"], user_admin["failure"]) == ("fail", "no_policy")


def test_an_excluded_role_or_user_hollows_the_role_policy(tmp_path: Path) -> None:
    excluding_role = policy("all but GA", users=users(exclude_roles=[GLOBAL_ADMIN]), grant=grant("OR", ("mfa",)))
    row = judge(tmp_path / "role", "cc6_1_entra_ca_mfa_admin_roles", policies=[excluding_role])[
        f"{TENANT}/role/{GLOBAL_ADMIN}"
    ]
    assert row["status"] == "fail" and "excludes this role" in row["reason"]
    excluding_user = policy(
        "GA", users=users(include=(), roles=[GLOBAL_ADMIN], exclude_users=["bg"]), grant=grant("OR", ("mfa",))
    )
    row = judge(tmp_path / "user", "cc6_1_entra_ca_mfa_admin_roles", policies=[excluding_user])[
        f"{TENANT}/role/{GLOBAL_ADMIN}"
    ]
    assert row["status"] == "fail" and "excludes user bg" in row["reason"]


@pytest.mark.parametrize(
    ("strengths_served", "used", "status"),
    [
        (None, PHISHING_RESISTANT_STRENGTH, "pass"),
        (None, MULTIFACTOR_STRENGTH, "fail"),
        ([custom_strength("keys-only", ["fido2", "windowsHelloForBusiness"])], "keys-only", "pass"),
        ([custom_strength("keys-or-sms", ["fido2", "password,sms"])], "keys-or-sms", "fail"),
        ([], "vanished-strength", "unknown"),
    ],
)
def test_only_a_phishing_resistant_strength_passes_for_admins(
    tmp_path: Path, strengths_served: list | None, used: str, status: str
) -> None:
    served = strengths_served if strengths_served is not None else [strength(s) for s, *_ in BUILT_IN_STRENGTHS]
    reference = next((s for s in served if s["id"] == used), {"id": used, "displayName": used})
    ga = policy("GA", users=users(include=(), roles=[GLOBAL_ADMIN]), grant=grant("AND", strength=reference))
    row = judge(tmp_path, "cc6_1_entra_ca_phishing_resistant_admins", policies=[ga], strengths=served)
    assert row[f"{TENANT}/role/{GLOBAL_ADMIN}"]["status"] == status, row


def test_plain_mfa_and_report_only_are_not_phishing_resistant(tmp_path: Path) -> None:
    plain = policy("plain", users=users(include=(), roles=[GLOBAL_ADMIN]), grant=grant("OR", ("mfa",)))
    report_only = policy(
        "report",
        state="enabledForReportingButNotEnforced",
        users=users(include=(), roles=[GLOBAL_ADMIN]),
        grant=grant("AND", strength=strength(PHISHING_RESISTANT_STRENGTH)),
    )
    row = judge(tmp_path, "cc6_1_entra_ca_phishing_resistant_admins", policies=[plain, report_only])
    row = row[f"{TENANT}/role/{GLOBAL_ADMIN}"]
    assert row["status"] == "fail"
    assert "MFA without an authentication strength" in row["reason"] and "report-only" in row["reason"]


# -- legacy authentication, baseline --------------------------------------------------------------------------------
def test_legacy_authentication_needs_both_legacy_client_types_blocked(tmp_path: Path) -> None:
    def block(*types: str) -> dict[str, Any]:
        return policy("block legacy", users=users(), client_app_types=types, grant=grant("OR", ("block",)))

    row = tenant_row(
        tmp_path / "both", "cc6_1_entra_legacy_auth_blocked", policies=[block("exchangeActiveSync", "other")]
    )
    assert row["status"] == "pass"
    row = tenant_row(tmp_path / "eas", "cc6_1_entra_legacy_auth_blocked", policies=[block("exchangeActiveSync")])
    assert (row["status"], row["failure"]) == ("fail", "legacy_auth_allowed")
    row = tenant_row(
        tmp_path / "defaults", "cc6_1_entra_legacy_auth_blocked", defaults={**DEFAULTS_OFF, "isEnabled": True}
    )
    assert row["status"] == "pass" and "security defaults" in row["reason"]


def test_the_baseline_is_security_defaults_or_an_all_users_policy(tmp_path: Path) -> None:
    on = {**DEFAULTS_OFF, "isEnabled": True}
    assert tenant_row(tmp_path / "on", "cc6_1_entra_mfa_baseline", defaults=on)["status"] == "pass"
    assert tenant_row(tmp_path / "ca", "cc6_1_entra_mfa_baseline", policies=[MFA_FOR_ALL])["status"] == "pass"
    row = tenant_row(tmp_path / "off", "cc6_1_entra_mfa_baseline", policies=[])
    assert (row["status"], row["failure"]) == ("fail", "no_baseline")
    unreported = {**DEFAULTS_OFF, "isEnabled": None}
    assert tenant_row(tmp_path / "null", "cc6_1_entra_mfa_baseline", defaults=unreported)["status"] == "unknown"


# -- FIDO2, lockout -------------------------------------------------------------------------------------------------
def test_fido2_enabled_disabled_and_absent(tmp_path: Path) -> None:
    assert tenant_row(tmp_path / "on", "cc6_1_entra_fido2_enabled")["status"] == "pass"
    row = tenant_row(tmp_path / "off", "cc6_1_entra_fido2_enabled", methods_policy=methods("disabled"))
    assert (row["status"], row["failure"]) == ("fail", "fido2_disabled")
    row = tenant_row(tmp_path / "none", "cc6_1_entra_fido2_enabled", methods_policy=methods(targets=()))
    assert row["status"] == "fail" and "target nobody" in row["reason"]
    assert (
        tenant_row(tmp_path / "absent", "cc6_1_entra_fido2_enabled", methods_policy=methods(None))["status"]
        == "unknown"
    )


@pytest.mark.parametrize(
    ("values", "status", "words"),
    [
        (None, "pass", "Microsoft's default smart lockout applies (10 failed"),
        (
            {
                "LockoutThreshold": "5",
                "LockoutDurationInSeconds": "60",
                "EnableBannedPasswordCheck": "True",
                "BannedPasswordList": "contoso\tfabrikam",
            },
            "pass",
            "after 5 failed sign-ins",
        ),
        ({"LockoutThreshold": "50"}, "fail", "after 50 failed sign-ins (limit 10)"),
        ({"LockoutThreshold": "ten"}, "unknown", "no readable LockoutThreshold"),
    ],
)
def test_lockout_threshold_with_and_without_a_settings_object(
    tmp_path: Path, values: dict[str, str] | None, status: str, words: str
) -> None:
    row = tenant_row(tmp_path, "cc6_1_entra_lockout_threshold", settings=settings_page(values))
    assert row["status"] == status and words in row["reason"], row["reason"]
