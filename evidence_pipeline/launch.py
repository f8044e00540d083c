"""A day's run from the command line: the daily job, through Dagster's `execute_job` on the instance under the data
folder, the same job the schedule and the UI launch. One run per process: the steps fork from a server that keeps
the environment (the sources' settings) it started with."""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.defs.automation import DAILY_JOB
from evidence_pipeline.evidence.chain import remove_abandoned_bundles
from evidence_pipeline.evidence.signing import signing_key_for_writing
from evidence_pipeline.launcher import HOST_TAG, IN_PROGRESS, free_dead_runs, this_host
from evidence_pipeline.settings import Paths, check_url_settings, optional_project_file, project_file
from evidence_pipeline.waivers import load_waivers
from warehouse import Warehouse, results

PARTITION_TAG = "dagster/partition"


def prepare_dagster_home(paths: Paths) -> Path:
    """DAGSTER_HOME inside the data folder, with the repository's dagster.yaml (or EVIDENCE_DAGSTER_YAML's, e.g. the
    PostgreSQL one); the data folder owner-only."""
    paths.make_private()
    home = paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_file("dagster.yaml"), home / "dagster.yaml")
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
    a signing key that cannot be used, a malformed waivers.yaml), with the error naming the variable or file."""
    check_url_settings()
    signing_key_for_writing("the daily evidence bundle")  # the snapshot would refuse an unsigned bundle, after the day
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    load_waivers(optional_project_file("waivers.yaml"), set(catalogue.by_id))


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    failed_steps: list[str]
    #: datasets whose `collected` check failed (not configured, or the system could not be read to the end)
    uncollected: dict[str, str]


def run_day(day: date, paths: Paths, assets: list[dg.AssetKey] | None = None) -> RunOutcome:
    """The daily job for `day` (or the given assets of it) in this process, on DAGSTER_HOME's instance."""
    # the code location builds every definition (seconds): imported when a run starts, not by what uses run_outcome
    from evidence_pipeline import definitions

    check_settings()
    prepare_dagster_home(paths)
    with dg.DagsterInstance.get() as instance:
        for run_id in free_dead_runs(instance):
            print(f"run {run_id} had died (its worker was killed): marked failed, its pool slots freed")
        remove_abandoned_bundles(paths.evidence, bool(instance.get_runs_count(dg.RunsFilter(statuses=IN_PROGRESS))))
        with dg.execute_job(
            dg.reconstructable(definitions.daily_evidence_job),
            instance=instance,
            asset_selection=assets,
            raise_on_error=False,
            tags={PARTITION_TAG: day.isoformat(), HOST_TAG: this_host()},
        ) as result:
            return run_outcome(instance, result.run_id)


def run_outcome(instance: dg.DagsterInstance, run_id: str) -> RunOutcome:
    """What a finished run came to, from its event log (whichever way it was launched)."""
    run = instance.get_run_by_id(run_id)
    failed = [
        record.event_log_entry.step_key or ""
        for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    ]
    uncollected: dict[str, str] = {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.check_name == "collected" and not evaluation.passed:
            uncollected[".".join(evaluation.asset_key.path[1:])] = evaluation.description or ""
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


__all__ = ["DAILY_JOB", "RunOutcome", "check_settings", "nothing_collected", "prepare_dagster_home", "run_day"]
