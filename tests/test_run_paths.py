"""One job, three ways to launch it: the schedule, the UI and the CLI run the same plan; a run killed on the UI path
is failed by Dagster's own run monitoring (the daemon `dg dev` starts), through the instance's run launcher
(evidence_pipeline/launcher.py), and the next run of its step goes through.

The UI path is the real one: `evidence-pipeline ui`'s serve_ui (`dg dev`) on a copy of the session's data folder,
and the GraphQL mutation the UI's launchpad sends."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import duckdb
import pytest

from evidence_pipeline.launch import DAILY_JOB, prepare_dagster_home
from evidence_pipeline.launcher import run_worker_process
from evidence_pipeline.settings import Paths
from tests.browser.serve import ServedUi, served_ui
from tests.conftest import PipelineDay
from tests.runs import dagster_environment_kept, wait_for

#: a control, and the step that judges it
CONTROL = ["controls", "cc6_1_github_members_2fa"]
JUDGING_STEP = "judge_github"
T = TypeVar("T")

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


@dataclass
class Ui:
    served: ServedUi
    location: str

    @property
    def paths(self) -> Paths:
        return self.served.paths

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.served.graphql(query, variables)

    def loaded_locations(self) -> list[str]:
        return self.served.loaded_locations()

    def launch(self, partition: str, assets: list[list[str]] | None = None) -> str:
        """What the UI's launchpad sends for one partition of the daily job (or some of its assets)."""
        selector: dict[str, Any] = {
            "repositoryLocationName": self.location,
            "repositoryName": "__repository__",
            "pipelineName": DAILY_JOB,
        }
        if assets:
            selector["assetSelection"] = [{"path": path} for path in assets]
        params = {
            "selector": selector,
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        }
        result = self.graphql(LAUNCH, {"params": params})["launchPipelineExecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]


@pytest.fixture(scope="module")
def ui(pipeline_day: PipelineDay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    """`evidence-pipeline ui`'s serve_ui (dg dev: webserver and daemon) on a copy of the session's data folder."""
    paths = Paths(tmp_path_factory.mktemp("ui-home") / "home")
    shutil.copytree(pipeline_day.paths.home, paths.home, ignore=shutil.ignore_patterns("sandbox"))
    with dagster_environment_kept():
        prepare_dagster_home(paths)  # this process reads the UI's instance too
        with served_ui(paths) as served:
            yield Ui(served, served.loaded_locations()[0])


def run_record(ui: Ui, run_id: str) -> dg.DagsterRun:
    os.environ["DAGSTER_HOME"] = str(ui.paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        return instance.get_run_by_id(run_id)


def planned_steps(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[str]:
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return set(plan.step_keys_to_execute)


def finished(ui: Ui, run_id: str) -> dg.DagsterRun | None:
    run = run_record(ui, run_id)
    return run if run.is_finished else None


def test_the_schedule_the_ui_and_the_cli_launch_the_same_job(pipeline_day: PipelineDay, ui: Ui) -> None:
    from evidence_pipeline.definitions import defs

    day = pipeline_day.day
    # the schedule: its tick in the small hours of the day asks for the daily job, that day's partition, no subset
    schedule = defs.resolve_schedule_def("daily_evidence_schedule")
    tick = datetime.combine(day, day_time(2, 0)).astimezone()
    with dg.DagsterInstance.ephemeral() as ephemeral:
        [request] = schedule.evaluate_tick(
            dg.build_schedule_context(instance=ephemeral, scheduled_execution_time=tick)
        ).run_requests
    assert schedule.job_name == DAILY_JOB and request.partition_key == day.isoformat()
    assert request.asset_selection is None

    # the UI: the launchpad's mutation, the instance's run launcher, a whole day that succeeds
    ui_run_id = ui.launch(day.isoformat())
    ui_run = wait_for("the UI's run to finish", lambda: finished(ui, ui_run_id), timeout=600)
    assert ui_run.status == dg.DagsterRunStatus.SUCCESS, ui_run

    # the CLI: the session's day, `evidence-pipeline run`
    with dg.DagsterInstance.get() as instance:
        ui_steps = planned_steps(instance, ui_run)
    os.environ["DAGSTER_HOME"] = str(pipeline_day.paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        cli_run = instance.get_run_by_id(pipeline_day.run.outcome.run_id)
        cli_steps = planned_steps(instance, cli_run)
    os.environ["DAGSTER_HOME"] = str(ui.paths.dagster_home)
    schedule_steps = {node.name for node in defs.resolve_job_def(DAILY_JOB).graph.node_defs}
    assert cli_run.job_name == ui_run.job_name == schedule.job_name == DAILY_JOB
    assert cli_run.tags["dagster/partition"] == ui_run.tags["dagster/partition"] == request.partition_key
    assert cli_run.asset_selection is None and ui_run.asset_selection is None
    assert ui_steps == cli_steps == schedule_steps
    assert len(cli_steps) > 10 and any(step.startswith("judge_") for step in cli_steps)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def step_started(ui: Ui, run_id: str, step_key: str) -> bool:
    os.environ["DAGSTER_HOME"] = str(ui.paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    return any(record.event_log_entry.step_key == step_key for record in records)


def test_a_run_killed_on_the_ui_path_is_failed_and_the_next_one_runs(pipeline_day: PipelineDay, ui: Ui) -> None:
    day = pipeline_day.day.isoformat()
    # the judging step waits for DuckDB's lock, held here: it is caught inside the step, holding DuckDB's turn
    holder = duckdb.connect(str(ui.paths.warehouse))
    try:
        run_id = ui.launch(day, [CONTROL])
        wait_for("the judging step to start", lambda: step_started(ui, run_id, JUDGING_STEP))
        os.environ["DAGSTER_HOME"] = str(ui.paths.dagster_home)
        with dg.DagsterInstance.get() as instance:
            pid, _ = wait_for("the run worker's process", lambda: run_worker_process(instance, run_id))
        # the OOM killer takes the code server, the run worker it started and the steps at once (were the code
        # server left, it would report its child's death itself: the launcher's check is for when nobody is left)
        server = parent_of(pid)
        assert "grpc" in Path(f"/proc/{server}/cmdline").read_text(), "the run worker is the code server's child"
        for victim in [server, pid, *descendants(pid)]:
            os.kill(victim, signal.SIGKILL)
    finally:
        holder.close()
    assert run_record(ui, run_id).status == dg.DagsterRunStatus.STARTED  # nothing of the run can report its death

    # the daemon's run monitoring asks the launcher whether the worker lives, and fails the run
    failed = wait_for("run monitoring to fail the dead run", lambda: finished(ui, run_id), timeout=180)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    os.environ["DAGSTER_HOME"] = str(ui.paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        messages = [r.event_log_entry.message or "" for r in instance.get_records_for_run(run_id).records]
    assert any("is gone (killed)" in message for message in messages), messages[-5:]

    # the dead run held nothing: with the code server back (as `dg dev` or a deployment restarts it), the next
    # judging runs, and DuckDB opens
    reload = "mutation($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) { __typename } }"
    reloaded = ui.graphql(reload, {"name": ui.location})["reloadRepositoryLocation"]
    assert reloaded["__typename"] == "WorkspaceLocationEntry", reloaded
    wait_for("the code location to load again", lambda: ui.location in ui.loaded_locations(), timeout=240, every=1.0)
    again = ui.launch(day, [CONTROL])
    rerun = wait_for("the next judging run", lambda: finished(ui, again), timeout=300)
    assert rerun.status == dg.DagsterRunStatus.SUCCESS, rerun
