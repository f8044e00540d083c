"""One deterministic fictional company across every system, with known violations.

`build_org(seed, size, today)` gives the same people, accounts and repositories
for the same arguments. Every known case is planted on purpose and listed in
`SandboxOrg.expected` (control id -> resource ids that must be exceptions), so
tests compare the pipeline's verdicts with the truth instead of hard-coding them.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

FIRST = [
    "ada",
    "ben",
    "cleo",
    "dev",
    "eli",
    "fay",
    "gus",
    "hana",
    "ivo",
    "jun",
    "kai",
    "lea",
    "mo",
    "nia",
    "omar",
    "pia",
    "quin",
    "rui",
    "sol",
    "tara",
    "uma",
    "vik",
    "wen",
    "xia",
    "yan",
    "zoe",
]
LAST = [
    "adler",
    "baptiste",
    "chen",
    "diaz",
    "eze",
    "fischer",
    "garcia",
    "haddad",
    "ito",
    "jensen",
    "khan",
    "lopez",
    "moreau",
    "novak",
    "okafor",
    "patel",
    "quispe",
    "rossi",
    "sato",
    "tanaka",
    "ueda",
    "vega",
    "wong",
    "yilmaz",
]
DEPARTMENTS = ["Engineering", "Sales", "Support", "Finance", "People", "Operations"]
DOMAIN = "example-corp.test"


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    status: str  # active | terminated
    start_date: date
    end_date: date | None
    manager: str | None
    department: str


@dataclass(frozen=True)
class Account:
    """The truth about one account in one system, for the cross-system access controls.

    The pipeline never sees this: it sees what the fake API serves. Tests derive the
    expected exceptions of the leaver, orphan, dormant and privileged-access controls
    from these records (sandbox/expected.py), independently of the controls' SQL.
    """

    system: str  # aws | aws_identity_center | google_workspace | entra | github
    account_id: str  # unique within the system; the pipeline's accounts view reports the same id
    email: str | None  # the email the system itself shows (None when it shows none)
    owner: str | None  # the HR person's email it belongs to; None for service, break-glass and orphan accounts
    kind: str  # person | service | break_glass | orphan
    active: bool  # can sign in / use credentials today
    privileged: bool  # holds an admin role in that system
    mfa: bool | None  # None when the system does not say
    last_activity: datetime | None  # last sign-in or credential use; None when never
    created: datetime


def sandbox_systems() -> tuple[str, ...]:
    """Every sandbox package with a `model.build(org, rng)`; each gets its own RNG stream,
    so adding a system never changes another system's data."""
    import sandbox

    return tuple(
        sorted(
            m.name
            for m in pkgutil.iter_modules(sandbox.__path__)
            if m.ispkg and importlib.util.find_spec(f"sandbox.{m.name}.model") is not None
        )
    )


@dataclass
class SandboxOrg:
    seed: int
    size: int
    today: date
    org_login: str = "example-corp"
    domain: str = DOMAIN
    #: The HR roster: every person the company has, joiners and leavers included.
    people: list[Person] = field(default_factory=list)
    #: system name -> that system's data (see sandbox/<system>/model.py)
    systems: dict[str, Any] = field(default_factory=dict)
    #: control id -> resource ids the control must report as exceptions (single-system controls;
    #: the cross-system access controls are derived from `accounts` in sandbox/expected.py)
    expected: dict[str, set[str]] = field(default_factory=dict)
    #: every account in every system (each system's model.build appends its own)
    accounts: list[Account] = field(default_factory=list)
    #: control id -> resource ids the control must judge *unknown* on correct data (an empty repository)
    unknown: dict[str, set[str]] = field(default_factory=dict)
    #: control id -> resource ids with an active waiver in the sandbox's waivers.yaml (sandbox/expected.py)
    waived: dict[str, set[str]] = field(default_factory=dict)

    @property
    def github(self) -> Any:
        return self.systems["github"]


def build_org(seed: int = 7, size: int = 50, today: date | None = None) -> SandboxOrg:
    today = today or date.today()
    org = SandboxOrg(seed=seed, size=size, today=today)
    org.people = _people(random.Random(f"{seed}:people"), size, today)
    for system in sandbox_systems():
        model = importlib.import_module(f"sandbox.{system}.model")
        org.systems[system] = model.build(org, random.Random(f"{seed}:{system}"))
    from sandbox import expected

    expected.derive(org)
    return org


def _people(rng: random.Random, size: int, today: date) -> list[Person]:
    people: list[Person] = []
    used: set[str] = set()
    for i in range(size):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}"
        if local in used:
            local = f"{local}{i}"
        used.add(local)
        start = today - timedelta(days=rng.randint(10, 2000))
        if i % 20 == 5:  # a joiner still inside the 30-day onboarding (training) window
            start = today - timedelta(days=3 + i % 25)
        elif i % 20 == 15:  # a recent joiner past that window
            start = today - timedelta(days=35 + i % 50)
        leaver = i % 10 == 9
        end = today - timedelta(days=rng.randint(2, 60)) if leaver else None
        if end is not None and start > end:  # nobody leaves before they start
            start = end - timedelta(days=30 + i % 300)
        manager = people[rng.randrange(len(people))].email if people else None
        people.append(
            Person(
                email=f"{local}@{DOMAIN}",
                name=f"{first.title()} {last.title()}",
                status="terminated" if leaver else "active",
                start_date=start,
                end_date=end,
                manager=manager,
                department=rng.choice(DEPARTMENTS),
            )
        )
    return people
