"""The DuckDB warehouse: schema migrations on start, atomic landing, short connections.

DuckDB lets one process hold a file for writing, and Dagster's default executor
runs steps in separate processes. So nothing holds a connection while talking to
an API: records are staged to a newline-delimited JSON file first, then one short
transaction replaces the day's rows. `connect()` waits for its turn instead of failing: that is how the steps that
write (landings, judging, the snapshot's record) take turns. The turn is a lock on a file beside the warehouse,
which the kernel hands on the moment it is released; DuckDB's own lock is then free (a process outside the
pipeline holding it is waited out too).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb

from provenance import Provenance

LOCK_WAIT_SECONDS = 300.0
MIGRATIONS = files("warehouse").joinpath("migrations")
#: folders of sources kept outside this repository (os.pathsep-separated): each is a source folder with its own
#: `migrations/*.sql`, applied after the built-in ones (evidence_pipeline/defs/sources, CONTRIBUTING.md)
EXTRA_SOURCES_ENV = "EVIDENCE_EXTRA_SOURCES"
VIEWS = files("warehouse").joinpath("views")
#: Each identity system's migration declares `accounts_<source>` with these columns, in this order, and types.
#: `email` is the account's primary e-mail; `emails` every e-mail-shaped identifier the system shows (primary
#: first), each of which identity resolution tries against the HR roster. `is_privileged` is the system's one
#: definition of a privileged account.
ACCOUNT_COLUMN_TYPES: dict[str, str] = {
    "snapshot_date": "DATE",
    "system": "VARCHAR",
    "account_id": "VARCHAR",
    "email": "VARCHAR",
    "emails": "VARCHAR[]",
    "display_name": "VARCHAR",
    "is_active": "BOOLEAN",
    "is_privileged": "BOOLEAN",
    "privileges": "VARCHAR[]",
    "mfa_enabled": "BOOLEAN",
    "last_activity": "TIMESTAMP",
    "created_at": "TIMESTAMP",
    "resource_url": "VARCHAR",
    "dataset": "VARCHAR",
}
ACCOUNT_COLUMNS = tuple(ACCOUNT_COLUMN_TYPES)
#: a view file's first line may say `-- requires: table, ...`: it is created once those tables exist
REQUIRES = re.compile(r"^-- requires: (.+)$", re.MULTILINE)
#: the views a view file creates: a warehouse missing one (made before the file was added) has its views refreshed
VIEW_NAME = re.compile(r"^CREATE OR REPLACE VIEW ([a-z_][a-z0-9_]*)", re.MULTILINE)
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def raw_table(source: str, dataset: str) -> str:
    name = f"raw_{source}_{dataset}"
    if not _TABLE_NAME.match(name):
        raise ValueError(f"invalid raw table name {name!r}")
    return name


class Warehouse:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._session: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def session(self, config: dict[str, Any] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection held for a batch of work (a step's many queries): every `connect()` inside reuses
        it. Opening the file costs tens of milliseconds, and a day's evaluation makes hundreds of queries.
        `config`: DuckDB settings of the session's connection (an open session is reused as it is)."""
        if self._session is not None:
            yield self._session
            return
        with self.connect(config=config) as con:
            self._session = con
            try:
                yield con
            finally:
                self._session = None

    @contextmanager
    def connect(
        self, read_only: bool = False, config: dict[str, Any] | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection (or the open session's); waits (with backoff) while another process holds the
        file."""
        if self._session is not None:
            yield self._session
            return
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        with _turn(self.path.with_name(self.path.name + ".lock"), deadline):
            delay = 0.05
            while True:
                try:
                    con = duckdb.connect(
                        str(self.path), read_only=read_only and self.path.exists(), config=config or {}
                    )
                    break
                except duckdb.IOException as exc:
                    if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
            try:
                yield con
            finally:
                con.close()

    # -- schema ------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply every migration not yet applied, each in its own transaction. Returns those applied."""
        with self.connect() as con:
            return apply_migrations(con)

    # -- landing -----------------------------------------------------------
    def land(
        self, source: str, dataset: str, snapshot_date: date, run_id: str, staged: Path, provenance: Provenance
    ) -> int:
        """Replace one day's rows of one dataset with the staged file, atomically, and log provenance."""
        table = raw_table(source, dataset)
        with self.connect() as con:
            columns = self._record_columns(con, table)
            column_spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns) + "}"
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {table} WHERE snapshot_date = ?", [snapshot_date])
                if staged.stat().st_size:
                    con.execute(
                        f"INSERT INTO {table} BY NAME SELECT ?::DATE AS snapshot_date, ? AS run_id, * "
                        f"FROM read_json(?, format='newline_delimited', columns={column_spec})",
                        [snapshot_date, run_id, str(staged)],
                    )
                landed = con.execute(
                    f"SELECT count(*) FROM {table} WHERE snapshot_date = ?", [snapshot_date]
                ).fetchone()[0]
                if landed != provenance.record_count:
                    raise RuntimeError(f"{table}: staged {provenance.record_count} records but landed {landed}")
                self._log(con, run_id, snapshot_date, provenance, "succeeded")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        return landed

    def export_day(self, source: str, dataset: str, snapshot_date: date, target: Path) -> int:
        """One day's landed rows of a dataset as JSON lines (without the landing columns), in a stable order.
        Returns how many rows were written."""
        table = raw_table(source, dataset)
        path = str(target).replace("'", "''")
        with self.connect() as con:
            return con.execute(
                f"COPY (SELECT * EXCLUDE (snapshot_date, run_id) FROM {table} WHERE snapshot_date = ? "
                f"ORDER BY ALL) TO '{path}' (FORMAT JSON)",
                [snapshot_date],
            ).fetchone()[0]

    def log_failure(self, snapshot_date: date, run_id: str, provenance: Provenance, status: str = "failed") -> None:
        """Record a failed (or not configured) collection; the day's earlier rows stay untouched."""
        with self.connect() as con:
            self._log(con, run_id, snapshot_date, provenance, status)

    @staticmethod
    def _record_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "AND column_name NOT IN ('snapshot_date', 'run_id') ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if not rows:
            raise LookupError(f"no raw table {table}; add a migration in warehouse/migrations")
        return rows

    @staticmethod
    def _log(
        con: duckdb.DuckDBPyConnection, run_id: str, snapshot_date: date, provenance: Provenance, status: str
    ) -> None:
        con.execute(
            "INSERT INTO collection_log (run_id, source, dataset, snapshot_date, status, started_at, finished_at, "
            "record_count, request_count, retry_count, payload_sha256, source_timestamp, error, provenance) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                provenance.source,
                provenance.dataset,
                snapshot_date,
                status,
                provenance.started_at,
                provenance.finished_at,
                provenance.record_count,
                provenance.request_count,
                provenance.retry_count,
                provenance.payload_sha256,
                provenance.source_timestamp,
                provenance.error,
                provenance.to_json(),
            ],
        )

    # -- reading -----------------------------------------------------------
    def query(self, sql: str, parameters: dict[str, Any] | list[Any] | None = None) -> list[dict[str, Any]]:
        with self.connect() as con:
            cursor = con.execute(sql, parameters or [])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


#: lock file -> (how many of this process's connections hold the turn, the open lock file)
_TURNS: dict[Path, tuple[int, Any]] = {}
_TURNS_GUARD = threading.Lock()
#: how often a process waiting for its turn asks again (a lock call costs microseconds; opening DuckDB on a file
#: another process holds fails after tens of milliseconds of CPU)
TURN_POLL_SECONDS = 0.01


@contextmanager
def _turn(lock_file: Path, deadline: float) -> Iterator[None]:
    """This process's turn at the warehouse among the processes that use it. Within the process it is shared (DuckDB
    lets one process's connections work side by side, and a connection may be opened inside another); across
    processes it is exclusive, and handed on as soon as it is released."""
    handle = None
    try:
        while True:
            with _TURNS_GUARD:
                held = _TURNS.get(lock_file)
                if held is not None:  # this process has the turn: join it
                    _TURNS[lock_file] = (held[0] + 1, held[1])
                    break
                handle = handle or lock_file.open("a")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    _TURNS[lock_file], handle = (1, handle), None
                    break
                except BlockingIOError:
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{lock_file}: another process kept the warehouse for too long")
            time.sleep(TURN_POLL_SECONDS)
    finally:
        if handle is not None:
            handle.close()
    try:
        yield
    finally:
        with _TURNS_GUARD:
            count, holder = _TURNS[lock_file]
            if count > 1:
                _TURNS[lock_file] = (count - 1, holder)
            else:
                del _TURNS[lock_file]
                holder.close()  # releases the lock


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    applied: list[str] = []
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, "
        "applied_at TIMESTAMPTZ DEFAULT current_timestamp)"
    )
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    extra = [sorted((folder / "migrations").glob("*.sql")) for folder in extra_source_folders()]
    for migration in [*sorted(MIGRATIONS.iterdir(), key=lambda m: m.name), *(m for found in extra for m in found)]:
        if not migration.name.endswith(".sql") or migration.name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.read_text())
            con.execute("INSERT INTO schema_migrations (name) VALUES (?)", [migration.name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.name)
    if applied or _views_missing(con):
        refresh_views(con)
    return applied


def extra_source_folders() -> list[Path]:
    """The folders named by EVIDENCE_EXTRA_SOURCES, in order; a name that is not a folder is refused, naming it."""
    folders = [Path(part).resolve() for part in os.environ.get(EXTRA_SOURCES_ENV, "").split(os.pathsep) if part]
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"{EXTRA_SOURCES_ENV}: {folder} is not a folder")
    return folders


@cache
def _view_texts() -> tuple[str, ...]:
    """The text of each file of warehouse/views/, in name order. Read once a process: the catalogue asks for every
    control, and every step's migrate checks the views exist."""
    return tuple(
        view.read_text() for view in sorted(VIEWS.iterdir(), key=lambda v: v.name) if view.name.endswith(".sql")
    )


def view_definitions() -> dict[str, str]:
    """Each view a file of warehouse/views/ creates -> that file's text: what a control reading the view also
    depends on (its SQL hash and its bundle folder's views.sql carry it)."""
    return {name: sql for sql in _view_texts() for name in VIEW_NAME.findall(sql)}


def _view_files(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The SQL of each file in warehouse/views/, in name order, whose required tables exist."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    applicable: list[str] = []
    for sql in _view_texts():
        required = REQUIRES.search(sql)
        if not required or set(required.group(1).replace(",", " ").split()) <= tables:
            applicable.append(sql)
    return applicable


def _views_missing(con: duckdb.DuckDBPyConnection) -> bool:
    views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    return not {"accounts", *(name for sql in _view_files(con) for name in VIEW_NAME.findall(sql))} <= views


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the cross-system views: `accounts` unions every `accounts_<source>` view, then the
    identity resolution views in warehouse/views/ build on it (and that folder's views over one source's tables)."""
    systems = [
        row[0]
        for row in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND starts_with(view_name, 'accounts_') "
            "ORDER BY view_name"
        ).fetchall()
    ]
    columns = ", ".join(ACCOUNT_COLUMNS)
    for view in systems:
        found = [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description]
        if tuple(found) != ACCOUNT_COLUMNS:
            raise ValueError(f"view {view} must have exactly the columns {columns}; it has {', '.join(found)}")
    union = " UNION ALL ".join(f"SELECT {columns} FROM {view}" for view in systems) or (
        "SELECT " + ", ".join(f"NULL::{kind} AS {name}" for name, kind in ACCOUNT_COLUMN_TYPES.items()) + " WHERE false"
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE VIEW accounts AS {union}")
        for sql in _view_files(con):
            con.execute(sql)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


@contextmanager
def schema_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory database with the full schema and no data: for compiling control SQL."""
    con = duckdb.connect(":memory:")
    try:
        apply_migrations(con)
        yield con
    finally:
        con.close()


def stage_records(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Stream records to newline-delimited JSON without holding them in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, default=str, separators=(",", ":")))
            out.write("\n")
            count += 1
    os.replace(tmp, path)
    return count
