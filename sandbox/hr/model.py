"""The sandbox organisation's HR roster: `org.people` as the HR system exports it.

The people themselves (joiners, leavers) come from sandbox/org.py; this system only
records which known cases the roster holds, so tests can check them by name.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.company import Person, SandboxOrg

ROSTER_HEADER = ("email", "name", "status", "start_date", "end_date", "manager", "department")
JOINER_WINDOW_DAYS = 30


@dataclass
class HrData:
    people: list[Person]
    #: case name -> emails: leavers, joiners inside / past the 30-day onboarding window
    planted: dict[str, set[str]] = field(default_factory=dict)


def build(org: SandboxOrg, rng: random.Random) -> HrData:
    data = HrData(people=org.people)
    data.planted = {
        "leavers": {p.email for p in org.people if p.status == "terminated"},
        "joiners_in_window": {
            p.email for p in org.people if p.status == "active" and (org.today - p.start_date).days < JOINER_WINDOW_DAYS
        },
        "joiners_past_window": {p.email for i, p in enumerate(org.people) if i % 20 == 15},
    }
    return data


def roster_row(person: Person) -> dict[str, str]:
    return {
        "email": person.email,
        "name": person.name,
        "status": person.status,
        "start_date": person.start_date.isoformat(),
        "end_date": person.end_date.isoformat() if person.end_date else "",
        "manager": person.manager or "",
        "department": person.department,
    }


def write_roster(people: list[Person], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=ROSTER_HEADER)
        writer.writeheader()
        writer.writerows(roster_row(p) for p in people)
    return path
