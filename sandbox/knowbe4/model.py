"""The sandbox organisation's KnowBe4 account: training enrollments of the HR people.

Every HR person is a KnowBe4 user (same email). Known cases are planted on purpose by
index, recorded in `KnowBe4Data.planted` (case name -> lower-cased emails), and the
controls' expected exceptions are set from them in `org.expected`:

- never_completed: enrolled in the security-awareness campaign, never finished it
- expired: last completion more than 365 days ago
- other_course_only: enrolled only in a non-security course (passed)
- new_hire_in_window_untrained: started < 30 days ago, not trained yet (not due: pass)
- new_hire_overdue: started 35-84 days ago, never trained (fails both controls)
- new_hire_trained_late: started 35-84 days ago, trained after day 30 (fails the new-hire control only)
- leavers: terminated in HR, out of scope whatever their training says
- mixed_case_email: KnowBe4 shows the email with capitals (must still match HR)

Everyone else completed the course within the last 365 days (and, when hired in the
last year, within 30 days of starting), so they pass both controls.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sandbox.company import Person, SandboxOrg

TRAINING_VALID_DAYS = 365
NEW_HIRE_GRACE_DAYS = 30
NEW_HIRE_LOOKBACK_DAYS = 90
SECURITY_MODULE = "Security Awareness Training (45 min)"
ONBOARDING_MODULE = "Security Awareness Training: New Hire Essentials"
OTHER_COURSES = [  # non-security courses: never count as security-awareness training
    ("Code of Conduct Policy", "HR Policies", "Uploaded Policy"),
    ("Harassment Prevention Training", "Compliance Essentials", "Store Purchase"),
    ("Expense Policy Acknowledgement", "Finance Policies", "Uploaded Policy"),
]
NOT_DONE = ["Not Started", "In Progress", "Past Due"]

PLANTED_CASES = (
    "never_completed",
    "expired",
    "other_course_only",
    "new_hire_in_window_untrained",
    "new_hire_in_window_trained",
    "new_hire_overdue",
    "new_hire_trained_late",
    "new_hire_on_time",
    "leavers",
    "mixed_case_email",
)


@dataclass(frozen=True, slots=True)
class Enrollment:
    """One row of GET /v1/training/enrollments."""

    enrollment_id: int
    user_id: int
    email: str  # as KnowBe4 shows it
    first_name: str
    last_name: str
    module_name: str
    campaign_name: str
    content_type: str
    enrollment_date: datetime
    start_date: datetime | None
    completion_date: datetime | None
    status: str
    time_spent: int

    def to_api(self) -> dict[str, Any]:
        """The Reporting API's JSON (developer.knowbe4.com, Training > enrollments)."""
        return {
            "enrollment_id": self.enrollment_id,
            "content_type": self.content_type,
            "module_name": self.module_name,
            "user": {
                "id": self.user_id,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "email": self.email,
            },
            "campaign_name": self.campaign_name,
            "enrollment_date": _api_time(self.enrollment_date),
            "start_date": _api_time(self.start_date),
            "completion_date": _api_time(self.completion_date),
            "status": self.status,
            "time_spent": self.time_spent,
            "policy_acknowledged": self.content_type == "Uploaded Policy" and self.completion_date is not None,
        }

    def to_csv(self) -> dict[str, str]:
        """The same enrollment in the training CSV roster format (connectors/knowbe4/csv_roster.py)."""
        status = {
            "Passed": "completed",
            "Not Started": "not_started",
            "In Progress": "in_progress",
            "Past Due": "past_due",
        }[self.status]
        return {
            "email": self.email,
            "course": self.module_name,
            "campaign": self.campaign_name,
            "status": status,
            "enrollment_date": self.enrollment_date.date().isoformat(),
            "completion_date": self.completion_date.date().isoformat() if self.completion_date else "",
        }


@dataclass
class KnowBe4Data:
    enrollments: list[Enrollment] = field(default_factory=list)
    #: case name -> lower-cased emails of the people planted in it
    planted: dict[str, set[str]] = field(default_factory=lambda: {case: set() for case in PLANTED_CASES})


def _api_time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z") if value else None


def build(org: SandboxOrg, rng: random.Random) -> KnowBe4Data:
    data = KnowBe4Data()
    builder = _Builder(org.today, rng, data)
    tenured = 0  # counts long-serving active people, so each failing case appears at every size >= 50
    for i, person in enumerate(org.people):
        age = (org.today - person.start_date).days
        if person.status == "terminated":
            builder.plant("leavers", person)
            if i % 20 == 9:  # some leavers trained once, long ago; others never: out of scope either way
                builder.completed(
                    i, person, SECURITY_MODULE, "Annual Security Awareness", person.start_date + timedelta(days=5)
                )
        elif i % 20 == 5:  # started inside the 30-day window (sandbox/org.py)
            if i % 40 == 5:
                builder.plant("new_hire_in_window_untrained", person)
                builder.pending(i, person, ONBOARDING_MODULE, "New Hire Onboarding", person.start_date, "Not Started")
            else:
                builder.plant("new_hire_in_window_trained", person)
                builder.completed(
                    i,
                    person,
                    ONBOARDING_MODULE,
                    "New Hire Onboarding",
                    person.start_date + timedelta(days=rng.randint(0, age - 1)),
                )
        elif i % 20 == 15:  # started 35-84 days ago: past the window
            if i % 60 == 15:
                builder.plant("new_hire_overdue", person)
                builder.pending(i, person, ONBOARDING_MODULE, "New Hire Onboarding", person.start_date, "Past Due")
            elif i % 60 == 35:
                builder.plant("new_hire_trained_late", person)
                late = rng.randint(NEW_HIRE_GRACE_DAYS + 1, age - 1)
                builder.completed(
                    i, person, ONBOARDING_MODULE, "New Hire Onboarding", person.start_date + timedelta(days=late)
                )
            else:
                builder.plant("new_hire_on_time", person)
                builder.completed(
                    i,
                    person,
                    ONBOARDING_MODULE,
                    "New Hire Onboarding",
                    person.start_date + timedelta(days=rng.randint(1, NEW_HIRE_GRACE_DAYS - 1)),
                )
        elif age >= TRAINING_VALID_DAYS + 35 and (tenured := tenured + 1) % 12 in (1, 5, 9):
            case = {1: "never_completed", 5: "expired", 9: "other_course_only"}[tenured % 12]
            builder.plant(case, person)
            if case == "never_completed":
                builder.pending(
                    i,
                    person,
                    SECURITY_MODULE,
                    f"{org.today.year} Annual Security Awareness",
                    org.today - timedelta(days=rng.randint(40, 200)),
                    rng.choice(NOT_DONE),
                )
            elif case == "expired":
                days_ago = rng.randint(TRAINING_VALID_DAYS + 1, min(age - 5, 700))
                builder.completed(
                    i,
                    person,
                    SECURITY_MODULE,
                    f"{org.today.year - 1} Annual Security Awareness",
                    org.today - timedelta(days=days_ago),
                )
            else:
                course, campaign, kind = OTHER_COURSES[1]
                builder.completed(
                    i, person, course, campaign, org.today - timedelta(days=rng.randint(5, 200)), content_type=kind
                )
                continue  # only that course
        else:  # compliant
            if not data.planted["mixed_case_email"]:
                builder.plant("mixed_case_email", person)
            if age < TRAINING_VALID_DAYS:
                builder.completed(
                    i,
                    person,
                    ONBOARDING_MODULE,
                    "New Hire Onboarding",
                    person.start_date + timedelta(days=rng.randint(1, min(25, age - 1))),
                )
            else:
                latest = org.today - timedelta(days=rng.randint(1, 330))
                previous = latest - timedelta(days=365 + rng.randint(-20, 20))
                if previous > person.start_date:  # last year's round: history, superseded by the latest
                    builder.completed(
                        i, person, SECURITY_MODULE, f"{previous.year} Annual Security Awareness", previous
                    )
                builder.completed(i, person, SECURITY_MODULE, f"{latest.year} Annual Security Awareness", latest)
        if rng.random() < 0.7:  # most people also have a policy or compliance course
            course, campaign, kind = OTHER_COURSES[i % 2 * 2]
            if rng.random() < 0.8:
                builder.completed(
                    i, person, course, campaign, org.today - timedelta(days=rng.randint(1, 9)), content_type=kind
                )
            else:
                builder.pending(
                    i,
                    person,
                    course,
                    campaign,
                    org.today - timedelta(days=rng.randint(1, 30)),
                    "Not Started",
                    content_type=kind,
                )
    planted = data.planted
    org.expected["cc1_4_security_training_current"] = (
        planted["never_completed"] | planted["expired"] | planted["other_course_only"] | planted["new_hire_overdue"]
    )
    org.expected["cc1_4_new_hire_training"] = planted["new_hire_overdue"] | planted["new_hire_trained_late"]
    return data


class _Builder:
    def __init__(self, today: date, rng: random.Random, data: KnowBe4Data) -> None:
        self.today = today
        self.rng = rng
        self.data = data

    def plant(self, case: str, person: Person) -> None:
        self.data.planted[case].add(person.email.lower())

    def _email(self, person: Person) -> str:
        if person.email.lower() in self.data.planted["mixed_case_email"]:
            local, domain = person.email.split("@")
            return f"{local.title()}@{domain.upper()}"
        return person.email

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, time(self.rng.randint(7, 18), self.rng.randint(0, 59)), tzinfo=UTC)

    def _add(
        self,
        i: int,
        person: Person,
        module: str,
        campaign: str,
        enrolled: date,
        started: datetime | None,
        completed: datetime | None,
        status: str,
        content_type: str,
    ) -> None:
        first, _, last = person.name.partition(" ")
        self.data.enrollments.append(
            Enrollment(
                enrollment_id=100_000 + len(self.data.enrollments),
                user_id=50_000 + i,
                email=self._email(person),
                first_name=first,
                last_name=last,
                module_name=module,
                campaign_name=campaign,
                content_type=content_type,
                enrollment_date=self._at(enrolled),
                start_date=started,
                completion_date=completed,
                status=status,
                time_spent=self.rng.randint(600, 2700) if completed else 0,
            )
        )

    def completed(
        self, i: int, person: Person, module: str, campaign: str, day: date, content_type: str = "Store Purchase"
    ) -> None:
        assert day <= self.today, "the sandbox never completes a course in the future"
        enrolled = max(person.start_date, day - timedelta(days=self.rng.randint(0, 14)))
        finished = self._at(day)
        self._add(
            i, person, module, campaign, enrolled, finished - timedelta(minutes=45), finished, "Passed", content_type
        )

    def pending(
        self,
        i: int,
        person: Person,
        module: str,
        campaign: str,
        enrolled: date,
        status: str,
        content_type: str = "Store Purchase",
    ) -> None:
        enrolled = max(enrolled, person.start_date)
        started = self._at(enrolled) if status == "In Progress" else None
        self._add(i, person, module, campaign, enrolled, started, None, status, content_type)
