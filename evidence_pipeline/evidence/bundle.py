"""The daily evidence bundle: per control its population, exceptions, query and result; per source the raw records
and provenance; the waivers; the report, workbook and OSCAL renderings. chain.py seals it into the daily series."""

from __future__ import annotations

import json
import multiprocessing
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from evidence_pipeline.evaluate import ControlOutcome, results_frame
from evidence_pipeline.evidence.chain import daily_bundles, seal_bundle, sha256_file
from evidence_pipeline.evidence.csv_cells import SQL_COPY_OPTIONS, sql_neutralize_cell, write_csv
from evidence_pipeline.evidence.signing import SigningKey
from warehouse import Warehouse

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


@dataclass(frozen=True)
class BundleInputs:
    snapshot_date: date
    run_id: str
    outcomes: list[ControlOutcome]
    #: "<source>.<dataset>" names whose raw rows and provenance go into the bundle
    datasets: list[str]
    controls_map: Path
    #: waivers.yaml when there is one (its hash goes into the manifest, its entries into waivers.csv)
    waivers_file: Path | None = None
    #: where each control's population comes from: the outcomes' own rows, or (the daily snapshot, whose outcomes are
    #: summaries) the day's stored results, copied by DuckDB so that memory does not grow with the organisation
    stored_results: bool = False


@dataclass
class DailyEvidence:
    """What the report, workbook and OSCAL renderings of one day are made from."""

    snapshot_date: date
    run_id: str
    outcomes: list[ControlOutcome]
    #: "<source>.<dataset>" -> status, provenance summary, records_in_bundle, freshness
    sources: dict[str, dict[str, Any]]
    #: control id -> structured reconciliation (see `reconcile`)
    reconciliation: dict[str, list[dict[str, Any]]]
    waivers: list[dict[str, Any]] = field(default_factory=list)
    waivers_sha256: str | None = None
    controls_map_sha256: str = ""
    signing_key_id: str | None = None


def write_bundle(
    warehouse: Warehouse,
    evidence_root: Path,
    inputs: BundleInputs,
    extras: list[Callable[[Path, BundleInputs], None]] | None = None,
    signing_key: SigningKey | None = None,
) -> Path:
    """Write the day's complete bundle aside, seal it and rename it into place. Returns its path."""

    def write(work: Path) -> dict[str, Any]:
        sources = _write_sources(warehouse, work / "sources", inputs)
        evidence = DailyEvidence(
            snapshot_date=inputs.snapshot_date,
            run_id=inputs.run_id,
            outcomes=inputs.outcomes,
            sources=sources,
            reconciliation={o.control.id: reconcile(o, sources) for o in inputs.outcomes},
            controls_map_sha256=sha256_file(inputs.controls_map),
            signing_key_id=signing_key.key_id if signing_key else None,
        )
        _write_controls(warehouse, work / "controls", inputs, evidence.reconciliation)
        waivers = _write_waivers(work, inputs)
        evidence.waivers, evidence.waivers_sha256 = waivers["entries"], waivers["sha256"]
        renderings = _write_renderings(work, evidence)
        for extra in extras or []:
            extra(work, inputs)
        day = inputs.snapshot_date.isoformat()
        return {
            "kind": "daily_snapshot",
            "snapshot_date": day,
            "run_id": inputs.run_id,
            "controls_map_sha256": evidence.controls_map_sha256,
            "waivers": {k: v for k, v in waivers.items() if k != "entries"},
            "data_window": {"from": day, "to": day},
            "verdicts": {o.control.id: o.verdict for o in inputs.outcomes},
            "sources": {
                name: {
                    "status": s["status"],
                    "record_count": s.get("record_count"),
                    "payload_sha256": s.get("payload_sha256"),
                    "records_sha256": s.get("records_sha256"),
                }
                for name, s in sources.items()
            },
            "renderings": renderings,
            "pseudonymization": None,
        }

    return seal_bundle(evidence_root, inputs.snapshot_date.isoformat(), write, signing_key, bundles=daily_bundles)


#: population rows from which the workbook is worth a process of its own (starting one costs about a second)
WORKBOOK_PROCESS_ROWS = 50_000


def _write_renderings(work: Path, evidence: DailyEvidence) -> dict[str, str]:
    """report.html (+ PDF), evidence.xlsx, OSCAL: views of the CSV/JSON evidence, for people and tools.

    The workbook, the slowest of them (every population row is a row of cells), is written from the population CSVs;
    for a large organisation by a process of its own, while this one writes the rest and Chromium prints the PDF."""
    from evidence_pipeline.evidence import oscal, report, workbook

    rows = sum(o.counts["population"] for o in evidence.outcomes)
    spreadsheet = (
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        if rows >= WORKBOOK_PROCESS_ROWS
        else ThreadPoolExecutor(1)
    )
    with spreadsheet, ThreadPoolExecutor(1) as printer:
        writing = spreadsheet.submit(workbook.write_daily, evidence, work / "evidence.xlsx", work / "controls")
        html = report.render_daily(evidence)
        (work / "report.html").write_text(html)
        printing = printer.submit(report.print_pdf, work / "report.html", work / "report.pdf")
        (work / "oscal").mkdir()
        (work / "oscal" / "assessment-results.json").write_text(
            json.dumps(oscal.daily_assessment_results(evidence), indent=2) + "\n"
        )
        pdf_note = printing.result()
        writing.result()
    return {
        "report.html": "written",
        "report.pdf": pdf_note,
        "evidence.xlsx": "written",
        "oscal/assessment-results.json": "written",
    }


def _write_controls(
    warehouse: Warehouse, folder: Path, inputs: BundleInputs, reconciliation: dict[str, list[dict[str, Any]]]
) -> None:
    """Per control: query.sql, result.json, population.csv and exceptions.csv."""
    for outcome in inputs.outcomes:
        control_folder = folder / outcome.control.id
        control_folder.mkdir(parents=True)
        (control_folder / "query.sql").write_text(outcome.control.sql.strip() + "\n")
        result = {**outcome.summary(), "reconciliation": reconciliation[outcome.control.id]}
        (control_folder / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    if inputs.stored_results:
        with warehouse.connect() as con:
            for outcome in inputs.outcomes:
                # a summary without a population (not evaluated, or evaluated with other SQL) has no rows to copy
                rows = STORED_ROWS if outcome.counts["population"] else NO_ROWS
                write_population_csvs(
                    con, rows, [inputs.snapshot_date, outcome.control.id], outcome, folder / outcome.control.id
                )
    else:
        with duckdb.connect() as con:
            for outcome in inputs.outcomes:
                con.register("held_rows", results_frame(outcome.rows))
                write_population_csvs(con, HELD_ROWS, [], outcome, folder / outcome.control.id)
                con.unregister("held_rows")


_RESULT_COLUMNS = "resource_id, resource_name, resource_url, status, reason, CAST(details AS JSON) AS details"
STORED_ROWS = f"SELECT {_RESULT_COLUMNS} FROM control_results WHERE snapshot_date = ? AND control_id = ?"
NO_ROWS = f"SELECT {_RESULT_COLUMNS} FROM control_results WHERE snapshot_date = ? AND control_id = ? AND false"
HELD_ROWS = f"SELECT {_RESULT_COLUMNS} FROM held_rows"


def write_population_csvs(
    con: duckdb.DuckDBPyConnection, rows: str, parameters: list[Any], outcome: ControlOutcome, folder: Path
) -> None:
    """population.csv and exceptions.csv of one control, copied by DuckDB from `rows` (a query giving the rows as
    control_results stores them) in resource order, with each exception's remediation."""
    remediation = outcome.control.remediation
    default = remediation.get("default", "")
    cases = " ".join("WHEN ? THEN ?" for kind in remediation if kind != "default")
    case_parameters = [value for kind, text in remediation.items() if kind != "default" for value in (kind, text)]
    judged = (
        "SELECT resource_id, resource_name, resource_url, status, reason, details->>'failure' AS failure, "
        f"CASE WHEN status = 'pass' THEN '' ELSE CASE coalesce(details->>'failure', '') {cases} ELSE ? END END "
        "AS remediation, "
        # the failure has a column of its own; the rest of the details stay JSON
        "CAST(json_merge_patch(coalesce(details, '{}'), '{\"failure\": null}') AS VARCHAR) AS details "
        f"FROM ({rows}) AS judged"
    )
    # every cell may be text from a source system: neutralized against formula injection (csv_cells), in SQL
    cells = ", ".join(f"{sql_neutralize_cell('cells.' + column)} AS {column}" for column in POPULATION_COLUMNS)
    select = f"SELECT {cells} FROM ({judged}) AS cells"
    values = [*case_parameters, default, *parameters]
    for name, where in (("population.csv", ""), ("exceptions.csv", "WHERE cells.status <> 'pass' ")):
        target = str(folder / name).replace("'", "''")
        copied = con.execute(
            f"COPY ({select} {where}ORDER BY cells.resource_id) TO '{target}' ({SQL_COPY_OPTIONS})", values
        ).fetchone()[0]
        if name == "population.csv" and copied != outcome.counts["population"]:
            # the CSV must be the population the verdict was judged on
            raise RuntimeError(
                f"{outcome.control.id}: {copied} population rows for a verdict on {outcome.counts['population']}"
            )


def _write_sources(warehouse: Warehouse, folder: Path, inputs: BundleInputs) -> dict[str, dict[str, Any]]:
    """Each dataset's raw rows of the day (JSON lines) and its collection provenance. Returns a summary per dataset."""
    day = inputs.snapshot_date
    provenance: dict[str, dict[str, Any]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    with warehouse.connect() as con:
        for name in sorted(set(inputs.datasets)):
            source, dataset = name.split(".", 1)
            (folder / source).mkdir(parents=True, exist_ok=True)
            log = con.execute(
                "SELECT status, run_id, provenance, record_count, request_count, retry_count, payload_sha256, "
                "source_timestamp, started_at, finished_at, error FROM source_status WHERE source = ? "
                "AND dataset = ? AND snapshot_date = ?",
                [source, dataset, day],
            ).fetchone()
            entry: dict[str, Any] = {"status": log[0] if log else "not_collected"}
            if log:
                entry.update(
                    collection_run_id=log[1],
                    record_count=log[3],
                    request_count=log[4],
                    retry_count=log[5],
                    payload_sha256=log[6],
                    source_timestamp=log[7],
                    started_at=log[8].isoformat() if log[8] else None,
                    finished_at=log[9].isoformat() if log[9] else None,
                    error=log[10],
                    provenance=json.loads(log[2]) if log[2] else None,
                )
            table = f"raw_{source}_{dataset}"
            target = folder / source / f"{dataset}.jsonl"
            if log and log[0] == "succeeded":
                con.execute(
                    f"COPY (SELECT * EXCLUDE (snapshot_date, run_id) FROM {table} WHERE snapshot_date = ? "
                    f"ORDER BY ALL) TO '{target}' (FORMAT JSON)",
                    [day],
                )
                entry["records_file"] = target.name
                entry["records_sha256"] = sha256_file(target)
                entry["records_in_bundle"] = con.execute(
                    f"SELECT count(*) FROM {table} WHERE snapshot_date = ?", [day]
                ).fetchone()[0]
            provenance.setdefault(source, {})[dataset] = entry
            summaries[name] = {k: v for k, v in entry.items() if k != "provenance"}
            summaries[name]["endpoints"] = sorted(
                {r.get("endpoint", "") for r in (entry.get("provenance") or {}).get("requests", [])}
            )
    for source, datasets in provenance.items():
        (folder / source / "provenance.json").write_text(
            json.dumps(datasets, indent=2, sort_keys=True, default=str) + "\n"
        )
    return summaries


def _write_waivers(work: Path, inputs: BundleInputs) -> dict[str, Any]:
    """waivers.csv and the waivers file's hash, when there is a waivers file; its absence is stated, not hidden."""
    path = inputs.waivers_file
    if path is None or not path.is_file():
        return {
            "file": None,
            "sha256": None,
            "count": 0,
            "entries": [],
            "note": "no waivers file: no exception is waived",
        }
    from evidence_pipeline.waivers import load_waivers

    waivers = load_waivers(path)
    entries = [
        {**w.model_dump(mode="json"), "active_on_snapshot_date": w.expires >= inputs.snapshot_date}
        for w in waivers.waivers
    ]
    write_csv(work / "waivers.csv", WAIVER_COLUMNS, entries)
    return {"file": path.name, "sha256": sha256_file(path), "count": len(entries), "entries": entries}


# ---------------------------------------------------------------------------------------------------------------
# Reconciliation: from a source's record count to the control's population
# ---------------------------------------------------------------------------------------------------------------

_CLAUSE_END = re.compile(
    r"\b(GROUP\s+BY|ORDER\s+BY|HAVING|QUALIFY|WINDOW|LIMIT|UNION|EXCEPT|INTERSECT|SELECT)\b", re.IGNORECASE
)


def scope_filters(sql: str) -> list[str]:
    """The WHERE clauses of a control's SQL, as written: the filters that narrow the records to the population."""
    filters: list[str] = []
    for match in re.finditer(r"\bWHERE\b", sql, re.IGNORECASE):
        depth, end = 0, len(sql)
        for index in range(match.end(), len(sql)):
            char = sql[index]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    end = index
                    break
                depth -= 1
            elif depth == 0 and _CLAUSE_END.match(sql, index) and sql[index - 1] in " \n\t":
                end = index
                break
        filters.append(" ".join(sql[match.end() : end].split()))
    return filters


def reconcile(outcome: ControlOutcome, sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per source: records collected -> records kept in the bundle -> population, and the filters in between."""
    population = outcome.counts["population"]
    filters = scope_filters(outcome.control.sql)
    lines = []
    for name in outcome.control.datasets:
        source = sources.get(name, {"status": "not_collected"})
        collected = source.get("record_count")
        in_bundle = source.get("records_in_bundle")
        if source["status"] != "succeeded":
            statement = f"{name}: {source['status']}; no records to reconcile, the control is {outcome.verdict}"
        else:
            statement = (
                f"{name}: {collected} records collected, {in_bundle} landed for "
                f"{outcome.snapshot_date}; the query's filters ({'; '.join(filters) or 'none'}) and joins "
                f"keep {population} {outcome.control.scope} in the population"
            )
        lines.append(
            {
                "source": name,
                "status": source["status"],
                "records_collected": collected,
                "records_in_bundle": in_bundle,
                "population": population,
                "excluded_by_scope": (in_bundle - population) if isinstance(in_bundle, int) else None,
                "scope": outcome.control.scope,
                "filters": filters,
                "statement": statement,
            }
        )
    return lines
