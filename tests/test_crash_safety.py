"""Crash safety (issue 6): a run SIGKILLed while landing a dataset and while writing a bundle; the re-run completes,
DuckDB opens, the day's rows are the last complete landing or none, and no half-written bundle looks complete.

Each run is `evidence-pipeline run --asset ...` started in a session of its own, so one `killpg` reaches it, its
forkserver, the forked step processes and their children (Chromium). The kill points
are found from outside, without hooks in production code: the sandbox's fake GitHub is slowed (server latency) so
staging lasts long enough to be seen, and the test holds DuckDB's write lock while the step finishes staging, then
steps the frozen process group until a step has the warehouse open: the kill lands inside `Warehouse.land`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import dagster as dg
import duckdb
import pytest
from dagster._core.events import EngineEventData

from evidence_pipeline.evidence.chain import MANIFEST, daily_bundles, latest_bundle
from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key
from evidence_pipeline.evidence.verify import VerificationError, verify_bundle, verify_series
from evidence_pipeline.launch import DAILY_JOB, RunOutcome, prepare_dagster_home, run_outcome
from evidence_pipeline.launcher import HOST_TAG, free_dead_runs, this_host
from evidence_pipeline.settings import Paths
from sandbox.launch import Sandbox
from tests import runs
from tests.conftest import sandbox_home
from warehouse import Warehouse

DAY = date(2026, 11, 20)
REPOSITORIES = "sources/github/repositories"
STAGED = "github__repositories.jsonl"
#: the bundle writer alone: it loads every control's stored outcome (the controls' own step is no part of this)
SNAPSHOT = ["evidence/daily_snapshot"]
#: generous: a run worker needs ~10 s on two cores; a run that waits for ever on a leaked pool slot must fail, not hang
RUN_TIMEOUT = 120.0
T = TypeVar("T")
WRITER_POOL = "writers"


@dataclass
class CrashDay:
    sandbox: Sandbox
    paths: Paths
    key_id: str

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.paths.warehouse)


@pytest.fixture(scope="module")
def crash_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashDay]:
    """A small sandbox and a data folder of this module's own (the session's pipeline_day is left alone)."""
    home = tmp_path_factory.mktemp("crash-home")
    with sandbox_home(home, size=10) as (sandbox, paths):
        prepare_dagster_home(paths)
        os.environ[SIGNING_KEY_ENV] = str(ensure_data_folder_key(home).path)
        yield CrashDay(sandbox, paths, ensure_data_folder_key(home).key_id)


# -- the killable run worker ----------------------------------------------------------------------------------------


class Worker:
    """`evidence-pipeline run --date DAY --asset KEY...`, the CLI's launch of the daily job, in a session of its own."""

    def __init__(self, assets: list[str], log: Path) -> None:
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "evidence_pipeline.cli", "run", "--date", DAY.isoformat()]
                + [f"--asset={key}" for key in assets],
                env=dict(os.environ),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.session = self.process.pid

    def processes(self) -> list[int]:
        """Live processes of the worker's session (zombies, which no one here reaps, excluded)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.session and fields[0] != "Z":
                found.append(int(entry.name))
        return found

    def has_open(self, path: Path) -> bool:
        target = os.path.realpath(path)
        for pid in self.processes():
            try:
                fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            except OSError:
                continue
            if target in fds:
                return True
        return False

    def signal(self, sig: signal.Signals) -> None:
        os.killpg(self.session, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group; nothing of the run may survive it."""
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.processes() == [], "a process of the killed run survived the SIGKILL of its group"

    def finish(self) -> RunOutcome:
        try:
            self.process.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            blocked = [line for line in self.log.read_text().splitlines() if "blocked" in line.lower()]
            pytest.fail(f"the re-run did not finish in {RUN_TIMEOUT:.0f} s: {blocked[-1:] or 'see ' + str(self.log)}")
        found = runs.RUN_ID.search(self.log.read_text())
        assert self.process.returncode == 0 and found, f"the run exited {self.process.returncode}: see {self.log}"
        with dg.DagsterInstance.get() as instance:
            return run_outcome(instance, found.group(1))


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 90.0) -> T:
    """Kill points are brief: look often."""
    return runs.wait_for(what, probe, timeout, every=0.005)


def new_staging_folder(paths: Paths, before: set[Path]) -> Path | None:
    return next((p for p in paths.staging.glob("*") if p not in before), None) if paths.staging.exists() else None


def run_status(run_id: str) -> dg.DagsterRunStatus:
    with dg.DagsterInstance.get() as instance:
        return instance.get_run_by_id(run_id).status


def latest_run_id() -> str:
    with dg.DagsterInstance.get() as instance:
        return instance.get_runs(dg.RunsFilter(job_name=DAILY_JOB), limit=1)[0].run_id


def claimed_pool_slots(instance: dg.DagsterInstance) -> set[str]:
    return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(WRITER_POOL).claimed_slots}


# -- the warehouse's invariant --------------------------------------------------------------------------------------


def landed_state(warehouse: Warehouse) -> tuple[dict[str, int], dict | None]:
    """(rows of the day per run_id, the latest succeeded collection of the day). Opening and migrating the
    warehouse is itself the first check: a torn file or an unreplayable WAL fails here."""
    assert warehouse.migrate() == [], "every migration was applied before the kill"
    rows = {
        r["run_id"]: r["n"]
        for r in warehouse.query(
            "SELECT run_id, count(*) AS n FROM raw_github_repositories WHERE snapshot_date = ? GROUP BY run_id", [DAY]
        )
    }
    succeeded = warehouse.query(
        "SELECT run_id, record_count FROM collection_log WHERE source = 'github' AND dataset = 'repositories' "
        "AND snapshot_date = ? AND status = 'succeeded' ORDER BY logged_at DESC LIMIT 1",
        [DAY],
    )
    return rows, (succeeded[0] if succeeded else None)


def assert_whole_or_nothing(warehouse: Warehouse) -> None:
    """The day's rows are exactly one complete landing, the one the log last records as succeeded, or none."""
    rows, succeeded = landed_state(warehouse)
    if succeeded is None:
        assert rows == {}, f"rows landed without a succeeded collection: {rows}"
    else:
        assert rows == {succeeded["run_id"]: succeeded["record_count"]}, (rows, succeeded)


def assert_landed_truth(crash_day: CrashDay, outcome: RunOutcome) -> None:
    truth = len(crash_day.sandbox.org.github.repositories)
    rows, succeeded = landed_state(crash_day.warehouse)
    assert outcome.success and outcome.failed_steps == [], outcome
    assert succeeded == {"run_id": outcome.run_id, "record_count": truth}
    assert rows == {outcome.run_id: truth}


# -- the tests ------------------------------------------------------------------------------------------------------


def test_killed_while_landing_then_rerun_completes(crash_day: CrashDay, tmp_path: Path) -> None:
    paths, github = crash_day.paths, crash_day.sandbox.servers["github"]

    # 1. killed mid-collection: the staged file is still being written (the slowed fake answers in 1.5 s)
    github.latency = 1.5
    before = set(paths.staging.glob("*")) if paths.staging.exists() else set()
    worker = Worker([REPOSITORIES], tmp_path / "staging-kill.log")
    try:
        part = wait_for(
            "the staged .part file",
            lambda: (folder := new_staging_folder(paths, before)) and next(iter(folder.glob(f"{STAGED}.part")), None),
        )
    finally:
        worker.kill()
    assert part.exists() and not part.with_suffix("").exists(), "killed before staging finished"
    rows, succeeded = landed_state(crash_day.warehouse)
    assert rows == {} and succeeded is None  # nothing of the killed run landed
    killed_run = latest_run_id()
    assert run_status(killed_run) == dg.DagsterRunStatus.STARTED  # Dagster never learns the worker died

    github.latency = 0.0
    first = Worker([REPOSITORIES], tmp_path / "rerun-1.log").finish()
    assert_landed_truth(crash_day, first)
    assert run_status(killed_run) == dg.DagsterRunStatus.FAILURE  # the re-run found its worker dead and failed it

    # 2. killed inside Warehouse.land, over the day's earlier complete rows: the test holds DuckDB's write lock
    # while the step stages, so the step waits at land()'s connect; then the frozen group is stepped until a step
    # has the warehouse file open (only land() opens it after staging) and killed there
    github.latency = 1.0
    before = set(paths.staging.glob("*"))
    worker = Worker([REPOSITORIES], tmp_path / "land-kill.log")
    killed_inside_land = False
    try:
        folder = wait_for(
            "the second run's staging",
            lambda: (
                (found := new_staging_folder(paths, before))
                and next(iter(found.glob(f"{STAGED}.part")), None)
                and found
            ),
        )
        lock_holder = duckdb.connect(str(paths.warehouse))
        try:
            wait_for("the staged file, complete", lambda: (folder / STAGED).exists())
            worker.signal(signal.SIGSTOP)
        finally:
            lock_holder.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if worker.has_open(paths.warehouse):
                killed_inside_land = True
                break
            worker.signal(signal.SIGCONT)
            time.sleep(0.002)
            worker.signal(signal.SIGSTOP)
    finally:
        worker.kill()
    assert killed_inside_land, "the step never opened the warehouse to land its staged file"
    assert_whole_or_nothing(crash_day.warehouse)
    rows, succeeded = landed_state(crash_day.warehouse)
    assert sum(rows.values()) == len(crash_day.sandbox.org.github.repositories)  # never the DELETE without INSERT
    landed_by = "the killed run (after its COMMIT)" if succeeded["run_id"] != first.run_id else "the earlier run"
    print(f"killed inside land(): the day's rows are those of {landed_by}")

    github.latency = 0.0
    second = Worker([REPOSITORIES], tmp_path / "rerun-2.log").finish()
    assert_landed_truth(crash_day, second)


def test_killed_while_writing_a_bundle_leaves_nothing_that_looks_complete(crash_day: CrashDay, tmp_path: Path) -> None:
    evidence = crash_day.paths.evidence
    day_folder = evidence / DAY.isoformat()
    finished_before = set(daily_bundles(evidence))
    head_before = latest_bundle(evidence)

    worker = Worker(SNAPSHOT, tmp_path / "bundle-kill.log")
    try:
        # the first file in the aside folder: the bundle is being written (Chromium's PDF, the workbook follow)
        aside = wait_for(
            "a bundle being written aside",
            lambda: (
                day_folder.exists()
                and next((p for p in day_folder.glob(".incomplete-*") if any(f.is_file() for f in p.rglob("*"))), None)
            ),
        )
        worker.signal(signal.SIGSTOP)  # freeze it where it is, then look, then kill
        written = sorted(f.relative_to(aside).as_posix() for f in aside.rglob("*") if f.is_file())
    finally:
        worker.kill()
    killed_run = latest_run_id()

    assert written and MANIFEST not in written, "killed mid-write: files written, no manifest yet"
    assert aside.is_dir()  # SIGKILL skips seal_bundle's cleanup: the aside folder stays, hidden
    finished = set(daily_bundles(evidence))
    assert finished == finished_before, "the killed run renamed no bundle into place"
    assert aside not in finished and latest_bundle(evidence) == head_before
    assert not [p for p in day_folder.iterdir() if p.name.startswith("v") and p not in finished]
    for bundle in finished:
        verify_bundle(bundle)
    with pytest.raises(VerificationError, match="no manifest.json"):
        verify_bundle(aside)

    rerun = Worker(SNAPSHOT, tmp_path / "bundle-rerun.log").finish()
    assert rerun.success and rerun.failed_steps == [], rerun
    assert run_status(killed_run) == dg.DagsterRunStatus.FAILURE  # the re-run found its worker dead and failed it
    # and removed the dead run's aside folder: its raw personal data would otherwise stay for ever
    assert not aside.exists() and not list(day_folder.glob(".incomplete-*"))
    new = set(daily_bundles(evidence)) - finished_before
    assert len(new) == 1
    bundle = new.pop()
    checked = verify_bundle(bundle, require_signature=True)
    assert checked.signed_by == crash_day.key_id
    assert checked["run_id"] == rerun.run_id and checked["snapshot_date"] == DAY.isoformat()
    assert checked["sequence"] == len(finished_before) + 1  # the aborted write took no place in the chain
    assert latest_bundle(evidence) == bundle
    assert [v.bundle for v in verify_series(evidence)] == sorted(finished_before | {bundle})
    recorded = crash_day.warehouse.query("SELECT run_id FROM evidence_snapshots WHERE path = ?", [str(bundle)])
    assert recorded == [{"run_id": rerun.run_id}]


def test_a_dead_workers_run_is_failed_and_its_writer_slot_freed(crash_day: CrashDay) -> None:
    """A run whose worker was killed would look started for ever, and keep any pool slot its step held: the
    launcher's health check finds the run's worker process gone, and the run is failed and its slot freed. A run
    whose worker lives, and one whose worker is on another machine, are left alone."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs
    with dg.DagsterInstance.get() as instance:

        def started_run(host: str, pid: int) -> str:
            run = instance.add_run(
                dg.DagsterRun(
                    job_name=DAILY_JOB,
                    run_id=uuid.uuid4().hex,
                    status=dg.DagsterRunStatus.STARTED,
                    tags={HOST_TAG: host},
                )
            )
            # what a run worker reports first (Dagster's code server, or the executor run in-process)
            instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
            return run.run_id

        dead = started_run(this_host(), gone.pid)
        live = started_run(this_host(), os.getpid())
        elsewhere = started_run("another-machine", gone.pid)
        # a pool of the deployment's own (the pipeline's steps take turns at DuckDB's file lock, not a pool)
        instance.event_log_storage.set_concurrency_slots(WRITER_POOL, 1)
        assert instance.event_log_storage.claim_concurrency_slot(WRITER_POOL, dead, "judge_github").is_claimed
        assert free_dead_runs(instance) == [dead]
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        assert dead not in claimed_pool_slots(instance)
        for run_id in (live, elsewhere):
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
            instance.report_run_failed(instance.get_run_by_id(run_id), "test cleanup")  # nothing left looking alive
