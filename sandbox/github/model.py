"""The sandbox organisation's GitHub side: repositories in every known protection state, members with
and without 2FA, outside collaborators, and merged pull requests with and without independent approval."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sandbox.company import Account as OrgAccount
from sandbox.company import Person, SandboxOrg
from sandbox.github.security import REQUIRED_CONTEXTS, SecurityData, build_security, security_expected

#: The repository states the sandbox plants, with the CC8.1 review-rule verdict each must get.
REPO_KINDS: dict[str, str] = {
    "protected_with_review": "pass",
    "protected_without_review": "fail",
    "ruleset_only": "pass",
    "admins_may_bypass": "fail",
    "force_push_allowed": "fail",
    "deletion_allowed": "fail",
    "archived": "out_of_scope",
    "unprotected": "fail",
    # no commits yet: no default branch to protect, so neither verdict is true (never planted by the cycle below)
    "empty": "unknown",
}
#: the kinds every organisation's repositories cycle through
CYCLED_REPO_KINDS = [kind for kind in REPO_KINDS if kind != "empty"]


@dataclass(frozen=True, slots=True)
class Repository:
    name: str
    kind: str  # a key of REPO_KINDS
    classic: dict | None  # BranchProtectionRule fields, or None
    rulesets: tuple[dict, ...]  # {name, enforcement, rules: [{type, parameters}], bypass: [actor]}

    @property
    def archived(self) -> bool:
        return self.kind == "archived"

    @property
    def empty(self) -> bool:
        """No commits yet: GitHub shows no default branch (defaultBranchRef null)."""
        return self.kind == "empty"

    @property
    def requires_status_checks(self) -> bool:
        """Classic protection or an active ruleset requires status checks on the default branch."""
        return bool((self.classic or {}).get("requiresStatusChecks")) or any(
            rule["type"] == "REQUIRED_STATUS_CHECKS"
            for ruleset in self.rulesets
            if ruleset["enforcement"] == "ACTIVE"
            for rule in ruleset["rules"]
        )

    @property
    def status_check_contexts(self) -> set[str]:
        """The contexts classic protection and the active rulesets require on the default branch, together."""
        classic = self.classic or {}
        contexts = (
            set(classic.get("requiredStatusCheckContexts") or ()) if classic.get("requiresStatusChecks") else set()
        )
        for ruleset in self.rulesets:
            for rule in ruleset["rules"] if ruleset["enforcement"] == "ACTIVE" else ():
                if rule["type"] == "REQUIRED_STATUS_CHECKS":
                    contexts |= {check["context"] for check in rule["parameters"]["requiredStatusChecks"]}
        return contexts


#: The merged pull requests the sandbox plants, with the CC8.1 verdict "approved by someone other than
#: its author before the merge" each must get.
PULL_REQUEST_KINDS: dict[str, str] = {
    "approved_by_other": "pass",
    "changes_then_approved": "pass",
    "bot_authored_approved": "pass",
    "self_approved_only": "fail",
    "merged_without_review": "fail",
    "self_merged_without_review": "fail",
    "approved_then_changes_requested": "fail",
    "commented_only": "fail",
    "approval_after_merge": "fail",
    "dismissed_approval": "fail",
}
#: Outside-collaborator permissions that let someone outside the organisation change code.
ELEVATED_PERMISSIONS = ("WRITE", "MAINTAIN", "ADMIN")
#: Days of merged pull requests the sandbox holds before `org.today`.
PULL_REQUEST_HISTORY_DAYS = 60
#: The pipeline's default collection window: the full UTC day before the partition day.
PERIOD_DAYS = 1


@dataclass(frozen=True, slots=True)
class Account:
    """A GitHub user account."""

    login: str
    name: str | None
    public_email: str  # GitHub's `email`: "" when the profile email is private
    verified_emails: tuple[str, ...]  # organizationVerifiedDomainEmails while a member
    person: str | None  # the HR email of its owner; None for service accounts, orphans and outsiders
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    account: Account
    role: str  # ADMIN | MEMBER
    two_factor: bool  # what GitHub shows an owner; hidden from everyone else
    kind: str  # person | service | orphan (the org.accounts truth)


@dataclass(frozen=True, slots=True)
class Collaboration:
    """An outside collaborator's access to one repository."""

    repository: str  # repository name
    account: Account
    permission: str  # READ | TRIAGE | WRITE | MAINTAIN | ADMIN


@dataclass(frozen=True, slots=True)
class Review:
    author: str
    author_type: str  # User | Bot
    state: str  # PullRequestReviewState
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class PullRequest:
    id: str  # "<org>/<repo>#<number>"
    repository: str
    number: int
    title: str
    author: str
    author_type: str
    created_at: datetime
    merged_at: datetime
    merged_by: str
    reviews: tuple[Review, ...]
    kind: str  # a key of PULL_REQUEST_KINDS


@dataclass
class GitHubData:
    org_login: str
    two_factor_required: bool
    repositories: list[Repository] = field(default_factory=list)
    members: list[Membership] = field(default_factory=list)
    outside_collaborators: list[Collaboration] = field(default_factory=list)
    #: sorted by creation time, the order GitHub's `sort:created-asc` search returns them in
    pull_requests: list[PullRequest] = field(default_factory=list)
    #: repositories whose collaborators GitHub will not show the viewer (the field is null)
    collaborators_hidden: set[str] = field(default_factory=set)
    #: planted case -> ids: member logins, "<org>/<repo>:<login>" collaborations, pull request ids
    planted: dict[str, set[str]] = field(default_factory=dict)
    #: security settings, alerts and environments (sandbox/github/security.py)
    security: SecurityData = field(default_factory=SecurityData)

    def merged_between(self, since: datetime, until: datetime) -> list[PullRequest]:
        return [pr for pr in self.pull_requests if since <= pr.merged_at < until]


def period(today: date, days: int = PERIOD_DAYS) -> tuple[datetime, datetime]:
    """The merge window collected on `today`: the `days` full UTC days before it."""
    until = datetime.combine(today, time(0), UTC)
    return until - timedelta(days=days), until


def build(org: SandboxOrg, rng: random.Random) -> GitHubData:
    # The organisation requires 2FA (settings > authentication security); members without it are
    # still planted: GitHub's mandatory-2FA rollout gives accounts a grace period, and the
    # per-member control must catch them whatever the organisation setting says.
    count = max(2 * len(CYCLED_REPO_KINDS), org.size // 4) if org.size else 0
    # the demo's company too: an empty repository and lists past GitHub's first page are what real organisations have
    long_lists = long_list_repositories() if org.size >= 50 else []
    data = GitHubData(
        org_login=org.org_login,
        two_factor_required=True,
        repositories=_repositories(rng, count - len(long_lists)) + long_lists,
    )
    if org.size:  # size 0: an empty organisation, no accounts at all
        _members(org, rng, data)
        _outside_collaborators(org, rng, data)
        _pull_requests(org, rng, data)
    # its own random stream: the security side's draws leave the rest of the organisation as it was
    data.security, planted = build_security(
        org.today, random.Random(f"{org.seed}:github-security"), data.repositories, org.size, org.org_login
    )
    for case, ids in planted.items():
        data.planted.setdefault(case, set()).update(ids)
    set_expected(org, data)
    return data


def set_expected(org: SandboxOrg, data: GitHubData) -> None:
    """The exceptions each GitHub control must report, from the planted truth (call again after a
    test changes the data)."""
    active = [r for r in data.repositories if not r.archived]
    org.expected["cc8_1_branch_review_rules"] = {
        f"{org.org_login}/{r.name}" for r in data.repositories if REPO_KINDS[r.kind] == "fail"
    }
    org.expected["cc8_1_required_status_checks"] = {
        f"{org.org_login}/{r.name}"
        for r in active
        if not r.empty and not (r.requires_status_checks and set(REQUIRED_CONTEXTS) <= r.status_check_contexts)
    }
    org.expected["cc6_1_github_org_2fa_required"] = set() if data.two_factor_required else {org.org_login}
    org.expected["cc6_1_github_members_2fa"] = {m.account.login.lower() for m in data.members if not m.two_factor}
    org.expected["cc6_3_github_outside_collaborators"] = {
        f"{org.org_login}/{c.repository}:{c.account.login.lower()}"
        for c in data.outside_collaborators
        if c.permission in ELEVATED_PERMISSIONS
    }
    org.expected["cc8_1_pull_requests_peer_approved"] = {
        pr.id for pr in data.merged_between(*period(org.today)) if PULL_REQUEST_KINDS[pr.kind] == "fail"
    }
    # an empty repository has no default branch to judge: unknown in both branch controls
    empty = {f"{org.org_login}/{r.name}" for r in active if r.empty}
    org.unknown["cc8_1_branch_review_rules"] = org.unknown["cc8_1_required_status_checks"] = empty
    expected, unknown = security_expected(org.org_login, org.today, data.repositories, data.security)
    org.expected.update(expected)
    org.unknown.update(unknown)


def login_of(person: Person) -> str:
    return person.email.split("@", 1)[0].replace(".", "-")


def _plant(data: GitHubData, case: str, resource: str) -> None:
    data.planted.setdefault(case, set()).add(resource)


def _account_holders(org: SandboxOrg) -> tuple[list[Person], list[Person]]:
    """Who got a GitHub account: about one person in ten (Engineering first), and some leavers.
    Returns (active people, leavers)."""
    active = sorted(
        (p for p in org.people if p.status == "active"), key=lambda p: (p.department != "Engineering", p.email)
    )
    leavers = [p for p in org.people if p.status != "active"]
    return active[: max(8, org.size // 10)], leavers[: max(3, org.size // 50)]


def _created(org: SandboxOrg, rng: random.Random) -> datetime:
    return datetime.combine(org.today, time(9), UTC) - timedelta(
        days=rng.randint(30, 3000), seconds=rng.randint(0, 86399)
    )


def _members(org: SandboxOrg, rng: random.Random, data: GitHubData) -> None:
    active, leavers = _account_holders(org)
    # most leavers were removed from the organisation; one in five (at least one) is still a member
    kept_leavers = leavers[::5]
    for person in kept_leavers:
        _plant(data, "leaver_still_member", login_of(person))
    members: list[Membership] = []
    non_admins = 0
    for i, person in enumerate(active + kept_leavers):
        account = Account(
            login=login_of(person),
            name=person.name,
            public_email="" if i % 3 == 2 else person.email,
            verified_emails=(person.email,),
            person=person.email,
            created_at=_created(org, rng),
        )
        if not account.public_email:
            _plant(data, "public_email_private", account.login)
        role = "ADMIN" if i < 3 or i % 40 == 7 else "MEMBER"
        two_factor = True
        if role == "ADMIN" and i == 1:
            two_factor = False
            _plant(data, "admin_without_2fa", account.login)
        elif role == "MEMBER":
            non_admins += 1
            if non_admins == 2 or non_admins % 30 == 0:
                two_factor = False
                _plant(data, "member_without_2fa", account.login)
        members.append(Membership(account, role, two_factor, "person"))
    # a machine user that deploys; it has an address on the company domain but no person behind it
    service = Account(
        login="deploy-bot",
        name="Deploy Bot",
        public_email="",
        verified_emails=(f"deploy-bot@{org.domain}",),
        person=None,
        created_at=_created(org, rng),
    )
    members.append(Membership(service, "MEMBER", True, "service"))
    _plant(data, "service_account", service.login)
    # personal accounts nobody can tie to a person: no verified company email, no HR record
    for k in range(max(1, org.size // 500)):
        orphan = Account(
            login=f"octo-dev{k:03d}",
            name=None,
            public_email=f"octo{k}@mail.example.test" if k else "",
            verified_emails=(),
            person=None,
            created_at=_created(org, rng),
        )
        members.append(Membership(orphan, "MEMBER", k % 2 == 1, "orphan"))
        _plant(data, "orphan_member", orphan.login)
    data.members = sorted(members, key=lambda m: m.account.login)
    for membership in data.members:
        account = membership.account
        shown = (account.verified_emails or (account.public_email,))[0]
        org.accounts.append(
            OrgAccount(
                system="github",
                account_id=account.login.lower(),
                email=shown.lower() or None,
                owner=account.person,
                kind=membership.kind,
                active=True,
                privileged=membership.role == "ADMIN",
                mfa=membership.two_factor,
                last_activity=None,  # GitHub shows no sign-in time outside the enterprise audit log
                created=account.created_at,
            )
        )


def _outside_collaborators(org: SandboxOrg, rng: random.Random, data: GitHubData) -> None:
    repos = [r.name for r in data.repositories if not r.archived and not r.empty]
    full = f"{org.org_login}/"
    collaborations: list[Collaboration] = []

    def grant(repository: str, account: Account, permission: str) -> None:
        collaborations.append(Collaboration(repository, account, permission))
        case = "outside_write_or_admin" if permission in ELEVATED_PERMISSIONS else "outside_read_only"
        _plant(data, case, f"{full}{repository}:{account.login.lower()}")

    for k in range(max(4, org.size // 20)):
        account = Account(
            login=f"Contractor-{k:03d}",
            name=f"Contractor {k}",
            public_email=f"contractor{k}@vendor.test" if k % 2 == 0 else "",
            verified_emails=(),
            person=None,
            created_at=_created(org, rng),
        )
        planted_permission = {0: "READ", 1: "WRITE", 2: "ADMIN", 3: "MAINTAIN"}.get(k)
        for repository in rng.sample(repos, k=min(len(repos), rng.choice([1, 1, 2]))):
            permission = (
                planted_permission
                or rng.choices(["READ", "TRIAGE", "WRITE", "MAINTAIN", "ADMIN"], weights=[60, 10, 25, 3, 2])[0]
            )
            grant(repository, account, permission)
    # a leaver removed from the organisation but left as an outside collaborator with write access
    for person in _account_holders(org)[1][1:2]:
        account = Account(
            login=login_of(person),
            name=person.name,
            public_email=person.email,
            verified_emails=(),
            person=person.email,
            created_at=_created(org, rng),
        )
        grant(repos[-1], account, "WRITE")
        _plant(data, "leaver_outside_collaborator", f"{full}{repos[-1]}:{account.login.lower()}")
    if org.size >= 500:
        # a repository shared with an audit firm: more outside collaborators than one page holds
        for k in range(130):
            grant(
                repos[0],
                Account(
                    login=f"auditor-{k:03d}",
                    name=f"Auditor {k}",
                    public_email="",
                    verified_emails=(),
                    person=None,
                    created_at=_created(org, rng),
                ),
                "READ",
            )
        _plant(data, "repository_over_100_outside_collaborators", f"{full}{repos[0]}")
    data.outside_collaborators = sorted(collaborations, key=lambda c: (c.repository, c.account.login.lower()))


def _pull_requests(org: SandboxOrg, rng: random.Random, data: GitHubData) -> None:
    """`size` pull requests merged over the 60 days before `org.today`, plus every planted kind merged
    inside the default collection window (the day before `org.today`)."""
    people = [m.account.login for m in data.members if m.kind == "person"]
    repos = [r.name for r in data.repositories if not r.archived and not r.empty]  # nothing merges into an empty one
    if len(people) < 2 or not repos:
        return
    since, until = period(org.today)
    hour = timedelta(hours=1)
    numbers: dict[str, int] = {}
    pulls: list[PullRequest] = []

    def add(
        kind: str, merged_at: datetime, title: str, reviews_of: Callable[[str, str], list[Review]] | None = None
    ) -> PullRequest:
        author, reviewer = rng.sample(people, 2)
        author_type = "User"
        if kind == "bot_authored_approved":
            author, author_type = "dependabot", "Bot"
        merged_by = author if kind in ("self_approved_only", "self_merged_without_review") else reviewer
        if kind == "merged_without_review":
            merged_by = next(p for p in people if p not in (author, reviewer))
        reviews = reviews_of(author, reviewer) if reviews_of else _reviews(kind, author, reviewer, merged_at)
        repository = rng.choice(repos)
        numbers[repository] = numbers.get(repository, 0) + 1
        pr = PullRequest(
            id=f"{org.org_login}/{repository}#{numbers[repository]}",
            repository=repository,
            number=numbers[repository],
            title=title,
            author=author,
            author_type=author_type,
            created_at=merged_at - timedelta(seconds=rng.randint(3 * 3600, 5 * 86400)),
            merged_at=merged_at,
            merged_by=merged_by,
            reviews=tuple(reviews),
            kind=kind,
        )
        pulls.append(pr)
        _plant(data, f"pr_{kind}", pr.id)
        return pr

    kinds = list(PULL_REQUEST_KINDS)
    for i, kind in enumerate(kinds):  # every kind inside the default window, away from its edges
        add(kind, since + timedelta(hours=2 + i, minutes=rng.randint(0, 59)), f"Planted: {kind.replace('_', ' ')}")
    history = PULL_REQUEST_HISTORY_DAYS * 86400
    for i in range(org.size):
        kind = "approved_by_other" if rng.random() < 0.9 else rng.choice(kinds)
        merged_at = until - timedelta(seconds=rng.randint(1, history))
        add(
            kind,
            merged_at,
            f"{rng.choice(['Fix', 'Add', 'Update', 'Remove'])} "
            f"{rng.choice(['billing', 'auth', 'search', 'exports', 'alerts', 'docs'])} ({i})",
        )
    if org.size >= 200:
        # a long review: more decisive reviews than one page holds, the approval on the second page
        merged_at = since + timedelta(hours=20)

        def long_thread(author: str, reviewer: str) -> list[Review]:
            rounds = [
                Review(reviewer, "User", "CHANGES_REQUESTED", merged_at - timedelta(hours=10, minutes=k))
                for k in range(120, 0, -1)
            ]
            return [*rounds, Review(reviewer, "User", "APPROVED", merged_at - hour)]

        pr = add("approved_by_other", merged_at, "Rework the session store (long review)", long_thread)
        _plant(data, "pr_approval_beyond_first_review_page", pr.id)
    data.pull_requests = sorted(pulls, key=lambda pr: (pr.created_at, pr.id))


def _reviews(kind: str, author: str, reviewer: str, merged_at: datetime) -> list[Review]:
    hour = timedelta(hours=1)
    match kind:
        case "approved_by_other" | "bot_authored_approved":
            return [
                Review(reviewer, "User", "COMMENTED", merged_at - 2 * hour),
                Review(reviewer, "User", "APPROVED", merged_at - hour),
            ]
        case "changes_then_approved":
            return [
                Review(reviewer, "User", "CHANGES_REQUESTED", merged_at - 3 * hour),
                Review(reviewer, "User", "APPROVED", merged_at - hour),
            ]
        case "self_approved_only":
            # GitHub's UI refuses this, the API history can still show it (e.g. a since-reverted setting)
            return [Review(author, "User", "APPROVED", merged_at - hour)]
        case "approved_then_changes_requested":
            return [
                Review(reviewer, "User", "APPROVED", merged_at - 3 * hour),
                Review(reviewer, "User", "CHANGES_REQUESTED", merged_at - hour),
            ]
        case "commented_only":
            return [Review(reviewer, "User", "COMMENTED", merged_at - hour)]
        case "approval_after_merge":
            return [Review(reviewer, "User", "APPROVED", merged_at + hour)]
        case "dismissed_approval":
            return [Review(reviewer, "User", "DISMISSED", merged_at - hour)]
    return []  # merged_without_review, self_merged_without_review


def _classic(
    reviews: int = 1,
    admin_enforced: bool = True,
    force_push: bool = False,
    deletions: bool = False,
    status_checks: bool = True,
    contexts: tuple[str, ...] = REQUIRED_CONTEXTS,
) -> dict:
    return {
        "pattern": "main",
        "requiresApprovingReviews": reviews > 0,
        "requiredApprovingReviewCount": reviews,
        "isAdminEnforced": admin_enforced,
        "allowsForcePushes": force_push,
        "allowsDeletions": deletions,
        "requiresStatusChecks": status_checks,
        "requiredStatusCheckContexts": list(contexts) if status_checks else [],
    }


def _ruleset(
    name: str,
    reviews: int = 1,
    bypass_admin: bool = False,
    status_checks: bool = True,
    contexts: tuple[str, ...] = REQUIRED_CONTEXTS,
) -> dict:
    checks = [
        {
            "type": "REQUIRED_STATUS_CHECKS",
            "parameters": {
                "__typename": "RequiredStatusChecksParameters",
                "requiredStatusChecks": [{"context": context} for context in contexts],
            },
        }
    ]
    return {
        "name": name,
        "enforcement": "ACTIVE",
        "rules": [
            {
                "type": "PULL_REQUEST",
                "parameters": {"__typename": "PullRequestParameters", "requiredApprovingReviewCount": reviews},
            },
            {"type": "NON_FAST_FORWARD", "parameters": None},
            {"type": "DELETION", "parameters": None},
            *(checks if status_checks else []),
        ],
        "bypass": [{"organizationAdmin": True, "repositoryRoleName": None, "bypassMode": "ALWAYS"}]
        if bypass_admin
        else [],
    }


def team_bypass(count: int) -> list[dict]:
    """`count` bypass actors that are teams or apps: no organisation admin, no repository role."""
    return [{"organizationAdmin": False, "repositoryRoleName": None, "bypassMode": "PULL_REQUEST"}] * count


def long_list_repositories() -> list[Repository]:
    """Repositories whose lists run past GitHub's first page: a ruleset whose organisation-admin bypass is its
    11th bypass actor, a branch whose admin-bypassed ruleset comes after 25 other rules, and an empty repository."""
    admin_eleventh = _ruleset("main-protection")
    admin_eleventh["bypass"] = [
        *team_bypass(10),
        {"organizationAdmin": True, "repositoryRoleName": None, "bypassMode": "ALWAYS"},
        {"organizationAdmin": False, "repositoryRoleName": "write", "bypassMode": "ALWAYS"},
    ]
    fillers = tuple(
        {
            "name": f"signed-commits-{k:02d}",
            "enforcement": "ACTIVE",
            "bypass": [],
            "rules": [
                {"type": "REQUIRED_SIGNATURES", "parameters": None},
                {"type": "REQUIRED_LINEAR_HISTORY", "parameters": None},
            ],
        }
        for k in range(11)
    )
    late_bypass = {
        "name": "release-freeze",
        "enforcement": "ACTIVE",
        "rules": [_ruleset("release-freeze", reviews=2)["rules"][0], {"type": "UPDATE", "parameters": None}],
        "bypass": [{"organizationAdmin": False, "repositoryRoleName": "admin", "bypassMode": "ALWAYS"}],
    }
    return [
        Repository(name="svc-long-bypass-list", kind="admins_may_bypass", classic=None, rulesets=(admin_eleventh,)),
        Repository(
            name="svc-long-rule-list",
            kind="admins_may_bypass",
            classic=None,
            rulesets=(_ruleset("main-protection"), *fillers, late_bypass),
        ),
        Repository(name="svc-new-empty", kind="empty", classic=None, rulesets=()),
    ]


def _repositories(rng: random.Random, count: int) -> list[Repository]:
    kinds = CYCLED_REPO_KINDS
    repos: list[Repository] = []
    for i in range(count):
        kind = kinds[i % len(kinds)] if i < 2 * len(kinds) else rng.choice(kinds)
        classic: dict | None
        rulesets: tuple[dict, ...] = ()
        # every third review-protected repository lets merges through without status checks (CC8.1), and some of the
        # others require the tests but not the dependency review: "any check" is not the configured checks
        checks = i % 3 != 2
        contexts = ("test",) if i % 3 == 1 and i % 2 == 0 else REQUIRED_CONTEXTS
        match kind:
            case "protected_with_review":
                classic = _classic(reviews=rng.choice([1, 2]), status_checks=checks, contexts=contexts)
            case "protected_without_review":
                classic = _classic(reviews=0)
            case "ruleset_only":
                ruleset = _ruleset("main-protection", reviews=1, status_checks=checks, contexts=contexts)
                classic, rulesets = None, (ruleset,)
            case "admins_may_bypass":
                classic = _classic(admin_enforced=False) if i % 2 == 0 else None
                if classic is None:
                    rulesets = (_ruleset("main-protection", bypass_admin=True),)
            case "force_push_allowed":
                classic = _classic(force_push=True)
            case "deletion_allowed":
                classic = _classic(deletions=True)
            case "archived":
                classic = None
            case _:
                classic = None
        repos.append(
            Repository(name=f"svc-{i:05d}-{kind.replace('_', '-')}", kind=kind, classic=classic, rulesets=rulesets)
        )
    return repos
