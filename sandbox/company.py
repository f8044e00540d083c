"""The sandbox company's records: its people, every system's accounts, and the organisation that holds them and the
truth the tests compare with. Plain data: sandbox/org.py builds it, each system's model fills it, sandbox/expected.py
derives the cross-system truth from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

DOMAIN = "example-corp.test"


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str
    status: str  # active | terminated
    start_date: date
    end_date: date | None
    manager: str | None
    department: str


@dataclass(frozen=True, slots=True)
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


@dataclass
class SandboxOrg:
    seed: int
    #: the HR roster's people (the staff): every system's resources are in proportion to them
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
    profile: str = "company"
    #: Google accounts of students (an excluded unit), not on the HR roster; None: the company's one per ten people
    students: int | None = None

    @property
    def github(self) -> Any:
        return self.systems["github"]
