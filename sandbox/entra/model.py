"""The sandbox organisation's Microsoft Entra ID tenant: users, their authentication-method
registration, directory roles and role assignments.

Every HR person has a user (userPrincipalName = their email) unless they left and were
deleted. Known cases are planted on purpose and recorded in `EntraData.planted` (case
name -> lower-cased userPrincipalNames); the sets are derived from the generated users by
the rules in `PLANTED_CASES`, so a case can never be missing from the truth by accident.
Cheap enough for the 20,000-person benchmark: plain dataclasses, one pass over the roster.
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sandbox.company import Account, SandboxOrg
from sandbox.entra.policy import EntraPolicy, build_policy

SYSTEM = "entra"
DORMANT_DAYS = 90

#: userRegistrationDetails.methodsRegistered values by strength. Graph v1.0 documents the property as "such as
#: mobilePhone, email, fido2" (beta: "... passKeyDeviceBound"); the other names are the usageAuthMethod enum's.
#: Phishing-resistant: passkeys (FIDO2, device-bound or synced) and platform credentials.
PHISHING_RESISTANT_METHODS = frozenset(
    {
        "fido2",
        "fido",
        "fido2SecurityKey",
        "passKeyDeviceBound",
        "passKeyDeviceBoundAuthenticator",
        "passKeyDeviceBoundWindowsHello",
        "passKeySynced",
        "windowsHelloForBusiness",
        "macOsSecureEnclaveKey",
    }
)
#: SMS and voice: MFA, but phishable.
PHONE_METHODS = frozenset({"mobilePhone", "alternateMobilePhone", "officePhone"})
#: Registered methods that do not make a user MFA-registered on their own.
NOT_MFA_METHODS = frozenset({"email", "securityQuestion", "temporaryAccessPass"})

#: Built-in directory roles the sandbox uses: (template id == role id for built-in roles, display name).
#: The ids are Microsoft's published built-in role template ids.
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
BUILT_IN_ROLES: list[tuple[str, str]] = [
    (GLOBAL_ADMIN, "Global Administrator"),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator"),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator"),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator"),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator"),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    ("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader"),
    ("b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator"),
]
CUSTOM_ROLE = "Evidence Reviewer"

#: case name -> what the users in it have in common (each set lists lower-cased userPrincipalNames).
PLANTED_CASES: dict[str, str] = {
    "not_mfa_registered": "enabled member users not registered for MFA (email-only counts as not registered)",
    "admin_not_mfa_registered": "enabled users holding a directory role, not registered for MFA",
    "admin_weak_mfa_only": "enabled admins registered for MFA with SMS/voice only (no phishing-resistant method)",
    "admin_phishing_resistant": "enabled admins with a phishing-resistant method (FIDO2, Windows Hello, passkey)",
    "admins": "enabled users holding a directory role assignment",
    "leaver_still_enabled": "users of terminated people whose account is still enabled",
    "leaver_disabled": "users of terminated people whose account is disabled",
    "leaver_deleted": "terminated people with no user any more (emails)",
    "approved_service_accounts": "user accounts with no person, on the approved service-account list",
    "break_glass": "the emergency-access Global Administrator, no person, excluded from MFA by design",
    "orphans": "enabled users with no person that are on no approved list",
    "dormant_90d": f"enabled users with no successful sign-in for {DORMANT_DAYS}+ days (or never, created before)",
    "failed_sign_in_only_recently": "dormant users whose last sign-in attempt is recent but failed",
}


@dataclass(slots=True)
class EntraUser:
    id: str
    user_principal_name: str
    mail: str | None
    display_name: str
    given_name: str | None
    surname: str | None
    account_enabled: bool
    created: datetime
    #: the most recent sign-in attempt (interactive), successful or not
    last_sign_in: datetime | None
    last_non_interactive_sign_in: datetime | None
    last_successful_sign_in: datetime | None
    methods: tuple[str, ...] = ()
    department: str | None = None
    job_title: str | None = None
    user_type: str = "Member"
    person_email: str | None = None
    kind: str = "person"  # person | service | break_glass | orphan
    #: Graph's otherMails (other e-mail addresses of the user)
    other_mails: tuple[str, ...] = ()

    @property
    def proxy_addresses(self) -> list[str]:
        """The mailbox's addresses as Graph shows them: the primary `SMTP:` (= mail); none without a mailbox."""
        return [f"SMTP:{self.mail}"] if self.mail else []

    @property
    def shown_email(self) -> str | None:
        """The e-mail address the tenant shows for the user: mail, else a member's userPrincipalName, else the
        first of otherMails."""
        if self.mail:
            return self.mail.lower()
        if "#ext#" not in self.key:
            return self.key
        return self.other_mails[0].lower() if self.other_mails else None

    @property
    def key(self) -> str:
        return self.user_principal_name.lower()

    @property
    def is_mfa_registered(self) -> bool:
        return any(m not in NOT_MFA_METHODS for m in self.methods)

    @property
    def last_activity(self) -> datetime | None:
        return self.last_successful_sign_in


@dataclass(frozen=True)
class EntraRole:
    id: str
    display_name: str
    description: str
    is_built_in: bool
    template_id: str | None


@dataclass(frozen=True)
class EntraServicePrincipal:
    id: str
    app_id: str
    display_name: str


@dataclass(frozen=True)
class EntraRoleAssignment:
    id: str
    role_definition_id: str
    principal_id: str
    directory_scope_id: str = "/"


@dataclass
class EntraData:
    tenant_id: str
    domain: str
    users: list[EntraUser] = field(default_factory=list)
    roles: list[EntraRole] = field(default_factory=list)
    service_principals: list[EntraServicePrincipal] = field(default_factory=list)
    role_assignments: list[EntraRoleAssignment] = field(default_factory=list)
    approved_service_accounts: set[str] = field(default_factory=set)
    planted: dict[str, set[str]] = field(default_factory=dict)
    #: lastUpdatedDateTime of the registration report; None = Graph refreshed it REPORT_AGE before the request
    #: (wall-clock, like Graph: the report's age does not depend on the organisation's snapshot day)
    report_updated: datetime | None = None
    #: Conditional Access, authentication strengths and methods, security defaults, Password Rule Settings
    policy: EntraPolicy = field(default_factory=EntraPolicy)

    def user(self, upn: str) -> EntraUser:
        return next(u for u in self.users if u.key == upn.lower())

    def role_names(self) -> dict[str, list[str]]:
        """user id -> the names of the directory roles assigned to it."""
        names = {r.id: r.display_name for r in self.roles}
        held: dict[str, list[str]] = {}
        for assignment in self.role_assignments:
            held.setdefault(assignment.principal_id, []).append(names[assignment.role_definition_id])
        return held


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(6, 20), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=UTC)


STRONG_METHOD_SETS: list[tuple[str, ...]] = [
    ("microsoftAuthenticatorPush", "softwareOneTimePasscode"),
    ("microsoftAuthenticatorPush", "mobilePhone"),
    ("microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless", "email"),
    ("softwareOneTimePasscode",),
    ("windowsHelloForBusiness", "microsoftAuthenticatorPush"),
    ("fido2", "microsoftAuthenticatorPush"),
]


def build(org: SandboxOrg, rng: random.Random) -> EntraData:
    data = EntraData(tenant_id=guid(rng), domain=org.domain)
    data.roles = [
        EntraRole(role_id, name, f"Built-in role: {name}.", True, role_id) for role_id, name in BUILT_IN_ROLES
    ]
    custom = EntraRole(guid(rng), CUSTOM_ROLE, "Reads audit evidence; custom role.", False, None)
    data.roles.append(custom)
    if org.size == 0 or not org.people:
        data.planted = {case: set() for case in PLANTED_CASES}
        _expect(org, data)
        _expect_policy(org, data)
        return data
    today = org.today

    def user(
        upn: str,
        name: str,
        created: date,
        person: str | None,
        kind: str = "person",
        enabled: bool = True,
        last_success: date | None = None,
        methods: tuple[str, ...] | None = None,
        department: str | None = None,
    ) -> EntraUser:
        given, _, family = name.partition(" ")
        success_day = last_success if last_success is not None else today - timedelta(days=rng.randint(0, 20))
        success_day = max(success_day, created)
        success = _at(success_day, rng)
        entra_user = EntraUser(
            id=guid(rng),
            user_principal_name=upn,
            mail=upn if kind == "person" else None,
            display_name=name,
            given_name=given or None,
            surname=family or None,
            account_enabled=enabled,
            created=_at(created, rng),
            last_sign_in=success,
            last_successful_sign_in=success,
            last_non_interactive_sign_in=success - timedelta(hours=rng.randint(1, 30)),
            methods=methods if methods is not None else rng.choice(STRONG_METHOD_SETS),
            department=department,
            person_email=person,
            kind=kind,
        )
        entra_user.last_non_interactive_sign_in = max(entra_user.last_non_interactive_sign_in, entra_user.created)
        data.users.append(entra_user)
        return entra_user

    staff: list[EntraUser] = []
    leavers: list[EntraUser] = []
    deleted: set[str] = set()
    for i, person in enumerate(org.people):
        if person.status == "terminated" and person.end_date:
            if i % 3 == 2:  # deprovisioned by deletion: no user any more
                deleted.add(person.email.lower())
                continue
            last = max(person.start_date, person.end_date - timedelta(days=rng.randint(0, 5)))
            leavers.append(
                user(
                    person.email,
                    person.name,
                    person.start_date,
                    person.email,
                    enabled=False,
                    last_success=last,
                    department=person.department,
                )
            )
        else:
            staff.append(user(person.email, person.name, person.start_date, person.email, department=person.department))

    pool = staff[:]
    rng.shuffle(pool)

    def take(count: int) -> list[EntraUser]:
        taken, pool[:] = pool[:count], pool[count:]
        return taken

    def assign(entra_user_id: str, role_id: str) -> None:
        data.role_assignments.append(
            EntraRoleAssignment(_assignment_id(role_id, entra_user_id), role_id, entra_user_id)
        )

    # Emergency access: a cloud-only Global Administrator without MFA, by design (monitored, sealed).
    break_glass = user(
        f"breakglass-01@{org.domain}",
        "Emergency Access 01",
        today - timedelta(days=900),
        None,
        kind="break_glass",
        last_success=today - timedelta(days=40),
        methods=(),
    )
    assign(break_glass.id, GLOBAL_ADMIN)

    # Global Administrators: one phishing-resistant, one SMS-only (registered, but phishable).
    global_admins = take(2)
    if global_admins:
        global_admins[0].methods = ("fido2", "microsoftAuthenticatorPush")
    if len(global_admins) > 1:
        global_admins[1].methods = ("mobilePhone",)
    for admin in global_admins:
        assign(admin.id, GLOBAL_ADMIN)

    other_roles = [r for r in data.roles if r.is_built_in and r.id != GLOBAL_ADMIN] + [custom]
    role_holders = take(max(3, org.size // 25))
    for k, admin in enumerate(role_holders):
        assign(admin.id, other_roles[k % len(other_roles)].id)
    if role_holders:
        role_holders[0].methods = ()  # an admin never registered for MFA
    if len(role_holders) > 1:
        role_holders[1].methods = ("officePhone",)  # voice only
    if len(role_holders) > 2:
        role_holders[2].methods = ("windowsHelloForBusiness", "microsoftAuthenticatorPush")
        assign(role_holders[2].id, other_roles[-2].id)  # two roles on one person
    if len(role_holders) > 3:
        role_holders[3].methods = ("passKeyDeviceBound", "microsoftAuthenticatorPasswordless")

    for entra_user in take(max(1, org.size // 20)):  # staff never registered for MFA
        entra_user.methods = ()
    for entra_user in take(1):  # email (SSPR) only: not an MFA method
        entra_user.methods = ("email",)
    for entra_user in take(max(1, org.size // 50)):  # no successful sign-in for more than 90 days
        _dormant(entra_user, today, rng)
    for entra_user in take(1):  # dormant, but someone keeps failing to sign in as them
        _dormant(entra_user, today, rng)
        entra_user.last_sign_in = _at(today - timedelta(days=2), rng)
    for entra_user in take(1):  # created long ago, never signed in
        entra_user.created = min(entra_user.created, _at(today - timedelta(days=DORMANT_DAYS + 30), rng))
        entra_user.last_sign_in = entra_user.last_successful_sign_in = entra_user.last_non_interactive_sign_in = None

    if leavers:  # a leaver whose account nobody disabled (and who still signs in)
        leavers[0].account_enabled = True
        leavers[0].last_sign_in = leavers[0].last_successful_sign_in = _at(today - timedelta(days=1), rng)
        # ... and who has no mailbox (`mail` is null for many users, Graph: List users) and signs in with a
        # tenant name: only otherMails shows their address
        if leavers[0].person_email:
            leavers[0].other_mails = (leavers[0].person_email,)
            leavers[0].mail = None
            leavers[0].user_principal_name = f"{leavers[0].key.split('@')[0]}@{_initial_domain(org.domain)}"

    # An approved service account (a user object for a legacy integration) and unexplained accounts.
    service = user(
        f"svc-hr-sync@{org.domain}", "HR Sync Service", today - timedelta(days=700), None, kind="service", methods=()
    )
    data.approved_service_accounts = {service.key}
    user(
        f"temp-contractor-01@{org.domain}",
        "Temp Contractor 01",
        today - timedelta(days=200),
        None,
        kind="orphan",
        last_success=today - timedelta(days=5),
    )
    user(
        f"old-admin-tools@{org.domain}",
        "Old Admin Tools",
        today - timedelta(days=800),
        None,
        kind="orphan",
        methods=(),
        last_success=today - timedelta(days=12),
    )

    # A service principal holding a role: not a user account, so no MFA and no Account row.
    automation = EntraServicePrincipal(guid(rng), guid(rng), "Deployment Automation")
    data.service_principals.append(automation)
    assign(automation.id, other_roles[5].id)

    terminated = {p.email.lower() for p in org.people if p.status == "terminated"}
    data.planted = _planted(data, today, deleted, terminated)
    _expect(org, data)
    _expect_policy(org, data)
    return data


def _expect_policy(org: SandboxOrg, data: EntraData) -> None:
    """The tenant's identity policy (sandbox/entra/policy.py) and its controls' expected exceptions. The roles judged
    are those a user holds (Conditional Access does not apply to service principals)."""
    users = {u.id: u for u in data.users}
    break_glass = next((u.id for u in data.users if u.kind == "break_glass"), None)
    templates = {r.id: r.template_id or r.id for r in data.roles}
    in_use = {templates[a.role_definition_id] for a in data.role_assignments if a.principal_id in users}
    data.policy, expected = build_policy(
        data.tenant_id, [r.id for r in data.roles if r.is_built_in], in_use, break_glass, GLOBAL_ADMIN
    )
    org.expected.update(expected)


def _initial_domain(domain: str) -> str:
    """The tenant's initial domain (<name>.onmicrosoft.com), always verified."""
    return f"{domain.split('.')[0]}.onmicrosoft.com"


def _dormant(entra_user: EntraUser, today: date, rng: random.Random) -> None:
    last = _at(today - timedelta(days=rng.randint(DORMANT_DAYS + 1, 400)), rng)
    entra_user.created = min(entra_user.created, last - timedelta(days=30))
    entra_user.last_sign_in = entra_user.last_successful_sign_in = last
    entra_user.last_non_interactive_sign_in = last - timedelta(hours=3)


def _assignment_id(role_id: str, principal_id: str) -> str:
    """Graph's directory role assignment ids look like <base64url role id><base64url principal id>-1."""

    def encode(value: str) -> str:
        return base64.urlsafe_b64encode(uuid.UUID(value).bytes_le).decode().rstrip("=")

    return f"{encode(role_id)}{encode(principal_id)}-1"


def _planted(data: EntraData, today: date, deleted: set[str], terminated: set[str]) -> dict[str, set[str]]:
    cutoff = datetime.combine(today, time(), tzinfo=UTC) - timedelta(days=DORMANT_DAYS)
    held = data.role_names()
    enabled = [u for u in data.users if u.account_enabled]
    admins = [u for u in enabled if u.id in held]
    no_person = {u.key for u in data.users if u.person_email is None}
    break_glass = {u.key for u in data.users if u.kind == "break_glass"}
    return {
        "not_mfa_registered": {u.key for u in enabled if u.user_type == "Member" and not u.is_mfa_registered},
        "admin_not_mfa_registered": {u.key for u in admins if not u.is_mfa_registered},
        "admin_weak_mfa_only": {
            u.key
            for u in admins
            if u.is_mfa_registered
            and not set(u.methods) & PHISHING_RESISTANT_METHODS
            and set(u.methods) <= PHONE_METHODS | NOT_MFA_METHODS
        },
        "admin_phishing_resistant": {u.key for u in admins if set(u.methods) & PHISHING_RESISTANT_METHODS},
        "admins": {u.key for u in admins},
        "leaver_still_enabled": {
            u.key for u in enabled if u.kind == "person" and u.person_email and u.person_email.lower() in terminated
        },
        "leaver_disabled": {u.key for u in data.users if not u.account_enabled and u.person_email},
        "leaver_deleted": deleted,
        "approved_service_accounts": set(data.approved_service_accounts),
        "break_glass": break_glass,
        "orphans": no_person - data.approved_service_accounts - break_glass,
        "dormant_90d": {u.key for u in enabled if (u.last_successful_sign_in or u.created) < cutoff},
        "failed_sign_in_only_recently": {
            u.key
            for u in enabled
            if u.last_sign_in and u.last_successful_sign_in and u.last_successful_sign_in < cutoff <= u.last_sign_in
        },
    }


def _expect(org: SandboxOrg, data: EntraData) -> None:
    """Append one Account per user to org.accounts and set the expected exceptions of this system's controls."""
    held = data.role_names()
    for u in data.users:
        org.accounts.append(
            Account(
                system=SYSTEM,
                account_id=u.key,
                email=u.shown_email,
                owner=u.person_email,
                kind=u.kind,
                active=u.account_enabled,
                privileged=u.id in held,
                mfa=u.is_mfa_registered,
                last_activity=u.last_activity,
                created=u.created,
            )
        )
    enabled_members = [u for u in data.users if u.account_enabled and u.user_type == "Member"]
    org.expected["cc6_1_entra_mfa_registered"] = {u.key for u in enabled_members if not u.is_mfa_registered}
    org.expected["cc6_1_entra_admins_mfa"] = {
        u.key for u in enabled_members if u.id in held and not u.is_mfa_registered
    }
