"""`fido2` is what Graph's userRegistrationDetails documents in methodsRegistered ("such as mobilePhone, email,
fido2"); it and the other passkey / platform-credential values count as phishing-resistant for administrators."""

from __future__ import annotations

from pathlib import Path

from sandbox.entra.model import PHISHING_RESISTANT_METHODS
from tests.truth.entra_graph import GLOBAL_ADMIN, Tenant, assignment, judge, land, registration, role_definition, user

RESISTANT = [
    "fido2",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "passKeySynced",
    "windowsHelloForBusiness",
    "macOsSecureEnclaveKey",
    "fido2SecurityKey",
]
#: MFA, but a look-alike site can relay them (phone sign-in included: it is passwordless, not phishing-resistant)
PHISHABLE = [
    "microsoftAuthenticatorPush",
    "microsoftAuthenticatorPasswordless",
    "softwareOneTimePasscode",
    "hardwareOneTimePasscode",
    "mobilePhone",
    "alternateMobilePhone",
    "officePhone",
]


def _admin_reasons(tmp_path: Path, methods: list[str]) -> dict[str, str]:
    users = [user(f"admin{i}") for i in range(len(methods))]
    tenant = Tenant(
        users=users,
        registrations=[registration(u, [m]) for u, m in zip(users, methods, strict=True)],
        definitions=[role_definition(GLOBAL_ADMIN, "Global Administrator")],
        assignments=[assignment(GLOBAL_ADMIN, u) for u in users],
    )
    rows = judge(land(tenant, tmp_path), ("cc6_1_entra_admins_mfa",))["cc6_1_entra_admins_mfa"]
    return {method: rows[u["userPrincipalName"]]["reason"] for u, method in zip(users, methods, strict=True)}


def test_documented_passkey_and_platform_methods_are_phishing_resistant(tmp_path: Path) -> None:
    reasons = _admin_reasons(tmp_path / "resistant", RESISTANT)
    for method, reason in reasons.items():
        assert reason == f"Global Administrator: registered for MFA with a phishing-resistant method ({method})"
    reasons = _admin_reasons(tmp_path / "phishable", PHISHABLE)
    for method, reason in reasons.items():
        assert reason.endswith(f"phishable methods only ({method}); no phishing-resistant method")


def test_the_fake_emits_the_documented_value() -> None:
    from datetime import date

    from sandbox.org import build_org

    data = build_org(size=50, today=date(2026, 11, 20)).systems["entra"]
    served = {m for u in data.users for m in u.methods}
    assert "fido2" in served and "fido2SecurityKey" not in served
    assert set(RESISTANT) == set(PHISHING_RESISTANT_METHODS) - {"fido"}
