"""The warehouse's turns between processes: a process waiting for the file opens DuckDB once, when the holder has
let go (a failed open costs tens of milliseconds of CPU, and backing off from it slept up to a second after the
file was free), a connection opened inside another in the same process joins its turn, threads of one process
share it, a process killed while holding it passes it on, and a turn never given is an error naming the file."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from warehouse import Warehouse

HOLD_SECONDS = 1.5


def _hold(path: str, ready: multiprocessing.synchronize.Event, seconds: float) -> None:
    warehouse = Warehouse(Path(path))
    with warehouse.connect() as con:
        con.execute("CREATE TABLE IF NOT EXISTS held (written_at DOUBLE)")
        ready.set()
        time.sleep(seconds)
        con.execute("INSERT INTO held VALUES (?)", [time.time()])


def _holder(path: Path, seconds: float) -> multiprocessing.Process:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=_hold, args=(str(path), ready, seconds))
    process.start()
    assert ready.wait(60), "the holding process never got the warehouse"
    return process


def test_a_waiting_process_opens_duckdb_once_the_holder_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warehouse.store

    opened: list[str] = []
    real_connect = warehouse.store.duckdb.connect

    def counted(database: str, *args: object, **kwargs: object) -> object:
        opened.append(database)
        return real_connect(database, *args, **kwargs)

    path = tmp_path / "warehouse.duckdb"
    holder = _holder(path, HOLD_SECONDS)
    monkeypatch.setattr(warehouse.store.duckdb, "connect", counted)
    with Warehouse(path).connect() as con:
        # the holder had written its row and let go: this process waited for its turn, not on DuckDB's lock
        assert con.execute("SELECT count(*) FROM held").fetchone()[0] == 1
    holder.join(10)
    assert opened == [str(path)]


def test_a_connection_inside_another_joins_this_process_turn(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.connect() as outer:
        outer.execute("CREATE TABLE t (x INTEGER)")
        with warehouse.connect() as inner:  # would wait for itself if the turn were not shared in the process
            inner.execute("INSERT INTO t VALUES (1)")
        assert outer.execute("SELECT count(*) FROM t").fetchone()[0] == 1


def test_threads_of_one_process_share_its_turn(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    inside = threading.Event()
    with warehouse.connect() as con:
        con.execute("CREATE TABLE t (x INTEGER)")

        def other_thread() -> None:
            with warehouse.connect() as mine:
                mine.execute("INSERT INTO t VALUES (2)")
                inside.set()

        thread = threading.Thread(target=other_thread)
        thread.start()
        # the main thread still holds its connection: the other thread works beside it, not after it
        assert inside.wait(10)
        thread.join()
        assert con.execute("SELECT x FROM t").fetchall() == [(2,)]


def test_a_process_killed_while_holding_the_file_passes_it_on(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    holder = _holder(path, 60)
    holder.kill()
    holder.join(10)
    with Warehouse(path).connect() as con:  # the kernel released the dead process's lock: no wait for a deadline
        assert con.execute("SELECT count(*) FROM held").fetchone()[0] == 0


def test_a_turn_never_given_is_an_error_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warehouse.store

    path = tmp_path / "warehouse.duckdb"
    holder = _holder(path, 30)
    monkeypatch.setattr(warehouse.store, "LOCK_WAIT_SECONDS", 0.3)
    try:
        with (
            pytest.raises(TimeoutError, match=r"warehouse\.duckdb\.lock: another process kept the warehouse"),
            Warehouse(path).connect(),
        ):
            pass
    finally:
        holder.kill()
        holder.join(10)
