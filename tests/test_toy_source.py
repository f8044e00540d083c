"""A source added with new files only (tests/toy_source/: connector, declaration, raw table, control) is discovered
through EVIDENCE_EXTRA_SOURCES, collected, judged and bundled by the daily job, with no shared file edited."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from evidence_pipeline.defs.sources import systems
from evidence_pipeline.settings import Paths, project_file
from tests.conftest import DAY, bundles_of
from tests.runs import run_daily_job
from warehouse import Warehouse, schema_connection
from warehouse.store import EXTRA_SOURCES_ENV

TOY = Path(__file__).parent / "toy_source"
TOY_CONTROL = "cc6_1_toy_widgets_encrypted"
SNAPSHOT = "evidence/daily_snapshot"


@pytest.fixture
def toy_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """Only the toy source configured, and a catalogue of the toy's control: a deployment's own entry point (the
    repository's defaults and families) including the toy's controls file, as EVIDENCE_CONTROLS_MAP allows."""
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key

    for name in list(os.environ):  # no real source's settings leak in from the caller's environment
        if any(name.startswith(prefix) for prefix in ("GITHUB_", "AWS_", "GOOGLE_", "ENTRA_", "KNOWBE4_", "HR_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("EVIDENCE_TRUST_PAGE", raising=False)  # the sandbox's page names controls the toy lacks
    monkeypatch.delenv("EVIDENCE_ORGANISATION", raising=False)  # and its profile names owners the toy has none of
    monkeypatch.setenv(EXTRA_SOURCES_ENV, str(TOY))
    monkeypatch.setenv("TOY_WIDGETS_PATH", str(TOY / "widgets.json"))
    entry = yaml.safe_load(project_file("controls_map.yaml").read_text())
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    (catalogue / "toy.yaml").write_bytes((TOY / "controls" / "toy.yaml").read_bytes())
    own = {key: entry[key] for key in ("version", "defaults", "families") if key in entry}
    (catalogue / "controls_map.yaml").write_text(yaml.safe_dump({**own, "include": ["toy.yaml"]}))
    monkeypatch.setenv("EVIDENCE_CONTROLS_MAP", str(catalogue / "controls_map.yaml"))
    (tmp_path / "waivers.yaml").write_text("waivers: []\n")
    monkeypatch.setenv("EVIDENCE_WAIVERS", str(tmp_path / "waivers.yaml"))
    home = tmp_path / "home"
    monkeypatch.setenv(SIGNING_KEY_ENV, str(ensure_data_folder_key(home).path))
    return Paths(home)


def test_the_toy_source_is_discovered_with_its_table(toy_settings: Paths) -> None:
    toy = [module for module in systems() if module.SOURCE.source == "toy"]
    assert len(toy) == 1 and [spec.name for spec in toy[0].DATASETS] == ["toy.widgets"]
    with schema_connection() as con:
        columns = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw_toy_widgets)").fetchall()]
    assert columns == ["snapshot_date", "run_id", "widget_id", "owner", "encrypted"]
    # its records carry exactly the columns its migration declares (as tests/test_dataset_columns.py checks in-tree)
    records = [
        r
        for stream in toy[0].widget_streams(toy[0].ToyResource(widgets_path=str(TOY / "widgets.json")), DAY)
        for r in stream.records()
    ]
    assert {frozenset(r) for r in records} == {frozenset(columns[2:])}


def test_an_extra_source_folder_that_is_not_a_folder_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EXTRA_SOURCES_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=f"{EXTRA_SOURCES_ENV}: .*nowhere is not a folder"):
        systems()


def test_the_toy_source_is_collected_judged_and_bundled(toy_settings: Paths) -> None:
    # the daily job, as `evidence-pipeline run --date DAY --asset ...` runs it: the toy's assets (the other sources
    # are not configured, and their steps would only cost process starts)
    run = run_daily_job(DAY, toy_settings, assets=["sources/toy/widgets", f"controls/{TOY_CONTROL}", SNAPSHOT])

    warehouse = Warehouse(toy_settings.warehouse)
    status = warehouse.query("SELECT status FROM source_status WHERE source = 'toy' AND snapshot_date = ?", [DAY])
    assert status == [{"status": "succeeded"}], (status, run.stderr[-2000:])
    results = warehouse.query(
        "SELECT resource_id, status FROM control_results WHERE control_id = ? AND snapshot_date = ?",
        [TOY_CONTROL, DAY],
    )
    # judged from the file: one pass, one fail, and the widget whose encryption the file does not state is unknown
    assert {r["resource_id"]: r["status"] for r in results} == {"w-1": "pass", "w-2": "fail", "w-3": "unknown"}
    bundles = bundles_of(toy_settings, DAY)
    assert bundles, run.stdout
    result = json.loads((bundles[-1] / "controls" / TOY_CONTROL / "result.json").read_text())
    assert result["verdict"] == "fail"
    assert list(bundles[-1].rglob("provenance.json")) and any("toy" in p.parts for p in bundles[-1].rglob("*"))
