"""Runs a day's jobs outside the UI (the CLI, the demo, the tests) on a real Dagster
instance under the data folder, with Dagster's default multiprocess executor."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
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


def run_job(job_name: str, day: date, instance: dg.DagsterInstance,
            assets: list[dg.AssetKey] | None = None) -> JobOutcome:
    """One partition of a job; `assets` narrows it to some of its assets (a re-collect of one source)."""
    from evidence_pipeline import definitions

    job = dg.reconstructable(getattr(definitions, f"{job_name}_job"))
    with dg.execute_job(job, instance=instance, tags={"dagster/partition": day.isoformat()},
                        asset_selection=assets, raise_on_error=False) as result:
        failed = [event.step_key for event in result.all_events
                  if event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key]
        return JobOutcome(job_name, result.run_id, result.success, failed)


def run_day(day: date, paths: Paths) -> list[JobOutcome]:
    """Collect every source, then evaluate every control and snapshot, whatever collection's outcome."""
    prepare_dagster_home(paths)
    with dg.DagsterInstance.get() as instance:
        outcomes = [run_job("collect_sources", day, instance), run_job("evaluate_controls", day, instance)]
    # no daemon runs the sensors here, so announce newly failing controls the way the sensor does
    report_newly_failing(Warehouse(paths.warehouse), day, os.environ.get(WEBHOOK_ENV))
    return outcomes
