"""The sandbox organisation's AWS side: two accounts (production and development) with IAM users,
the root user's state, a password policy, AWS Backup plans, protected resources, backup and restore
jobs, and RDS instances, with known violations planted at every size >= 50. Production is also the
organisation's management account and holds its IAM Identity Center identity store, with a few users (one a
leaver still enabled, known to it only by a secondary e-mail).

Sizes: about one IAM user per nine people (2,000+ at the 20,000-person reference scale), one protected
resource per three people, and one backup job per protected resource per day for the 30 days AWS
Backup keeps (200,000 jobs at the reference scale). Backup jobs are computed from their index, never
stored, so the largest org builds and serves in seconds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import overload

from sandbox.aws.posture import AccountPosture, build_posture
from sandbox.aws.posture_ops import OperationsData, build_operations, unread_regions_truth
from sandbox.company import Account, Person, SandboxOrg

REGION = "us-east-1"
ROLE_NAME = "evidence-collector"
ADMIN_POLICY = "AdministratorAccess"
#: AWS managed policies the sandbox attaches (name -> policy id); the API lists those in use
AWS_MANAGED = {
    "AdministratorAccess": "ANPAIWMBCKSKIEE64ZLYK",
    "ReadOnlyAccess": "ANPAILL3HVNFSB6DCOWYQ",
    "PowerUserAccess": "ANPAJYRXTHIB4FOVS3ZXS",
    "AWSBackupServiceRolePolicyForBackup": "ANPAIOOYZSLZZXWFJJ5N2",
}
BACKUP_DAYS = 30  # AWS Backup keeps 30 days of job history
RESOURCE_TYPES = ("RDS", "EBS", "DynamoDB", "EFS", "S3")
#: the default parameters of the AWS controls (controls_map.yaml)
ROTATION_DAYS = 90
DORMANT_DAYS = 90
MIN_RETENTION_DAYS = 7
RESTORE_TEST_DAYS = 365
JOB_LOOKBACK_DAYS = 1
FAILED_JOB_STATES = ("FAILED", "EXPIRED", "ABORTED")


@dataclass(frozen=True, slots=True)
class AccessKey:
    key_id: str
    active: bool
    last_rotated: datetime
    last_used: datetime | None
    last_used_service: str | None = None


@dataclass(frozen=True, slots=True)
class IamUser:
    account_id: str
    name: str
    user_id: str
    created: datetime
    person: str | None  # the HR email of its owner; None for service, break-glass and orphan users
    kind: str  # person | service | break_glass | orphan
    email_tag: str | None  # the `email` tag the identity resolution reads
    groups: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # AWS managed policies attached directly
    inline_policies: tuple[str, ...] = ()
    password_enabled: bool = True
    password_last_used: datetime | None = None
    password_last_changed: datetime | None = None
    mfa: bool = True
    keys: tuple[AccessKey, ...] = ()
    extra_tags: tuple[tuple[str, str], ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.name}"

    @property
    def ref(self) -> str:
        """The id the pipeline reports: '<account id>/<user name>'."""
        return f"{self.account_id}/{self.name}"

    @property
    def active(self) -> bool:
        return self.password_enabled or any(k.active for k in self.keys)

    @property
    def tags(self) -> tuple[tuple[str, str], ...]:
        return ((("email", self.email_tag),) if self.email_tag else ()) + self.extra_tags

    @property
    def last_activity(self) -> datetime | None:
        uses = [t for t in (self.password_last_used, *(k.last_used for k in self.keys)) if t is not None]
        return max(uses, default=None)


@dataclass(frozen=True, slots=True)
class IdentityCenterUser:
    """One user of the IAM Identity Center identity store, as ListUsers documents it."""

    user_id: str
    user_name: str
    display_name: str
    given_name: str
    family_name: str
    #: (Value, Type, Primary) of each `Emails` entry, in the order the API lists them
    emails: tuple[tuple[str, str, bool], ...]
    status: str  # UserStatus: ENABLED | DISABLED
    created: datetime
    person: str | None  # the HR e-mail of its owner


@dataclass(frozen=True)
class DbInstance:
    identifier: str
    engine: str
    retention_days: int
    encrypted: bool
    public: bool = False
    # posture (sandbox/aws/posture.py plants their violations)
    multi_az: bool = True
    deletion_protection: bool = True
    log_exports: tuple[str, ...] = ()

    def arn(self, account_id: str) -> str:
        return f"arn:aws:rds:{REGION}:{account_id}:db:{self.identifier}"


@dataclass(frozen=True)
class ProtectedResource:
    arn: str
    resource_type: str
    name: str


@dataclass(frozen=True)
class BackupPlan:
    plan_id: str
    name: str
    created: datetime
    version_id: str


@dataclass(frozen=True)
class RestoreJob:
    job_id: str
    resource_type: str
    source_arn: str
    status: str  # PENDING | RUNNING | COMPLETED | ABORTED | FAILED
    created: datetime
    completed: datetime | None


@dataclass(frozen=True)
class BackupJob:
    job_id: str
    resource: ProtectedResource
    state: str
    created: datetime
    completed: datetime | None
    plan_id: str


class BackupJobs(Sequence[BackupJob]):
    """Every backup job AWS Backup still lists (30 days), oldest first, computed from its index:
    job k backs up resource k % R on day k // R. Planted states override the COMPLETED default."""

    def __init__(
        self,
        account_id: str,
        today: date,
        resources: list[ProtectedResource],
        plan_id: str,
        states: dict[tuple[int, int], str],
    ) -> None:
        self.account_id = account_id
        self.resources = resources
        self.plan_id = plan_id
        self.states = states  # (resource index, day index) -> state
        self.slot_of = {r.arn: slot for slot, r in enumerate(resources)}
        self.first_day = datetime.combine(today - timedelta(days=BACKUP_DAYS - 1), time(1), UTC)

    def __len__(self) -> int:
        return len(self.resources) * BACKUP_DAYS

    @overload
    def __getitem__(self, index: int) -> BackupJob: ...

    @overload
    def __getitem__(self, index: slice) -> list[BackupJob]: ...

    def __getitem__(self, index: int | slice) -> BackupJob | list[BackupJob]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not 0 <= index < len(self):
            raise IndexError(index)
        count = len(self.resources)
        day, slot = divmod(index, count)
        state = self.states.get((slot, day), "COMPLETED")
        # the day's jobs start within a six-hour backup window, in resource order (creation order overall)
        created = self._created(index)
        completed = created + timedelta(minutes=20 + slot % 40) if state != "RUNNING" else None
        job_id = hashlib.md5(f"{self.account_id}:{index}".encode()).hexdigest().upper()
        job_id = f"{job_id[:8]}-{job_id[8:12]}-{job_id[12:16]}-{job_id[16:20]}-{job_id[20:32]}"
        return BackupJob(job_id, self.resources[slot], state, created, completed, self.plan_id)

    def created_index(self, when: datetime, after: bool = False) -> int:
        """The first index whose job was created at or after `when` (strictly after it with `after`); jobs
        are in creation order, so ListBackupJobs' createdAfter / createdBefore are slices."""
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            created = self._created(mid)
            if created < when or (after and created == when):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _created(self, index: int) -> datetime:
        day, slot = divmod(index, len(self.resources))
        return self.first_day + timedelta(days=day, seconds=slot * 21600 // len(self.resources))

    def __iter__(self) -> Iterator[BackupJob]:
        return (self[i] for i in range(len(self)))


@dataclass
class AwsAccount:
    account_id: str
    alias: str
    created: datetime
    root_mfa: bool = True
    root_keys: tuple[AccessKey, ...] = ()
    root_password_last_used: datetime | None = None
    #: GetAccountPasswordPolicy's fields, or None: NoSuchEntity
    password_policy: dict | None = None
    users: list[IamUser] = field(default_factory=list)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group name -> AWS managed policies
    roles: list[str] = field(default_factory=list)
    customer_policies: list[str] = field(default_factory=list)
    db_instances: list[DbInstance] = field(default_factory=list)
    protected: list[ProtectedResource] = field(default_factory=list)
    #: region -> the resources AWS Backup protects there, for regions other than REGION (which `protected` holds)
    protected_in: dict[str, list[ProtectedResource]] = field(default_factory=dict)
    plans: list[BackupPlan] = field(default_factory=list)
    restore_jobs: list[RestoreJob] = field(default_factory=list)
    backup_jobs: BackupJobs | None = None
    #: the IAM Identity Center identity store this (management) account holds, or None
    identity_store_id: str | None = None
    identity_center_users: list[IdentityCenterUser] = field(default_factory=list)
    #: S3, EC2, KMS, RDS clusters and CloudTrail (sandbox/aws/posture.py)
    posture: AccountPosture | None = None
    #: Backup vaults and copies, ACM, ELBv2, Logs and GuardDuty (sandbox/aws/posture_ops.py)
    operations: OperationsData | None = None

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{ROLE_NAME}"

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"

    def used_aws_policies(self) -> list[str]:
        used = {p for u in self.users for p in u.policies} | {p for ps in self.groups.values() for p in ps}
        if self.roles:
            used.add("AWSBackupServiceRolePolicyForBackup")
        return sorted(used)

    def authorization_entities(self) -> int:
        """Items GetAccountAuthorizationDetails lists: users, groups, roles and managed policies in use."""
        return (
            len(self.users)
            + len(self.groups)
            + len(self.roles)
            + len(self.customer_policies)
            + len(self.used_aws_policies())
        )

    def jobs(self) -> BackupJobs | list[BackupJob]:
        return self.backup_jobs if self.backup_jobs is not None else []


@dataclass
class AwsData:
    accounts: list[AwsAccount]
    today: date
    #: planted case -> resource ids ('<account>/<user>', ARNs, account ids, job ids)
    planted: dict[str, set[str]] = field(default_factory=dict)

    @property
    def production(self) -> AwsAccount:
        return self.accounts[0]

    def account(self, account_id: str) -> AwsAccount | None:
        return next((a for a in self.accounts if a.account_id == account_id), None)


def account_ids(org: SandboxOrg) -> tuple[str, str]:
    """Production and development account ids, distinct per (seed, size, profile) so that several sandboxes
    in one process never share moto's per-account state."""
    tail = f"{org.seed % 1000:03d}{org.size % 10**8:08d}"
    production, development = (1, 2) if org.profile == "company" else (3, 4)
    return f"{production}{tail}", f"{development}{tail}"


def build(org: SandboxOrg, rng: random.Random) -> AwsData:
    midnight = datetime.combine(org.today, time(0), UTC)
    prod_id, dev_id = account_ids(org)
    prod = AwsAccount(
        prod_id,
        "production",
        midnight - timedelta(days=2400),
        root_mfa=True,
        root_password_last_used=midnight - timedelta(days=200),
        password_policy=_strong_policy(),
    )
    dev = AwsAccount(
        dev_id,
        "development",
        midnight - timedelta(days=1500),
        root_mfa=True,
        root_password_last_used=midnight - timedelta(days=300),
        password_policy=_strong_policy(),
    )
    prod.identity_store_id = identity_store_id(prod_id)
    data = AwsData(accounts=[prod, dev], today=org.today)
    if org.size:
        _iam(org, rng, data, midnight)
        _backups(org, rng, data, midnight)
        _identity_center(org, prod)
    build_operations(org, data)  # before the truth: it adds restore jobs
    _expected(org, data)
    build_posture(org, data)
    unread_regions_truth(org, data)  # after the posture: it names the enabled regions
    return data


def _plant(data: AwsData, case: str, resource: str) -> None:
    data.planted.setdefault(case, set()).add(resource)


def _strong_policy() -> dict:
    return {
        "MinimumPasswordLength": 14,
        "RequireSymbols": True,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "AllowUsersToChangePassword": True,
        "ExpirePasswords": False,
        "PasswordReusePrevention": 24,
        "HardExpiry": False,
    }


def _user_id(account_id: str, name: str) -> str:
    return "AIDA" + hashlib.sha1(f"{account_id}:{name}".encode()).hexdigest().upper()[:17]


def _key_id(account_id: str, name: str, n: int) -> str:
    return "AKIA" + hashlib.sha1(f"{account_id}:{name}:{n}".encode()).hexdigest().upper()[:16]


def _iam(org: SandboxOrg, rng: random.Random, data: AwsData, midnight: datetime) -> None:
    prod, dev = data.accounts
    for account in (prod, dev):
        account.groups = {
            "admins": (ADMIN_POLICY,),
            "developers": ("PowerUserAccess",),
            "auditors": ("ReadOnlyAccess",),
        }
        account.roles = ["aws-backup-service-role", ROLE_NAME]
        account.customer_policies = ["deny-without-mfa"]
    holders = [p for i, p in enumerate(org.people) if p.department in ("Engineering", "Operations") and i % 3 == 0]
    # a few more so every planted case has a person at size 50
    holders += [p for p in org.people if p.department not in ("Engineering", "Operations")][:10]
    active = [p for p in holders if p.status == "active"]
    leavers = [p for p in org.people if p.status != "active"]

    def person_user(account: AwsAccount, person: Person, **changes: object) -> IamUser:
        name = person.email.split("@", 1)[0]
        created = datetime.combine(max(person.start_date, org.today - timedelta(days=1800)), time(9), UTC)
        fields: dict = dict(
            account_id=account.account_id,
            name=name,
            user_id=_user_id(account.account_id, name),
            created=created,
            person=person.email,
            kind="person",
            email_tag=person.email,
            groups=("developers",),
            password_enabled=True,
            password_last_used=midnight - timedelta(hours=rng.randint(2, 24 * 20)),
            password_last_changed=created + timedelta(days=1),
            mfa=True,
        )
        fields.update(changes)
        return IamUser(**fields)

    def key(
        account: AwsAccount, name: str, n: int, rotated_days: int, used_days: int | None, active: bool = True
    ) -> AccessKey:
        return AccessKey(
            _key_id(account.account_id, name, n),
            active,
            midnight - timedelta(days=rotated_days),
            None if used_days is None else midnight - timedelta(days=used_days, hours=3),
            None if used_days is None else rng.choice(["s3", "ec2", "backup", "sts"]),
        )

    users: list[IamUser] = []
    for i, person in enumerate(active):
        name = person.email.split("@", 1)[0]
        keys = (key(prod, name, 1, rng.randint(5, 80), rng.randint(0, 10)),) if i % 3 == 1 else ()
        user = person_user(prod, person, keys=keys)
        if i in (0, 1):  # the administrators, with MFA
            user = person_user(prod, person, groups=("admins",), keys=keys)
            _plant(data, "admin", user.ref)
        elif i == 2:  # an administrator by direct attachment, without MFA
            user = person_user(prod, person, groups=(), policies=(ADMIN_POLICY,), mfa=False)
            _plant(data, "admin", user.ref)
            _plant(data, "admin_without_mfa", user.ref)
            _plant(data, "console_without_mfa", user.ref)
        elif i in (3, 4):
            user = person_user(prod, person, mfa=False, groups=("auditors",))
            _plant(data, "console_without_mfa", user.ref)
        elif i == 5:  # a key not rotated for 200 days, still used daily
            user = person_user(prod, person, keys=(key(prod, name, 1, 200, 0),))
            _plant(data, "access_key_not_rotated", f"{user.ref}/access_key_1")
        elif i == 6:  # a programmatic-only user whose second key was never used in 150 days
            user = person_user(
                prod,
                person,
                password_enabled=False,
                password_last_used=None,
                mfa=False,
                keys=(key(prod, name, 1, 30, 1), key(prod, name, 2, 150, None)),
            )
            _plant(data, "access_key_unused", f"{user.ref}/access_key_2")
        elif i == 7:  # an old key that is deactivated: out of scope of the rotation control
            user = person_user(prod, person, keys=(key(prod, name, 1, 400, 380, active=False),))
            _plant(data, "access_key_inactive_old", f"{user.ref}/access_key_1")
        elif i == 8:  # dormant: console sign-in 120 days ago
            user = person_user(prod, person, password_last_used=midnight - timedelta(days=120))
            _plant(data, "dormant", user.ref)
        elif i == 9:  # never signed in since creation long ago
            user = person_user(prod, person, password_last_used=None)
            _plant(data, "dormant", user.ref)
        users.append(user)
    # leavers: the first (and every tenth) keeps an active user; the second a disabled one; the rest were removed
    for j, person in enumerate(leavers):
        if j == 0 or (j >= 2 and j % 10 == 0):
            user = person_user(
                prod, person, password_last_used=datetime.combine(person.end_date, time(17), UTC) - timedelta(days=1)
            )
            _plant(data, "leaver_active", user.ref)
            users.append(user)
        elif j == 1:
            name = person.email.split("@", 1)[0]
            user = person_user(
                prod,
                person,
                password_enabled=False,
                mfa=False,
                password_last_used=datetime.combine(person.end_date, time(12), UTC),
                keys=(key(prod, name, 1, 300, 40, active=False),),
            )
            _plant(data, "leaver_disabled", user.ref)
            users.append(user)
    created = midnight - timedelta(days=700)
    users.append(
        IamUser(
            prod.account_id,
            "svc-backup-exporter",
            _user_id(prod.account_id, "svc-backup-exporter"),
            created,
            None,
            "service",
            None,
            groups=(),
            policies=("ReadOnlyAccess",),
            password_enabled=False,
            mfa=False,
            keys=(key(prod, "svc-backup-exporter", 1, 45, 0),),
            extra_tags=(("purpose", "service"),),
        )
    )
    _plant(data, "service", f"{prod.account_id}/svc-backup-exporter")
    users.append(
        IamUser(
            prod.account_id,
            "break-glass-admin",
            _user_id(prod.account_id, "break-glass-admin"),
            created,
            None,
            "break_glass",
            None,
            groups=("admins",),
            password_enabled=True,
            password_last_used=midnight - timedelta(days=40),
            password_last_changed=created,
            mfa=True,
            extra_tags=(("purpose", "break-glass"),),
        )
    )
    _plant(data, "break_glass", f"{prod.account_id}/break-glass-admin")
    _plant(data, "admin", f"{prod.account_id}/break-glass-admin")
    users.append(
        IamUser(
            prod.account_id,
            "old-jenkins",
            _user_id(prod.account_id, "old-jenkins"),
            midnight - timedelta(days=1300),
            None,
            "orphan",
            None,
            groups=("developers",),
            password_enabled=False,
            mfa=False,
            keys=(key(prod, "old-jenkins", 1, 60, 2),),
        )
    )
    _plant(data, "orphan", f"{prod.account_id}/old-jenkins")
    prod.users = sorted(users, key=lambda u: u.name)
    # development: the administrators and every fifth engineer again, all compliant
    dev_users = [
        person_user(dev, p, groups=("admins",) if i < 2 else ("developers",))
        for i, p in enumerate(active)
        if i < 2 or i % 5 == 0
    ]
    dev.users = sorted(dev_users, key=lambda u: u.name)
    for u in dev.users:
        if u.groups == ("admins",):
            _plant(data, "admin", u.ref)
    # the development account's root: no MFA and an active access key
    dev.root_mfa = False
    dev.root_keys = (
        AccessKey(
            _key_id(dev.account_id, "<root_account>", 1),
            True,
            midnight - timedelta(days=900),
            midnight - timedelta(days=12),
            "s3",
        ),
    )
    _plant(data, "root_without_mfa", dev.account_id)
    _plant(data, "root_access_key", dev.account_id)
    # ... and no password policy at all
    dev.password_policy = None
    _plant(data, "no_password_policy", dev.account_id)
    for account in data.accounts:
        for user in account.users:
            org.accounts.append(
                Account(
                    system="aws",
                    account_id=user.ref,
                    email=user.email_tag.lower() if user.email_tag else None,
                    owner=user.person,
                    kind=user.kind,
                    active=user.active,
                    privileged=ADMIN_POLICY in effective_policies(account, user),
                    mfa=user.mfa,
                    last_activity=user.last_activity,
                    created=user.created,
                )
            )


def identity_store_id(account_id: str) -> str:
    """d- and ten hex digits, as AWS names identity stores."""
    return "d-" + hashlib.sha1(f"identitystore:{account_id}".encode()).hexdigest()[:10]


def identity_center_user(
    store_id: str,
    user_name: str,
    person: Person | None,
    emails: tuple[tuple[str, str, bool], ...],
    status: str,
    created: datetime,
) -> IdentityCenterUser:
    digest = hashlib.sha1(f"{store_id}:{user_name}".encode()).hexdigest()
    given, _, family = (person.name if person else user_name).partition(" ")
    return IdentityCenterUser(
        f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
        user_name,
        person.name if person else user_name,
        given,
        family or given,
        emails,
        status,
        created,
        person.email if person else None,
    )


def _identity_center(org: SandboxOrg, management: AwsAccount) -> None:
    """A few Identity Center users: people named by their e-mail (the usual SCIM sync), one by a short name with its
    e-mail primary, a leaver still ENABLED whose only e-mail is a non-primary entry (so only `Emails[]` finds them),
    and a leaver DISABLED on time."""
    store = management.identity_store_id or ""
    created = datetime.combine(org.today - timedelta(days=400), time(10), UTC)
    active = [p for p in org.people if p.status == "active"][:4]
    left = [
        p for p in org.people if p.status == "terminated" and p.end_date and p.end_date < org.today - timedelta(days=1)
    ][-2:]
    users = [
        identity_center_user(store, p.email, p, ((p.email, "work", True),), "ENABLED", created) for p in active[:3]
    ]
    users += [
        identity_center_user(store, p.email.split("@", 1)[0], p, ((p.email, "work", True),), "ENABLED", created)
        for p in active[3:]
    ]
    if left:
        users.append(
            identity_center_user(
                store, left[0].email.split("@", 1)[0], left[0], ((left[0].email, "work", False),), "ENABLED", created
            )
        )
    users += [
        identity_center_user(store, p.email.split("@", 1)[0], p, ((p.email, "work", True),), "DISABLED", created)
        for p in left[1:]
    ]
    management.identity_center_users = users
    for user in users:
        org.accounts.append(
            Account(
                system="aws_identity_center",
                account_id=user.user_name,
                email=user.emails[0][0],
                owner=user.person,
                kind="person",
                active=user.status == "ENABLED",
                privileged=False,
                mfa=None,
                last_activity=None,
                created=user.created,
            )
        )


def effective_policies(account: AwsAccount, user: IamUser) -> set[str]:
    return set(user.policies) | {p for g in user.groups for p in account.groups.get(g, ())}


def _backups(org: SandboxOrg, rng: random.Random, data: AwsData, midnight: datetime) -> None:
    prod = data.production
    account_id = prod.account_id
    count = max(len(RESOURCE_TYPES) * 2, org.size // 3)
    db_count = max(4, org.size // 40)
    prod.db_instances = [
        DbInstance(f"db-{k:04d}", rng.choice(["postgres", "mysql"]), rng.choice([7, 14, 35]), True)
        for k in range(db_count)
    ]
    prod.db_instances[1] = DbInstance("db-0001", "postgres", 3, True)  # retention below 7 days
    prod.db_instances[2] = DbInstance("db-0002", "mysql", 14, False)  # not encrypted
    prod.db_instances[3] = DbInstance("db-0003", "postgres", 0, False, public=True)  # automated backups off
    _plant(data, "rds_retention_below_7", prod.db_instances[1].arn(account_id))
    _plant(data, "rds_retention_below_7", prod.db_instances[3].arn(account_id))
    _plant(data, "rds_unencrypted", prod.db_instances[2].arn(account_id))
    _plant(data, "rds_unencrypted", prod.db_instances[3].arn(account_id))
    resources = [ProtectedResource(d.arn(account_id), "RDS", d.identifier) for d in prod.db_instances]
    k = 0
    while len(resources) < count:
        kind = RESOURCE_TYPES[1 + k % (len(RESOURCE_TYPES) - 1)]
        name = f"{kind.lower()}-{k:05d}"
        arn = {
            "EBS": f"arn:aws:ec2:{REGION}:{account_id}:volume/vol-{k:017x}",
            "DynamoDB": f"arn:aws:dynamodb:{REGION}:{account_id}:table/{name}",
            "EFS": f"arn:aws:elasticfilesystem:{REGION}:{account_id}:file-system/fs-{k:017x}",
            "S3": f"arn:aws:s3:::example-corp-{name}",
        }[kind]
        resources.append(ProtectedResource(arn, kind, name))
        k += 1
    prod.protected = resources
    plan = BackupPlan("8d2b6c1e-0000-4000-8000-000000000001", "daily-35-days", midnight - timedelta(days=900), "v1")
    prod.plans = [
        plan,
        BackupPlan("8d2b6c1e-0000-4000-8000-000000000002", "monthly-1-year", midnight - timedelta(days=880), "v3"),
    ]
    last, previous = BACKUP_DAYS - 1, BACKUP_DAYS - 2
    # the last protected resource was never backed up (added to the vault's selection today)
    never = resources[-1]
    _plant(data, "protected_never_backed_up", never.arn)
    backed = resources[:-1]
    states: dict[tuple[int, int], str] = {}
    # resource 4: the last two days failed -> no success within 24 h of the snapshot day's start
    states[(4, last)] = states[(4, previous)] = "FAILED"
    _plant(data, "no_backup_within_rpo", backed[4].arn)
    # one failure today and one expired yesterday on other resources: the next day's job succeeded or still fresh
    states[(5, last)] = "FAILED"
    states[(6, previous)] = "EXPIRED"
    states[(7, last)] = "ABORTED"
    # older failures, outside the failed-jobs look-back
    for day in range(0, previous):
        slot = (day * 7 + 3) % len(backed)
        if slot not in (4, 5, 6, 7) and day % 3 == 0:
            states[(slot, day)] = rng.choice(FAILED_JOB_STATES)
    prod.backup_jobs = BackupJobs(account_id, org.today, backed, plan.plan_id, states)
    for slot, day in states:
        index = day * len(backed) + slot
        if day >= previous:
            _plant(data, "backup_job_failed_recently", prod.backup_jobs[index].job_id)
        else:
            _plant(data, "backup_job_failed_older", prod.backup_jobs[index].job_id)
    # restore tests per resource type: EBS last restored 400 days ago (and failed 10 days ago)
    restores = {"RDS": 100, "DynamoDB": 200, "EFS": 30, "S3": 60, "EBS": 400}
    jobs: list[RestoreJob] = []
    for n, (kind, days) in enumerate(restores.items()):
        source = next(r for r in resources if r.resource_type == kind)
        start = midnight - timedelta(days=days, hours=-10)
        jobs.append(RestoreJob(f"restore-{n:04d}", kind, source.arn, "COMPLETED", start, start + timedelta(hours=2)))
        older = midnight - timedelta(days=days + 365, hours=-10)
        jobs.append(
            RestoreJob(f"restore-{n + 10:04d}", kind, source.arn, "COMPLETED", older, older + timedelta(hours=1))
        )
    ebs = next(r for r in resources if r.resource_type == "EBS")
    failed = midnight - timedelta(days=10, hours=-9)
    jobs.append(RestoreJob("restore-0020", "EBS", ebs.arn, "FAILED", failed, failed + timedelta(minutes=30)))
    prod.restore_jobs = sorted(jobs, key=lambda j: j.created)
    _plant(data, "restore_not_tested_within_365", f"{account_id}/{REGION}/EBS")


def _expected(org: SandboxOrg, data: AwsData) -> None:
    """The truth each AWS control must report, from the planted state (not from SQL)."""
    day = datetime.combine(org.today, time(0), UTC)
    expected = org.expected
    expected["cc6_1_aws_root_mfa"] = {
        a.account_id for a in data.accounts if not a.root_mfa or any(k.active for k in a.root_keys)
    }
    expected["cc6_1_aws_console_users_mfa"] = {
        u.ref for a in data.accounts for u in a.users if u.password_enabled and not u.mfa
    }
    expected["cc6_1_aws_password_policy"] = {a.account_id for a in data.accounts if not _policy_ok(a.password_policy)}
    stale = day - timedelta(days=ROTATION_DAYS)
    expected["cc6_2_aws_access_keys_rotated"] = {
        f"{u.ref}/access_key_{n}"
        for a in data.accounts
        for u in a.users
        for n, k in enumerate(u.keys, 1)
        if k.active and (k.last_rotated < stale or (k.last_used or k.last_rotated) < stale)
    }
    prod = data.production
    jobs = prod.jobs()
    rpo_start = day - timedelta(hours=24)
    good = {j.resource.arn for j in jobs if j.state == "COMPLETED" and j.completed and j.completed >= rpo_start}
    expected["a1_2_backups_within_rpo"] = {
        r.arn
        for a in data.accounts
        for r in [*a.protected, *(r for rs in a.protected_in.values() for r in rs)]
        if r.arn not in good
    }
    since = day - timedelta(days=JOB_LOOKBACK_DAYS)
    if isinstance(jobs, BackupJobs):
        recent = jobs[jobs.created_index(since) :]
        expected["a1_2_backup_jobs_failed"] = {j.job_id for j in recent if j.state in FAILED_JOB_STATES}
    else:
        expected["a1_2_backup_jobs_failed"] = set()
    expected["a1_2_rds_backup_retention"] = {
        d.arn(a.account_id)
        for a in data.accounts
        for d in a.db_instances
        if d.retention_days < MIN_RETENTION_DAYS or not d.encrypted
    }
    tested_since = day - timedelta(days=RESTORE_TEST_DAYS)
    # one row per (account, region, resource type); restores of the type anywhere in the account count
    expected["a1_2_restore_tested"] = {
        f"{a.account_id}/{region}/{kind}"
        for a in data.accounts
        for region, protected in [(REGION, a.protected), *a.protected_in.items()]
        for kind in sorted({r.resource_type for r in protected})
        if not any(
            j.resource_type == kind and j.status == "COMPLETED" and j.completed and j.completed >= tested_since
            for j in a.restore_jobs
        )
    }


def _policy_ok(policy: dict | None) -> bool:
    return (
        bool(policy)
        and policy["MinimumPasswordLength"] >= 14
        and all(
            policy[k]
            for k in ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters", "RequireLowercaseCharacters")
        )
    )
