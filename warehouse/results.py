"""What the pipeline records about each day, and every query over it: the collection status of each dataset
(`source_status`), each control's rows and verdict (`control_results`, `control_verdicts`), the alerts sent
(`control_alerts`) and the bundles written (`evidence_snapshots`).

The one place those tables are read and written; callers pass plain values and get plain rows. Every function takes
the Warehouse and connects through it, so inside an open `Warehouse.session()` (the judging session) they all run on
that session's connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from warehouse.store import Warehouse

#: the columns of a control's stored rows, with `details` (which holds the row's failure) as JSON
STORED_ROW_COLUMNS = "resource_id, resource_name, resource_url, status, reason, CAST(details AS JSON) AS details"
#: a control's stored rows of one day (parameters: the day, the control id), as `STORED_ROW_COLUMNS`
STORED_ROWS = f"SELECT {STORED_ROW_COLUMNS} FROM control_results WHERE snapshot_date = ? AND control_id = ?"
#: the counts a verdict is stored with, by the names the code uses for them
COUNT_COLUMNS = {
    "population": "population",
    "pass": "passed",
    "fail": "failed",
    "unknown": "unknown",
    "waived": "waived",
}


@dataclass(frozen=True)
class StoredVerdict:
    """A control's verdict of one day as `control_verdicts` holds it."""

    verdict: str
    reason: str
    #: population and count per status (pass, fail, unknown, waived)
    counts: dict[str, int]
    sql_sha256: str
    parameters: dict[str, Any]
    error: str | None = None


# -- collection status --------------------------------------------------------------------------------------------
def source_status_of_day(warehouse: Warehouse, day: date) -> list[dict[str, Any]]:
    """The latest collection attempt of every dataset collected that day (`name` is `<source>.<dataset>`)."""
    return warehouse.query(
        "SELECT source || '.' || dataset AS name, status, error, record_count, finished_at, source_timestamp "
        "FROM source_status WHERE snapshot_date = ?",
        [day],
    )


def collection_of(warehouse: Warehouse, source: str, dataset: str, day: date) -> dict[str, Any] | None:
    """One dataset's latest collection attempt of the day, provenance included, or None when there was none."""
    rows = warehouse.query(
        "SELECT status, run_id, provenance, record_count, request_count, retry_count, payload_sha256, "
        "source_timestamp, started_at, finished_at, error FROM source_status WHERE source = ? "
        "AND dataset = ? AND snapshot_date = ?",
        [source, dataset, day],
    )
    return rows[0] if rows else None


def collection_statuses_between(warehouse: Warehouse, first: date, last: date) -> dict[tuple[str, date], str]:
    """(`<source>.<dataset>`, day) -> the status of that day's latest collection attempt."""
    return {
        (f"{row['source']}.{row['dataset']}", row["snapshot_date"]): row["status"]
        for row in warehouse.query(
            "SELECT source, dataset, snapshot_date, status FROM source_status WHERE snapshot_date BETWEEN ? AND ?",
            [first, last],
        )
    }


def collection_timings(warehouse: Warehouse, day: date) -> list[dict[str, Any]]:
    """Per dataset of the day: status, requests, retries, records, seconds fetching and seconds landing."""
    return warehouse.query(
        "SELECT source || '.' || dataset AS name, status, request_count, retry_count, record_count, "
        "epoch(logged_at) - epoch(CAST(finished_at AS TIMESTAMPTZ)) AS land_s, "
        "epoch(CAST(finished_at AS TIMESTAMPTZ)) - epoch(CAST(started_at AS TIMESTAMPTZ)) AS fetch_s "
        "FROM source_status "
        "WHERE snapshot_date = ? ORDER BY name",
        [day],
    )


# -- control results and verdicts ---------------------------------------------------------------------------------
@contextmanager
def replacing_day(warehouse: Warehouse, day: date, control_id: str) -> Iterator[None]:
    """One transaction in which the control's earlier rows and verdict of the day go and the block stores new ones
    (`insert_rows`, `insert_verdict`); an exception rolls it all back, leaving the day as it was."""
    with warehouse.session() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for table in ("control_results", "control_verdicts"):
                con.execute(f"DELETE FROM {table} WHERE snapshot_date = ? AND control_id = ?", [day, control_id])
            yield
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as control_results stores them (the failure kept in `details`), for one bulk insert or copy."""
    return pd.DataFrame(
        {
            "resource_id": [r["resource_id"] for r in rows],
            "resource_name": [r["resource_name"] for r in rows],
            "resource_url": [r["resource_url"] for r in rows],
            "status": [r["status"] for r in rows],
            "reason": [r["reason"] for r in rows],
            "details": [json.dumps({**r["details"], "failure": r["failure"]}, default=str) for r in rows],
        },
        dtype="object",
    )


def insert_rows(warehouse: Warehouse, day: date, control_id: str, run_id: str, rows: list[dict[str, Any]]) -> None:
    """Add judged rows (resource_id, resource_name, resource_url, status, reason, failure, details) of a control."""
    if not rows:
        return
    with warehouse.connect() as con:  # one bulk insert: executemany goes row by row (minutes at 20,000 rows)
        con.register("results_frame", rows_frame(rows))
        con.execute(
            "INSERT INTO control_results SELECT ?::DATE, ?, ?, resource_id, resource_name, resource_url, "
            "status, reason, details::JSON FROM results_frame",
            [day, control_id, run_id],
        )
        con.unregister("results_frame")


def insert_verdict(warehouse: Warehouse, day: date, control_id: str, run_id: str, stored: StoredVerdict) -> None:
    counts = stored.counts
    with warehouse.connect() as con:
        con.execute(
            "INSERT INTO control_verdicts (snapshot_date, control_id, run_id, verdict, reason, population, passed, "
            "failed, unknown, waived, sql_sha256, parameters, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                day,
                control_id,
                run_id,
                stored.verdict,
                stored.reason,
                *(counts[name] for name in COUNT_COLUMNS),
                stored.sql_sha256,
                json.dumps(stored.parameters, default=str),
                stored.error,
            ],
        )


def _verdict_from_row(row: dict[str, Any]) -> StoredVerdict:
    return StoredVerdict(
        row["verdict"],
        row["reason"],
        {name: row[column] for name, column in COUNT_COLUMNS.items()},
        row["sql_sha256"],
        json.loads(row["parameters"] or "{}"),
        row["error"],
    )


_VERDICT_COLUMNS = "verdict, reason, parameters, sql_sha256, population, passed, failed, unknown, waived, error"


def load_verdict(warehouse: Warehouse, day: date, control_id: str) -> StoredVerdict | None:
    rows = warehouse.query(
        f"SELECT {_VERDICT_COLUMNS} FROM control_verdicts WHERE snapshot_date = ? AND control_id = ?",
        [day, control_id],
    )
    return _verdict_from_row(rows[0]) if rows else None


def verdicts_between(warehouse: Warehouse, first: date, last: date) -> dict[tuple[str, date], StoredVerdict]:
    """(control id, day) -> the stored verdict, for every day from `first` to `last`."""
    return {
        (row["control_id"], row["snapshot_date"]): _verdict_from_row(row)
        for row in warehouse.query(
            f"SELECT control_id, snapshot_date, {_VERDICT_COLUMNS} FROM control_verdicts "
            "WHERE snapshot_date BETWEEN ? AND ?",
            [first, last],
        )
    }


def load_exceptions(warehouse: Warehouse, day: date, control_id: str, limit: int) -> list[dict[str, Any]]:
    """The control's first `limit` stored rows of the day that did not pass, in resource order, each with its
    `failure` taken back out of `details`."""
    rows = warehouse.query(
        "SELECT resource_id, resource_name, resource_url, status, reason, details FROM control_results "
        "WHERE snapshot_date = ? AND control_id = ? AND status <> 'pass' "
        f"ORDER BY resource_id LIMIT {int(limit)}",
        [day, control_id],
    )
    for row in rows:
        details = json.loads(row["details"]) if row["details"] else {}
        row["failure"] = details.pop("failure", None)
        row["details"] = details
    return rows


def errored_controls(warehouse: Warehouse, day: date) -> dict[str, str]:
    """The day's controls whose SQL could not be judged (stored `error`), by id: what `evidence-pipeline run` names."""
    return {
        row["control_id"]: row["error"]
        for row in warehouse.query(
            "SELECT control_id, error FROM control_verdicts WHERE snapshot_date = ? AND error IS NOT NULL "
            "ORDER BY control_id",
            [day],
        )
    }


def failing_since(warehouse: Warehouse, control_id: str, day: date) -> date | None:
    """The first day of the control's current run of failing verdicts, or None if it does not fail."""
    rows = warehouse.query(
        "SELECT snapshot_date, verdict FROM control_verdicts WHERE control_id = ? AND snapshot_date <= ? "
        "ORDER BY snapshot_date DESC",
        [control_id, day],
    )
    since = None
    for row in rows:
        if row["verdict"] != "fail":
            break
        since = row["snapshot_date"]
    return since


def set_verdicts_sql_sha256(warehouse: Warehouse, control_ids: list[str], sql_sha256: str) -> None:
    """Say the controls' stored verdicts came from other SQL (the bench's way to make history re-judge them)."""
    with warehouse.connect() as con:
        con.execute(
            "UPDATE control_verdicts SET sql_sha256 = ? WHERE list_contains(?, control_id)", [sql_sha256, control_ids]
        )


# -- alerts and snapshots -----------------------------------------------------------------------------------------
def unalerted_failures(warehouse: Warehouse, day: date) -> list[dict[str, Any]]:
    """The day's failing controls not yet alerted, in id order, each with `previous`: the verdict of its previous
    evaluated day ('none' when there is none)."""
    return warehouse.query(
        """
        SELECT today.control_id, today.reason, today.failed, today.population,
               coalesce((SELECT verdict FROM control_verdicts before
                         WHERE before.control_id = today.control_id AND before.snapshot_date < today.snapshot_date
                         ORDER BY before.snapshot_date DESC LIMIT 1), 'none') AS previous
        FROM control_verdicts today
        WHERE today.snapshot_date = ? AND today.verdict = 'fail'
          AND NOT EXISTS (SELECT 1 FROM control_alerts a
                          WHERE a.snapshot_date = today.snapshot_date AND a.control_id = today.control_id)
        ORDER BY today.control_id
        """,
        [day],
    )


def record_alerts(warehouse: Warehouse, day: date, control_ids: list[str], delivered_to: str) -> None:
    """Remember that the controls' failure of the day was alerted (to 'log' or 'log+webhook'), once each."""
    with warehouse.connect() as con:
        con.executemany(
            "INSERT OR IGNORE INTO control_alerts (snapshot_date, control_id, verdict, delivered_to) "
            "VALUES (?, ?, 'fail', ?)",
            [[day, control_id, delivered_to] for control_id in control_ids],
        )


def record_snapshot(
    warehouse: Warehouse, day: date, snapshot_id: str, path: str, manifest_sha256: str, run_id: str
) -> None:
    """Remember a written evidence bundle: its day, `<date>/<version>` id, folder and manifest hash."""
    with warehouse.connect() as con:
        con.execute(
            "INSERT INTO evidence_snapshots (snapshot_date, snapshot_id, path, manifest_sha256, run_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [day, snapshot_id, path, manifest_sha256, run_id],
        )
