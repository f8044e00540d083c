"""One definition of a privileged Entra account (accounts_entra.is_privileged) is the population of every privileged
control: cc6_1_entra_admins_mfa, cc6_3_admin_count_within_bounds and cc6_3_privileged_access_review agree by
construction, on a tenant with scoped, group, service-principal and unexpanded principals."""

from __future__ import annotations

import re
from pathlib import Path

from tests.truth.entra_graph import (
    DOMAIN,
    GLOBAL_ADMIN,
    USER_ADMIN,
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

HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
ROLE_CONTROLS = ("cc6_1_entra_admins_mfa", "cc6_3_admin_count_within_bounds", "cc6_3_privileged_access_review")


def _tenant() -> Tenant:
    ada = user("ada")  # Global Administrator, tenant-wide
    bob = user("bob")  # User Administrator of one administrative unit
    cat = user("cat", accountEnabled=None)  # Graph did not say whether sign-in is blocked
    dan = user("dan", accountEnabled=False)  # a disabled Global Administrator: not privileged access
    fay = user("fay")  # her assignment came back with principal null
    gus = user(
        "gus", upn="gus_fabrikam.example#EXT#@contoso.onmicrosoft.com", mail="gus@fabrikam.example", userType="Guest"
    )  # a guest holding a role
    eve = user("eve")  # a member of the role-assignable group only
    group = {"id": object_id("helpdesk-admins"), "displayName": "Helpdesk Admins"}
    robot = {"id": object_id("deploy-bot"), "displayName": "Deployment Automation"}
    unexpanded = assignment(GLOBAL_ADMIN, fay)
    unexpanded["principal"] = None
    users = [ada, bob, cat, dan, fay, gus, eve]
    return Tenant(
        users=users,
        registrations=[registration(u, ["fido2"]) for u in users],
        definitions=[
            role_definition(GLOBAL_ADMIN, "Global Administrator"),
            role_definition(USER_ADMIN, "User Administrator"),
            role_definition(HELPDESK_ADMIN, "Helpdesk Administrator"),
        ],
        assignments=[
            assignment(GLOBAL_ADMIN, ada),
            assignment(USER_ADMIN, bob, scope=f"/administrativeUnits/{'1' * 8}"),
            assignment(GLOBAL_ADMIN, cat),
            assignment(GLOBAL_ADMIN, dan),
            unexpanded,
            assignment(USER_ADMIN, gus),
            assignment(HELPDESK_ADMIN, group, kind="group"),
            assignment(HELPDESK_ADMIN, robot, kind="servicePrincipal"),
        ],
        people=[person(f"{name}@{DOMAIN}") for name in ("ada", "bob", "cat", "dan", "fay", "eve")],
    )


def test_the_three_privileged_controls_judge_the_same_accounts(tmp_path: Path) -> None:
    warehouse = land(_tenant(), tmp_path)
    judged = judge(warehouse, ROLE_CONTROLS)
    expected = {f"{name}@{DOMAIN}" for name in ("ada", "bob", "cat", "fay")} | {
        "gus_fabrikam.example#ext#@contoso.onmicrosoft.com"
    }
    defined = {
        r["account_id"]
        for r in warehouse.query("SELECT account_id FROM accounts_entra WHERE is_active AND is_privileged")
    }
    assert defined == expected

    mfa_rows = judged["cc6_1_entra_admins_mfa"]
    assert {key for key in mfa_rows if not key.startswith("group:")} == expected
    assert {key.removeprefix("entra:") for key in judged["cc6_3_privileged_access_review"]} == expected
    count = judged["cc6_3_admin_count_within_bounds"]["entra"]["reason"]
    listed = re.match(r"(\d+) active administrator\(s\) \(bounds \d+-\d+\): (.*)$", count)
    assert listed and int(listed[1]) == len(expected) and set(listed[2].split(", ")) == expected

    # the group's members hold its role but are not collected: unknown, never a silent pass
    group_row = mfa_rows[f"group:{object_id('helpdesk-admins')}"]
    assert group_row["status"] == "unknown" and "Helpdesk Admins" in group_row["reason"]
    assert mfa_rows[f"bob@{DOMAIN}"]["reason"].startswith("User Administrator: registered for MFA")
