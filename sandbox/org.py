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
from datetime import date, timedelta

from sandbox import expected
from sandbox.company import DOMAIN, Person, SandboxOrg

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
#: how an organisation of `size` people is made up: a company (everyone staff, on the HR roster and in every
#: system) or a school district (5% staff; the students have Google accounts in an excluded unit, nothing else)
PROFILES = ("company", "district")
DISTRICT_STAFF_SHARE = 0.05


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


def build_org(seed: int = 7, size: int = 50, today: date | None = None, profile: str = "company") -> SandboxOrg:
    """`size` people in all; a district's are DISTRICT_STAFF_SHARE staff and the rest students."""
    if profile not in PROFILES:
        raise ValueError(f"unknown sandbox profile {profile!r}; choose from {PROFILES}")
    today = today or date.today()
    staff, students = size, None
    if profile == "district":
        staff = round(size * DISTRICT_STAFF_SHARE)
        students = size - staff
    org = SandboxOrg(seed=seed, size=staff, today=today, profile=profile, students=students)
    org.people = _people(random.Random(f"{seed}:people"), staff, today)
    for system in sandbox_systems():
        model = importlib.import_module(f"sandbox.{system}.model")
        org.systems[system] = model.build(org, random.Random(f"{seed}:{system}"))
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
