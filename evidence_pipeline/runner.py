"""Runs a day's jobs outside the UI (the CLI, the demo, the tests) on a real Dagster
instance under the data folder, with Dagster's default multiprocess executor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from evidence_pipeline.alerts import WEBHOOK_ENV, report_newly_failing
from evidence_pipeline.settings import Paths, project_file
from warehouse import Warehouse


def prepare_dagster_home(paths: Paths) -> Path:
    """DAGSTER_HOME inside the data folder, with the repository's dagster.yaml."""
    home = paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_file("dagster.yaml"), home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["EVIDENCE_HOME"] = str(paths.home)
    return home


@dataclass(frozen=True)
class JobOutcome:
    job: str
    run_id: str
    success: bool
    failed_steps: list[str]


def run_job(job_name: str, day: date, instance: dg.DagsterInstance | None = None,
            assets: list[dg.AssetKey] | None = None) -> JobOutcome:
    """One partition of a job, in a run worker process of its own as Dagster's run launcher does.

    The steps fork from a server that preloads the code location (see definitions.STEP_EXECUTOR), and
    such a server keeps the environment it started with; a run worker per run means each run sees the
    environment of the moment (the sources' settings, EVIDENCE_HOME), even when one process runs many.
    `assets` narrows the job to some of its assets (a re-collect of one source). `instance` is unused:
    the worker opens DAGSTER_HOME's instance itself.
    """
    command = [sys.executable, "-m", "evidence_pipeline.runner", job_name, day.isoformat(),
               *(key.to_user_string() for key in assets or [])]
    worker = subprocess.run(command, env=dict(os.environ), stdout=subprocess.PIPE, text=True, check=False)
    lines = worker.stdout.strip().splitlines()
    if worker.returncode != 0 or not lines:
        raise RuntimeError(f"the run worker for {job_name} {day} exited with {worker.returncode}")
    return JobOutcome(**json.loads(lines[-1]))


def _execute(job_name: str, day: date, assets: list[dg.AssetKey] | None) -> JobOutcome:
    from evidence_pipeline import definitions

    job = dg.reconstructable(getattr(definitions, f"{job_name}_job"))
    with dg.DagsterInstance.get() as instance, dg.execute_job(
            job, instance=instance, tags={"dagster/partition": day.isoformat()}, asset_selection=assets,
            raise_on_error=False) as result:
        failed = [event.step_key for event in result.all_events
                  if event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key]
        return JobOutcome(job_name, result.run_id, result.success, failed)


def run_day(day: date, paths: Paths) -> list[JobOutcome]:
    """Collect every source, then evaluate every control and snapshot, whatever collection's outcome."""
    prepare_dagster_home(paths)
    outcomes = [run_job("collect_sources", day), run_job("evaluate_controls", day)]
    # no daemon runs the sensors here, so announce newly failing controls the way the sensor does
    report_newly_failing(Warehouse(paths.warehouse), day, os.environ.get(WEBHOOK_ENV))
    return outcomes


if __name__ == "__main__":  # the run worker: `python -m evidence_pipeline.runner JOB DATE [ASSET_KEY ...]`
    outcome = _execute(sys.argv[1], date.fromisoformat(sys.argv[2]),
                       [dg.AssetKey.from_user_string(key) for key in sys.argv[3:]] or None)
    print(json.dumps(asdict(outcome)), flush=True)
