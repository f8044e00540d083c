"""Runs of the daily job as `evidence-pipeline run` launches them: each in a process of its own, like a user's
command (the steps fork from a server that keeps the environment it started with, so one process, one run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import dagster as dg

from evidence_pipeline.launch import RunOutcome, prepare_dagster_home, run_outcome
from evidence_pipeline.settings import Paths

#: the run id `evidence-pipeline run` prints as the run starts ("run <id> started: ...")
RUN_ID = re.compile(r"\brun ([0-9a-f-]{36}) started\b")
#: generous: a run needs ~30 s on two shared cores; a run that waits for ever (a leaked pool slot) must fail, not hang
RUN_TIMEOUT = 600


@contextmanager
def dagster_environment_kept() -> Iterator[None]:
    """DAGSTER_HOME and EVIDENCE_HOME as they were (set or unset) afterwards: reading another data folder's instance
    in this process (prepare_dagster_home, a served UI) sets both."""
    saved = {name: os.environ.get(name) for name in ("DAGSTER_HOME", "EVIDENCE_HOME")}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class CliRun:
    outcome: RunOutcome
    exit_code: int
    stdout: str
    stderr: str


def assets_collecting_only(systems: tuple[str, ...]) -> list[str]:
    """The daily job's asset keys with only `systems`' sources collected: every control and the snapshot still run
    (the other sources' controls are *unknown*, "not collected"). For a test of the run itself, not of what each
    source collects: every source lands the same way through the factory, so the rest would add minutes, not
    coverage."""
    from evidence_pipeline.definitions import defs

    keys = defs.resolve_asset_graph().get_all_asset_keys()
    return sorted(k.to_user_string() for k in keys if k.path[0] != "sources" or k.path[1] in systems)


def run_daily_job(day: date, paths: Paths, assets: list[str] | None = None) -> CliRun:
    """`evidence-pipeline run --date DAY [--asset KEY ...]` with EVIDENCE_HOME = `paths`, and the run it made."""
    prepare_dagster_home(paths)  # this process reads the same instance afterwards
    command = [sys.executable, "-m", "evidence_pipeline.cli", "run", "--date", day.isoformat()]
    command += [f"--asset={key}" for key in assets or []]
    done = subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    found = RUN_ID.search(done.stdout)
    assert found, f"no run was started (exit {done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}"
    with dg.DagsterInstance.get() as instance:
        outcome = run_outcome(instance, found.group(1))
    return CliRun(outcome, done.returncode, done.stdout, done.stderr)


T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 180.0, every: float = 0.2) -> T:
    """`probe()`'s first truthy answer, asked every `every` seconds; fails after `timeout` naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
