"""Evaluate one control for one day. Checking code: reads the warehouse, never an API.

The control's SQL returns one row per in-scope resource with `status` and `reason`.
A source that failed, was not configured or was not collected that day makes the
control *unknown* (never pass), and the verdict says which source and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from evidence_pipeline.catalogue import Catalogue, Control
from warehouse import Warehouse

STATUSES = ("pass", "fail", "unknown", "waived")
ROW_COLUMNS = ("resource_id", "resource_name", "resource_url", "status", "reason", "failure")


@dataclass
class ControlOutcome:
    control: Control
    snapshot_date: date
    verdict: str
    reason: str
    rows: list[dict[str, Any]]
    parameters: dict[str, Any]
    sources: list[dict[str, Any]]
    reconciliation: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)

    @property
    def counts(self) -> dict[str, int]:
        return {"population": len(self.rows), **{s: self.count(s) for s in STATUSES}}

    @property
    def exceptions(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] != "pass"]

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
            **self.counts,
            "sql_sha256": control.sql_sha256,
            "parameters": {k: str(v) if isinstance(v, date) else v for k, v in self.parameters.items()},
            "scope": control.scope,
            "sources": self.sources,
            "reconciliation": self.reconciliation,
            "remediation": control.remediation,
        }


def source_states(warehouse: Warehouse, datasets: list[str], snapshot_date: date) -> list[dict[str, Any]]:
    """The latest collection attempt of each dataset that day (or 'not_collected')."""
    rows = warehouse.query(
        "SELECT source || '.' || dataset AS name, status, error, record_count, finished_at, source_timestamp "
        "FROM source_status WHERE snapshot_date = ?", [snapshot_date])
    latest = {r["name"]: r for r in rows}
    states = []
    for name in datasets:
        row = latest.get(name) or {"name": name, "status": "not_collected", "error": None, "record_count": None,
                                   "finished_at": None, "source_timestamp": None}
        states.append({**row, "finished_at": str(row["finished_at"]) if row["finished_at"] else None})
    return states


def evaluate_control(warehouse: Warehouse, catalogue: Catalogue, control: Control, snapshot_date: date,
                     run_id: str) -> ControlOutcome:
    parameters = control.sql_parameters(snapshot_date, catalogue.defaults)
    sources = source_states(warehouse, control.sources, snapshot_date)
    unusable = [s for s in sources if s["status"] != "succeeded"]
    if unusable:
        why = "; ".join(_why_unusable(s) for s in unusable)
        outcome = ControlOutcome(control, snapshot_date, "unknown", f"cannot evaluate: {why}", [], parameters,
                                 sources)
    else:
        rows = [_normalise(control, r) for r in warehouse.query(control.sql, parameters)]
        rows.sort(key=lambda r: r["resource_id"])
        outcome = ControlOutcome(control, snapshot_date, *_verdict(control, rows), rows, parameters, sources)
    outcome.reconciliation = _reconciliation(outcome)
    _store(warehouse, outcome, run_id)
    return outcome


def _why_unusable(state: dict[str, Any]) -> str:
    match state["status"]:
        case "not_configured":
            return f"{state['name']} is not configured"
        case "not_collected":
            return f"{state['name']} was not collected for this day"
        case _:
            return f"{state['name']} {state['status']}: {state['error'] or 'no error recorded'}"


def _normalise(control: Control, row: dict[str, Any]) -> dict[str, Any]:
    status = str(row.get("status") or "").lower()
    if status not in STATUSES:
        raise ValueError(f"control {control.id!r}: SQL returned status {row.get('status')!r} for "
                         f"{row.get('resource_id')!r}; expected one of {', '.join(STATUSES)}")
    clean = {c: (None if row.get(c) is None else str(row[c])) for c in ROW_COLUMNS}
    clean["status"] = status
    clean["details"] = {k: v for k, v in row.items() if k not in ROW_COLUMNS}
    return clean


def _verdict(control: Control, rows: list[dict[str, Any]]) -> tuple[str, str]:
    failed = sum(r["status"] == "fail" for r in rows)
    unknown = sum(r["status"] == "unknown" for r in rows)
    if failed:
        return "fail", f"{failed} of {len(rows)} {control.scope} fail"
    if unknown:
        return "unknown", f"{unknown} of {len(rows)} {control.scope} could not be evaluated"
    if not rows:
        if control.empty_population == "pass":
            return "pass", f"no {control.scope} in scope"
        return "unknown", f"no {control.scope} found: empty evidence is not proof"
    return "pass", f"all {len(rows)} {control.scope} pass"


def _store(warehouse: Warehouse, outcome: ControlOutcome, run_id: str) -> None:
    control, day = outcome.control, outcome.snapshot_date
    counts = outcome.counts
    with warehouse.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM control_results WHERE snapshot_date = ? AND control_id = ?", [day, control.id])
            con.execute("DELETE FROM control_verdicts WHERE snapshot_date = ? AND control_id = ?", [day, control.id])
            if outcome.rows:
                con.executemany(
                    "INSERT INTO control_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[day, control.id, run_id, r["resource_id"], r["resource_name"], r["resource_url"], r["status"],
                      r["reason"], json.dumps({**r["details"], "failure": r["failure"]}, default=str)]
                     for r in outcome.rows],
                )
            con.execute(
                "INSERT INTO control_verdicts (snapshot_date, control_id, run_id, verdict, reason, population, passed, "
                "failed, unknown, waived, sql_sha256, parameters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [day, control.id, run_id, outcome.verdict, outcome.reason, counts["population"], counts["pass"],
                 counts["fail"], counts["unknown"], counts["waived"], control.sql_sha256,
                 json.dumps(outcome.parameters, default=str)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def load_outcome(warehouse: Warehouse, catalogue: Catalogue, control: Control, snapshot_date: date) -> ControlOutcome:
    """The stored result of a day's evaluation (the snapshot re-reads, it never re-evaluates)."""
    verdicts = warehouse.query("SELECT verdict, reason, parameters, sql_sha256 FROM control_verdicts "
                               "WHERE snapshot_date = ? AND control_id = ?", [snapshot_date, control.id])
    sources = source_states(warehouse, control.sources, snapshot_date)
    if not verdicts:
        return ControlOutcome(control, snapshot_date, "unknown", "not evaluated for this day", [], {}, sources)
    stored = verdicts[0]
    if stored["sql_sha256"] != control.sql_sha256:
        return ControlOutcome(control, snapshot_date, "unknown", "evaluated with different SQL than the catalogue "
                              "now holds; re-materialize the control", [], {}, sources)
    rows = warehouse.query(
        "SELECT resource_id, resource_name, resource_url, status, reason, details FROM control_results "
        "WHERE snapshot_date = ? AND control_id = ? ORDER BY resource_id", [snapshot_date, control.id])
    for row in rows:
        details = json.loads(row["details"]) if row["details"] else {}
        row["failure"] = details.pop("failure", None)
        row["details"] = details
    outcome = ControlOutcome(control, snapshot_date, stored["verdict"], stored["reason"], rows,
                             json.loads(stored["parameters"] or "{}"), sources)
    outcome.reconciliation = _reconciliation(outcome)
    return outcome


def _reconciliation(outcome: ControlOutcome) -> list[str]:
    return [
        f"{s['name']}: {s['record_count'] if s['record_count'] is not None else 'no'} records collected -> "
        f"{len(outcome.rows)} in the population ({outcome.control.scope})" for s in outcome.sources
    ]
