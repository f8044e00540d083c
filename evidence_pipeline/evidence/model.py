"""What evidence is made of: the plain data the daily bundle, the period export and their renderings read.

A leaf of the evidence package: it imports no writer and no renderer, so `render/` (report, workbook, OSCAL) reads
these and nothing else, and `daily.py` and `period.py` fill them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from evidence_pipeline.catalogue import Control
from evidence_pipeline.claims import PromiseCoverage, TrustPage, coverage
from evidence_pipeline.organisation import Profile

STATUSES = ("pass", "fail", "unknown", "waived")
#: exceptions a summary (`evaluate.load_summary`) holds, as many as the report shows; the bundle's exceptions.csv
#: has all
EXCEPTIONS_IN_SUMMARY = 100

#: the columns of a control's population.csv and exceptions.csv
POPULATION_COLUMNS = [
    "resource_id",
    "resource_name",
    "resource_url",
    "status",
    "reason",
    "failure",
    "remediation",
    "details",
]
WAIVER_COLUMNS = ["control", "resource", "reason", "approver", "expires", "active_on_snapshot_date"]
#: a period export's exceptions.csv: one exception episode a row
EXCEPTION_COLUMNS = [
    "resource_id",
    "resource_name",
    "first_seen",
    "last_seen",
    "resolved_on",
    "resolution",
    "days_open",
    "days_failing",
    "last_status",
    "last_reason",
]
#: a period export's daily.csv: one day of a control a row
DAILY_COLUMNS = [
    "date",
    "verdict",
    "population",
    "pass",
    "fail",
    "unknown",
    "waived",
    "pass_rate",
    "reason",
    "sql_sha256",
]


def collected_at(finished_at: Iterable[str | None]) -> datetime:
    """The moment evidence is of: when its last source finished collecting (now, to the second, when none has a
    time). The workbook's creation time and the OSCAL results' start say the same."""
    times = [datetime.fromisoformat(t) for t in finished_at if t]
    return max(
        (t if t.tzinfo else t.replace(tzinfo=UTC) for t in times), default=datetime.now(UTC).replace(microsecond=0)
    )


@dataclass
class ControlOutcome:
    control: Control
    snapshot_date: date
    verdict: str
    reason: str
    #: the population, one row per resource; empty in a summary (`load_summary`): its rows stay in the warehouse
    rows: list[dict[str, Any]]
    parameters: dict[str, Any]
    sources: list[dict[str, Any]]
    reconciliation: list[str] = field(default_factory=list)
    #: the population's size and count per status (from `rows` unless given)
    counts: dict[str, int] = field(default_factory=dict)
    #: the rows that did not pass: every one when `rows` holds the population, else the first EXCEPTIONS_IN_SUMMARY
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    #: why the control's SQL could not be judged (it failed, or returned rows without a valid status or reason)
    error: str | None = None

    def __post_init__(self) -> None:
        if not self.counts:
            tally = Counter(r["status"] for r in self.rows)
            self.counts = {"population": len(self.rows), **{s: tally.get(s, 0) for s in STATUSES}}
        if not self.exceptions:
            self.exceptions = [r for r in self.rows if r["status"] != "pass"]

    def count(self, status: str) -> int:
        return self.counts[status]

    @property
    def exception_count(self) -> int:
        return self.counts["population"] - self.counts["pass"]

    def remediation_for(self, row: dict[str, Any]) -> str:
        return self.control.remediation.get(row.get("failure") or "", self.control.remediation.get("default", ""))

    def summary(self) -> dict[str, Any]:
        """The control's result.json: what was checked, how, and what came out."""
        control = self.control
        return {
            "control_id": control.id,
            "title": control.title,
            "criteria": control.criteria,
            "claims": [c.model_dump() for c in control.claims],
            "owner": control.owner,
            "frequency": control.frequency,
            "severity": control.severity,
            "snapshot_date": self.snapshot_date.isoformat(),
            "verdict": self.verdict,
            "reason": self.reason,
            "error": self.error,
            **self.counts,
            "sql_sha256": control.sql_sha256,
            "parameters": {k: str(v) if isinstance(v, date) else v for k, v in self.parameters.items()},
            "scope": control.scope,
            "procedure": control.procedure.model_dump() if control.procedure else None,
            "sources": self.sources,
            "reconciliation": self.reconciliation,
            "remediation": control.remediation,
        }


@dataclass
class DailyEvidence:
    """What the report, workbook and OSCAL renderings of one day are made from."""

    snapshot_date: date
    run_id: str
    outcomes: list[ControlOutcome]
    #: "<source>.<dataset>" -> status, provenance summary, records_in_bundle, freshness
    sources: dict[str, dict[str, Any]]
    #: control id -> structured reconciliation (see `daily.reconcile`)
    reconciliation: dict[str, list[dict[str, Any]]]
    waivers: list[dict[str, Any]] = field(default_factory=list)
    waivers_sha256: str | None = None
    controls_map_sha256: str = ""
    signing_key_id: str | None = None
    #: the user's trust page the report's coverage table is made from (the catalogue's), None without one
    trust_page: TrustPage | None = None
    #: the organisation profile the report names (organisation.yaml); None: the renderings read the configured one
    profile: Profile | None = None
    #: "<source>.<dataset>" -> the parameters of its collection (provenance.json): what the report's scope shows
    collection_parameters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def verdicts(self) -> dict[str, str]:
        return {o.control.id: o.verdict for o in self.outcomes}

    def promise_coverage(self) -> list[PromiseCoverage]:
        """Each promise of the trust page, evidenced / failing / not evidenced by the day's verdicts."""
        if self.trust_page is None:
            return []
        return coverage(self.trust_page, self.verdicts(), {o.control.id: o.reason for o in self.outcomes})


def period_verdict(stats: dict[str, Any]) -> str:
    """A control's verdict over a period (`PeriodEvidence.control_stats`): it fails if it failed on any day; it passes
    only if it passed on every day of the period; a day unknown or without a snapshot leaves it unknown (never a pass
    on missing days)."""
    if stats["days_fail"]:
        return "fail"
    if stats["days_evaluated"] and stats["days_pass"] == stats["days_evaluated"] and not stats.get("days_missing"):
        return "pass"
    return "unknown"


@dataclass(frozen=True)
class PeriodControl:
    id: str
    title: str
    criteria: list[str]
    frequency: str
    scope: str
    #: the control's owner key and written test procedure, as its daily results state them (older bundles: none)
    owner: str = ""
    procedure: dict[str, str] | None = None


@dataclass
class PeriodEvidence:
    start: date
    end: date
    days: list[date]
    missing_days: list[date]
    controls: list[PeriodControl]
    #: control id -> one entry per day of the period (verdict "missing" on days without it)
    daily: dict[str, list[dict[str, Any]]]
    #: control id -> every population row of every day, with its snapshot_date
    population: dict[str, list[dict[str, Any]]]
    #: control id -> exception episodes (first seen .. resolved)
    exceptions: dict[str, list[dict[str, Any]]]
    control_stats: dict[str, dict[str, Any]]
    #: one entry per day and dataset: collection status, counts, hashes, the bundle it came from
    provenance: list[dict[str, Any]]
    #: the daily bundles the period was built from
    snapshots: list[dict[str, Any]]
    pseudonymization_note: str = "not pseudonymized"
    pseudonymization: dict[str, Any] | None = None
    controls_map_sha256: list[str] = field(default_factory=list)
    #: the verified daily chain the period was read from: its signers, whether the key was pinned, its head
    daily_chain: dict[str, Any] = field(default_factory=dict)
    #: unsigned daily bundles read (only with require_signature=False, i.e. --allow-unsigned)
    unsigned_inputs: list[str] = field(default_factory=list)
    allow_unsigned: bool = False
    #: as in DailyEvidence; collection_parameters holds every day's collection of each dataset
    trust_page: TrustPage | None = None
    profile: Profile | None = None
    collection_parameters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: the attestations and access-review campaigns the bundles' raw records list (evidence/human_processes.py)
    human_processes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def verdicts(self) -> dict[str, str]:
        """Each control's verdict over the whole period (`period_verdict`)."""
        return {c.id: period_verdict(self.control_stats[c.id]) for c in self.controls}

    def reasons(self) -> dict[str, str]:
        """Why a control is unknown over the period."""
        return {
            control_id: f"{self.control_stats[control_id]['days_unknown']} days unknown, "
            f"{self.control_stats[control_id].get('days_missing', 0)} days without a snapshot"
            for control_id, verdict in self.verdicts().items()
            if verdict == "unknown"
        }

    def promise_coverage(self) -> list[PromiseCoverage]:
        """Each promise of the trust page (the newest bundle's), judged by the controls' verdicts over the period."""
        if self.trust_page is None:
            return []
        return coverage(self.trust_page, self.verdicts(), self.reasons())
