"""Runs a day's jobs outside the UI (the CLI, the demo, the tests) on a real Dagster
instance under the data folder, with Dagster's default multiprocess executor."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from evidence_pipeline.alerts import WEBHOOK_ENV, report_newly_failing
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evidence.chain import remove_abandoned_bundles
from evidence_pipeline.evidence.signing import signing_key_for_writing
from evidence_pipeline.settings import Paths, check_url_settings, optional_project_file, project_file
from evidence_pipeline.waivers import load_waivers
from warehouse import Warehouse


def prepare_dagster_home(paths: Paths) -> Path:
    """DAGSTER_HOME inside the data folder, with the repository's dagster.yaml; the data folder owner-only."""
    paths.make_private()
    home = paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_file("dagster.yaml"), home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["EVIDENCE_HOME"] = str(paths.home)
    with dg.DagsterInstance.get():  # create the run storage once, before run workers race to create it
        pass
    return home


@dataclass(frozen=True)
class JobOutcome:
    job: str
    run_id: str
    success: bool
    failed_steps: list[str]
    #: assets the run planned but did not materialize: a source's failed datasets (its step still lands the others),
    #: and whatever was skipped after them
    failed_assets: list[str]


class RunWorker:
    """One partition of a job, in a run worker process of its own as Dagster's run launcher does.

    The worker starts at once and imports the code location, then waits for `run()`: the next run of a day can get
    ready while the one before it is under way. The steps fork from a server that preloads the code location (see
    definitions.STEP_EXECUTOR), and such a server keeps the environment it started with; a run worker per run means
    each run sees the environment of the moment it was created (the sources' settings, EVIDENCE_HOME), even when one
    process runs many. `assets` narrows the job to some of its assets (a re-collect of one source).
    """

    def __init__(self, job_name: str, day: date, assets: list[dg.AssetKey] | None = None) -> None:
        self.job_name, self.day = job_name, day
        # the outcome comes back on a pipe of its own: stdout is shared with every step process, whose prints
        # could run into (or after) the outcome's line
        read_end, write_end = os.pipe()
        command = [
            sys.executable,
            "-m",
            "evidence_pipeline.run_worker",
            "--wait",
            "--outcome-fd",
            str(write_end),
            job_name,
            day.isoformat(),
            *(key.to_user_string() for key in assets or []),
        ]
        try:
            # stdout is the steps' chatter, dropped as before (Dagster's own logs go to stderr)
            self.process = subprocess.Popen(
                command,
                env=dict(os.environ),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(write_end,),
                text=True,
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # the worker holds the only write end: end of file = the worker is done with it
        self._outcome = os.fdopen(read_end, encoding="utf-8")

    def run(self) -> JobOutcome:
        try:
            self.process.stdin.write("run\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # the worker is gone; its exit status says why
        with self._outcome:
            text = self._outcome.read()  # read before waiting: a worker never blocks on a full pipe
        if self.process.wait() != 0 or not text:
            raise RuntimeError(f"the run worker for {self.job_name} {self.day} exited with {self.process.returncode}")
        return JobOutcome(**json.loads(text))

    def cancel(self) -> None:
        """A worker told nothing (its stdin closed) exits without starting a run."""
        if self.process.returncode is None:
            self.process.communicate()
        self._outcome.close()


def run_job(
    job_name: str, day: date, instance: dg.DagsterInstance | None = None, assets: list[dg.AssetKey] | None = None
) -> JobOutcome:
    """One partition of a job in a run worker (see RunWorker). `instance` is unused: the worker opens
    DAGSTER_HOME's instance itself."""
    return RunWorker(job_name, day, assets).run()


def run_jobs(job_names: list[str], day: date) -> list[JobOutcome]:
    """A day's jobs one after the other, each worker started while the run before it is under way."""
    workers = [RunWorker(job_name, day) for job_name in job_names]
    try:
        return [worker.run() for worker in workers]
    finally:
        for worker in workers:
            worker.cancel()


#: run tag naming the lock file its run worker holds while it lives (see `reclaim_dead_runs`)
WORKER_LOCK_TAG = "evidence/run_worker_lock"
_LOCK_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _worker_locks(instance: dg.DagsterInstance) -> Path:
    folder = Path(instance.root_directory) / "run_workers"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def reclaim_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the runs whose worker was killed outright (SIGKILL, the OOM killer, a power cut) and free their pool slots.

    Such a run stays STARTED for ever, and Dagster frees a pool slot only when its run finishes, so the
    `duckdb_writer` slot a killed step held would stay claimed and every later control evaluation would wait
    on it for ever. A worker holds an flock on its lock file while it lives; the kernel drops it when the process
    dies, so a free lock means no worker. Runs launched elsewhere (the UI) carry no lock tag and are left alone.
    """
    reclaimed: list[str] = []
    for run in instance.get_runs(dg.RunsFilter(statuses=_IN_PROGRESS)):
        token = run.tags.get(WORKER_LOCK_TAG, "")
        if not _LOCK_TOKEN.match(token):
            continue
        lock = _worker_locks(instance) / f"{token}.lock"
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its worker is alive
            current = instance.get_run_by_id(run.run_id)
            if current is None or current.status not in _IN_PROGRESS:
                continue  # another worker reclaimed it meanwhile
            instance.report_run_failed(
                current,
                "The run worker died before the run finished (killed); marked "
                "failed so that its pool slots are freed. Re-run the partition.",
            )
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            lock.unlink(missing_ok=True)
        reclaimed.append(run.run_id)
    return reclaimed


def _execute(job_name: str, day: date, assets: list[dg.AssetKey] | None, wait: bool) -> JobOutcome | None:
    from evidence_pipeline import definitions

    job = dg.reconstructable(getattr(definitions, f"{job_name}_job"))
    if wait and not sys.stdin.readline():
        return None  # told nothing: the caller gave up on this run
    with dg.DagsterInstance.get() as instance:
        reclaim_dead_runs(instance)
        remove_abandoned_bundles(
            Paths.from_env().evidence, bool(instance.get_runs_count(dg.RunsFilter(statuses=_IN_PROGRESS)))
        )
        token = uuid.uuid4().hex
        lock = _worker_locks(instance) / f"{token}.lock"
        # held until this process ends, however it ends; not inherited by the step processes (close-on-exec)
        with lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            with dg.execute_job(
                job,
                instance=instance,
                asset_selection=assets,
                raise_on_error=False,
                tags={"dagster/partition": day.isoformat(), WORKER_LOCK_TAG: token},
            ) as result:
                failed = [
                    event.step_key
                    for event in result.all_events
                    if event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key
                ]
                planned = {
                    record.event_log_entry.dagster_event.asset_key
                    for record in instance.get_records_for_run(
                        result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
                    ).records
                }
                materialized = {
                    event.asset_key
                    for event in result.all_events
                    if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
                }
                outcome = JobOutcome(
                    job_name,
                    result.run_id,
                    result.success,
                    failed,
                    sorted(key.to_user_string() for key in planned - materialized if key),
                )
        lock.unlink(missing_ok=True)
        return outcome


def check_settings() -> None:
    """Refuse, before any run starts, the settings its steps would each fail on (a URL variable that is not a URL,
    a signing key that cannot be used, a malformed waivers.yaml), with the error naming the variable or file."""
    check_url_settings()
    signing_key_for_writing("the daily evidence bundle")  # the snapshot would refuse an unsigned bundle, after the day
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    load_waivers(optional_project_file("waivers.yaml"), set(catalogue.by_id))


def run_day(day: date, paths: Paths) -> list[JobOutcome]:
    """Collect every source, then evaluate every control and snapshot, whatever collection's outcome."""
    check_settings()
    prepare_dagster_home(paths)
    outcomes = run_jobs(["collect_sources", "evaluate_controls"], day)
    # no daemon runs the sensors here, so announce newly failing controls the way the sensor does
    report_newly_failing(Warehouse(paths.warehouse), day, os.environ.get(WEBHOOK_ENV))
    return outcomes


def nothing_collected(paths: Paths, day: date) -> str | None:
    """Why the day has no collected evidence at all (every source failed, or none is configured), or None when some
    dataset was collected: a day of only *unknown* verdicts must not end like a good one."""
    if not paths.warehouse.exists():
        return f"nothing was collected for {day}: no warehouse at {paths.warehouse}"
    rows = Warehouse(paths.warehouse).query(
        "SELECT source || '.' || dataset AS name, status FROM source_status WHERE snapshot_date = ? ORDER BY name",
        [day],
    )
    if any(row["status"] == "succeeded" for row in rows):
        return None
    states = "; ".join(f"{row['name']} {row['status'].replace('_', ' ')}" for row in rows) or "no source ran"
    return f"no source could be collected for {day} ({states})"


def run_worker_main(arguments: list[str]) -> None:
    """`python -m evidence_pipeline.run_worker [--wait] --outcome-fd FD JOB DATE [ASSET_KEY ...]`: the outcome is
    written as JSON to file descriptor FD (a pipe the caller passed), never to the stdout the steps share; with
    `--wait`, the run starts when a line arrives on stdin (see RunWorker)."""
    parser = argparse.ArgumentParser(prog="python -m evidence_pipeline.run_worker")
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--outcome-fd", type=int, required=True)
    parser.add_argument("job")
    parser.add_argument("day", type=date.fromisoformat)
    parser.add_argument("assets", nargs="*")
    args = parser.parse_args(arguments)
    os.set_inheritable(args.outcome_fd, False)  # no step process may hold it open (the caller reads to its end)
    with os.fdopen(args.outcome_fd, "w", encoding="utf-8") as channel:
        outcome = _execute(
            args.job, args.day, [dg.AssetKey.from_user_string(k) for k in args.assets] or None, args.wait
        )
        if outcome is not None:
            channel.write(json.dumps(asdict(outcome)))
