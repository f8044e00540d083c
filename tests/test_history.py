"""A control's verdict history: stored verdicts where the SQL is unchanged, re-judged from raw rows where it
changed, and unknown (never pass) where the day's data was not usable."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.history import verdict_history
from evidence_pipeline.settings import optional_project_file, project_file
from evidence_pipeline.waivers import load_waivers
from tests.conftest import PipelineDay
from warehouse import Warehouse


def test_re_judging_a_day_reproduces_its_stored_verdicts(pipeline_day: PipelineDay, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(pipeline_day.paths.warehouse, copy)
    warehouse = Warehouse(copy)
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    waivers = load_waivers(optional_project_file("waivers.yaml"), set(catalogue.by_id))
    # the session collects DAY-1 too (the day its access-review campaign freezes): the day before that is the one
    # never collected
    day, before = pipeline_day.day, pipeline_day.day - timedelta(days=2)
    stored = verdict_history(warehouse, catalogue, [before, day], waivers)
    assert {v.origin for v in stored} == {"stored", "not evaluated"}
    on_day = {v.control_id: v for v in stored if v.day == day}
    assert {v.origin for v in on_day.values()} == {"stored"}
    # the day before was never collected: unknown, with the reason, never pass
    earlier = [v for v in stored if v.day == before]
    assert len(earlier) == len(catalogue.controls)
    assert all(v.verdict == "unknown" and "not collected" in v.reason and v.origin == "not evaluated" for v in earlier)

    with warehouse.connect() as con:  # every control's SQL "changed" since the day was evaluated
        con.execute("UPDATE control_verdicts SET sql_sha256 = 'an older query'")
    re_judged = {v.control_id: v for v in verdict_history(warehouse, catalogue, [day], waivers)}
    assert {v.origin for v in re_judged.values()} == {"re-judged"}
    cross_system = {c.id for c in catalogue.controls if c.system_sources}
    for control_id, expected in on_day.items():
        if control_id in cross_system and expected.counts.get("unknown"):
            continue  # the daily evaluation judges the other systems' rows; the history says unknown for the day
        assert (re_judged[control_id].verdict, re_judged[control_id].counts) == (expected.verdict, expected.counts), (
            control_id
        )
    assert any(v.counts.get("waived") for v in re_judged.values()), "the sandbox plants a waived exception"


def test_history_command_prints_every_day_of_the_period(pipeline_day: PipelineDay, monkeypatch, capsys) -> None:
    import csv

    from evidence_pipeline.cli import main

    monkeypatch.setenv("EVIDENCE_HOME", str(pipeline_day.paths.home))
    day = pipeline_day.day
    assert (
        main(
            [
                "history",
                "--from",
                (day - timedelta(days=2)).isoformat(),
                "--to",
                day.isoformat(),
                "--control",
                "cc8_1_branch_review_rules",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [r["date"] for r in rows] == [(day - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert (rows[0]["verdict"], rows[0]["origin"]) == ("unknown", "not evaluated")
    assert rows[1]["origin"] == "stored"  # DAY-1, collected for the session's access-review campaign
    assert rows[2]["origin"] == "stored" and rows[2]["verdict"] == "fail" and int(rows[2]["waived"]) == 1
    assert main(["history", "--from", day.isoformat(), "--to", day.isoformat(), "--control", "no_such"]) == 1
    assert "no control no_such" in capsys.readouterr().err
