"""The sandbox organisation's GitHub security and delivery side: each repository's security settings (some
features off, one repository without an Advanced Security licence, one whose settings GitHub hides from the caller),
Dependabot, code-scanning and secret-scanning alerts of every state (some open past their severity's SLA) and
environments with and without protection rules, with the verdict each control must reach."""

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

    # the planted Dependabot and code-scanning cases, on repositories where the feature runs
    dependabot = [r for r in scanned if data.settings[r].vulnerability_alerts]
    code = [r for r in scanned if can_scan(r, "code_security")]
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
    return expected, unknown
