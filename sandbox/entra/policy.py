"""The sandbox tenant's identity policy as Microsoft Graph v1.0 documents it: Conditional Access policies
(conditionalAccessPolicy, with the documented nulls: grantControls null on a session-only policy, modifiedDateTime
null on a policy never edited, platforms/locations/devices null when unused), authentication strengths (the three
built-in ones with Microsoft's published ids and combinations, and custom ones), the authentication-methods policy,
security defaults and the directory setting objects (GET /settings: "Password Rule Settings" beside a Group.Unified
object, values as strings).

Planted on purpose, each the way a real tenant gets it wrong:
- the all-users MFA policy excludes a group and the break-glass user (hollow), and a second all-users policy grants
  MFA *OR* a compliant device (not MFA); a disabled all-users MFA policy does not count either;
- the admin MFA policy leaves out Privileged Role Administrator and the custom role;
- the phishing-resistant policy for Global Administrators is report-only; Helpdesk Administrators get the
  Multifactor (…0002) strength, which is not phishing-resistant;
- security defaults are off, so with no real all-users MFA policy there is no baseline.
Legacy authentication is blocked, FIDO2 is enabled for all users and smart lockout is at 10 attempts: those pass.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

MULTIFACTOR_STRENGTH = "00000000-0000-0000-0000-000000000002"
PASSWORDLESS_STRENGTH = "00000000-0000-0000-0000-000000000003"
PHISHING_RESISTANT_STRENGTH = "00000000-0000-0000-0000-000000000004"
PASSWORD_RULE_SETTINGS_TEMPLATE = "5cf42378-d67d-4f36-ba46-e8b86229381d"
GROUP_UNIFIED_TEMPLATE = "62375ab9-6b52-47ed-826b-58e47e0e304b"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
#: Microsoft's built-in strengths (GET /policies/authenticationStrengthPolicies, policyType builtIn)
BUILT_IN_STRENGTHS: list[tuple[str, str, str, list[str]]] = [
    (
        MULTIFACTOR_STRENGTH,
        "Multifactor authentication",
        "Combinations of methods that satisfy strong authentication, such as a password + SMS",
        [
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ],
    ),
    (
        PASSWORDLESS_STRENGTH,
        "Passwordless MFA",
        "Passwordless methods that satisfy strong authentication, such as Passwordless sign-in with the Microsoft "
        "Authenticator",
        ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"],
    ),
    (
        PHISHING_RESISTANT_STRENGTH,
        "Phishing-resistant MFA",
        "Phishing-resistant, Passwordless methods for the strongest authentication, such as a FIDO2 security key",
        ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"],
    ),
]
BUILT_IN_STRENGTH_DATE = "2021-12-01T00:00:00Z"


@dataclass
class EntraPolicy:
    """What the Graph fake serves for the policy endpoints. `licensed=False`: a tenant without Entra ID P1."""

    ca_policies: list[dict[str, Any]] = field(default_factory=list)
    strengths: list[dict[str, Any]] = field(default_factory=list)
    methods_policy: dict[str, Any] = field(default_factory=dict)
    security_defaults: dict[str, Any] = field(default_factory=dict)
    settings: list[dict[str, Any]] = field(default_factory=list)
    licensed: bool = True


def role_resource_id(tenant_id: str, role_template_id: str) -> str:
    """The resource id the role controls give a directory role."""
    return f"{tenant_id}/role/{role_template_id}"


def _id(tenant_id: str, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(tenant_id), name))


def _users(include_users=(), exclude_users=(), exclude_groups=(), include_roles=()) -> dict[str, Any]:
    return {
        "includeUsers": list(include_users),
        "excludeUsers": list(exclude_users),
        "includeGroups": [],
        "excludeGroups": list(exclude_groups),
        "includeRoles": list(include_roles),
        "excludeRoles": [],
        "includeGuestsOrExternalUsers": None,
        "excludeGuestsOrExternalUsers": None,
    }


def _strength_ref(strength: dict[str, Any]) -> dict[str, Any]:
    """grantControls.authenticationStrength: the strength policy itself, without its combination configurations."""
    return {key: value for key, value in strength.items() if key != "combinationConfigurations"}


def ca_policy(
    tenant_id: str,
    name: str,
    *,
    state: str = "enabled",
    users: dict[str, Any],
    client_app_types: tuple[str, ...] = ("all",),
    grant: dict[str, Any] | None,
    session: dict[str, Any] | None = None,
    modified: str | None = None,
) -> dict[str, Any]:
    """A conditionalAccessPolicy as GET /identity/conditionalAccess/policies returns it."""
    return {
        "id": _id(tenant_id, f"ca/{name}"),
        "templateId": None,
        "displayName": name,
        "createdDateTime": "2025-03-04T10:21:37.4728163Z",
        "modifiedDateTime": modified,
        "state": state,
        "deletedDateTime": None,
        "partialEnablementStrategy": None,
        "sessionControls": session,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": list(client_app_types),
            "servicePrincipalRiskLevels": [],
            "insiderRiskLevels": None,
            "platforms": None,
            "locations": None,
            "devices": None,
            "clientApplications": None,
            "authenticationFlows": None,
            "applications": {
                "includeApplications": ["All"],
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            "users": users,
        },
        "grantControls": grant,
    }


def grant(operator: str, controls: tuple[str, ...] = (), strength: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "operator": operator,
        "builtInControls": list(controls),
        "customAuthenticationFactors": [],
        "termsOfUse": [],
        "authenticationStrength": _strength_ref(strength) if strength else None,
    }


def build_policy(
    tenant_id: str,
    built_in_role_ids: list[str],
    roles_in_use: set[str],
    break_glass_id: str | None,
    global_admin: str,
) -> tuple[EntraPolicy, dict[str, set[str]]]:
    """The tenant's policy and the expected exceptions of the identity-policy controls (resource ids)."""
    strengths = [
        {
            "id": sid,
            "createdDateTime": BUILT_IN_STRENGTH_DATE,
            "modifiedDateTime": BUILT_IN_STRENGTH_DATE,
            "displayName": name,
            "description": description,
            "policyType": "builtIn",
            "requirementsSatisfied": "mfa",
            "allowedCombinations": combinations,
            "combinationConfigurations": [],
        }
        for sid, name, description, combinations in BUILT_IN_STRENGTHS
    ]
    fido2_only = {
        "id": _id(tenant_id, "strength/fido2"),
        "createdDateTime": "2025-05-12T08:00:12.1826441Z",
        "modifiedDateTime": "2025-05-12T08:00:12.1826441Z",
        "displayName": "FIDO2 security keys and Windows Hello",
        "description": "Admins: phishing-resistant methods only",
        "policyType": "custom",
        "requirementsSatisfied": "mfa",
        "allowedCombinations": ["fido2", "windowsHelloForBusiness"],
        "combinationConfigurations": [],
    }
    strengths.append(fido2_only)
    by_id = {s["id"]: s for s in strengths}
    exclusions_group = _id(tenant_id, "group/ca-exclusions")
    admin_roles = [r for r in built_in_role_ids if r != PRIVILEGED_ROLE_ADMIN]
    phishing_resistant_roles = [
        r for r in built_in_role_ids if r not in (global_admin, HELPDESK_ADMIN, PRIVILEGED_ROLE_ADMIN)
    ]
    excluded_users = [break_glass_id] if break_glass_id else [_id(tenant_id, "user/breakglass")]
    policies = [
        ca_policy(
            tenant_id,
            "CA001: Require MFA for all users",
            users=_users(["All"], excluded_users, [exclusions_group]),
            grant=grant("OR", ("mfa",)),
            modified="2026-02-17T15:02:44.1180396Z",
        ),
        ca_policy(
            tenant_id,
            "CA002: Require MFA or a compliant device",
            users=_users(["All"]),
            grant=grant("OR", ("mfa", "compliantDevice")),
        ),
        ca_policy(
            tenant_id,
            "CA003: MFA for all users (old)",
            state="disabled",
            users=_users(["All"]),
            grant=grant("OR", ("mfa",)),
        ),
        ca_policy(
            tenant_id,
            "CA010: Require MFA for administrators",
            users=_users(include_roles=admin_roles),
            grant=grant("OR", ("mfa",)),
        ),
        ca_policy(
            tenant_id,
            "CA011: Phishing-resistant MFA for Global Administrators",
            state="enabledForReportingButNotEnforced",
            users=_users(include_roles=[global_admin]),
            grant=grant("AND", strength=by_id[PHISHING_RESISTANT_STRENGTH]),
        ),
        ca_policy(
            tenant_id,
            "CA012: Phishing-resistant MFA for privileged roles",
            users=_users(include_roles=phishing_resistant_roles),
            grant=grant("AND", strength=fido2_only),
        ),
        ca_policy(
            tenant_id,
            "CA013: MFA strength for Helpdesk",
            users=_users(include_roles=[HELPDESK_ADMIN]),
            grant=grant("AND", strength=by_id[MULTIFACTOR_STRENGTH]),
        ),
        ca_policy(
            tenant_id,
            "CA020: Block legacy authentication",
            users=_users(["All"]),
            client_app_types=("exchangeActiveSync", "other"),
            grant=grant("OR", ("block",)),
        ),
        ca_policy(
            tenant_id,
            "CA030: Sign-in frequency 12 hours",
            users=_users(["All"]),
            grant=None,  # a session-only policy: Graph sends grantControls null
            session={
                "disableResilienceDefaults": None,
                "applicationEnforcedRestrictions": None,
                "cloudAppSecurity": None,
                "persistentBrowser": None,
                "continuousAccessEvaluation": None,
                "secureSignInSession": None,
                "signInFrequency": {
                    "value": 12,
                    "type": "hours",
                    "authenticationType": "primaryAndSecondaryAuthentication",
                    "frequencyInterval": "timeBased",
                    "isEnabled": True,
                },
            },
        ),
    ]
    methods_policy = {
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, "
        "authentication method registration requirements, and self-service password reset settings",
        "lastModifiedDateTime": "2026-01-09T12:44:05.0219745Z",
        "policyVersion": "1.5",
        "reconfirmationInDays": None,
        "policyMigrationState": "migrationComplete",
        "registrationEnforcement": {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 1,
                "state": "default",
                "excludeTargets": [],
                "includeTargets": [
                    {"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}
                ],
            }
        },
        "authenticationMethodConfigurations": [
            {
                "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
                "id": "Fido2",
                "state": "enabled",
                "isSelfServiceRegistrationAllowed": True,
                "isAttestationEnforced": True,
                "excludeTargets": [],
                "keyRestrictions": {"isEnforced": False, "enforcementType": "block", "aaGuids": []},
                "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}],
            },
            {
                "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
                "id": "MicrosoftAuthenticator",
                "state": "enabled",
                "isSoftwareOathEnabled": False,
                "excludeTargets": [],
                "includeTargets": [
                    {
                        "targetType": "group",
                        "id": "all_users",
                        "isRegistrationRequired": False,
                        "authenticationMode": "any",
                    }
                ],
            },
            {
                "@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration",
                "id": "Sms",
                "state": "disabled",
                "excludeTargets": [],
                "includeTargets": [],
            },
            {
                "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                "id": "TemporaryAccessPass",
                "state": "enabled",
                "defaultLifetimeInMinutes": 60,
                "defaultLength": 8,
                "minimumLifetimeInMinutes": 60,
                "maximumLifetimeInMinutes": 480,
                "isUsableOnce": True,
                "excludeTargets": [],
                "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}],
            },
        ],
    }
    security_defaults = {
        "id": "00000000-0000-0000-0000-000000000005",
        "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. "
        "When enabled, these recommendations will be automatically enforced in your organization.",
        "isEnabled": False,
    }
    settings = [
        {
            "id": _id(tenant_id, "settings/group-unified"),
            "displayName": "Group.Unified",
            "templateId": GROUP_UNIFIED_TEMPLATE,
            "values": [
                {"name": "EnableGroupCreation", "value": "false"},
                {"name": "AllowGuestsToAccessGroups", "value": "true"},
            ],
        },
        {
            "id": _id(tenant_id, "settings/password-rules"),
            "displayName": "Password Rule Settings",
            "templateId": PASSWORD_RULE_SETTINGS_TEMPLATE,
            "values": [
                {"name": "BannedPasswordCheckOnPremisesMode", "value": "Audit"},
                {"name": "EnableBannedPasswordCheckOnPremises", "value": "False"},
                {"name": "EnableBannedPasswordCheck", "value": "True"},
                {"name": "LockoutDurationInSeconds", "value": "60"},
                {"name": "LockoutThreshold", "value": "10"},
                {"name": "BannedPasswordList", "value": "sandbox\tsandboxco\twelcome2026"},
            ],
        },
    ]
    # the roles judged: every role a user or group holds, and Global Administrator always; a custom role is in no
    # policy, so it fails wherever it is in use
    judged_roles = roles_in_use | {global_admin}
    expected = {
        "cc6_1_entra_ca_mfa_all_users": {tenant_id},
        "cc6_1_entra_ca_mfa_admin_roles": {
            role_resource_id(tenant_id, r) for r in judged_roles if r not in admin_roles
        },
        "cc6_1_entra_ca_phishing_resistant_admins": {
            role_resource_id(tenant_id, r) for r in judged_roles if r not in phishing_resistant_roles
        },
        "cc6_1_entra_legacy_auth_blocked": set(),
        "cc6_1_entra_fido2_enabled": set(),
        "cc6_1_entra_mfa_baseline": {tenant_id},
        "cc6_1_entra_lockout_threshold": set(),
    }
    policy = EntraPolicy(policies, strengths, methods_policy, security_defaults, settings)
    return policy, expected
