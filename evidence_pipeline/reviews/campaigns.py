"""Quarterly access-review campaigns: a population frozen from a verified daily bundle, a reviewer for every account,
packets out, decisions back, all of it a signed chain of bundles under <evidence>/campaigns/.

A campaign starts from a day's evidence: the whole daily chain is verified first (as an export does), then the
population of the scope's control (`population.csv` of cc6_3_privileged_access_review, or of
cc6_2_accounts_have_owner for every account) is frozen with the bundle's manifest hash and the population's own
SHA-256, and each account gets a reviewer from the same bundle's HR roster and identity map. Returned packets are
accepted only whole: a row of another reviewer, another campaign or population, a decision outside keep, revoke,
change, or a revoke/change without a comment refuses the file and nothing is written. A reviewer deciding on their
own account is recorded as a rejected row (the attempt is evidence too); the other rows are accepted. Nothing is
ever rewritten: each import is a bundle of its own, the returned file kept byte for byte, and for an account the
latest accepted decision counts.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.hr.roster import normalize_email
from evidence_pipeline.evidence.chain import MANIFEST, daily_bundles, seal_bundle, series_bundles, sha256_file
from evidence_pipeline.evidence.csv_cells import read_csv, write_csv
from evidence_pipeline.evidence.period import PeriodError, newest_bundle_of_day, verified_daily_chain
from evidence_pipeline.evidence.signing import SigningKey, SigningKeyError, signing_key_for_writing, unsigned_allowed
from evidence_pipeline.evidence.verify import VerificationError, verify_series
from evidence_pipeline.reviews.packets import PacketError, PacketRow, packet_stem, read_packet, write_packet
from evidence_pipeline.settings import Paths

CAMPAIGNS_DIR = "campaigns"
#: the control whose population a scope freezes
SCOPE_CONTROLS = {"privileged": "cc6_3_privileged_access_review", "all": "cc6_2_accounts_have_owner"}
DECISIONS = ("keep", "revoke", "change")
#: decisions that must say why (and what is to change)
COMMENT_REQUIRED = frozenset({"revoke", "change"})
DEFAULT_DUE_DAYS = 14
REVOCATION_WINDOW_DAYS = 5
#: a daily dataset in these states says nothing is missing from the frozen population (a system not configured
#: is named in campaign.json as not reviewed); any other state (failed, stale, not collected) refuses the day
USABLE_SOURCE_STATES = frozenset({"succeeded", "not_configured", "optional_not_configured"})
START, IMPORT = "campaign_start", "decisions_import"
POPULATION_COLUMNS = [
    "account_key",
    "system",
    "account_id",
    "account_name",
    "person_email",
    "person_manager",
    "approved_owner",
    "approved_kind",
    "privileges",
    "reviewer",
    "reviewer_rule",
]
DECISION_COLUMNS = [
    "campaign_id",
    "account_key",
    "reviewer",
    "decided_by",
    "decision",
    "comment",
    "decided_on",
    "imported_at",
    "status",
    "rejection",
]
SELF_REVIEW = "self-review: decided_by is the account's own person"
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
# The frozen controls' SQL names the account's person in its reason (their population.csv has no column for it):
# cc6_3_privileged_access_review: "...; owner <email> (<HR status>)" or "owner <owner> (approved <kind>)";
# cc6_2_accounts_have_owner: "belongs to <email> (matched by ...)". A `person_email` detail, when a control's SQL
# adds one, is read first.
_PRIVILEGED_OWNER = re.compile(r"(?:^|; )owner (?P<email>[^\s;()]+@[^\s;()]+) \((?P<status>[^)]*)\)")
_BELONGS_TO = re.compile(r"^belongs to (?P<email>[^\s;()]+@[^\s;()]+) \(matched by ")


class CampaignError(ValueError):
    """A campaign cannot be started, imported into or read; one line naming the file, row, field or bundle."""


@dataclass(frozen=True)
class ImportResult:
    campaign_id: str
    reviewer: str
    bundle: Path
    accepted: list[dict[str, Any]]
    #: rows recorded as rejected (self-review), each with its row number in the returned file (`row`)
    rejected: list[dict[str, Any]]
    #: rows of the packet left without a decision (still pending)
    undecided: int


@dataclass(frozen=True)
class ReviewerProgress:
    reviewer: str
    total: int
    decided: int
    overdue: bool


@dataclass(frozen=True)
class CampaignRecord:
    campaign_id: str
    quarter: str
    scope: str
    due: date
    started_at: str
    frozen_day: date
    frozen_bundle: str
    frozen_control: str
    population_sha256: str
    population_count: int
    revocation_window_days: int
    #: where the campaign_start bundle sits in the campaigns series (<id>/v###-...), and its manifest's SHA-256
    bundle: str
    bundle_manifest_sha256: str
    campaign: dict[str, Any]
    population: list[dict[str, str]]
    #: every decision row of every import (accepted and rejected), in chain order, with `import_bundle` and
    #: `import_manifest_sha256`
    decisions: list[dict[str, str]] = field(default_factory=list)
    imports: list[dict[str, Any]] = field(default_factory=list)

    def latest_decisions(self) -> dict[str, dict[str, str]]:
        """Per account, its latest accepted decision (a later import of the same account supersedes)."""
        return {row["account_key"]: row for row in self.decisions if row["status"] == "accepted"}

    def progress(self, today: date) -> list[ReviewerProgress]:
        decided = self.latest_decisions()
        totals: dict[str, list[int]] = {}
        for account in self.population:
            counts = totals.setdefault(account["reviewer"], [0, 0])
            counts[0] += 1
            counts[1] += account["account_key"] in decided
        return [
            ReviewerProgress(reviewer, total, done, today > self.due and done < total)
            for reviewer, (total, done) in sorted(totals.items())
        ]


def campaigns_root(paths: Paths) -> Path:
    return paths.evidence / CAMPAIGNS_DIR


def quarter_bounds(quarter: str) -> tuple[date, date]:
    match = _QUARTER.match(quarter)
    if not match:
        raise CampaignError(f"--quarter {quarter!r}: expected YYYY-QN, e.g. 2026-Q4")
    year, number = int(match.group(1)), int(match.group(2))
    first = date(year, 3 * number - 2, 1)
    following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return first, following - timedelta(days=1)


def _email(value: str, what: str) -> str:
    if not _EMAIL.match(value.strip()):
        raise CampaignError(f"{what}: {value!r} is not an e-mail address")
    return normalize_email(value)


# ---------------------------------------------------------------------------------------------------------------
# Starting a campaign
# ---------------------------------------------------------------------------------------------------------------


def start_campaign(
    paths: Paths,
    quarter: str,
    scope: str,
    due: date | None,
    owner: str | None,
    overrides: dict[str, str],
    frozen_day: date | None,
    *,
    started_by: str | None = None,
    public_key: bytes | None = None,
    require_signature: bool | None = None,
    expect_head: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Freeze the population of a verified daily bundle, assign reviewers, write the packets and seal the campaign's
    first bundle. Returns its path; CampaignError (nothing written) for anything that does not hold."""
    now = now or datetime.now(UTC)
    today = now.date()
    first_day, last_day = quarter_bounds(quarter)
    if scope not in SCOPE_CONTROLS:
        raise CampaignError(f"--scope {scope!r}: expected one of {', '.join(SCOPE_CONTROLS)}")
    if today < first_day:
        raise CampaignError(f"--quarter {quarter}: the quarter begins on {first_day}; a review cannot start before")
    if due is None:  # two weeks on, within the quarter (a review of a quarter already over gets two weeks too)
        two_weeks = today + timedelta(days=DEFAULT_DUE_DAYS)
        due = min(two_weeks, last_day) if today < last_day else two_weeks
    elif due < today:
        raise CampaignError(f"--due {due}: before the campaign's start ({today})")
    owner = _email(owner, "--owner") if owner else None
    overrides = {system: _email(email, f"--reviewer {system}") for system, email in overrides.items()}
    campaign_id = f"{quarter}-{scope}"
    root = campaigns_root(paths)
    if _campaign_bundles(root, campaign_id):
        raise CampaignError(f"campaign {campaign_id} was already started ({root / campaign_id}); it is never restarted")

    bundle = _chosen_daily_bundle(paths.evidence, frozen_day)
    if require_signature is None:
        require_signature = not unsigned_allowed()
    try:
        verified, _ = verified_daily_chain(paths.evidence, {bundle}, public_key, require_signature, expect_head)
    except PeriodError as exc:
        raise CampaignError(str(exc)) from None
    control = SCOPE_CONTROLS[scope]
    accounts, not_reviewed = _frozen_accounts(bundle, control)
    if not accounts:  # an empty population proves nothing: a campaign over it would be complete without a review
        raise CampaignError(
            f"daily bundle {bundle.parent.name}/{bundle.name}: no account in {control}'s population: nothing to review"
        )
    unknown_systems = sorted(set(overrides) - {a["system"] for a in accounts})
    if unknown_systems:
        known = ", ".join(sorted({a["system"] for a in accounts})) or "none"
        raise CampaignError(
            f"--reviewer {unknown_systems[0]}=...: no account of system {unknown_systems[0]!r} in the population "
            f"(its systems: {known})"
        )
    roster = _bundle_records(bundle, "hr", "roster")
    people = {normalize_email(p["email"]): p for p in roster if p.get("email")}
    approved = {
        str(entry["account_key"]).lower(): entry
        for entry in _bundle_records(bundle, "identity", "map")
        if entry.get("kind") not in (None, "alias")
    }
    rows = [_assigned(account, people, approved, overrides, owner) for account in accounts]
    _refuse_unassigned(rows, owner)
    signing_key = _signing_key()

    def write(work: Path) -> dict[str, Any]:
        write_csv(work / "population.csv", POPULATION_COLUMNS, rows)
        population_sha256 = sha256_file(work / "population.csv")
        by_reviewer: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_reviewer.setdefault(row["reviewer"], []).append(row)
        stems = {packet_stem(reviewer) for reviewer in by_reviewer}
        if len(stems) != len(by_reviewer):  # two addresses that differ only in characters a file name cannot hold
            raise CampaignError("two reviewers' packets would have the same file name; give --reviewer overrides")
        (work / "packets").mkdir()
        for reviewer, assigned in sorted(by_reviewer.items()):
            packet = [
                {
                    "campaign_id": campaign_id,
                    "population_sha256": population_sha256,
                    **{k: r[k] for k in ("reviewer", "account_key", "system", "account_name", "person_email")},
                    "privileges": r["privileges"],
                }
                for r in assigned
            ]
            write_packet(work / "packets", packet_stem(reviewer), packet, _instructions(campaign_id, due))
        campaign = {
            "kind": START,
            "campaign_id": campaign_id,
            "quarter": quarter,
            "scope": scope,
            "started_at": now.isoformat(timespec="seconds"),
            "started_by": started_by or owner or f"local user {getpass.getuser()}",
            "owner": owner,
            "due": due.isoformat(),
            "frozen_day": bundle.parent.name,
            "frozen_bundle": f"{bundle.parent.name}/{bundle.name}",
            "frozen_bundle_manifest_sha256": verified[bundle].manifest_sha256,
            "frozen_bundle_signed_by": verified[bundle].signed_by,
            "frozen_control": control,
            "population_sha256": population_sha256,
            "population_count": len(rows),
            "revocation_window_days": REVOCATION_WINDOW_DAYS,
            "reviewer_overrides": overrides,
            "not_reviewed": not_reviewed,
            "reviewers": [
                {"reviewer": reviewer, "accounts": len(assigned), "packet": f"packets/{packet_stem(reviewer)}"}
                for reviewer, assigned in sorted(by_reviewer.items())
            ],
        }
        (work / "campaign.json").write_text(json.dumps(campaign, indent=2, sort_keys=True) + "\n")
        return {
            "kind": START,
            "campaign_id": campaign_id,
            "data_window": {"from": first_day.isoformat(), "to": last_day.isoformat()},
            "population_sha256": population_sha256,
            "frozen_bundle": campaign["frozen_bundle"],
            "frozen_bundle_manifest_sha256": campaign["frozen_bundle_manifest_sha256"],
        }

    def not_started_meanwhile(series: Path) -> list[Path]:
        # asked under the series lock: a second start of the same campaign racing this one is refused here
        if _campaign_bundles(series, campaign_id):
            raise CampaignError(f"campaign {campaign_id} was started meanwhile ({series / campaign_id})")
        return series_bundles(series)

    return _seal(root, campaign_id, write, signing_key, not_started_meanwhile)


def _signing_key() -> SigningKey | None:
    try:
        return signing_key_for_writing("access-review campaign bundle")
    except SigningKeyError as exc:
        raise CampaignError(str(exc)) from None


def _seal(
    root: Path,
    campaign_id: str,
    write: Callable[[Path], dict[str, Any]],
    signing_key: SigningKey | None,
    bundles: Callable[[Path], list[Path]] = series_bundles,
) -> Path:
    try:
        return seal_bundle(root, campaign_id, write, signing_key, bundles)
    except SigningKeyError as exc:
        raise CampaignError(str(exc)) from None


def _campaign_bundles(root: Path, campaign_id: str) -> list[Path]:
    return [b for b in series_bundles(root) if b.parent.name == campaign_id] if root.is_dir() else []


def _chosen_daily_bundle(evidence_root: Path, frozen_day: date | None) -> Path:
    """The day's newest daily bundle (default: the newest day's)."""
    if frozen_day is None:
        days = sorted({b.parent.name for b in daily_bundles(evidence_root)})
        if not days:
            raise CampaignError(f"no daily evidence bundle in {evidence_root}: run a day first (evidence-pipeline run)")
        frozen_day = date.fromisoformat(days[-1])
    bundle = newest_bundle_of_day(evidence_root, frozen_day)
    if bundle is None:
        raise CampaignError(f"--date {frozen_day}: no daily evidence bundle of that day in {evidence_root}")
    return bundle


def _frozen_accounts(bundle: Path, control: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The control's accounts in the bundle, and the systems that stand in it as not evaluated (not configured)."""
    folder = bundle / "controls" / control
    name = f"{bundle.parent.name}/{bundle.name}"
    try:
        result = json.loads((folder / "result.json").read_text())
        with (folder / "population.csv").open(newline="") as handle:
            population = list(read_csv(handle))
    except (OSError, ValueError) as exc:
        raise CampaignError(f"daily bundle {name}: control {control} cannot be read ({exc})") from None
    if result.get("error"):
        raise CampaignError(f"daily bundle {name}: control {control} was not judged ({result['error']}): pick a day")
    for source in result.get("sources") or []:
        if source.get("status") not in USABLE_SOURCE_STATES:
            raise CampaignError(
                f"daily bundle {name}: {source.get('name')} was {source.get('status')} that day, so {control}'s "
                f"population may be incomplete: start the campaign from another day (--date)"
            )
    accounts, not_reviewed = [], []
    for row in population:
        details = json.loads(row.get("details") or "{}")
        system = details.get("system")
        if not system:  # a system whose data was not usable stands in as one row: it has no accounts to review
            not_reviewed.append({"dataset": row["resource_id"], "reason": row.get("reason") or ""})
            continue
        key = row["resource_id"]
        suffix = f" ({system})"
        account_name = row.get("resource_name") or ""
        privileges = details.get("privileges") or []
        accounts.append(
            {
                "account_key": key,
                "system": system,
                "account_id": key.split(":", 1)[1] if ":" in key else key,
                "account_name": account_name.removesuffix(suffix),
                "person_email": _person_of(row.get("reason") or "", details),
                "privileges": ", ".join(map(str, privileges)) if isinstance(privileges, list) else str(privileges),
            }
        )
    return sorted(accounts, key=lambda a: a["account_key"]), not_reviewed


def _person_of(reason: str, details: dict[str, Any]) -> str:
    """The HR person an account resolved to, as the control's row names it ('' when none)."""
    if details.get("person_email"):
        return normalize_email(str(details["person_email"]))
    match = _PRIVILEGED_OWNER.search(reason)
    if match and not match.group("status").startswith("approved"):
        return normalize_email(match.group("email"))
    match = _BELONGS_TO.match(reason)
    return normalize_email(match.group("email")) if match else ""


def _bundle_records(bundle: Path, source: str, dataset: str) -> list[dict[str, Any]]:
    path = bundle / "sources" / source / f"{dataset}.jsonl"
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise CampaignError(
            f"daily bundle {bundle.parent.name}/{bundle.name}: {source}.{dataset} cannot be read ({exc}): reviewers "
            "are assigned from it"
        ) from None


def _assigned(
    account: dict[str, Any],
    people: dict[str, dict[str, Any]],
    approved: dict[str, dict[str, Any]],
    overrides: dict[str, str],
    owner: str | None,
) -> dict[str, Any]:
    """The account's population row with its reviewer: an override for its system, else the approved owner (service
    and break-glass accounts), else the person's manager, else the campaign's owner; never the account's person, and
    never a manager or owner who is not an active person of the roster (the next rule then applies)."""
    person = account["person_email"]
    entry = approved.get(account["account_key"].lower()) or {}
    approved_owner = normalize_email(str(entry["person_email"])) if entry.get("person_email") else ""
    manager_value = (people.get(person) or {}).get("manager") if person else None
    manager = normalize_email(str(manager_value)) if manager_value else ""

    def active(email: str) -> bool:
        return str((people.get(email) or {}).get("status") or "").lower() == "active"

    candidates = [
        (overrides.get(account["system"], ""), f"override {account['system']}"),
        (approved_owner if active(approved_owner) else "", "approved owner"),
        (manager if active(manager) else "", "manager"),
        (owner or "", "fallback owner"),
    ]
    reviewer, rule = next(((c, r) for c, r in candidates if c and c != person), ("", ""))
    return {
        **account,
        "person_manager": manager,
        "approved_owner": approved_owner,
        "approved_kind": entry.get("kind") or "",
        "reviewer": reviewer,
        "reviewer_rule": rule,
    }


def _refuse_unassigned(rows: list[dict[str, Any]], owner: str | None) -> None:
    unassigned = [r for r in rows if not r["reviewer"]]
    if not unassigned:
        return
    first = unassigned[0]
    why = (
        f"the fallback owner {owner} is the account's own person"
        if owner
        else "no active manager or approved owner in the HR roster, and no --owner"
    )
    raise CampaignError(
        f"{len(unassigned)} account(s) have no reviewer other than their own person, e.g. {first['account_key']} "
        f"({why}): give --owner EMAIL (the fallback reviewer) or --reviewer {first['system']}=EMAIL"
    )


def _instructions(campaign_id: str, due: date) -> list[tuple[str, str]]:
    return [
        ("campaign", f"{campaign_id}: decide on every row by {due.isoformat()}, then return this file"),
        ("decision", f"one of {', '.join(DECISIONS)} (empty: not decided yet)"),
        ("comment", "required for revoke and change: why, and what is to change"),
        ("decided_by", "your e-mail (empty: the packet's reviewer); nobody decides on their own account"),
        ("decided_on", "YYYY-MM-DD (empty: the day the file is imported)"),
        ("do not change", "campaign_id, population_sha256, reviewer, account_key: a changed row refuses the file"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Importing a returned packet
# ---------------------------------------------------------------------------------------------------------------


def import_packet(
    paths: Paths, file: Path, imported_by: str | None = None, *, now: datetime | None = None
) -> ImportResult:
    """Check a returned packet whole against its campaign and seal its decisions (self-reviews as rejected rows)."""
    now = now or datetime.now(UTC)
    try:
        data = file.read_bytes()  # read once: the bytes checked are the bytes kept
    except OSError as exc:
        raise CampaignError(f"{file}: cannot be read: {exc.strerror}") from None
    name = file.name
    try:
        rows = read_packet(name, data)
    except PacketError as exc:
        raise CampaignError(str(exc)) from None
    if not rows:
        raise CampaignError(f"{name}: no rows: not a returned packet")
    first = rows[0]
    campaign_id = first.values["campaign_id"]
    root = campaigns_root(paths)
    campaign = next((c for c in read_campaigns(root) if c.campaign_id == campaign_id), None)
    if campaign is None:
        raise CampaignError(f"{name}: row {first.number}: field campaign_id: no campaign {campaign_id!r} in {root}")
    file_sha256 = hashlib.sha256(data).hexdigest()
    earlier = next((i for i in campaign.imports if i.get("file_sha256") == file_sha256), None)
    if earlier is not None:
        raise CampaignError(f"{name}: this very file was already imported ({earlier['bundle']})")
    reviewer = first.values["reviewer"].strip().lower()
    packet = {a["account_key"]: a for a in campaign.population if a["reviewer"] == reviewer}
    if not packet:
        raise CampaignError(f"{name}: row {first.number}: field reviewer: {reviewer!r} has no packet in {campaign_id}")
    imported_at = now.isoformat(timespec="seconds")
    started = date.fromisoformat(campaign.started_at[:10])
    decided: list[tuple[PacketRow, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for row in rows:
        values = row.values
        where = f"{name}: row {row.number}"
        if values["campaign_id"] != campaign_id:
            raise CampaignError(f"{where}: field campaign_id: {values['campaign_id']!r}, not {campaign_id}")
        if values["population_sha256"].lower() != campaign.population_sha256:
            raise CampaignError(
                f"{where}: field population_sha256: {values['population_sha256'] or '(empty)'} is not the frozen "
                f"population of {campaign_id} ({campaign.population_sha256})"
            )
        if values["reviewer"].strip().lower() != reviewer:
            raise CampaignError(f"{where}: field reviewer: {values['reviewer']!r}, not the packet's {reviewer}")
        key = values["account_key"]
        if key not in packet:
            raise CampaignError(f"{where}: field account_key: {key!r} is not in {reviewer}'s packet of {campaign_id}")
        if key in seen:
            raise CampaignError(f"{where}: field account_key: {key} is on row {seen[key]} too")
        seen[key] = row.number
        decision = values["decision"].strip().lower()
        if not decision:
            continue  # not decided yet: the account stays pending
        if decision not in DECISIONS:
            raise CampaignError(f"{where}: field decision: {values['decision']!r} is not one of {', '.join(DECISIONS)}")
        if decision in COMMENT_REQUIRED and not values["comment"]:
            raise CampaignError(f"{where}: field comment: required for {decision} (why, and what is to change)")
        decided_by = _email(values["decided_by"], f"{where}: field decided_by") if values["decided_by"] else reviewer
        decided_on = _decided_on(values["decided_on"], where, started, now.date())
        person = packet[key]["person_email"]
        own = bool(person) and decided_by == person
        decided.append(
            (
                row,
                {
                    "campaign_id": campaign_id,
                    "account_key": key,
                    "reviewer": reviewer,
                    "decided_by": decided_by,
                    "decision": decision,
                    "comment": values["comment"],
                    "decided_on": decided_on.isoformat(),
                    "imported_at": imported_at,
                    "status": "rejected" if own else "accepted",
                    "rejection": SELF_REVIEW if own else "",
                },
            )
        )
    if not decided:
        raise CampaignError(f"{name}: no decision in the file ({len(rows)} row(s), column decision empty)")
    rows_written = [d for _, d in decided]
    bundle = seal_decisions(paths, campaign, reviewer, {name: data}, rows_written, imported_by, imported_at)
    accepted = [d for d in rows_written if d["status"] == "accepted"]
    rejected = [{**d, "row": row.number} for row, d in decided if d["status"] == "rejected"]
    return ImportResult(campaign_id, reviewer, bundle, accepted, rejected, len(rows) - len(decided))


def seal_decisions(
    paths: Paths,
    campaign: CampaignRecord,
    reviewer: str,
    returned: dict[str, bytes],
    decisions: list[dict[str, Any]],
    imported_by: str | None,
    imported_at: str,
    source: dict[str, Any] | None = None,
) -> Path:
    """A decisions_import bundle: what came back, byte for byte (`returned/`; import.json names the first file and
    its hash), decisions.csv (accepted and rejected rows) and import.json (`source`: where the decisions came from,
    when not a packet)."""
    who = _email(imported_by, "--imported-by") if imported_by else f"local user {getpass.getuser()}"
    file_name, data = next(iter(returned.items()))
    signing_key = _signing_key()

    def write(work: Path) -> dict[str, Any]:
        (work / "returned").mkdir()
        for name, content in returned.items():
            (work / "returned" / name).write_bytes(content)
        write_csv(work / "decisions.csv", DECISION_COLUMNS, decisions)
        record = {
            "kind": IMPORT,
            "campaign_id": campaign.campaign_id,
            "population_sha256": campaign.population_sha256,
            "reviewer": reviewer,
            "imported_at": imported_at,
            "imported_by": who,
            "file_name": file_name,
            "file_sha256": hashlib.sha256(data).hexdigest(),
            "accepted": sum(d["status"] == "accepted" for d in decisions),
            "rejected": sum(d["status"] == "rejected" for d in decisions),
            **({"source": source} if source else {}),
        }
        (work / "import.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        quarter_first, quarter_last = quarter_bounds(campaign.quarter)
        return {
            **{k: record[k] for k in ("kind", "campaign_id", "population_sha256", "reviewer", "file_sha256")},
            "data_window": {"from": quarter_first.isoformat(), "to": quarter_last.isoformat()},
            "campaign_bundle": campaign.bundle,
        }

    return _seal(campaigns_root(paths), campaign.campaign_id, write, signing_key)


def _decided_on(value: str, where: str, started: date, today: date) -> date:
    if not value:
        return today
    try:
        day = date.fromisoformat(value[:10]) if re.match(r"^\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise CampaignError(f"{where}: field decided_on: {value!r} is not a date (YYYY-MM-DD)")
    if day > today:
        raise CampaignError(f"{where}: field decided_on: {day} is in the future")
    if day < started:
        raise CampaignError(f"{where}: field decided_on: {day} is before the campaign started ({started})")
    return day


# ---------------------------------------------------------------------------------------------------------------
# Reading the campaigns (the access_reviews source, `review status`)
# ---------------------------------------------------------------------------------------------------------------


def read_campaigns(
    campaigns_root: Path, *, public_key: bytes | None = None, require_signature: bool | None = None
) -> list[CampaignRecord]:
    """Every campaign of the verified chain, with its population and every decision row; CampaignError names the
    bundle when the chain, a bundle or its contents do not hold. No bundle yet: no campaign."""
    if not campaigns_root.is_dir() or not series_bundles(campaigns_root):
        return []
    if require_signature is None:
        require_signature = not unsigned_allowed()
    try:
        chain = verify_series(campaigns_root, public_key, require_signature)
    except VerificationError as exc:
        raise CampaignError(f"the campaign evidence chain in {campaigns_root} does not verify: {exc}") from None
    campaigns: dict[str, CampaignRecord] = {}
    for verified in sorted(chain, key=lambda v: int(v.manifest["sequence"])):
        bundle = verified.bundle
        location = bundle.relative_to(campaigns_root).as_posix()
        kind = verified.manifest.get("kind")
        try:
            if kind == START:
                record = _campaign_record(bundle, location, verified.manifest_sha256, campaigns_root.parent)
                if record.campaign_id in campaigns:
                    raise CampaignError(f"a second {START} of {record.campaign_id}")
                campaigns[record.campaign_id] = record
            elif kind == IMPORT:
                _add_import(campaigns, bundle, location, verified.manifest_sha256)
            else:
                raise CampaignError(f"unknown bundle kind {kind!r}")
        except CampaignError as exc:
            raise CampaignError(f"campaign bundle {location}: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CampaignError(f"campaign bundle {location}: unreadable ({type(exc).__name__}: {exc})") from None
    return list(campaigns.values())


def _campaign_record(bundle: Path, location: str, manifest_sha256: str, evidence_root: Path) -> CampaignRecord:
    campaign = json.loads((bundle / "campaign.json").read_text())
    if campaign["campaign_id"] != bundle.parent.name:
        raise CampaignError(f"campaign.json names {campaign['campaign_id']}, the bundle sits in {bundle.parent.name}")
    if sha256_file(bundle / "population.csv") != campaign["population_sha256"]:
        raise CampaignError("population.csv is not the population campaign.json records")
    frozen = evidence_root / campaign["frozen_bundle"] / MANIFEST
    # the daily bundle the population came from, where it is still here, must be the one frozen
    if frozen.is_file() and sha256_file(frozen) != campaign["frozen_bundle_manifest_sha256"]:
        raise CampaignError(f"the daily bundle {campaign['frozen_bundle']} is not the one frozen (manifest differs)")
    with (bundle / "population.csv").open(newline="") as handle:
        population = list(read_csv(handle))
    return CampaignRecord(
        campaign_id=campaign["campaign_id"],
        quarter=campaign["quarter"],
        scope=campaign["scope"],
        due=date.fromisoformat(campaign["due"]),
        started_at=campaign["started_at"],
        frozen_day=date.fromisoformat(campaign["frozen_day"]),
        frozen_bundle=campaign["frozen_bundle"],
        frozen_control=campaign["frozen_control"],
        population_sha256=campaign["population_sha256"],
        population_count=int(campaign["population_count"]),
        revocation_window_days=int(campaign["revocation_window_days"]),
        bundle=location,
        bundle_manifest_sha256=manifest_sha256,
        campaign=campaign,
        population=population,
    )


def _add_import(campaigns: dict[str, CampaignRecord], bundle: Path, location: str, manifest_sha256: str) -> None:
    record = json.loads((bundle / "import.json").read_text())
    campaign = campaigns.get(record["campaign_id"])
    if campaign is None or record["campaign_id"] != bundle.parent.name:
        raise CampaignError(f"decisions for {record['campaign_id']}, which no earlier bundle of this folder starts")
    if record["population_sha256"] != campaign.population_sha256:
        raise CampaignError(f"decisions for another population than {campaign.campaign_id}'s")
    with (bundle / "decisions.csv").open(newline="") as handle:
        rows = list(read_csv(handle))
    campaign.decisions.extend({**r, "import_bundle": location, "import_manifest_sha256": manifest_sha256} for r in rows)
    campaign.imports.append({**record, "bundle": location, "manifest_sha256": manifest_sha256})
