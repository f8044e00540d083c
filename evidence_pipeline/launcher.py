"""The instance's run launcher: Dagster's default one, which also tells run monitoring whether a run's worker lives.

A run whose worker is killed outright (SIGKILL, the OOM killer, a power cut) stays STARTED for ever: the UI shows it
running, a backfill counts it in progress, and any pool slot its steps held is never given back. Dagster's run
monitoring fails such runs, and frees their slots, for launchers that can check a worker's health; the default
launcher cannot. This one can, for workers on this machine: the run worker's process id is in the run's own event
log (the run worker's or the executor's first engine event), the machine in a run tag. dagster.yaml names this
launcher, so the daemon's run monitoring covers runs from the schedule and the UI; `evidence-pipeline run` (which
runs without a daemon) applies the same check before it starts a run (`free_dead_runs`).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, LaunchRunContext, WorkerStatus

#: the machine a run's worker runs on: a process id means nothing elsewhere
HOST_TAG = "evidence/host"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
#: clock skew allowed between a process's start and the engine event that names it
START_SLACK_SECONDS = 2.0


def this_host() -> str:
    return socket.gethostname()


class LocalRunLauncher(DefaultRunLauncher):
    """Dagster's DefaultRunLauncher, with a worker health check for run monitoring (see the module's docstring)."""

    def launch_run(self, context: LaunchRunContext) -> None:
        self._instance.add_run_tags(context.dagster_run.run_id, {HOST_TAG: this_host()})
        super().launch_run(context)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        return run_worker_health(self._instance, run)


def run_worker_health(instance: dg.DagsterInstance, run: dg.DagsterRun) -> CheckRunHealthResult:
    if run.tags.get(HOST_TAG) != this_host():
        return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run's worker is not on this machine")
    worker = run_worker_process(instance, run.run_id)
    if worker is None:
        # between the launch and the worker's first event: run monitoring's start timeout covers this
        return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run's worker has not reported its process yet")
    pid, reported_at = worker
    if process_lives(pid, reported_at):
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker process {pid} lives")
    return CheckRunHealthResult(WorkerStatus.NOT_FOUND, f"run worker process {pid} is gone (killed)")


def run_worker_process(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The process id of the run's worker and when it was reported: the first run-level engine event naming a pid
    (the code server's "Started process for run", or the executor's parent process when run in-process)."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or event.step_key:
            continue
        pid = event.engine_event_data.metadata.get("pid") if event.engine_event_data else None
        if pid is not None:
            return int(pid.value), entry.timestamp
    return None


def process_lives(pid: int, reported_at: float) -> bool:
    """Whether process `pid` still runs and is the one reported then (not a later process given the same id)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): existence only
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    started = boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return started <= reported_at + START_SLACK_SECONDS


def boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return time.time() - time.monotonic()


def free_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """What the daemon's run monitoring does for a dead worker, for a launch without a daemon: fail every in-progress
    run of this machine whose worker is gone, and free its pool slots. Returns their run ids."""
    freed: list[str] = []
    for run in instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS)):
        health = run_worker_health(instance, run)
        if health.status is not WorkerStatus.NOT_FOUND:
            continue
        instance.report_run_failed(run, f"{health.msg}: marked failed so that its pool slots are freed; re-run it")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        freed.append(run.run_id)
    return freed
