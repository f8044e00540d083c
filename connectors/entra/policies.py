"""Microsoft Entra ID identity policy through Microsoft Graph v1.0 (app-only, read-only): what is *enforced*, beside
the users' *enrolment* (streams.py).

| dataset                          | request                                                      | requests for N    |
|----------------------------------|--------------------------------------------------------------|-------------------|
| conditional_access_policies      | GET /identity/conditionalAccess/policies (@odata.nextLink)   | ⌈P/server page⌉   |
| authentication_strength_policies | GET /policies/authenticationStrengthPolicies (@odata.nextLink) | ⌈S/server page⌉ |
| authentication_methods_policy    | GET /policies/authenticationMethodsPolicy (one object)       | 1                 |
| security_defaults                | GET /policies/identitySecurityDefaultsEnforcementPolicy      | 1                 |
| password_rule_settings           | GET /settings (directory setting objects, @odata.nextLink)   | ⌈O/server page⌉   |

Permissions (application, admin consent): Policy.Read.All for the four policies, Directory.Read.All for /settings.
Conditional Access (and authentication strengths, used by it) need Microsoft Entra ID P1: a tenant without it gets a
403 naming the missing premium licence. That is a fact about the tenant, not a failed read, so it is recorded as one
row per tenant with `unreadable_reason` set (and no policy): the controls then say *unknown* with that reason, never
*pass*. Any other 403 (a permission not granted) fails the dataset like every refused read.

`GET /settings` lists only the setting objects somebody created: without a "Password Rule Settings" object Microsoft's
defaults apply (smart lockout: 10 failed sign-ins, then 60 s, in the public and 21Vianet clouds; 3 in US Government;
learn.microsoft.com/entra/identity/authentication/howto-password-smart-lockout). The dataset is one row per tenant
either way, `defaults_apply` saying which.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from connectors.entra.client import GraphError
from connectors.entra.streams import GraphStream, _strings, parse_graph_time

#: The directory setting template "Password Rule Settings" (smart lockout, banned passwords).
PASSWORD_RULE_SETTINGS_TEMPLATE = "5cf42378-d67d-4f36-ba46-e8b86229381d"
PASSWORD_RULE_SETTINGS_NAME = "Password Rule Settings"
#: Graph's error code for a premium (P1/P2) feature in a tenant without the licence.
PREMIUM_REQUIRED_CODES = frozenset({"Authentication_RequestFromNonPremiumTenantOrB2CTenant"})
_PREMIUM_MESSAGE = re.compile(r"premium|licen[cs]e", re.IGNORECASE)


def unlicensed_reason(exc: GraphError) -> str | None:
    """Why Graph refused a P1 feature for lack of a licence, or None when the refusal is anything else."""
    if exc.status != 403:
        return None
    if exc.code in PREMIUM_REQUIRED_CODES or _PREMIUM_MESSAGE.search(exc.message or ""):
        return f"HTTP 403 {exc.code}: {exc.message} (needs Microsoft Entra ID P1)"[:500]
    return None


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _narrowing_conditions(conditions: dict[str, Any]) -> list[str]:
    """The conditions that limit a policy to some sign-ins (a location, a platform, a risk level, a device filter,
    an authentication flow): such a policy does not apply to every sign-in of the users it names."""
    narrowing: list[str] = []
    locations = conditions.get("locations") or {}
    if _strings(locations.get("excludeLocations")) or _strings(locations.get("includeLocations")) not in ([], ["All"]):
        narrowing.append("locations")
    platforms = conditions.get("platforms") or {}
    if _strings(platforms.get("excludePlatforms")) or [
        p.lower() for p in _strings(platforms.get("includePlatforms"))
    ] not in ([], ["all"]):
        narrowing.append("platforms")
    for key in ("userRiskLevels", "signInRiskLevels", "servicePrincipalRiskLevels"):
        if _strings(conditions.get(key)):
            narrowing.append(key)
    if conditions.get("insiderRiskLevels"):
        narrowing.append("insiderRiskLevels")
    if conditions.get("devices"):
        narrowing.append("devices")
    if conditions.get("authenticationFlows"):
        narrowing.append("authenticationFlows")
    return narrowing


def policy_facts(
    state: str | None,
    users: dict[str, Any],
    applications: dict[str, Any],
    client_app_types: list[str],
    narrowing: list[str],
    grant: dict[str, Any] | None,
) -> dict[str, Any]:
    """What a Conditional Access policy enforces, decided once here for every control (Graph's conditionalAccessPolicy
    semantics): enforced only when enabled (enabledForReportingButNotEnforced is report-only); MFA required only when it
    is the only way in: AND with mfa or an authentication strength, or OR whose every alternative is mfa or a strength
    (OR with compliantDevice lets a compliant device in without MFA); a null grantControls grants nothing. `mfa_gaps`
    names every reason the policy does not require MFA of those it names on every sign-in; empty when it does."""
    controls = _strings((grant or {}).get("builtInControls"))
    strength = (grant or {}).get("authenticationStrength") or {}
    operator = str((grant or {}).get("operator") or "OR").upper()
    others = _strings((grant or {}).get("customAuthenticationFactors")) + _strings((grant or {}).get("termsOfUse"))
    if grant is None or "block" in controls:
        requires_mfa = False
    elif operator == "AND":
        requires_mfa = "mfa" in controls or bool(strength.get("id"))
    else:
        requires_mfa = (bool(controls) or bool(strength.get("id"))) and set(controls) <= {"mfa"} and not others
    excluded = (
        [f"user {u}" for u in _strings(users.get("excludeUsers"))]
        + [f"group {g}" for g in _strings(users.get("excludeGroups"))]
        + (["guests or external users"] if users.get("excludeGuestsOrExternalUsers") is not None else [])
    )
    all_applications = "All" in _strings(applications.get("includeApplications")) and not _strings(
        applications.get("excludeApplications")
    )
    all_client_apps = not client_app_types or "all" in client_app_types
    granted = controls + (
        [f"authentication strength {strength.get('displayName') or strength['id']}"] if strength.get("id") else []
    )
    summary = "nothing (grantControls null)" if grant is None else f"{operator} [{', '.join(granted)}]"
    gaps: list[str] = []
    if state == "enabledForReportingButNotEnforced":
        gaps.append("report-only, not enforced")
    elif state != "enabled":
        gaps.append(f"state {state or 'not reported'}")
    if not requires_mfa:
        gaps.append(f"grants {summary}, which does not require MFA")
    if not all_applications:
        gaps.append("not every application")
    if not all_client_apps:
        gaps.append(f"only client apps {', '.join(client_app_types)}")
    if narrowing:
        gaps.append(f"only some sign-ins ({', '.join(narrowing)})")
    if excluded:
        gaps.append(f"excludes {', '.join(excluded)}")
    return {
        "enforced": state == "enabled",
        "requires_mfa": requires_mfa,
        "blocks": grant is not None and "block" in controls,
        "all_users": "All" in _strings(users.get("includeUsers")),
        "all_applications": all_applications,
        "all_client_apps": all_client_apps,
        "excluded_principals": excluded,
        "grant_summary": summary,
        "mfa_gaps": gaps,
    }


#: the columns policy_facts adds to a Conditional Access row
FACT_COLUMNS = (
    "enforced",
    "requires_mfa",
    "blocks",
    "all_users",
    "all_applications",
    "all_client_apps",
    "excluded_principals",
    "grant_summary",
    "mfa_gaps",
)


class LicensedGraphStream(GraphStream):
    """A Graph list of a P1 feature: an unlicensed tenant's 403 becomes one row saying so (see the module)."""

    def request(self, cursor: Any) -> Any:
        try:
            return super().request(cursor)
        except GraphError as exc:
            reason = unlicensed_reason(exc)
            if reason is None or cursor is not None:  # a licence is not lost between two pages
                raise
            self.provenance.parameters = {**self.provenance.parameters, "unlicensed": reason}
            return {"unreadable_reason": reason}

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        if "unreadable_reason" in payload:
            yield self.unreadable_record(payload["unreadable_reason"])
            return
        yield from self.parse_items(self.items(payload))

    def unreadable_record(self, reason: str) -> dict[str, Any]:
        raise NotImplementedError

    def parse_items(self, items: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        raise NotImplementedError


CA_COLUMNS = (
    "display_name",
    "state",
    "created_at",
    "modified_at",
    "include_users",
    "exclude_users",
    "include_groups",
    "exclude_groups",
    "include_roles",
    "exclude_roles",
    "excludes_guests_or_external_users",
    "include_applications",
    "exclude_applications",
    "client_app_types",
    "narrowing_conditions",
    "conditions",
    "grant_controls_present",
    "grant_operator",
    "built_in_controls",
    "custom_authentication_factors",
    "terms_of_use",
    "authentication_strength_id",
    "authentication_strength_name",
    "session_controls",
)


class ConditionalAccessPolicies(LicensedGraphStream):
    """Every Conditional Access policy with its state, who and what it applies to, and what it grants."""

    dataset = "conditional_access_policies"
    path = "/identity/conditionalAccess/policies"

    def unreadable_record(self, reason: str) -> dict[str, Any]:
        return {
            "tenant_id": self.client.config.tenant_id,
            "id": None,
            **dict.fromkeys(CA_COLUMNS),
            "unreadable_reason": reason,
        }

    def parse_items(self, items: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for policy in items:
            conditions = policy.get("conditions") or {}
            users = conditions.get("users") or {}
            applications = conditions.get("applications") or {}
            grant = policy.get("grantControls")  # null: a session-only policy grants nothing
            strength = (grant or {}).get("authenticationStrength") or {}
            client_app_types = _strings(conditions.get("clientAppTypes"))
            narrowing = _narrowing_conditions(conditions)
            yield {
                "tenant_id": self.client.config.tenant_id,
                "id": policy["id"],
                "display_name": policy.get("displayName"),
                "state": policy.get("state"),
                "created_at": parse_graph_time(policy.get("createdDateTime")),
                "modified_at": parse_graph_time(policy.get("modifiedDateTime")),
                "include_users": _strings(users.get("includeUsers")),
                "exclude_users": _strings(users.get("excludeUsers")),
                "include_groups": _strings(users.get("includeGroups")),
                "exclude_groups": _strings(users.get("excludeGroups")),
                "include_roles": _strings(users.get("includeRoles")),
                "exclude_roles": _strings(users.get("excludeRoles")),
                "excludes_guests_or_external_users": users.get("excludeGuestsOrExternalUsers") is not None,
                "include_applications": _strings(applications.get("includeApplications")),
                "exclude_applications": _strings(applications.get("excludeApplications")),
                "client_app_types": client_app_types,
                "narrowing_conditions": narrowing,
                "conditions": _json(conditions),
                "grant_controls_present": grant is not None,
                "grant_operator": (grant or {}).get("operator"),
                "built_in_controls": _strings((grant or {}).get("builtInControls")),
                "custom_authentication_factors": _strings((grant or {}).get("customAuthenticationFactors")),
                "terms_of_use": _strings((grant or {}).get("termsOfUse")),
                "authentication_strength_id": strength.get("id"),
                "authentication_strength_name": strength.get("displayName"),
                "session_controls": _json(policy.get("sessionControls")),
                **policy_facts(policy.get("state"), users, applications, client_app_types, narrowing, grant),
                "unreadable_reason": None,
            }


class AuthenticationStrengthPolicies(LicensedGraphStream):
    """The built-in and custom authentication strengths and the method combinations each allows."""

    dataset = "authentication_strength_policies"
    path = "/policies/authenticationStrengthPolicies"

    def unreadable_record(self, reason: str) -> dict[str, Any]:
        return {
            "tenant_id": self.client.config.tenant_id,
            "id": None,
            "display_name": None,
            "policy_type": None,
            "requirements_satisfied": None,
            "allowed_combinations": None,
            "created_at": None,
            "modified_at": None,
            "unreadable_reason": reason,
        }

    def parse_items(self, items: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for strength in items:
            yield {
                "tenant_id": self.client.config.tenant_id,
                "id": strength["id"],
                "display_name": strength.get("displayName"),
                "policy_type": strength.get("policyType"),
                "requirements_satisfied": strength.get("requirementsSatisfied"),
                # null is not "no combination": the control reads None as unknown
                "allowed_combinations": (
                    _strings(strength.get("allowedCombinations"))
                    if isinstance(strength.get("allowedCombinations"), list)
                    else None
                ),
                "created_at": parse_graph_time(strength.get("createdDateTime")),
                "modified_at": parse_graph_time(strength.get("modifiedDateTime")),
                "unreadable_reason": None,
            }


class AuthenticationMethodsPolicy(GraphStream):
    """The tenant's authentication-methods policy: one row per method configuration (Fido2, MicrosoftAuthenticator,
    Sms, ...) with its state and the users and groups it targets."""

    dataset = "authentication_methods_policy"
    path = "/policies/authenticationMethodsPolicy"

    def next_cursor(self, payload: Any) -> Any:
        return None  # one object, not a collection

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        migration = payload.get("policyMigrationState")
        modified = parse_graph_time(payload.get("lastModifiedDateTime"))
        for method in payload.get("authenticationMethodConfigurations") or []:
            include = method.get("includeTargets")
            exclude = method.get("excludeTargets")
            settings = {
                key: value
                for key, value in method.items()
                if key not in ("id", "state", "includeTargets", "excludeTargets", "@odata.type")
            }
            yield {
                "tenant_id": self.client.config.tenant_id,
                "id": method["id"],
                "state": method.get("state"),
                "include_targets": _json(include),
                "exclude_targets": _json(exclude),
                "include_target_ids": [str(t.get("id")) for t in include or [] if isinstance(t, dict)],
                "exclude_target_ids": [str(t.get("id")) for t in exclude or [] if isinstance(t, dict)],
                "settings": _json(settings),
                "policy_migration_state": migration,
                "policy_modified_at": modified,
            }


class SecurityDefaults(GraphStream):
    """Whether security defaults are enabled (one object per tenant)."""

    dataset = "security_defaults"
    path = "/policies/identitySecurityDefaultsEnforcementPolicy"

    def next_cursor(self, payload: Any) -> Any:
        return None

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        yield {
            "tenant_id": self.client.config.tenant_id,
            "id": payload.get("id"),
            "display_name": payload.get("displayName"),
            "is_enabled": payload.get("isEnabled"),  # null stays null: unknown, never "off"
        }


def _setting_int(values: dict[str, str | None], name: str) -> int | None:
    value = values.get(name)
    return int(value) if value is not None and str(value).strip().lstrip("-").isdigit() else None


def _setting_bool(values: dict[str, str | None], name: str) -> bool | None:
    value = str(values.get(name) or "").strip().lower()
    return {"true": True, "false": False}.get(value)


class PasswordRuleSettings(GraphStream):
    """The tenant's "Password Rule Settings" directory setting (smart lockout, banned passwords), one row per tenant:
    read from every page of GET /settings, written once the last page is read."""

    dataset = "password_rule_settings"
    path = "/settings"

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._found: dict[str, Any] | None = None

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for setting in self.items(payload):
            if setting.get("templateId") == PASSWORD_RULE_SETTINGS_TEMPLATE or (
                setting.get("displayName") == PASSWORD_RULE_SETTINGS_NAME
            ):
                self._found = setting
        if self.next_cursor(payload) is not None:
            return
        setting = self._found or {}
        values = {str(v.get("name")): v.get("value") for v in setting.get("values") or [] if isinstance(v, dict)}
        banned = values.get("BannedPasswordList")
        yield {
            "tenant_id": self.client.config.tenant_id,
            "settings_id": setting.get("id"),
            "template_id": setting.get("templateId"),
            "defaults_apply": self._found is None,
            "lockout_threshold": _setting_int(values, "LockoutThreshold"),
            "lockout_duration_seconds": _setting_int(values, "LockoutDurationInSeconds"),
            "enable_banned_password_check": _setting_bool(values, "EnableBannedPasswordCheck"),
            # the list itself stays in the tenant (tab-separated words of the company's own); its size is evidence
            "banned_password_count": len([w for w in re.split(r"[\t\n]", banned) if w.strip()]) if banned else 0,
            "enable_banned_password_check_on_premises": _setting_bool(values, "EnableBannedPasswordCheckOnPremises"),
            "banned_password_check_on_premises_mode": values.get("BannedPasswordCheckOnPremisesMode"),
        }
