"""What the compliance lead reads in Dagster: partitions from the first day collected (or EVIDENCE_FIRST_DAY), each
control's description with its claims quoted one by one, and the snapshot's verdicts as a markdown table (the
verdict check's severity, and how the UI shows it, are in tests/browser/test_ui.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from evidence_pipeline.catalogue import Claim, load_catalogue
from evidence_pipeline.defs.controls import describe
from evidence_pipeline.defs.evidence import SNAPSHOT_KEY, verdicts_table
from evidence_pipeline.evidence.model import ControlOutcome
from evidence_pipeline.settings import (
    FIRST_DAY_ENV,
    Paths,
    SettingsError,
    first_day,
    project_file,
    record_first_day,
)
from tests.conftest import PipelineDay
from warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 20)


@pytest.fixture
def no_first_day_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FIRST_DAY_ENV, raising=False)


def test_the_first_day_collected_is_the_earliest_day_a_run_was_started_for(
    tmp_path: Path, no_first_day_setting: None
) -> None:
    paths = Paths(tmp_path / "home")
    assert first_day(paths, today=DAY) == DAY  # nothing collected yet: today
    assert record_first_day(paths, DAY) == DAY
    # a backfill's past days, started at once: the earliest is kept, whatever the order they get the lock in
    days = [DAY - timedelta(days=n) for n in (3, 1, 5, 2, 4)]
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda day: record_first_day(paths, day), days))
    assert first_day(paths, today=DAY) == DAY - timedelta(days=5)
    assert record_first_day(paths, DAY + timedelta(days=1)) == DAY - timedelta(days=5)  # a later day changes nothing
    assert paths.first_day_file.read_text().strip() == (DAY - timedelta(days=5)).isoformat()


def test_evidence_first_day_wins_and_a_bad_value_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths(tmp_path / "home")
    record_first_day(paths, DAY)
    monkeypatch.setenv(FIRST_DAY_ENV, "2026-06-01")
    assert first_day(paths) == date(2026, 6, 1)
    with pytest.raises(SettingsError, match=f"^{FIRST_DAY_ENV}: .*2026-05-31 is before it"):
        record_first_day(paths, date(2026, 5, 31))
    monkeypatch.setenv(FIRST_DAY_ENV, "1st of June")
    with pytest.raises(SettingsError) as raised:
        first_day(paths)
    assert str(raised.value).startswith(f"{FIRST_DAY_ENV}: '1st of June' is not a date") and "\n" not in str(
        raised.value
    )


def code_location_first_partition(home: Path, **env: str) -> str:
    """The daily partitions' first key as the code location loads it in a process of its own (as a run or the UI)."""
    script = (
        "from evidence_pipeline.definitions import defs\n"
        "key = defs.resolve_asset_graph().get(defs.resolve_asset_graph().get_all_asset_keys().pop()).partitions_def\n"
        "print(key.get_first_partition_key())\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != FIRST_DAY_ENV} | {"EVIDENCE_HOME": str(home), **env}
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_the_code_location_partitions_start_at_the_first_day(tmp_path: Path, no_first_day_setting: None) -> None:
    home = tmp_path / "home"
    record_first_day(Paths(home), DAY)
    assert code_location_first_partition(home) == DAY.isoformat()
    assert code_location_first_partition(home, **{FIRST_DAY_ENV: "2026-11-01"}) == "2026-11-01"


def test_a_bad_first_day_stops_the_run_with_one_line(tmp_path: Path) -> None:
    environment = dict(os.environ) | {"EVIDENCE_HOME": str(tmp_path / "home"), FIRST_DAY_ENV: "yesterday"}
    done = subprocess.run(
        [sys.executable, "-m", "evidence_pipeline.cli", "run", "--date", DAY.isoformat()],
        env=environment,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {FIRST_DAY_ENV}: 'yesterday' is not a date (YYYY-MM-DD, e.g. 2026-01-01)"


def test_each_claim_is_its_own_quote_with_its_page_under_it() -> None:
    control = load_catalogue(project_file("controls_map.yaml"), trust_page=None).controls[0]
    control._claims = [
        Claim(page="Acme Security", section="Access", quote="Every admin uses MFA.\nAlways.", promise_id="a"),
        Claim(page="Acme Trust Center", section="Review", quote="Code is reviewed.", promise_id="b"),
    ]
    blocks = describe(control).split("\n\n")
    first = next(block for block in blocks if "Every admin uses MFA." in block)
    second = next(block for block in blocks if "Code is reviewed." in block)
    assert first != second
    assert first == "> Every admin uses MFA.\n> Always.\n>\n> — Acme Security, Access"
    assert second == "> Code is reviewed.\n>\n> — Acme Trust Center, Review"


def test_the_snapshot_table_has_a_row_per_control_with_counts_failing_since_and_stale_sources() -> None:
    catalogue = load_catalogue(project_file("controls_map.yaml"), trust_page=None)
    failing, unknown = catalogue.controls[0], catalogue.controls[1]
    counts = {"population": 7, "pass": 3, "fail": 2, "unknown": 1, "waived": 1}
    outcomes = [
        ControlOutcome(failing, DAY, "fail", "2 of 7 fail", [], {}, [], counts=counts),
        ControlOutcome(unknown, DAY, "unknown", "not collected", [], {}, [], counts={"population": 0}),
    ]
    stale = unknown.datasets[0]
    sources = {
        name: {"name": name, "status": "stale" if name == stale else "succeeded"}
        for name in {*failing.datasets, *unknown.datasets}
    }
    table = verdicts_table(outcomes, {failing.id: DAY - timedelta(days=3), unknown.id: None}, sources)
    lines = table.splitlines()
    assert lines[0].startswith("| control | criteria | verdict | pass | fail | unknown | waived | failing since |")
    assert len(lines) == 2 + len(outcomes)
    assert lines[2] == (
        f"| {failing.id} | {', '.join(failing.criteria)} | fail | 3 | 2 | 1 | 1 | {DAY - timedelta(days=3)} | – |"
    )
    assert lines[3].startswith(f"| {unknown.id} | {', '.join(unknown.criteria)} | unknown | 0 | 0 | 0 | 0 | – | ")
    assert f"{stale} (stale)" in lines[3]


def test_the_snapshot_metadata_is_a_markdown_table_and_counts(pipeline_day: PipelineDay) -> None:
    os.environ["DAGSTER_HOME"] = str(pipeline_day.paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(SNAPSHOT_KEY)
    metadata = event.asset_materialization.metadata
    assert isinstance(metadata["verdicts"], dg.MarkdownMetadataValue)
    rows = {line.split(" | ")[0].strip("| "): line for line in metadata["verdicts"].value.splitlines()[2:]}
    verdicts = Warehouse(pipeline_day.paths.warehouse).query(
        "SELECT control_id, verdict FROM control_verdicts WHERE snapshot_date = ?", [pipeline_day.day]
    )
    assert set(rows) == {r["control_id"] for r in verdicts}
    for row in verdicts:
        assert rows[row["control_id"]].split(" | ")[2] in (row["verdict"], "unknown (error)")
    assert metadata["failing"].value == sum(r["verdict"] == "fail" for r in verdicts)
    assert metadata["unknown"].value == sum(r["verdict"] == "unknown" for r in verdicts)
    assert metadata["passing"].value == sum(r["verdict"] == "pass" for r in verdicts)


# -- a stale source is flagged at the source, not only in its controls' verdicts -----------------------------------


def test_a_source_whose_own_data_is_older_than_its_window_fails_its_fresh_check_as_a_warning() -> None:
    from datetime import UTC, datetime

    from evidence_pipeline.defs.sources.factory import FRESH_CHECK, SourceDataset, fresh_check

    spec = SourceDataset("aws", "credential_report", "IAM credential report", streams=lambda *_: [], fresh_hours=4)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    stale = fresh_check(spec, "2026-11-20T06:30:00Z", now)  # generated 5.5 h before it was read
    assert stale.check_name == FRESH_CHECK and not stale.passed
    assert stale.severity == dg.AssetCheckSeverity.WARN
    assert "5.5 h old" in (stale.description or "") and "stale" in (stale.description or "")
    fresh = fresh_check(spec, "2026-11-20T09:00:00+00:00", now)
    assert fresh.passed and "3.0 h old" in (fresh.description or "")
    assert fresh_check(spec, None, now).passed  # no timestamp of its own: the collection time is its age


def test_every_dataset_declares_a_fresh_check_beside_its_collected_check() -> None:
    from evidence_pipeline.definitions import defs

    checks = {key for key in defs.resolve_asset_graph().asset_check_keys if key.asset_key.path[0] == "sources"}
    datasets = {key.asset_key for key in checks}
    assert datasets, "no source datasets found"
    assert checks == {dg.AssetCheckKey(k, name) for k in datasets for name in ("collected", "fresh")}
