"""The sandbox organisation's GitHub security and delivery side: each repository's security settings (some
features off, one repository without an Advanced Security licence, one whose settings GitHub hides from the caller),
Dependabot, code-scanning and secret-scanning alerts of every state (some open past their severity's SLA),
environments with and without protection rules, and code scanning's setup (code security configurations, each
repository's attachment to one and its default setup), with the verdict each control must reach."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

#: ByteMechanix's patch SLAs, days an open alert of each severity may stay open (controls/github_security.yaml)
SLA_DAYS = {"critical": 7, "high": 30, "medium": 60}
#: the contexts every default branch must require (controls/change_management.yaml cc8_1_required_status_checks)
REQUIRED_CONTEXTS = ("test", "dependency-review")
#: production environment names (the environments control's default pattern, case-insensitive)
PRODUCTION_NAMES = ("production", "prod")

#: repository security kinds, the first active repositories take one each (the rest are "all_on"), with the
#: security-features verdict each must get
SECURITY_KINDS: dict[str, str] = {
    "all_on": "pass",
    "dependabot_off": "fail",
    "secret_scanning_off": "fail",
    "push_protection_off": "fail",
    # private, no Secret Protection / Code Security / Advanced Security licence: secret and code scanning cannot run
    "unlicensed": "unknown",
    # GitHub leaves security_and_analysis out: the caller is not an admin of this repository
    "settings_hidden": "unknown",
    # public: secret scanning and code scanning are free, no licence key is shown
    "public_all_on": "pass",
}


@dataclass(frozen=True, slots=True)
class RepositorySecurity:
    repository: str  # repository name
    kind: str  # a key of SECURITY_KINDS
    visibility: str  # public | private
    #: security_and_analysis as GitHub sends it ({key: {status}}), or None when it leaves the block out
    settings: dict[str, Any] | None
    vulnerability_alerts: bool

    def licensed(self, feature: str) -> bool | None:
        """Can `feature` (secret_protection | code_security) run here? Public repositories need no licence; None when
        GitHub did not show the settings."""
        if self.visibility == "public":
            return True
        if self.settings is None:
            return None
        return any(self.status(key) == "enabled" for key in (feature, "advanced_security"))

    def status(self, key: str) -> str | None:
        return ((self.settings or {}).get(key) or {}).get("status")


#: code-scanning setup kinds (the first eligible active repositories take one each, the rest "attached_enabled"),
#: with the code-scanning control's verdict
SETUP_KINDS: dict[str, str] = {
    # attached to a configuration that enables default setup, on a repository licensed for it: no own call needed
    "attached_enabled": "pass",
    "enforced_enabled": "pass",
    # in no configuration, default setup not configured, no scanning at all
    "not_attached": "fail",
    # the attachment failed (e.g. Actions disabled); the repository's own default setup says not-configured
    "failed_attachment": "fail",
    # detached from a configuration, default setup configured by hand: the repository's own call says so
    "detached_configured": "pass",
    # attached to a configuration that turns default setup off
    "disabled_by_configuration": "fail",
    # attached to a configuration that leaves default setup alone (not_set); configured by hand
    "not_set_configured": "pass",
    # no default setup, but a CodeQL workflow of its own uploads analyses (code-scanning alerts): not judged pass
    "advanced_setup": "unknown",
    # the security "unlicensed" repositories: GitHub answers the default-setup call 403
    "unlicensed": "unknown",
    # the security "settings_hidden" repositories: attached, licence not shown, so read on their own: configured
    "hidden_configured": "pass",
}
#: the kinds planted on eligible repositories (licensed, settings shown, not archived, not empty), in this order
PLANTED_SETUP_KINDS = (
    "enforced_enabled",
    "not_attached",
    "failed_attachment",
    "detached_configured",
    "disabled_by_configuration",
    "not_set_configured",
    "advanced_setup",
)
#: GitHub's global "GitHub recommended" configuration (target_type global), listed in every organisation
RECOMMENDED = 17


@dataclass(frozen=True, slots=True)
class Configuration:
    """A code security configuration, as GET /orgs/{org}/code-security/configurations lists it."""

    id: int
    name: str
    target_type: str  # global | organization
    default_setup: str  # code_scanning_default_setup: enabled | disabled | not_set
    enforcement: str  # enforced | unenforced
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CodeScanningSetup:
    repository: str
    kind: str  # a key of SETUP_KINDS
    configuration: int | None = None  # the configuration it is listed under, if any
    status: str | None = None  # attachment status: attached | enforced | failed | detached | ...
    configured: bool = False  # GET /repos/{owner}/{repo}/code-scanning/default-setup state (when licensed)


#: kind -> (configuration id, attachment status, default setup configured); the organisation's configurations are
#: CONFIGURATIONS below
SETUP_OF_KIND: dict[str, tuple[int | None, str | None, bool]] = {
    "attached_enabled": (RECOMMENDED, "attached", True),
    "enforced_enabled": (101, "enforced", True),
    "not_attached": (None, None, False),
    "failed_attachment": (101, "failed", False),
    "detached_configured": (RECOMMENDED, "detached", True),
    "disabled_by_configuration": (102, "attached", False),
    "not_set_configured": (103, "attached", True),
    "advanced_setup": (None, None, False),
    "unlicensed": (None, None, False),
    "hidden_configured": (RECOMMENDED, "attached", True),
}
CONFIGURATIONS = (
    Configuration(RECOMMENDED, "GitHub recommended", "global", "enabled", "unenforced", "Suggested settings"),
    Configuration(101, "Production baseline", "organization", "enabled", "enforced", "Every production service"),
    Configuration(102, "Legacy services", "organization", "disabled", "unenforced", None),  # documented nullable
    Configuration(103, "Dependency alerts only", "organization", "not_set", "unenforced", "Dependabot, no scanning"),
)


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # dependabot | code_scanning | secret_scanning
    repository: str
    number: int
    #: dependabot: open | fixed | dismissed | auto_dismissed; code scanning: open | fixed | dismissed; secret: open |
    #: resolved
    state: str
    severity: str | None  # dependabot advisory severity / code scanning security_severity_level; None for secrets
    created_at: datetime
    closed_at: datetime | None = None  # fixed_at / dismissed_at / resolved_at

    @property
    def id(self) -> str:
        return f"{self.repository}:{self.kind}#{self.number}"


@dataclass(frozen=True, slots=True)
class Environment:
    repository: str
    name: str
    reviewers: tuple[str, ...] = ()
    can_admins_bypass: bool = False
    branch_policy: str = "any"  # any | protected_branches | custom
    wait_timer: int = 0

    @property
    def id(self) -> str:
        return f"{self.repository}:{self.name}"

    @property
    def production(self) -> bool:
        return self.name.lower() in PRODUCTION_NAMES

    @property
    def verdict(self) -> str:
        if self.can_admins_bypass:
            return "fail"
        return "pass" if self.reviewers or self.branch_policy == "protected_branches" else "fail"


@dataclass
class SecurityData:
    settings: dict[str, RepositorySecurity] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    environments: list[Environment] = field(default_factory=list)
    #: the organisation's code security configurations, GitHub's global one first
    configurations: list[Configuration] = field(default_factory=lambda: list(CONFIGURATIONS[:1]))
    setups: dict[str, CodeScanningSetup] = field(default_factory=dict)

    def setup_of(self, repository: str) -> CodeScanningSetup:
        """A repository's code-scanning setup; one a test added after the organisation was built is attached to
        GitHub's recommended configuration."""
        return self.setups.get(repository) or _setup(repository, "attached_enabled")

    def attachments_of(self, configuration: int, repositories: list[str]) -> list[CodeScanningSetup]:
        """The repositories listed under `configuration` (every status), by name."""
        listed = (self.setup_of(name) for name in sorted(repositories))
        return [setup for setup in listed if setup.configuration == configuration]

    def code_licensed(self, repository: str) -> bool:
        """Can code scanning run there (what GitHub knows, shown or not): a repository whose settings are hidden from
        the caller is licensed."""
        return self.settings_of(repository).licensed("code_security") is not False

    def settings_of(self, repository: str) -> RepositorySecurity:
        """A repository's settings; one a test added after the organisation was built has every feature on."""
        found = self.settings.get(repository)
        if found is None:
            visibility, settings, alerts_on = _settings("all_on")
            found = RepositorySecurity(repository, "all_on", visibility, settings, alerts_on)
        return found

    def alerts_of(self, kind: str) -> list[Alert]:
        """`kind`'s alerts in GitHub's default order: newest first (sort=created, direction=desc)."""
        return sorted((a for a in self.alerts if a.kind == kind), key=lambda a: (a.created_at, a.id), reverse=True)

    def environments_of(self, repository: str) -> list[Environment]:
        return sorted((e for e in self.environments if e.repository == repository), key=lambda e: e.name.lower())


def enabled(*keys: str) -> dict[str, Any]:
    return {key: {"status": "enabled"} for key in keys}


def disabled(*keys: str) -> dict[str, Any]:
    return {key: {"status": "disabled"} for key in keys}


ALL_ON = ("advanced_security", "secret_scanning", "secret_scanning_push_protection", "dependabot_security_updates")


def _settings(kind: str) -> tuple[str, dict[str, Any] | None, bool]:
    """(visibility, security_and_analysis, Dependabot alerts on) of a security kind."""
    match kind:
        case "dependabot_off":
            return "private", enabled(*ALL_ON), False
        case "secret_scanning_off":
            return "private", {**enabled("advanced_security"), **disabled("secret_scanning", *ALL_ON[2:])}, True
        case "push_protection_off":
            return "private", {**enabled(*ALL_ON[:2]), **disabled("secret_scanning_push_protection")}, True
        case "unlicensed":
            return (
                "private",
                disabled("advanced_security", "code_security", "secret_protection", *ALL_ON[1:]),
                True,
            )
        case "settings_hidden":
            return "private", None, True
        case "public_all_on":
            # a public repository: no licence key, every free feature on
            return "public", enabled(*ALL_ON[1:]), True
    return "private", enabled(*ALL_ON), True


def _setup(repository: str, kind: str) -> CodeScanningSetup:
    configuration, status, configured = SETUP_OF_KIND[kind]
    return CodeScanningSetup(repository, kind, configuration, status, configured)


def _moment(today: date, days: int, hour: int = 9) -> datetime:
    return datetime.combine(today, time(hour), UTC) - timedelta(days=days)


def build_security(
    today: date, rng: random.Random, repositories: list[Any], size: int, org_login: str
) -> tuple[SecurityData, dict[str, set[str]]]:
    """The organisation's security data over its repositories (sandbox.github.model.Repository), and the planted
    cases (case -> resource ids)."""
    data = SecurityData()
    planted: dict[str, set[str]] = {}
    active = [r for r in repositories if not r.archived]
    kinds = list(SECURITY_KINDS)
    for i, repo in enumerate(sorted(repositories, key=lambda r: r.name)):
        kind = "all_on"
        if not repo.archived and not repo.empty and size and i < len(kinds) * 2:
            kind = kinds[i % len(kinds)]
        visibility, settings, alerts_on = _settings(kind)
        data.settings[repo.name] = RepositorySecurity(repo.name, kind, visibility, settings, alerts_on)
        planted.setdefault(f"security_{kind}", set()).add(f"{org_login}/{repo.name}")
    _build_setups(data, repositories, size, planted, org_login)
    if not size:
        return data, planted
    scanned = [r.name for r in active if not r.empty]
    numbers: dict[tuple[str, str], int] = {}

    def alert(
        kind: str, repository: str, state: str, severity: str | None, age: int, closed: int | None = None
    ) -> None:
        numbers[kind, repository] = numbers.get((kind, repository), 0) + 1
        created = _moment(today, age, hour=rng.randint(0, 23))
        closed_at = None if closed is None else created + timedelta(days=closed)
        data.alerts.append(Alert(kind, repository, numbers[kind, repository], state, severity, created, closed_at))

    def can_scan(repository: str, feature: str) -> bool:
        return bool(data.settings[repository].licensed(feature))

    advanced = [r for r in scanned if data.setup_of(r).kind == "advanced_setup"]

    # the planted Dependabot and code-scanning cases, on repositories where the feature runs (code scanning: licensed
    # and set up, by default setup or a workflow of its own)
    dependabot = [r for r in scanned if data.settings[r].vulnerability_alerts]
    code = [
        r
        for r in scanned
        if can_scan(r, "code_security") and SETUP_KINDS[data.setup_of(r).kind] != "fail" and r not in advanced
    ]
    secret = [
        r
        for r in scanned
        if can_scan(r, "secret_protection") and data.settings[r].status("secret_scanning") == "enabled"
    ]
    for severity, sla in SLA_DAYS.items():
        alert("dependabot", dependabot[0], "open", severity, sla + 3)  # past its SLA: fails
        alert("dependabot", dependabot[1], "open", severity, sla - 2)  # within it: passes
        alert("dependabot", dependabot[2], "fixed", severity, sla + 40, closed=sla - 1)  # fixed: not open
    alert("dependabot", dependabot[1], "open", "low", 400)  # no SLA for low: passes
    alert("dependabot", dependabot[2], "dismissed", "critical", 90, closed=2)
    alert("dependabot", dependabot[2], "auto_dismissed", "high", 120, closed=1)
    alert("code_scanning", code[0], "open", "high", 45)  # past the high SLA: fails
    alert("code_scanning", code[1], "open", "critical", 1)
    alert("code_scanning", code[1], "open", None, 300)  # a non-security rule: no security severity, unknown
    alert("code_scanning", code[2], "fixed", "critical", 30, closed=3)
    alert("code_scanning", code[2], "dismissed", "medium", 200, closed=5)
    for repository in advanced:  # its own CodeQL workflow found and fixed something: scanning has run there
        alert("code_scanning", repository, "fixed", "medium", 20, closed=4)
    alert("secret_scanning", secret[0], "open", None, 2)  # an open leaked secret: fails
    alert("secret_scanning", secret[1], "resolved", None, 50, closed=1)
    # the organisation's history: alerts closed within their SLA, and fresh open ones; lists past one page at size
    # 1000
    for _ in range(size // 2):
        alert("dependabot", rng.choice(dependabot), "fixed", rng.choice(list(SLA_DAYS)), rng.randint(10, 400), 3)
    for _ in range(size // 4):
        alert("code_scanning", rng.choice(code), rng.choice(["fixed", "dismissed"]), "medium", rng.randint(5, 300), 2)
    for _ in range(size // 8):
        alert("secret_scanning", rng.choice(secret), "resolved", None, rng.randint(5, 300), 1)
    for _ in range(size // 20):
        alert("dependabot", rng.choice(dependabot), "open", rng.choice(list(SLA_DAYS)), rng.randint(0, 6))
    for alert_ in data.alerts:
        planted.setdefault(f"alert_{alert_.kind}_{alert_.state}", set()).add(f"{org_login}/{alert_.id}")

    # environments: production ones in each protection state, a staging one out of scope
    with_environments = scanned[:6]
    reviewer = ("User", "release-manager")
    cases = [
        [
            Environment(with_environments[0], "production", reviewers=(f"{reviewer[0]}:{reviewer[1]}",)),
            Environment(with_environments[0], "staging"),
        ],
        [Environment(with_environments[1], "production", reviewers=("Team:sre",), can_admins_bypass=True)],
        [Environment(with_environments[2], "prod")],
        [Environment(with_environments[3], "Production", branch_policy="protected_branches", wait_timer=10)],
        [Environment(with_environments[4], "production", branch_policy="custom")],
        [Environment(with_environments[5], "preview"), Environment(with_environments[5], "prod-eu")],
    ]
    if size >= 500:  # more environments than one page holds, production on the second page
        cases.append(
            [Environment(scanned[6], f"preview-{k:03d}") for k in range(130)]
            + [Environment(scanned[6], "production", reviewers=("Team:sre",), branch_policy="protected_branches")]
        )
    for group in cases:
        data.environments += group
    return data, planted


def _build_setups(
    data: SecurityData, repositories: list[Any], size: int, planted: dict[str, set[str]], org_login: str
) -> None:
    """Each repository's code-scanning setup: the planted kinds on the first eligible active repositories, the
    security kinds' own (unlicensed, settings hidden), archived repositories in no configuration."""
    if size:
        data.configurations = list(CONFIGURATIONS)
    kinds = iter(PLANTED_SETUP_KINDS if size else ())
    for repo in sorted(repositories, key=lambda r: r.name):
        security = data.settings[repo.name].kind
        if repo.archived:
            kind = "not_attached"
        elif security in ("unlicensed", "settings_hidden"):
            kind = "unlicensed" if security == "unlicensed" else "hidden_configured"
        elif repo.empty:
            kind = "attached_enabled"
        else:
            kind = next(kinds, "attached_enabled")
        data.setups[repo.name] = _setup(repo.name, kind)
        planted.setdefault(f"code_scanning_{kind}", set()).add(f"{org_login}/{repo.name}")


def default_setup_call(data: SecurityData, repository: str) -> bool:
    """Does the connector need GET /repos/{owner}/{repo}/code-scanning/default-setup for this active repository,
    by GitHub's documented meaning of an attachment: only an `attached` or `enforced` one to a configuration that
    enables (where Code Security is shown licensed) or disables default setup states it."""
    setup = data.setup_of(repository)
    configuration = next((c for c in data.configurations if c.id == setup.configuration), None)
    if configuration is None or setup.status not in ("attached", "enforced"):
        return True
    if configuration.default_setup == "disabled":
        return False
    return (
        configuration.default_setup != "enabled" or data.settings_of(repository).licensed("code_security") is not True
    )


def security_expected(
    org_login: str, today: date, repositories: list[Any], data: SecurityData
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(expected, unknown): each security control's exceptions and undecidable rows, from the planted truth."""
    full = f"{org_login}/"
    active = {r.name for r in repositories if not r.archived}
    settings = {name: s for name, s in data.settings.items() if name in active}
    expected: dict[str, set[str]] = {}
    unknown: dict[str, set[str]] = {}
    expected["cc7_1_github_security_features"] = {
        full + name for name, s in settings.items() if SECURITY_KINDS[s.kind] == "fail"
    }
    unknown["cc7_1_github_security_features"] = {
        full + name for name, s in settings.items() if SECURITY_KINDS[s.kind] == "unknown"
    }
    open_alerts = [a for a in data.alerts if a.state == "open" and a.repository in active]
    expected["cc7_1_github_alerts_within_sla"] = {
        full + a.id
        for a in open_alerts
        if a.kind != "secret_scanning"
        and a.severity in SLA_DAYS
        and (today - a.created_at.date()).days > SLA_DAYS[a.severity]
    }
    unknown["cc7_1_github_alerts_within_sla"] = (
        {full + a.id for a in open_alerts if a.kind == "code_scanning" and a.severity is None}
        | {f"{full}{name}:dependabot" for name, s in settings.items() if not s.vulnerability_alerts}
        | {f"{full}{name}:code_scanning" for name, s in settings.items() if not s.licensed("code_security")}
    )
    expected["cc7_1_github_no_open_secret_alerts"] = {full + a.id for a in open_alerts if a.kind == "secret_scanning"}
    unknown["cc7_1_github_no_open_secret_alerts"] = {
        full + name
        for name, s in settings.items()
        if not s.licensed("secret_protection") or s.status("secret_scanning") != "enabled"
    }
    production = [e for e in data.environments if e.production and e.repository in active]
    expected["cc8_1_github_production_environments"] = {full + e.id for e in production if e.verdict == "fail"}
    unknown["cc8_1_github_production_environments"] = set()
    setups = {name: data.setup_of(name) for name in active}
    expected["cc7_1_github_code_scanning_enabled"] = {
        full + name for name, setup in setups.items() if SETUP_KINDS[setup.kind] == "fail"
    }
    unknown["cc7_1_github_code_scanning_enabled"] = {
        full + name for name, setup in setups.items() if SETUP_KINDS[setup.kind] == "unknown"
    }
    return expected, unknown
