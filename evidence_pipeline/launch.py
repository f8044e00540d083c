"""A day's run from the command line: the daily job, through Dagster's `execute_job` on the instance under the data
folder, the same job the schedule and the UI launch. One run per process: the steps fork from a server that keeps
the environment (the sources' settings) it started with."""

from __future__ import annotations

import fcntl
import logging
import multiprocessing
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from multiprocessing import forkserver
from pathlib import Path

import dagster as dg

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.defs.automation import DAILY_JOB
from evidence_pipeline.defs.sources.factory import not_collected
from evidence_pipeline.evidence.chain import remove_abandoned_bundles
from evidence_pipeline.evidence.signing import signing_key_for_writing
from evidence_pipeline.instance import STEP_PRELOAD_MODULES, instance_settings_file
from evidence_pipeline.launcher import HOST_TAG, IN_PROGRESS, free_dead_runs, this_host
from evidence_pipeline.organisation import load_organisation, organisation_file
from evidence_pipeline.settings import Paths, check_url_settings, optional_project_file, project_file, record_first_day
from evidence_pipeline.waivers import load_waivers
from warehouse import Warehouse, results

PARTITION_TAG = "dagster/partition"
#: a tag naming this process's launch, by which its follower finds the run (execute_job returns its id at the end)
LAUNCH_TAG = "evidence/launch"
#: how often the follower reads the run's new events: each read opens the event storage, and the run's processes
#: share the machine's cores with it (a step's news can wait a second)
FOLLOW_SECONDS = 1.0


def prepare_dagster_home(paths: Paths) -> Path:
    """DAGSTER_HOME inside the data folder, with the package's instance settings (or EVIDENCE_DAGSTER_YAML's, e.g.
    the PostgreSQL one); the data folder owner-only."""
    paths.make_private()
    home = paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(instance_settings_file(), home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["EVIDENCE_HOME"] = str(paths.home)
    # the instance's storage is created once, under a lock: runs started at once (a backfill from the shell) would
    # otherwise race to create its SQLite schema and leave it with two migration heads
    with (home / ".instance.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with dg.DagsterInstance.get():
            pass
    return home


def check_settings() -> None:
    """Refuse, before the run starts, the settings its steps would each fail on (a URL variable that is not a URL,
    a signing key that cannot be used, a malformed waivers.yaml or organisation.yaml), with the error naming the
    variable or file."""
    check_url_settings()
    signing_key_for_writing("the daily evidence bundle")  # the snapshot would refuse an unsigned bundle, after the day
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    load_waivers(optional_project_file("waivers.yaml"), set(catalogue.by_id))
    # the report would name nobody on a bad profile: said now, not discovered on page 1 after the day
    if profile := organisation_file():
        load_organisation(profile, {control.owner for control in catalogue.controls})


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    failed_steps: list[str]
    #: datasets whose `collected` check failed (not configured, or the system could not be read to the end)
    uncollected: dict[str, str]


def run_log_file(paths: Paths, day: date, run_id: str) -> Path:
    """Where a CLI run's full Dagster log is written, under the data folder."""
    return paths.home / "logs" / f"{day.isoformat()}-{run_id}.log"


def log_line(entry: dg.EventLogEntry) -> str:
    """An event log entry as Dagster's console logger prints it (time, level, job, run, step, event, message)."""
    event = entry.dagster_event
    message = f"{event.event_type_value} - {event.message or entry.user_message}" if event else entry.user_message
    stamp = datetime.fromtimestamp(entry.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S %z")
    fields = [stamp, "dagster", logging.getLevelName(entry.level), entry.job_name, entry.run_id, entry.step_key]
    return " - ".join(str(f) for f in fields if f) + f" - {message}"


class RunFollower:
    """Follows the run this process executes through the instance's event log, as the UI does: the multiprocess
    executor's step processes write their events there, so every step's are seen, while `execute_job` blocks.
    Every entry goes to the run's log file (run_log_file) and to `on_entry`; `on_start` hears the run's id first.

    A thread polls the storage (its own instance: the storage's connections are not shared across threads); no
    second orchestrator is involved. Leaving the `with` reads what is left, so nothing the run wrote is missed."""

    def __init__(
        self,
        paths: Paths,
        day: date,
        on_start: Callable[[str, Path], None] | None = None,
        on_entry: Callable[[dg.EventLogEntry], None] | None = None,
    ) -> None:
        self.launch = uuid.uuid4().hex
        self.paths, self.day = paths, day
        self.on_start, self.on_entry = on_start, on_entry
        self.run_id: str | None = None
        self.log_file: Path | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="evidence-run-follower", daemon=True)

    def __enter__(self) -> RunFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _follow(self) -> None:
        with dg.DagsterInstance.get() as instance:
            cursor: str | None = None
            log = None
            try:
                while True:
                    last_round = self._done.is_set()  # set before this read: the run had ended, this drains it
                    if self.run_id is None:
                        self._find_run(instance)
                        if self.run_id is not None:
                            log = self.log_file.open("a", encoding="utf-8")
                    while self.run_id is not None:
                        page = instance.get_records_for_run(self.run_id, cursor=cursor, limit=1000)
                        for record in page.records:
                            log.write(log_line(record.event_log_entry) + "\n")
                            self._tell(self.on_entry, record.event_log_entry)
                        log.flush()
                        cursor = page.cursor
                        if not page.has_more:
                            break
                    if last_round:
                        return
                    self._done.wait(FOLLOW_SECONDS)
            finally:
                if log is not None:
                    log.close()

    def _find_run(self, instance: dg.DagsterInstance) -> None:
        found = instance.get_run_records(dg.RunsFilter(tags={LAUNCH_TAG: self.launch}), limit=1)
        if found:
            self.run_id = found[0].dagster_run.run_id
            self.log_file = run_log_file(self.paths, self.day, self.run_id)
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._tell(self.on_start, self.run_id, self.log_file)

    @staticmethod
    def _tell(listener: Callable[..., None] | None, *args: object) -> None:
        if listener is None:
            return
        try:
            listener(*args)
        except Exception:  # showing progress must never stop the log file or the run; the log holds the truth
            logging.getLogger(__name__).exception("the run's progress display failed")


def console_log_config(verbose: bool) -> dict[str, object]:
    """Run config of Dagster's console logger: every DEBUG line with `verbose`, else none (they are in the log
    file, and the CLI prints its own lines)."""
    return {"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "CRITICAL"}}}}


def start_step_forkserver() -> None:
    """Start the step executor's forkserver now, with the preload the executor gives it, so that it imports the code
    location while this process does the same (seconds before the first step, otherwise); the executor finds it
    running. It keeps the environment of this moment: DAGSTER_HOME and the sources' settings are already set."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(
        ["dagster._core.executor.multiprocess", *STEP_PRELOAD_MODULES]
    )
    forkserver.ensure_running()


def run_day(
    day: date,
    paths: Paths,
    assets: list[dg.AssetKey] | None = None,
    *,
    verbose: bool = False,
    on_start: Callable[[str, Path], None] | None = None,
    on_entry: Callable[[dg.EventLogEntry], None] | None = None,
) -> RunOutcome:
    """The daily job for `day` (or the given assets of it) in this process, on DAGSTER_HOME's instance. Dagster's
    full log goes to run_log_file; on the console only with `verbose`. `on_start` and `on_entry` follow the run
    (RunFollower)."""
    record_first_day(paths, day)  # before the code location loads: its daily partitions start at the first day
    check_settings()
    prepare_dagster_home(paths)
    start_step_forkserver()
    # the code location builds every definition (seconds): imported when a run starts, not by what uses run_outcome
    from evidence_pipeline import definitions

    with dg.DagsterInstance.get() as instance:
        for run_id in free_dead_runs(instance):
            print(f"run {run_id} had died (its worker was killed): marked failed, its pool slots freed")
        remove_abandoned_bundles(paths.evidence, bool(instance.get_runs_count(dg.RunsFilter(statuses=IN_PROGRESS))))
        follower = RunFollower(paths, day, on_start, on_entry)
        with (
            follower,
            dg.execute_job(
                dg.reconstructable(definitions.daily_evidence_job),
                instance=instance,
                run_config=console_log_config(verbose),
                asset_selection=assets,
                raise_on_error=False,
                tags={PARTITION_TAG: day.isoformat(), HOST_TAG: this_host(), LAUNCH_TAG: follower.launch},
            ) as result,
        ):
            run_id = result.run_id
        return run_outcome(instance, run_id)


def run_outcome(instance: dg.DagsterInstance, run_id: str) -> RunOutcome:
    """What a finished run came to, from its event log (whichever way it was launched)."""
    run = instance.get_run_by_id(run_id)
    failed = [
        record.event_log_entry.step_key or ""
        for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    ]
    uncollected: dict[str, str] = {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
        if missing := not_collected(record.event_log_entry.dagster_event.event_specific_data):
            uncollected[missing[0]] = missing[1]
    return RunOutcome(
        run_id, run is not None and run.status == dg.DagsterRunStatus.SUCCESS, sorted(failed), uncollected
    )


def nothing_collected(paths: Paths, day: date) -> str | None:
    """Why the day has no collected evidence at all (every source failed, or none is configured), or None when some
    dataset was collected: a day of only *unknown* verdicts must not end like a good one."""
    if not paths.warehouse.exists():
        return f"nothing was collected for {day}: no warehouse at {paths.warehouse}"
    rows = sorted(results.source_status_of_day(Warehouse(paths.warehouse), day), key=lambda row: row["name"])
    if any(row["status"] == "succeeded" for row in rows):
        return None
    states = "; ".join(f"{row['name']} {row['status'].replace('_', ' ')}" for row in rows) or "no source ran"
    return f"no source could be collected for {day} ({states})"


__all__ = [
    "DAILY_JOB",
    "RunFollower",
    "RunOutcome",
    "check_settings",
    "nothing_collected",
    "prepare_dagster_home",
    "run_day",
    "run_log_file",
]
