"""Shared fixtures: a sandbox organisation served locally and one pipeline day run on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from evidence_pipeline.launch import RunOutcome
from evidence_pipeline.settings import Paths
from sandbox.access_reviews.scenario import CampaignScenario, run_campaign
from sandbox.launch import Sandbox, start_sandbox
from tests.runs import CliRun, run_daily_job

DAY = date(2026, 11, 20)
# the daily partitions start at the first day collected, fixed once per process when the definitions are built; the
# tests judge days throughout 2026 in this one process (dg.materialize), so the session's partitions start with it
# (tests of the first-day rule remove this variable)
os.environ.setdefault("EVIDENCE_FIRST_DAY", "2026-01-01")


@dataclass
class PipelineDay:
    sandbox: Sandbox
    paths: Paths
    day: date
    #: the day's one run of the daily job, as `evidence-pipeline run` made it
    run: CliRun
    #: the run of the day before, whose evidence the sandbox's access-review campaign froze
    before: CliRun | None = None
    campaign: CampaignScenario | None = None

    @property
    def outcomes(self) -> list[RunOutcome]:
        return [self.run.outcome]


@contextmanager
def sandbox_home(home: Path, size: int) -> Iterator[tuple[Sandbox, Paths]]:
    """A sandbox organisation served for DAY, its settings in the environment, and a data folder of its own; the
    environment is restored afterwards."""
    saved = dict(os.environ)
    sandbox = start_sandbox(home / "sandbox", size=size, today=DAY)
    try:
        os.environ.update(sandbox.env)
        yield sandbox, Paths(home)
    finally:
        sandbox.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def pipeline_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineDay]:
    """The demo's path once per session: sandbox, collect (multiprocess), evaluate, snapshot."""
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key

    home = tmp_path_factory.mktemp("evidence-home")
    with sandbox_home(home, size=50) as (sandbox, paths):
        # bundles are signed as in the demo: a key in the data folder, its path in EVIDENCE_SIGNING_KEY
        os.environ[SIGNING_KEY_ENV] = str(ensure_data_folder_key(home).path)
        from tests.test_secrets import add_url_canaries  # credentials inside URLs must stay out of every record too

        os.environ.update(add_url_canaries(sandbox.env))
        # an access-review campaign is frozen from a real day's evidence and its revokes show in the next day's
        # data: the day before, the sandbox's campaign (sandbox/access_reviews/scenario.py), then the day itself
        before = run_daily_job(DAY - timedelta(days=1), paths)
        campaign = run_campaign(sandbox, paths, DAY - timedelta(days=1))
        yield PipelineDay(sandbox, paths, DAY, run_daily_job(DAY, paths), before, campaign)


def bundles_of(paths: Paths, day: date) -> list[Path]:
    return sorted(p for p in (paths.evidence / day.isoformat()).glob("v*") if p.is_dir())
