"""evidence.xlsx: the bundle for spreadsheets. A summary sheet, one sheet per control (its population with each
row's status and reason), a reconciliation sheet and a provenance sheet.

Written by the streaming writer in xlsx.py: rows go to disk as they are written, so a population of 20,000 accounts
per control costs seconds and no memory. Text is always written as text, never as a formula: a resource named
"=HYPERLINK(...)" in a source system must not become live content in the auditor's spreadsheet; only a resource's
URL becomes a link, and only when it is a plain http(s) URL (`xlsx.hyperlink_target`). Every sheet has its columns
fitted, an autofilter, a frozen header and a page setup that prints all its columns on the width of a page; the
document properties carry counts, dates and hashes, never a person's name.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evidence_pipeline import __version__
from evidence_pipeline.evidence.csv_cells import read_csv
from evidence_pipeline.evidence.model import DailyEvidence, PeriodEvidence, collected_at
from evidence_pipeline.evidence.xlsx import SHEET_NAME_LIMIT, DocumentProperties, Workbook
from evidence_pipeline.text import counted

SUMMARY_SHEET = "Summary"
PROVENANCE_SHEET = "Provenance"
RECONCILIATION_SHEET = "Reconciliation"
CONTROL_COLUMNS = ["resource_id", "resource_name", "resource_url", "status", "reason", "failure", "remediation"]
#: the control sheets' column whose http(s) URLs become hyperlinks (a resource's page in its source system)
LINK_COLUMNS = ("resource_url",)
FILLS = {"pass": "#C8E6C9", "fail": "#FFCDD2", "unknown": "#E0E0E0", "waived": "#FFE0B2", "missing": "#FFCDD2"}


def sheet_name(control_id: str, taken: set[str]) -> str:
    """Excel allows 31 characters; keep ids readable and unique."""
    name = control_id[:SHEET_NAME_LIMIT]
    counter = 2
    while name.lower() in taken:
        suffix = f"~{counter}"
        name = control_id[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        counter += 1
    taken.add(name.lower())
    return name


def _cell(value: Any) -> Any:
    """Structured values (a control's parameters) as JSON text; everything else as it is."""
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value


def _verdict_counts(verdicts: Iterable[str]) -> str:
    tally = Counter(verdicts)
    return ", ".join(f"{tally[v]} {v}" for v in ("pass", "fail", "unknown", "waived") if tally[v])


def _daily_properties(evidence: DailyEvidence) -> DocumentProperties:
    """Counts, dates and hashes only: nothing personal (no author, no resource, no person's name)."""
    day = evidence.snapshot_date.isoformat()
    outcomes = evidence.outcomes
    return DocumentProperties(
        title=f"SOC 2 evidence — {day}",
        subject="Daily control evidence: verdicts, each control's population, reconciliation and provenance",
        creator=f"evidence-pipeline {__version__}",
        created=collected_at(s.get("finished_at") for s in evidence.sources.values()),
        keywords=["SOC 2", "evidence", day, *sorted({c for o in outcomes for c in o.control.criteria})],
        description=(
            f"Snapshot {day} (run {evidence.run_id}): {counted(len(outcomes), 'control')}"
            + (f", {_verdict_counts(o.verdict for o in outcomes)}" if outcomes else "")
            + f". Controls map sha256 {evidence.controls_map_sha256 or 'not recorded'}."
        ),
    )


def _period_properties(period: PeriodEvidence) -> DocumentProperties:
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    return DocumentProperties(
        title=f"SOC 2 evidence — {span}",
        subject="Period control evidence: daily verdicts, exceptions, populations and provenance",
        creator=f"evidence-pipeline {__version__}",
        created=collected_at(e.get("finished_at") for e in period.provenance),
        keywords=["SOC 2", "evidence", "period", *sorted({c for control in period.controls for c in control.criteria})],
        description=(
            f"Period {span}: {counted(len(period.controls), 'control')}, "
            f"{counted(len(period.days) - len(period.missing_days), 'day')} with a snapshot, "
            f"{len(period.missing_days)} without; "
            + ("pseudonymized." if period.pseudonymization is not None else "not pseudonymized.")
        ),
    )


def ready() -> None:
    """Nothing: submitted first to a process of its own, it gets that process started and this module imported."""


def write_daily(evidence: DailyEvidence, path: Path, controls: Path) -> None:
    """The day's workbook; each control's sheet is its `controls/<id>/population.csv`, read as it is written."""
    book = Workbook(path, FILLS, _daily_properties(evidence))
    taken = {SUMMARY_SHEET.lower(), PROVENANCE_SHEET.lower(), RECONCILIATION_SHEET.lower()}
    sheets = {o.control.id: sheet_name(o.control.id, taken) for o in evidence.outcomes}
    summary = book.sheet(
        SUMMARY_SHEET,
        [
            "control_id",
            "sheet",
            "title",
            "criteria",
            "claim",
            "verdict",
            "reason",
            "population",
            "pass",
            "fail",
            "unknown",
            "waived",
            "snapshot_date",
            "sql_sha256",
            "parameters",
        ],
    )
    for outcome in evidence.outcomes:
        control, counts = outcome.control, outcome.counts
        book.append(
            summary,
            [
                control.id,
                sheets[control.id],
                control.title,
                ", ".join(control.criteria),
                control.claims[0].quote if control.claims else "",
                outcome.verdict,
                outcome.reason,
                counts["population"],
                counts["pass"],
                counts["fail"],
                counts["unknown"],
                counts["waived"],
                evidence.snapshot_date.isoformat(),
                control.sql_sha256,
                _cell({k: str(v) for k, v in outcome.parameters.items()}),
            ],
            fill_column=5,
        )
    for outcome in evidence.outcomes:
        sheet = book.sheet(sheets[outcome.control.id], CONTROL_COLUMNS, link_columns=LINK_COLUMNS)
        with (controls / outcome.control.id / "population.csv").open(newline="") as handle:
            for row in read_csv(handle):  # the cells as the source gave them: a typed text cell needs no prefix
                book.append(sheet, [row[column] or None for column in CONTROL_COLUMNS], fill_column=3)
    reconciliation = book.sheet(
        RECONCILIATION_SHEET,
        [
            "control_id",
            "source",
            "status",
            "records_collected",
            "records_in_bundle",
            "population",
            "excluded_by_scope",
            "scope",
            "filters",
            "statement",
        ],
    )
    for control_id, lines in evidence.reconciliation.items():
        for line in lines:
            book.append(
                reconciliation,
                [
                    control_id,
                    line["source"],
                    line["status"],
                    line["records_collected"],
                    line["records_in_bundle"],
                    line["population"],
                    line["excluded_by_scope"],
                    line["scope"],
                    "; ".join(line["filters"]),
                    line["statement"],
                ],
            )
    provenance = book.sheet(
        PROVENANCE_SHEET,
        [
            "dataset",
            "status",
            "endpoints",
            "request_count",
            "retry_count",
            "record_count",
            "records_in_bundle",
            "started_at",
            "finished_at",
            "source_timestamp",
            "payload_sha256",
            "records_sha256",
            "error",
        ],
    )
    for name, source in sorted(evidence.sources.items()):
        book.append(
            provenance,
            [
                name,
                source.get("status"),
                ", ".join(source.get("endpoints") or []),
                source.get("request_count"),
                source.get("retry_count"),
                source.get("record_count"),
                source.get("records_in_bundle"),
                source.get("started_at"),
                source.get("finished_at"),
                source.get("source_timestamp"),
                source.get("payload_sha256"),
                source.get("records_sha256"),
                source.get("error"),
            ],
        )
    book.close()


def write_period(period: PeriodEvidence, path: Path) -> None:
    book = Workbook(path, FILLS, _period_properties(period))
    taken = {SUMMARY_SHEET.lower(), PROVENANCE_SHEET.lower(), "daily", "exceptions", "missing days"}
    sheets = {c.id: sheet_name(c.id, taken) for c in period.controls}
    summary = book.sheet(
        SUMMARY_SHEET,
        [
            "control_id",
            "sheet",
            "title",
            "criteria",
            "period_from",
            "period_to",
            "days_evaluated",
            "days_pass",
            "days_fail",
            "days_unknown",
            "days_missing",
            "pass_rate",
            "population_rows",
            "exceptions",
            "open_at_end",
        ],
    )
    for control in period.controls:
        stats = period.control_stats[control.id]
        book.append(
            summary,
            [
                control.id,
                sheets[control.id],
                control.title,
                ", ".join(control.criteria),
                period.start.isoformat(),
                period.end.isoformat(),
                stats["days_evaluated"],
                stats["days_pass"],
                stats["days_fail"],
                stats["days_unknown"],
                len(period.missing_days),
                stats["pass_rate"],
                stats["population_rows"],
                stats["exceptions"],
                stats["open_at_end"],
            ],
        )
    missing = book.sheet("Missing days", ["date", "note"])
    for day in period.missing_days:
        book.append(missing, [day.isoformat(), "no evidence snapshot for this day"])
    daily = book.sheet(
        "Daily", ["date", "control_id", "verdict", "population", "pass", "fail", "unknown", "waived", "pass_rate"]
    )
    for control in period.controls:
        for day in period.daily[control.id]:
            book.append(
                daily,
                [
                    day["date"],
                    control.id,
                    day["verdict"],
                    day["population"],
                    day["pass"],
                    day["fail"],
                    day["unknown"],
                    day["waived"],
                    day["pass_rate"],
                ],
                fill_column=2,
            )
    exceptions = book.sheet(
        "Exceptions",
        [
            "control_id",
            "resource_id",
            "resource_name",
            "first_seen",
            "last_seen",
            "resolved_on",
            "days_open",
            "days_failing",
            "last_status",
            "last_reason",
        ],
    )
    for control in period.controls:
        for item in period.exceptions[control.id]:
            book.append(
                exceptions,
                [
                    control.id,
                    item["resource_id"],
                    item["resource_name"],
                    item["first_seen"],
                    item["last_seen"],
                    item["resolved_on"],
                    item["days_open"],
                    item["days_failing"],
                    item["last_status"],
                    item["last_reason"],
                ],
            )
    for control in period.controls:
        sheet = book.sheet(sheets[control.id], ["snapshot_date", *CONTROL_COLUMNS[:-1]], link_columns=LINK_COLUMNS)
        for row in period.population[control.id]:
            book.append(
                sheet,
                [
                    row["snapshot_date"],
                    row["resource_id"],
                    row.get("resource_name"),
                    row.get("resource_url"),
                    row["status"],
                    row.get("reason"),
                    row.get("failure"),
                ],
                fill_column=4,
            )
    provenance = book.sheet(
        PROVENANCE_SHEET,
        [
            "date",
            "dataset",
            "status",
            "record_count",
            "request_count",
            "retry_count",
            "source_timestamp",
            "finished_at",
            "payload_sha256",
            "snapshot",
            "snapshot_manifest_sha256",
        ],
    )
    for entry in period.provenance:
        book.append(
            provenance,
            [
                entry["date"],
                entry["dataset"],
                entry["status"],
                entry["record_count"],
                entry["request_count"],
                entry["retry_count"],
                entry["source_timestamp"],
                entry["finished_at"],
                entry["payload_sha256"],
                entry["snapshot"],
                entry["snapshot_manifest_sha256"],
            ],
        )
    book.close()
