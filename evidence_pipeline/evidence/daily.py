"""The daily evidence bundle: per control its population, exceptions, query and result; per source the raw records
and provenance; the waivers; the renderings (render/). chain.py seals it into the daily series."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from connectors.attestations.artefacts import artefact_store, bundle_artefacts
from evidence_pipeline.catalogue import Catalogue
from evidence_pipeline.evidence.chain import daily_bundles, seal_bundle, sha256_file
from evidence_pipeline.evidence.csv_cells import SQL_COPY_OPTIONS, sql_neutralize_cell, write_csv
from evidence_pipeline.evidence.model import POPULATION_COLUMNS, WAIVER_COLUMNS, ControlOutcome, DailyEvidence
from evidence_pipeline.evidence.render import renderings
from evidence_pipeline.evidence.signing import SigningKey
from evidence_pipeline.waivers import load_waivers
from warehouse import Warehouse, results


@dataclass(frozen=True)
class BundleInputs:
    snapshot_date: date
    run_id: str
    outcomes: list[ControlOutcome]
    #: "<source>.<dataset>" names whose raw rows and provenance go into the bundle
    datasets: list[str]
    #: the control catalogue judged by: the hash of every file it was read from goes into the manifest
    catalogue: Catalogue
    #: waivers.yaml when there is one (its hash goes into the manifest, its entries into waivers.csv)
    waivers_file: Path | None = None
    #: where each control's population comes from: the outcomes' own rows, or (the daily snapshot, whose outcomes are
    #: summaries) the day's stored results, copied by DuckDB so that memory does not grow with the organisation
    stored_results: bool = False


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
        # the attested reports the day's attestation records name, by hash from the store (<EVIDENCE_HOME>/...)
        bundle_artefacts(work / "sources" / "attestations", artefact_store(evidence_root.parent))
        evidence = DailyEvidence(
            snapshot_date=inputs.snapshot_date,
            run_id=inputs.run_id,
            outcomes=inputs.outcomes,
            sources=sources,
            reconciliation={o.control.id: reconcile(o, sources) for o in inputs.outcomes},
            controls_map_sha256=inputs.catalogue.catalogue_sha256(),
            signing_key_id=signing_key.key_id if signing_key else None,
        )
        waivers = _write_waivers(work, inputs)
        if inputs.catalogue.trust_page_bytes is not None:  # the promises judged, as read (its hash: catalogue_files)
            (work / "trust_page.yaml").write_bytes(inputs.catalogue.trust_page_bytes)
        evidence.waivers, evidence.waivers_sha256 = waivers["entries"], waivers["sha256"]
        # the controls' population CSVs are copied while Chromium prints the PDF; the workbook is made from them
        written = renderings.write_daily(
            work, evidence, lambda: _write_controls(warehouse, work / "controls", inputs, evidence.reconciliation)
        )
        for extra in extras or []:
            extra(work, inputs)
        day = inputs.snapshot_date.isoformat()
        return {
            "kind": "daily_snapshot",
            "snapshot_date": day,
            "run_id": inputs.run_id,
            # the whole catalogue's hash (`Catalogue.catalogue_sha256`), and each of its files'
            "controls_map_sha256": evidence.controls_map_sha256,
            "catalogue_files": {
                inputs.catalogue.relative_name(file): digest for file, digest in inputs.catalogue.files.items()
            },
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
            "renderings": written,
            "pseudonymization": None,
        }

    return seal_bundle(evidence_root, inputs.snapshot_date.isoformat(), write, signing_key, bundles=daily_bundles)


def _write_controls(
    warehouse: Warehouse, folder: Path, inputs: BundleInputs, reconciliation: dict[str, list[dict[str, Any]]]
) -> None:
    """Per control: query.sql (and views.sql, the warehouse views it reads, which its SQL hash covers too),
    result.json, population.csv and exceptions.csv."""
    for outcome in inputs.outcomes:
        control_folder = folder / outcome.control.id
        control_folder.mkdir(parents=True)
        (control_folder / "query.sql").write_text(outcome.control.sql.strip() + "\n")
        if outcome.control.views_sql:
            (control_folder / "views.sql").write_text(outcome.control.views_sql)
        result = {**outcome.summary(), "reconciliation": reconciliation[outcome.control.id]}
        (control_folder / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    if inputs.stored_results:
        with warehouse.connect() as con:
            for outcome in inputs.outcomes:
                # a summary without a population (not evaluated, or evaluated with other SQL) has no rows to copy
                rows = results.STORED_ROWS if outcome.counts["population"] else NO_ROWS
                write_population_csvs(
                    con, rows, [inputs.snapshot_date, outcome.control.id], outcome, folder / outcome.control.id
                )
    else:
        with duckdb.connect() as con:
            for outcome in inputs.outcomes:
                con.register("held_rows", results.rows_frame(outcome.rows))
                write_population_csvs(con, HELD_ROWS, [], outcome, folder / outcome.control.id)
                con.unregister("held_rows")


#: no stored rows, with the stored rows' columns and parameters
NO_ROWS = f"{results.STORED_ROWS} AND false"
#: the outcome's own rows, registered as `held_rows` (`results.rows_frame`), as the stored rows read
HELD_ROWS = f"SELECT {results.STORED_ROW_COLUMNS} FROM held_rows"


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
    with warehouse.session():
        for name in sorted(set(inputs.datasets)):
            source, dataset = name.split(".", 1)
            (folder / source).mkdir(parents=True, exist_ok=True)
            log = results.collection_of(warehouse, source, dataset, day)
            entry: dict[str, Any] = {"status": log["status"] if log else "not_collected"}
            if log:
                entry.update(
                    collection_run_id=log["run_id"],
                    record_count=log["record_count"],
                    request_count=log["request_count"],
                    retry_count=log["retry_count"],
                    payload_sha256=log["payload_sha256"],
                    source_timestamp=log["source_timestamp"],
                    started_at=log["started_at"].isoformat() if log["started_at"] else None,
                    finished_at=log["finished_at"].isoformat() if log["finished_at"] else None,
                    error=log["error"],
                    provenance=json.loads(log["provenance"]) if log["provenance"] else None,
                )
            target = folder / source / f"{dataset}.jsonl"
            if log and log["status"] == "succeeded":
                exported = warehouse.export_day(source, dataset, day, target)
                entry["records_file"] = target.name
                entry["records_sha256"] = sha256_file(target)
                entry["records_in_bundle"] = exported
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


@cache
def _sql_parser() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB a process that only parses SQL (opening one costs more than the parse: 80 controls)."""
    return duckdb.connect()


@cache
def scope_filters(sql: str) -> tuple[str, ...]:
    """The WHERE clauses of a control's SQL, outermost first: the filters that narrow the records to the population.

    Read from DuckDB's own parse of the SQL (`json_serialize_sql`, as the catalogue checks it) and written back by
    DuckDB (`json_deserialize_sql`), so a keyword inside a string, a comment or a nested query cannot cut a clause
    short; one query per distinct SQL text in a process."""
    with _sql_parser().cursor() as con:
        parsed = json.loads(
            con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql.strip().rstrip(";")]).fetchone()[0]
        )
        if parsed.get("error"):  # the catalogue refuses SQL that does not parse: nothing to say beyond that
            return ()
        clauses = list(_where_clauses(parsed["statements"]))
        # each clause is written back as the WHERE of a bare SELECT; what follows "WHERE " is the clause
        template = json.loads(con.execute("SELECT json_serialize_sql('SELECT 1 WHERE true')").fetchone()[0])
        filters = []
        for clause in clauses:
            template["statements"][0]["node"]["where_clause"] = clause
            text = con.execute("SELECT json_deserialize_sql(?::JSON)", [json.dumps(template)]).fetchone()[0]
            filters.append(" ".join(text.split(" WHERE ", 1)[1].split()))
    return tuple(filters)


def _where_clauses(node: Any) -> Any:
    """Every `where_clause` in a parsed statement, depth first, in the order they are written."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "where_clause" and value:
                yield value
            yield from _where_clauses(value)
    elif isinstance(node, list):
        for value in node:
            yield from _where_clauses(value)


def reconcile(outcome: ControlOutcome, sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per source: records collected -> records kept in the bundle -> population, and the filters in between."""
    population = outcome.counts["population"]
    filters = list(scope_filters(outcome.control.sql))
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
