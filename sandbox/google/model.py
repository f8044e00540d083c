"""The sandbox organisation's Google Workspace: users, admin roles and role assignments.

Every HR person has an account (same email). Known cases are planted on purpose and
recorded in `GoogleData.planted` (case name -> primary emails), so control tests compare
verdicts with the truth. The sets are derived from the generated accounts by the rule in
`PLANTED_CASES`, so a case can never be missing from the truth or listed by accident.
`build` also appends one `Account` per account outside the excluded units to `org.accounts`
(system "google_workspace", account_id = lower-cased primary email) and sets `org.expected`
for this system's two 2-Step Verification controls.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sandbox.company import Account, SandboxOrg
from sandbox.google.policy import GooglePolicy, build_policy

#: The source name the pipeline uses (the sandbox package stays `sandbox/google`).
SYSTEM = "google_workspace"
#: Control ids of this system's own controls (controls_map.yaml); `org.expected` holds their exceptions.
CONTROL_2SV_ENROLLED = "cc6_1_workspace_2sv_enrolled"
CONTROL_ADMINS_2SV_ENFORCED = "cc6_1_workspace_admins_2sv_enforced"

#: Super admins the sandbox creates by default (break-glass included) and the policy range
#: they are judged against: 5 is deliberately outside 2-4. Pass `super_admins=` to change it.
SUPER_ADMINS = 5
SUPER_ADMIN_BOUNDS = (2, 4)
#: The organisational unit of student accounts; the sandbox's pipeline excludes it from staff controls.
STUDENTS_OU = "/Students"
#: Google's lastLoginTime for an account that never signed in.
NEVER = "1970-01-01T00:00:00.000Z"
DORMANT_DAYS = 90

#: case name -> what the accounts in it have in common (each set lists primary emails).
PLANTED_CASES: dict[str, str] = {
    "not_enrolled_2sv": "active (not suspended, not archived) accounts outside /Students not enrolled in 2-Step",
    "enrolled_not_enforced": "active non-admin accounts enrolled in 2-Step but not enforced (pass the enrolment "
    "control: enforcement is only required of admins)",
    "admin_not_enforced_2sv": "active admins (super or delegated, any unit) enrolled in 2-Step but not enforced",
    "admin_not_enrolled_2sv": "active admins (super or delegated, any unit) not enrolled in 2-Step",
    "super_admins": "accounts holding the super admin role (count vs SUPER_ADMIN_BOUNDS)",
    "delegated_admins": "accounts with a non-super admin role",
    "leaver_still_active": "accounts of terminated people that are neither suspended nor archived",
    "approved_service_accounts": "accounts with no person, on the approved service-account list",
    "break_glass": "the emergency super admin account, no person",
    "unexplained_accounts": "accounts with no person that are on no approved list",
    "dormant_90d": f"active accounts with no sign-in for {DORMANT_DAYS}+ days (or never, created that long ago)",
    "students_out_of_scope": "accounts in the /Students organisational unit",
    "known_by_alias": "staff whose Google primary address is not their HR e-mail; HR's address is an alias "
    "(users.aliases) of the account, which must still resolve to the person",
}

#: Google's predefined (system) admin roles plus one custom role, as roles.list returns them.
SYSTEM_ROLES: list[tuple[str, str, bool, list[str]]] = [
    ("_SEED_ADMIN_ROLE", "Google Workspace Administrator Seed Role", True, ["SUPER_ADMIN"]),
    ("_GROUPS_ADMIN_ROLE", "Groups Administrator", False, ["GROUPS_ALL"]),
    ("_USER_MANAGEMENT_ADMIN_ROLE", "User Management Administrator", False, ["USERS_ALL"]),
    ("_HELP_DESK_ADMIN_ROLE", "Help Desk Administrator", False, ["USERS_RETRIEVE", "USERS_UPDATE"]),
    ("_SERVICES_ADMIN_ROLE", "Services Administrator", False, ["APP_ADMIN"]),
    ("_MOBILE_ADMIN_ROLE", "Mobile Administrator", False, ["MANAGE_DEVICES"]),
]
EVIDENCE_ROLE = "Evidence Reader"
CUSTOM_ROLES: list[tuple[str, str, list[str]]] = [
    (EVIDENCE_ROLE, "Read-only directory access for the evidence pipeline", ["USERS_RETRIEVE", "ADMIN_ROLES_READ"]),
]
#: The account the pipeline impersonates (domain-wide delegation needs an admin subject).
EVIDENCE_ACCOUNT = "svc-evidence-reader"


@dataclass(slots=True)
class GoogleUser:
    id: str
    primary_email: str
    given_name: str
    family_name: str
    org_unit_path: str
    is_enrolled_in_2sv: bool
    is_enforced_in_2sv: bool
    suspended: bool
    archived: bool
    creation_time: str
    last_login_time: str
    is_admin: bool = False
    is_delegated_admin: bool = False
    person_email: str | None = None  # the HR person behind the account, if any
    #: users.aliases: other addresses of the account (Google omits the field when there are none)
    aliases: list[str] = field(default_factory=list)
    #: users.nonEditableAliases: addresses Google manages, e.g. <user>@<domain>.test-google-a.com
    non_editable_aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GoogleRole:
    role_id: str
    role_name: str
    description: str
    is_system_role: bool
    is_super_admin_role: bool
    privileges: tuple[str, ...]


@dataclass(frozen=True)
class GoogleRoleAssignment:
    role_assignment_id: str
    role_id: str
    assigned_to: str  # user id
    assignee_type: str = "user"
    scope_type: str = "CUSTOMER"
    org_unit_id: str | None = None


@dataclass
class GoogleData:
    customer_id: str
    domain: str
    users: list[GoogleUser] = field(default_factory=list)
    roles: list[GoogleRole] = field(default_factory=list)
    role_assignments: list[GoogleRoleAssignment] = field(default_factory=list)
    super_admin_bounds: tuple[int, int] = SUPER_ADMIN_BOUNDS
    approved_service_accounts: set[str] = field(default_factory=set)
    excluded_org_units: tuple[str, ...] = (STUDENTS_OU,)
    #: the admin the pipeline impersonates; it exists only when the organisation is not empty
    admin_subject: str = ""
    planted: dict[str, set[str]] = field(default_factory=dict)
    #: organisational units and Cloud Identity policies (sandbox/google/policy.py)
    policy: GooglePolicy = field(default_factory=GooglePolicy)
    #: the super admin the Policy API datasets impersonate (the Policy API answers super admins only)
    policy_subject: str = ""

    def user(self, email: str) -> GoogleUser:
        return next(u for u in self.users if u.primary_email == email)


def _timestamp(day: date, rng: random.Random) -> str:
    moment = datetime.combine(day, time(rng.randint(6, 20), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _numeric_id(rng: random.Random, digits: int = 21) -> str:
    return str(rng.randint(10 ** (digits - 1), 10**digits - 1))


def build(
    org: SandboxOrg,
    rng: random.Random,
    super_admins: int = SUPER_ADMINS,
    super_admin_bounds: tuple[int, int] = SUPER_ADMIN_BOUNDS,
) -> GoogleData:
    data = GoogleData(
        customer_id="C0" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(7)),
        domain=org.domain,
        super_admin_bounds=super_admin_bounds,
        admin_subject=f"{EVIDENCE_ACCOUNT}@{org.domain}",
    )
    data.roles = _roles(rng)
    if org.size == 0 or not org.people:
        data.planted = {case: set() for case in PLANTED_CASES}
        org.expected[CONTROL_2SV_ENROLLED] = set()
        org.expected[CONTROL_ADMINS_2SV_ENFORCED] = set()
        _expect_policy(org, data)
        return data
    today = org.today

    def account(
        email: str,
        given: str,
        family: str,
        ou: str,
        created: date,
        person: str | None,
        enrolled: bool = True,
        enforced: bool = True,
        suspended: bool = False,
        last_login: date | None = None,
    ) -> GoogleUser:
        last = last_login if last_login is not None else today - timedelta(days=rng.randint(0, 20))
        user = GoogleUser(
            id=_numeric_id(rng),
            primary_email=email,
            given_name=given,
            family_name=family,
            org_unit_path=ou,
            is_enrolled_in_2sv=enrolled,
            is_enforced_in_2sv=enforced and enrolled,
            suspended=suspended,
            archived=False,
            creation_time=_timestamp(created, rng),
            last_login_time=_timestamp(max(last, created), rng),
            person_email=person,
        )
        data.users.append(user)
        return user

    staff: list[GoogleUser] = []
    leavers: list[GoogleUser] = []
    for person in org.people:
        given, _, family = person.name.partition(" ")
        leaver = person.status == "terminated"
        last = (person.end_date - timedelta(days=rng.randint(0, 5))) if leaver and person.end_date else None
        user = account(
            person.email,
            given,
            family,
            f"/Staff/{person.department}",
            person.start_date,
            person.email,
            suspended=leaver,
            last_login=last,
        )
        (leavers if leaver else staff).append(user)

    # Pick distinct staff for each planted case, so the cases never overlap by accident.
    pool = staff[:]
    rng.shuffle(pool)

    def take(count: int) -> list[GoogleUser]:
        taken, pool[:] = pool[:count], pool[count:]
        return taken

    # Super admins: the break-glass account plus (super_admins - 1) people.
    break_glass = account(
        f"breakglass-admin@{org.domain}",
        "Break",
        "Glass",
        "/IT/Emergency",
        today - timedelta(days=900),
        None,
        last_login=today - timedelta(days=40),
    )
    break_glass.is_admin = True
    people_super = take(max(0, super_admins - 1))
    for user in people_super:
        user.is_admin = True
    if people_super:  # one super admin enrolled but not enforced
        people_super[-1].is_enforced_in_2sv = False

    delegated = take(max(2, org.size // 25))
    for user in delegated:
        user.is_delegated_admin = True
    if len(delegated) >= 2:
        delegated[0].is_enforced_in_2sv = False  # enrolled, not enforced
        delegated[1].is_enrolled_in_2sv = False  # an admin not enrolled at all
        delegated[1].is_enforced_in_2sv = False

    for user in take(2):  # staff enrolled in 2-Step although their unit does not enforce it
        user.is_enforced_in_2sv = False
    for user in take(max(1, org.size // 20)):  # staff who never enrolled in 2-Step
        user.is_enrolled_in_2sv = user.is_enforced_in_2sv = False
    for user in take(max(1, org.size // 50)):  # no sign-in for more than 90 days
        last = today - timedelta(days=rng.randint(DORMANT_DAYS + 1, 400))
        user.last_login_time = _timestamp(last, rng)
        user.creation_time = min(user.creation_time, _timestamp(last - timedelta(days=30), rng))
    for user in take(1):  # an account created long ago that never signed in
        user.creation_time = min(user.creation_time, _timestamp(today - timedelta(days=DORMANT_DAYS + 30), rng))
        user.last_login_time = NEVER
    for user in take(1):  # renamed in Google: HR still knows the person by the old address, now an alias
        user.aliases = [user.primary_email]
        user.primary_email = user.primary_email.replace(".", "", 1)  # ada.lovelace@ -> adalovelace@ (unique)
        user.non_editable_aliases = [f"{user.primary_email.split('@')[0]}@{org.domain}.test-google-a.com"]

    if leavers:  # a leaver whose account nobody suspended
        leavers[0].suspended = False
        leavers[0].last_login_time = _timestamp(today - timedelta(days=1), rng)
    if len(leavers) >= 2:  # a leaver archived instead of suspended (fine: cannot sign in)
        leavers[1].suspended = False
        leavers[1].archived = True

    service = account(
        data.admin_subject, "Evidence", "Reader", "/IT/Service Accounts", today - timedelta(days=700), None
    )
    service.is_delegated_admin = True  # holds only the read-only Evidence Reader role
    data.approved_service_accounts = {service.primary_email}
    account(
        f"old-intern-tools@{org.domain}",
        "Intern",
        "Tools",
        "/IT",
        today - timedelta(days=500),
        None,
        enrolled=False,
        last_login=today - timedelta(days=3),
    )
    students = max(3, org.size // 10) if org.students is None else org.students
    for i in range(students):  # students: outside staff controls, mostly not enrolled
        account(
            f"student{i:05d}@{org.domain}",
            "Student",
            f"{i:05d}",
            STUDENTS_OU,
            today - timedelta(days=rng.randint(30, 700)),
            None,
            enrolled=i % 4 == 0,
        )

    data.role_assignments = _assignments(rng, data, [break_glass, *people_super], delegated, service)
    data.planted = _planted(data, today, {p.email for p in org.people if p.status == "terminated"})
    org.accounts.extend(_accounts(data))
    org.expected[CONTROL_2SV_ENROLLED] = set(data.planted["not_enrolled_2sv"])
    org.expected[CONTROL_ADMINS_2SV_ENFORCED] = (
        data.planted["admin_not_enforced_2sv"] | data.planted["admin_not_enrolled_2sv"]
    )
    _expect_policy(org, data)
    return data


def _expect_policy(org: SandboxOrg, data: GoogleData) -> None:
    """The units and policies (sandbox/google/policy.py) and the policy controls' truth: the units holding an active
    account outside the excluded units."""
    active_staff = {
        u.org_unit_path
        for u in data.users
        if not u.suspended and not u.archived and not _excluded(u.org_unit_path, data.excluded_org_units)
    }
    super_admins = [
        u.primary_email
        for u in data.users
        if u.is_admin and not u.suspended and not u.primary_email.startswith("breakglass-") and u.person_email
    ]
    data.policy_subject = super_admins[0] if super_admins else f"policy-reader@{data.domain}"
    data.policy, expected = build_policy(
        data.customer_id, data.domain, org.today, {u.org_unit_path for u in data.users}, active_staff
    )
    org.expected.update(expected)


def _accounts(data: GoogleData) -> list[Account]:
    """The truth for the cross-system access controls: one Account per account in scope.

    Accounts in an excluded organisational unit (/Students) are not staff accounts: the
    pipeline records them (users.in_scope = false) but keeps them out of the accounts view,
    so they are not listed here either."""
    service = data.approved_service_accounts
    accounts = []
    for user in data.users:
        if _excluded(user.org_unit_path, data.excluded_org_units):
            continue
        if user.person_email:
            kind = "person"
        elif user.primary_email in service:
            kind = "service"
        elif user.primary_email.startswith("breakglass-"):
            kind = "break_glass"
        else:
            kind = "orphan"
        # the address the system shows for the person: its primary, or the alias by which HR knows them
        shown = user.person_email if user.person_email in user.aliases else user.primary_email.lower()
        accounts.append(
            Account(
                system=SYSTEM,
                account_id=user.primary_email.lower(),
                email=shown,
                owner=user.person_email,
                kind=kind,
                active=not user.suspended and not user.archived,
                privileged=user.is_admin or user.is_delegated_admin,
                mfa=user.is_enrolled_in_2sv,
                last_activity=None if user.last_login_time == NEVER else _parse(user.last_login_time),
                created=_parse(user.creation_time),
            )
        )
    return accounts


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _roles(rng: random.Random) -> list[GoogleRole]:
    roles = [
        GoogleRole(_numeric_id(rng, 16), name, description, True, is_super, tuple(privileges))
        for name, description, is_super, privileges in SYSTEM_ROLES
    ]
    roles += [
        GoogleRole(_numeric_id(rng, 16), name, description, False, False, tuple(privileges))
        for name, description, privileges in CUSTOM_ROLES
    ]
    return roles


def _assignments(
    rng: random.Random,
    data: GoogleData,
    super_admins: list[GoogleUser],
    delegated: list[GoogleUser],
    evidence_account: GoogleUser,
) -> list[GoogleRoleAssignment]:
    super_role = next(r for r in data.roles if r.is_super_admin_role)
    evidence_role = next(r for r in data.roles if r.role_name == EVIDENCE_ROLE)
    other_roles = [r for r in data.roles if r.is_system_role and not r.is_super_admin_role]
    assignments = [GoogleRoleAssignment(_numeric_id(rng, 16), super_role.role_id, user.id) for user in super_admins]
    assignments.append(GoogleRoleAssignment(_numeric_id(rng, 16), evidence_role.role_id, evidence_account.id))
    for i, user in enumerate(delegated):
        role = other_roles[i % len(other_roles)]
        scoped = i % 3 == 2  # some delegated roles only apply to one organisational unit
        assignments.append(
            GoogleRoleAssignment(
                _numeric_id(rng, 16),
                role.role_id,
                user.id,
                scope_type="ORG_UNIT" if scoped else "CUSTOMER",
                org_unit_id=f"id:03ph8a2z{rng.randint(10**6, 10**7 - 1)}" if scoped else None,
            )
        )
    return assignments


def _planted(data: GoogleData, today: date, terminated: set[str]) -> dict[str, set[str]]:
    cutoff = datetime.combine(today, time(), tzinfo=UTC) - timedelta(days=DORMANT_DAYS)
    super_ids = {
        a.assigned_to
        for a in data.role_assignments
        if a.role_id in {r.role_id for r in data.roles if r.is_super_admin_role}
    }
    active = [u for u in data.users if not u.suspended and not u.archived]
    staff = [u for u in active if not _excluded(u.org_unit_path, data.excluded_org_units)]
    # Admins are judged whatever their unit: an excluded unit never hides administrative access.
    admins = [u for u in active if u.is_admin or u.is_delegated_admin]

    def dormant(user: GoogleUser) -> bool:
        stamp = user.last_login_time if user.last_login_time != NEVER else user.creation_time
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) < cutoff

    no_person = {
        u.primary_email
        for u in data.users
        if not u.person_email and not _excluded(u.org_unit_path, data.excluded_org_units)
    }
    break_glass = {u.primary_email for u in data.users if u.primary_email.startswith("breakglass-")}
    return {
        "not_enrolled_2sv": {u.primary_email for u in staff if not u.is_enrolled_in_2sv},
        "enrolled_not_enforced": {
            u.primary_email
            for u in staff
            if u.is_enrolled_in_2sv and not u.is_enforced_in_2sv and not (u.is_admin or u.is_delegated_admin)
        },
        "admin_not_enforced_2sv": {
            u.primary_email for u in admins if u.is_enrolled_in_2sv and not u.is_enforced_in_2sv
        },
        "admin_not_enrolled_2sv": {u.primary_email for u in admins if not u.is_enrolled_in_2sv},
        "super_admins": {u.primary_email for u in data.users if u.id in super_ids},
        "delegated_admins": {u.primary_email for u in data.users if u.is_delegated_admin},
        "leaver_still_active": {u.primary_email for u in active if u.person_email in terminated},
        "approved_service_accounts": set(data.approved_service_accounts),
        "break_glass": break_glass,
        "unexplained_accounts": no_person - data.approved_service_accounts - break_glass,
        "dormant_90d": {u.primary_email for u in active if dormant(u)},
        "students_out_of_scope": {
            u.primary_email for u in data.users if _excluded(u.org_unit_path, data.excluded_org_units)
        },
        "known_by_alias": {u.primary_email for u in data.users if u.person_email and u.person_email in u.aliases},
    }


def _excluded(path: str, excluded: tuple[str, ...]) -> bool:
    return any(path == ou or path.startswith(ou.rstrip("/") + "/") for ou in excluded)
