"""OSCAL assessment results (JSON): the bundle for GRC tools.

One OSCAL `result` per evidence day; per control an observation (what was tested, the population, the counts,
links to the population/exception CSVs and the query) and a finding whose target is the control with state
satisfied / not-satisfied. OSCAL has no "unknown": a control that could not be evaluated is *not satisfied*
with reason `other` and says why — never satisfied.

The plan side of OSCAL (an assessment plan) is our controls_map.yaml; `import-ap` points at it by hash. The
document is plain JSON built here; the tests validate it against compliance-trestle's OSCAL models.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from evidence_pipeline import __version__
from evidence_pipeline.evidence.model import DailyEvidence, PeriodEvidence

OSCAL_VERSION = "1.1.2"
#: properties we define ourselves are qualified by this namespace, as OSCAL requires for non-NIST names
NAMESPACE = "https://github.com/evidence-pipeline/evidence-pipeline/ns/oscal"
#: stable UUIDs (v5) from names, so the same control on the same day has the same identifier in every export
UUID_NAMESPACE = uuid.UUID("5f1d7c1e-3a8b-4c55-9a62-0b0d8f7f2a41")


def stable_uuid(*parts: object) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass
class ControlResult:
    control_id: str
    title: str
    criteria: list[str]
    verdict: str
    reason: str
    counts: dict[str, int]
    sql_sha256: str
    evidence: list[tuple[str, str]] = field(default_factory=list)  # (href, description)


@dataclass
class DayResult:
    day: date
    controls: list[ControlResult]
    collected: datetime


def _prop(name: str, value: object) -> dict[str, str]:
    text = " ".join(str(value).split()) or "none"
    return {"name": name, "ns": NAMESPACE, "value": text}


def _day_bounds(day: date) -> tuple[str, str]:
    start = datetime.combine(day, time.min, UTC)
    end = datetime.combine(day, time(23, 59, 59), UTC)
    return start.isoformat(), end.isoformat()


def _result(day_result: DayResult, series: str) -> dict[str, Any]:
    day = day_result.day
    start, end = _day_bounds(day)
    observations, findings = [], []
    for control in day_result.controls:
        observation_uuid = stable_uuid(series, day, control.control_id, "observation")
        counts = control.counts
        observations.append(
            {
                "uuid": observation_uuid,
                "title": f"{control.control_id} on {day}",
                "description": f"{control.title}. Verdict {control.verdict}: {control.reason}",
                "methods": ["TEST"],
                "types": ["control-objective"],
                "props": [
                    _prop("verdict", control.verdict),
                    _prop("criteria", ", ".join(control.criteria)),
                    _prop("population", counts.get("population", 0)),
                    _prop("passed", counts.get("pass", 0)),
                    _prop("failed", counts.get("fail", 0)),
                    _prop("unknown", counts.get("unknown", 0)),
                    _prop("waived", counts.get("waived", 0)),
                    _prop("sql-sha256", control.sql_sha256),
                ],
                "origins": [{"actors": [{"type": "tool", "actor-uuid": stable_uuid("tool", "evidence-pipeline")}]}],
                "relevant-evidence": [
                    {"href": href, "description": description} for href, description in control.evidence
                ]
                or None,
                "collected": day_result.collected.isoformat(),
            }
        )
        if observations[-1]["relevant-evidence"] is None:
            del observations[-1]["relevant-evidence"]
        satisfied = control.verdict == "pass"
        findings.append(
            {
                "uuid": stable_uuid(series, day, control.control_id, "finding"),
                "title": f"{control.control_id}: {control.verdict}",
                "description": control.reason,
                "props": [_prop("criteria", ", ".join(control.criteria))],
                "target": {
                    "type": "objective-id",
                    "target-id": control.control_id,
                    "title": control.title,
                    "status": {
                        "state": "satisfied" if satisfied else "not-satisfied",
                        "reason": {"pass": "pass", "fail": "fail"}.get(control.verdict, "other"),
                        **(
                            {"remarks": f"could not be evaluated: {control.reason}"}
                            if control.verdict == "unknown"
                            else {}
                        ),
                    },
                },
                "related-observations": [{"observation-uuid": observation_uuid}],
            }
        )
    selections = [{"control-id": c.control_id} for c in day_result.controls]
    return {
        "uuid": stable_uuid(series, day, "result"),
        "title": f"SOC 2 evidence for {day}",
        "description": f"Automated tests of {len(day_result.controls)} controls against the systems' own data "
        f"collected for {day}.",
        "start": start,
        "end": end,
        "reviewed-controls": {"control-selections": [{"include-controls": selections}]}
        if selections
        else {"control-selections": [{"include-all": {}}]},
        **({"observations": observations, "findings": findings} if observations else {}),
    }


def assessment_results(
    title: str, version: str, days: list[DayResult], plan_remarks: str, series: str
) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    return {
        "assessment-results": {
            "uuid": stable_uuid(series, "assessment-results", version),
            "metadata": {
                "title": title,
                "last-modified": now,
                "version": version,
                "oscal-version": OSCAL_VERSION,
                "props": [_prop("tool", f"evidence-pipeline {__version__}")],
            },
            "import-ap": {"href": "#controls_map.yaml", "remarks": plan_remarks},
            "results": [_result(day, series) for day in days],
        }
    }


def daily_assessment_results(evidence: DailyEvidence) -> dict[str, Any]:
    collected = max(
        (datetime.fromisoformat(s["finished_at"]) for s in evidence.sources.values() if s.get("finished_at")),
        default=datetime.now(UTC),
    )
    controls = [
        ControlResult(
            control_id=o.control.id,
            title=o.control.title,
            criteria=o.control.criteria,
            verdict=o.verdict,
            reason=o.reason,
            counts=o.counts,
            sql_sha256=o.control.sql_sha256,
            evidence=[
                (f"controls/{o.control.id}/population.csv", "the population, one row per resource with its status"),
                (f"controls/{o.control.id}/exceptions.csv", "the rows that did not pass, with remediation"),
                (f"controls/{o.control.id}/query.sql", "the query that produced the population"),
            ],
        )
        for o in evidence.outcomes
    ]
    day = evidence.snapshot_date.isoformat()
    return assessment_results(
        f"SOC 2 evidence snapshot {day}",
        day,
        [DayResult(evidence.snapshot_date, controls, collected)],
        f"The assessment plan is controls_map.yaml (SHA-256 {evidence.controls_map_sha256}) in this bundle's "
        f"manifest; each control's query is in controls/<id>/query.sql.",
        series="daily",
    )


def period_assessment_results(period: PeriodEvidence) -> dict[str, Any]:
    """One OSCAL result per day that has a snapshot; days without one are named in the plan remarks."""
    days = []
    for snapshot in period.snapshots:
        day = date.fromisoformat(snapshot["date"])
        controls = []
        for control in period.controls:
            entry = next(d for d in period.daily[control.id] if d["date"] == snapshot["date"])
            if entry["verdict"] == "missing":
                continue
            controls.append(
                ControlResult(
                    control_id=control.id,
                    title=control.title,
                    criteria=control.criteria,
                    verdict=entry["verdict"],
                    reason=entry["reason"] or entry["verdict"],
                    counts={k: entry[k] for k in ("population", "pass", "fail", "unknown", "waived")},
                    sql_sha256=entry["sql_sha256"] or "unknown",
                    evidence=[
                        (
                            f"controls/{control.id}/population.csv",
                            "the period's population, one row per day and resource",
                        ),
                        (f"controls/{control.id}/exceptions.csv", "exceptions with the day first seen and resolved"),
                    ],
                )
            )
        days.append(DayResult(day, controls, datetime.combine(day, time(23, 59, 59), UTC)))
    missing = ", ".join(d.isoformat() for d in period.missing_days) or "none"
    return assessment_results(
        f"SOC 2 evidence {period.start} to {period.end}",
        f"{period.start}--{period.end}",
        days,
        f"The assessment plan is controls_map.yaml (SHA-256 {', '.join(period.controls_map_sha256)}). Days "
        f"without an evidence snapshot: {missing}.",
        series="period",
    )
