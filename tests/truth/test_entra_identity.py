"""Entra accounts are matched to people on every e-mail address Graph shows, not only `mail` (null for many users,
Graph: List users): the userPrincipalName of a member, the mailbox's SMTP proxyAddresses and otherMails. A guest's
userPrincipalName (`..#EXT#@tenant`) is a name the tenant made, not the person's address."""

from __future__ import annotations

from pathlib import Path

from connectors.entra.streams import USER_SELECT
from tests.truth.entra_graph import DOMAIN, Tenant, judge, land, person, registration, user


def test_a_leaver_whose_address_is_only_in_other_mails_is_caught(tmp_path: Path) -> None:
    assert {"otherMails", "proxyAddresses"} <= set(USER_SELECT.split(","))
    # no mailbox (mail null) and a tenant sign-in name: only otherMails shows the person's address
    leaver = user("leah", upn="leah.k@contoso.onmicrosoft.com", mail=None, otherMails=[f"Leah@{DOMAIN}"])
    tenant = Tenant(
        users=[leaver],
        registrations=[registration(leaver, ["microsoftAuthenticatorPush"])],
        people=[person(f"leah@{DOMAIN}", "terminated", end_days_ago=20)],
    )
    judged = judge(land(tenant, tmp_path), ("cc6_2_leavers_deprovisioned", "cc6_2_accounts_have_owner"))
    row = judged["cc6_2_leavers_deprovisioned"]["entra:leah.k@contoso.onmicrosoft.com"]
    assert row["status"] == "fail" and f"leah@{DOMAIN} left on" in row["reason"]
    owner = judged["cc6_2_accounts_have_owner"]["entra:leah.k@contoso.onmicrosoft.com"]
    assert owner["status"] == "pass" and "matched by email" in owner["reason"]


def test_smtp_proxy_addresses_name_the_mailbox_and_guest_names_are_not_addresses(tmp_path: Path) -> None:
    # an alias of the mailbox ("smtp:" secondary) is the person's address; X500/SIP entries are not e-mail
    renamed = user(
        "max",
        upn="m.mustermann@contoso.onmicrosoft.com",
        mail=None,
        proxyAddresses=[
            "X500:/o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=max",
            "SIP:max@sip.example",
            "SMTP:m.mustermann@contoso.onmicrosoft.com",
            f"smtp: Max@{DOMAIN}",
        ],
    )
    guest = user(
        "gus", upn="gus_fabrikam.example#EXT#@contoso.onmicrosoft.com", mail="gus@fabrikam.example", userType="Guest"
    )
    tenant = Tenant(users=[renamed, guest], people=[person(f"max@{DOMAIN}")])
    warehouse = land(tenant, tmp_path)
    emails = {r["account_id"]: r["emails"] for r in warehouse.query("SELECT account_id, emails FROM accounts_entra")}
    # the UPN, then the SMTP addresses, primary first (repeats are harmless)
    assert list(dict.fromkeys(emails["m.mustermann@contoso.onmicrosoft.com"])) == [
        "m.mustermann@contoso.onmicrosoft.com",
        f"max@{DOMAIN}",
    ]
    assert emails["gus_fabrikam.example#ext#@contoso.onmicrosoft.com"] == ["gus@fabrikam.example"]
    owner = judge(warehouse, ("cc6_2_accounts_have_owner",))["cc6_2_accounts_have_owner"]
    assert owner["entra:m.mustermann@contoso.onmicrosoft.com"]["status"] == "pass"
    # the guest resolves to nobody: its own address is shown, never the tenant-made UPN
    assert owner["entra:gus_fabrikam.example#ext#@contoso.onmicrosoft.com"]["reason"] == (
        "no person in the HR roster has the email gus@fabrikam.example"
    )
