"""The truth for the cross-system access controls, derived from the sandbox's `Account` records.

Tests compare the pipeline's exceptions with these sets. They are computed from what
each system's model planted (who owns which account, who left, who is approved), not
from the controls' SQL, so a wrong join or window in the SQL shows up as a difference.
The parameters mirror the catalogue's defaults; a test asserts they agree.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import ModuleType

import sandbox
from sandbox.company import Account, SandboxOrg

OFFBOARDING_DAYS = 1
DORMANT_DAYS = 90


def system_truths() -> list[ModuleType]:
    """Each sandbox system's own facts for these controls, sandbox/<system>/expected.py, beside its model."""
    return [
        importlib.import_module(f"sandbox.{m.name}.expected")
        for m in sorted(pkgutil.iter_modules(sandbox.__path__), key=lambda m: m.name)
        if m.ispkg and importlib.util.find_spec(f"sandbox.{m.name}.expected") is not None
    ]


#: account systems that report when an account was last used (GitHub does not, to organisation owners)
ACTIVITY_SYSTEMS: frozenset[str] = frozenset().union(*(truth.ACTIVITY_SYSTEMS for truth in system_truths()))
#: account system -> (fewest, most) active privileged accounts
ADMIN_BOUNDS: dict[str, tuple[int, int]] = {
    system: bounds for truth in system_truths() for system, bounds in truth.ADMIN_BOUNDS.items()
}


def account_key(account: Account) -> str:
    return f"{account.system}:{account.account_id.lower()}"


def derive(org: SandboxOrg) -> None:
    """Fill org.expected for the cross-system controls."""
    people = {p.email: p for p in org.people}
    day_end = datetime(org.today.year, org.today.month, org.today.day, tzinfo=UTC)
    active = [a for a in org.accounts if a.active]

    def left(account: Account) -> bool:
        person = people.get(account.owner or "")
        return bool(
            person
            and person.status == "terminated"
            and person.end_date
            and person.end_date < org.today - timedelta(days=OFFBOARDING_DAYS)
        )

    def accountable(account: Account) -> bool:
        person = people.get(account.owner or "")
        return account.kind in ("service", "break_glass") or bool(person and person.status == "active")

    def dormant(account: Account) -> bool:
        seen = account.last_activity or account.created
        seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
        return (
            account.system in ACTIVITY_SYSTEMS
            and account.kind != "break_glass"
            and seen < day_end - timedelta(days=DORMANT_DAYS)
        )

    org.expected["cc6_2_leavers_deprovisioned"] = {account_key(a) for a in active if left(a)}
    org.expected["cc6_2_accounts_have_owner"] = {account_key(a) for a in active if a.kind == "orphan"}
    org.expected["cc6_2_dormant_accounts"] = {account_key(a) for a in active if dormant(a)}
    admins = Counter(a.system for a in active if a.privileged)
    systems = {a.system for a in org.accounts}
    org.expected["cc6_3_admin_count_within_bounds"] = {
        system
        for system in systems
        if not ADMIN_BOUNDS.get(system, (0, 10**9))[0] <= admins[system] <= ADMIN_BOUNDS.get(system, (0, 10**9))[1]
    }
    org.expected["cc6_3_privileged_access_review"] = {
        account_key(a) for a in active if a.privileged and not accountable(a)
    }


def identity_map(org: SandboxOrg) -> dict:
    """The identity map the sandbox company keeps: aliases where a system shows no (or another) email,
    and its approved service and break-glass accounts with an accountable owner."""
    owner = next((p.email for p in org.people if p.status == "active"), None)
    aliases = {
        account_key(a): a.owner
        for a in org.accounts
        if a.kind == "person" and a.owner and (a.email or "").strip().lower() != a.owner
    }
    approved = [
        {
            "account": account_key(a),
            "kind": a.kind,
            "owner": owner,
            "approved_by": "security@" + org.domain,
            "reason": f"{a.kind.replace('_', '-')} account of the {a.system} platform",
        }
        for a in org.accounts
        if a.kind in ("service", "break_glass")
    ]
    return {"aliases": dict(sorted(aliases.items())), "approved_accounts": approved}


#: (control, how many of its expected exceptions get an active waiver, and how many an expired one)
WAIVED = (("cc8_1_branch_review_rules", 1, 1), ("cc6_2_accounts_have_owner", 1, 0))


def waivers(org: SandboxOrg) -> list[dict]:
    """Accepted exceptions: some active (the row shows as waived) and some expired (the row fails)."""
    entries = []
    org.waived = {}
    for control, active, expired in WAIVED:
        resources = sorted(org.expected.get(control, ()))
        for index, resource in enumerate(resources[: active + expired]):
            is_active = index < active
            if is_active:
                org.waived.setdefault(control, set()).add(resource)
            entries.append(
                {
                    "control": control,
                    "resource": resource,
                    "reason": "accepted until the replacement system is live",
                    "approver": "cto@" + org.domain,
                    "expires": (org.today + timedelta(days=30 if is_active else -3)).isoformat(),
                }
            )
    return entries
