"""evidence.xlsx: the bundle for spreadsheets. A summary sheet, one sheet per control (its population with each
row's status and reason), a reconciliation sheet and a provenance sheet.

Cells are always written as values, never formulas: a resource named "=HYPERLINK(...)" in a source system must
not become live content in the auditor's spreadsheet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

if TYPE_CHECKING:
    from evidence_pipeline.evidence.bundle import DailyEvidence
    from evidence_pipeline.evidence.period import PeriodEvidence

SUMMARY_SHEET = "Summary"
PROVENANCE_SHEET = "Provenance"
RECONCILIATION_SHEET = "Reconciliation"
CONTROL_COLUMNS = ["resource_id", "resource_name", "resource_url", "status", "reason", "failure", "remediation"]
FILLS = {"pass": "C8E6C9", "fail": "FFCDD2", "unknown": "E0E0E0", "waived": "FFE0B2", "missing": "FFCDD2"}
SHEET_NAME_LIMIT = 31


def sheet_name(control_id: str, taken: set[str]) -> str:
    """Excel allows 31 characters; keep ids readable and unique."""
    name = control_id[:SHEET_NAME_LIMIT]
    counter = 2
    while name.lower() in taken:
        suffix = f"~{counter}"
        name = control_id[:SHEET_NAME_LIMIT - len(suffix)] + suffix
        counter += 1
    taken.add(name.lower())
    return name


def _value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, default=str)
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _append(sheet: Worksheet, values: list[Any], status_column: int | None = None) -> None:
    sheet.append([_value(v) for v in values])
    row = sheet.max_row
    for cell in sheet[row]:
        if cell.data_type == "f":  # a string starting with "=": keep it text
            cell.data_type = "s"
    if status_column is not None:
        status = values[status_column]
        if status in FILLS:
            sheet.cell(row, status_column + 1).fill = PatternFill("solid", fgColor=FILLS[status])


def _header(sheet: Worksheet, columns: list[str]) -> None:
    sheet.append(columns)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = f"A{sheet.max_row + 1}"  # a string: sheet.cell() would create an empty row


def write_daily(evidence: DailyEvidence, path: Path) -> None:
    book = Workbook()
    summary = book.active
    summary.title = SUMMARY_SHEET
    taken = {SUMMARY_SHEET.lower(), PROVENANCE_SHEET.lower(), RECONCILIATION_SHEET.lower()}
    sheets = {o.control.id: sheet_name(o.control.id, taken) for o in evidence.outcomes}
    _header(summary, ["control_id", "sheet", "title", "criteria", "claim", "verdict", "reason", "population", "pass",
                      "fail", "unknown", "waived", "snapshot_date", "sql_sha256", "parameters"])
    for outcome in evidence.outcomes:
        control, counts = outcome.control, outcome.counts
        _append(summary, [control.id, sheets[control.id], control.title, ", ".join(control.criteria),
                          control.claims[0].quote, outcome.verdict, outcome.reason, counts["population"],
                          counts["pass"], counts["fail"], counts["unknown"], counts["waived"],
                          evidence.snapshot_date.isoformat(), control.sql_sha256,
                          {k: str(v) for k, v in outcome.parameters.items()}], status_column=5)
    for outcome in evidence.outcomes:
        sheet = book.create_sheet(sheets[outcome.control.id])
        _header(sheet, CONTROL_COLUMNS)
        for row in outcome.rows:
            _append(sheet, [row["resource_id"], row.get("resource_name"), row.get("resource_url"), row["status"],
                            row.get("reason"), row.get("failure"),
                            outcome.remediation_for(row) if row["status"] != "pass" else ""], status_column=3)
    reconciliation = book.create_sheet(RECONCILIATION_SHEET)
    _header(reconciliation, ["control_id", "source", "status", "records_collected", "records_in_bundle",
                             "population", "excluded_by_scope", "scope", "filters", "statement"])
    for control_id, lines in evidence.reconciliation.items():
        for line in lines:
            _append(reconciliation, [control_id, line["source"], line["status"], line["records_collected"],
                                     line["records_in_bundle"], line["population"], line["excluded_by_scope"],
                                     line["scope"], "; ".join(line["filters"]), line["statement"]])
    provenance = book.create_sheet(PROVENANCE_SHEET)
    _header(provenance, ["dataset", "status", "endpoints", "request_count", "retry_count", "record_count",
                         "records_in_bundle", "started_at", "finished_at", "source_timestamp", "payload_sha256",
                         "records_sha256", "error"])
    for name, source in sorted(evidence.sources.items()):
        _append(provenance, [name, source.get("status"), ", ".join(source.get("endpoints") or []),
                             source.get("request_count"), source.get("retry_count"), source.get("record_count"),
                             source.get("records_in_bundle"), source.get("started_at"), source.get("finished_at"),
                             source.get("source_timestamp"), source.get("payload_sha256"),
                             source.get("records_sha256"), source.get("error")])
    book.save(path)


def write_period(period: PeriodEvidence, path: Path) -> None:
    book = Workbook()
    summary = book.active
    summary.title = SUMMARY_SHEET
    taken = {SUMMARY_SHEET.lower(), PROVENANCE_SHEET.lower(), "daily", "exceptions", "missing days"}
    sheets = {c.id: sheet_name(c.id, taken) for c in period.controls}
    _header(summary, ["control_id", "sheet", "title", "criteria", "period_from", "period_to", "days_evaluated",
                      "days_pass", "days_fail", "days_unknown", "days_missing", "pass_rate", "population_rows",
                      "exceptions", "open_at_end"])
    for control in period.controls:
        stats = period.control_stats[control.id]
        _append(summary, [control.id, sheets[control.id], control.title, ", ".join(control.criteria),
                          period.start.isoformat(), period.end.isoformat(), stats["days_evaluated"],
                          stats["days_pass"], stats["days_fail"], stats["days_unknown"], len(period.missing_days),
                          stats["pass_rate"], stats["population_rows"], stats["exceptions"], stats["open_at_end"]])
    missing = book.create_sheet("Missing days")
    _header(missing, ["date", "note"])
    for day in period.missing_days:
        _append(missing, [day.isoformat(), "no evidence snapshot for this day"])
    daily = book.create_sheet("Daily")
    _header(daily, ["date", "control_id", "verdict", "population", "pass", "fail", "unknown", "waived", "pass_rate"])
    for control in period.controls:
        for day in period.daily[control.id]:
            _append(daily, [day["date"], control.id, day["verdict"], day["population"], day["pass"], day["fail"],
                            day["unknown"], day["waived"], day["pass_rate"]], status_column=2)
    exceptions = book.create_sheet("Exceptions")
    _header(exceptions, ["control_id", "resource_id", "resource_name", "first_seen", "last_seen", "resolved_on",
                         "days_open", "days_failing", "last_status", "last_reason"])
    for control in period.controls:
        for item in period.exceptions[control.id]:
            _append(exceptions, [control.id, item["resource_id"], item["resource_name"], item["first_seen"],
                                 item["last_seen"], item["resolved_on"], item["days_open"], item["days_failing"],
                                 item["last_status"], item["last_reason"]])
    for control in period.controls:
        sheet = book.create_sheet(sheets[control.id])
        _header(sheet, ["snapshot_date", *CONTROL_COLUMNS[:-1]])
        for row in period.population[control.id]:
            _append(sheet, [row["snapshot_date"], row["resource_id"], row.get("resource_name"),
                            row.get("resource_url"), row["status"], row.get("reason"), row.get("failure")],
                    status_column=4)
    provenance = book.create_sheet(PROVENANCE_SHEET)
    _header(provenance, ["date", "dataset", "status", "record_count", "request_count", "retry_count",
                         "source_timestamp", "finished_at", "payload_sha256", "snapshot", "snapshot_manifest_sha256"])
    for entry in period.provenance:
        _append(provenance, [entry["date"], entry["dataset"], entry["status"], entry["record_count"],
                             entry["request_count"], entry["retry_count"], entry["source_timestamp"],
                             entry["finished_at"], entry["payload_sha256"], entry["snapshot"],
                             entry["snapshot_manifest_sha256"]])
    book.save(path)
