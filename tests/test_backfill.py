"""A three-day backfill under Dagster's default multiprocess executor: several partition runs at once, as a
backfill's queued runs go, every step of each in its own process, all writing one DuckDB file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key
from evidence_pipeline.launch import RunOutcome, prepare_dagster_home
from evidence_pipeline.settings import Paths, project_file
from tests.conftest import DAY, bundles_of, sandbox_home
from tests.runs import assets_collecting_only, run_daily_job
from warehouse import Warehouse

#: three runs at once, each overlapping the others from start to end, as a backfill's runs do
DAYS = [DAY - timedelta(days=offset) for offset in range(2, -1, -1)]
RUNS_AT_ONCE = 3
#: two sources, every control and the snapshot: each run still has writer steps in parallel processes, and three
#: runs go at once
SYSTEMS = ("hr", "identity")


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Paths, list[RunOutcome]]]:
    home = tmp_path_factory.mktemp("backfill-home")
    with sandbox_home(home, size=10) as (_, paths):
        # snapshots are never written unsigned: sign as the demo does, with the data folder's key
        os.environ[SIGNING_KEY_ENV] = str(ensure_data_folder_key(home).path)
        prepare_dagster_home(paths)
        with ThreadPoolExecutor(RUNS_AT_ONCE) as pool:
            assets = assets_collecting_only(SYSTEMS)
            outcomes = list(pool.map(lambda day: run_daily_job(day, paths, assets).outcome, DAYS))
        yield paths, outcomes


def test_every_partition_run_succeeds_without_a_lock_error(backfill: tuple[Paths, list[RunOutcome]]) -> None:
    paths, outcomes = backfill
    assert [o.success for o in outcomes] == [True] * len(DAYS), [o for o in outcomes if not o.success]
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        for outcome in outcomes:
            records = instance.get_records_for_run(outcome.run_id).records
            text = "\n".join(str(r.event_log_entry.dagster_event or r.event_log_entry.user_message) for r in records)
            assert "Could not set lock" not in text and "IOException" not in text
            run = instance.get_run_by_id(outcome.run_id)
            assert run.tags["dagster/partition"] in {d.isoformat() for d in DAYS}


def test_every_day_is_complete_in_the_warehouse_and_the_evidence(backfill: tuple[Paths, list[RunOutcome]]) -> None:
    paths, _ = backfill
    warehouse = Warehouse(paths.warehouse)
    controls = load_catalogue(project_file("controls_map.yaml")).by_id
    verdicts = warehouse.query("SELECT snapshot_date, count(*) AS n FROM control_verdicts GROUP BY 1 ORDER BY 1")
    assert [(r["snapshot_date"], r["n"]) for r in verdicts] == [(day, len(controls)) for day in DAYS]
    datasets = warehouse.query(
        "SELECT snapshot_date, count(*) AS n, count(*) FILTER (WHERE status = 'succeeded') AS ok "
        "FROM source_status GROUP BY 1 ORDER BY 1"
    )
    assert [r["snapshot_date"] for r in datasets] == DAYS
    collected = {k for k in assets_collecting_only(SYSTEMS) if k.startswith("sources/")}
    assert all(r["n"] == r["ok"] == len(collected) for r in datasets), datasets
    for day in DAYS:
        assert len(bundles_of(paths, day)) == 1
    assert Path(paths.warehouse).stat().st_size > 0
