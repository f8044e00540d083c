"""Every control of the catalogue against the sandbox organisation: its exceptions are exactly the
violations the sandbox planted (no false positive, no miss), and waived rows show as waived."""

from __future__ import annotations

from datetime import timedelta

import pytest

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.settings import project_file
from sandbox import expected as truth
from tests.conftest import PipelineDay
from warehouse import Warehouse

CATALOGUE = load_catalogue(project_file("controls_map.yaml"))


def statuses(pipeline_day: PipelineDay, control_id: str) -> dict[str, str]:
    rows = Warehouse(pipeline_day.paths.warehouse).query(
        "SELECT resource_id, status FROM control_results WHERE control_id = ? AND snapshot_date = ?",
        [control_id, pipeline_day.day],
    )
    return {r["resource_id"]: r["status"] for r in rows}


@pytest.mark.parametrize("control_id", sorted(CATALOGUE.by_id))
def test_exceptions_are_exactly_the_planted_violations(pipeline_day: PipelineDay, control_id: str) -> None:
    org = pipeline_day.sandbox.org
    assert control_id in org.expected, f"the sandbox plants no known state for {control_id}"
    found = statuses(pipeline_day, control_id)
    waived = org.waived.get(control_id, set())
    assert found, f"{control_id} judged no resource on the sandbox"
    # every sandbox source succeeded: only what the sandbox plants as undecidable is unknown
    assert {r for r, s in found.items() if s == "unknown"} == org.unknown.get(control_id, set())
    assert {r for r, s in found.items() if s == "fail"} == org.expected[control_id] - waived
    assert {r for r, s in found.items() if s == "waived"} == waived


def test_an_expired_waiver_fails_and_says_so(pipeline_day: PipelineDay) -> None:
    rows = Warehouse(pipeline_day.paths.warehouse).query(
        "SELECT resource_id, status, reason FROM control_results WHERE snapshot_date = ? AND reason LIKE "
        "'%waiver expired%'",
        [pipeline_day.day],
    )
    assert rows and all(r["status"] == "fail" for r in rows)


def test_the_sandbox_truth_uses_the_catalogue_parameters() -> None:
    assert CATALOGUE.defaults["offboarding_days"] == truth.OFFBOARDING_DAYS
    assert CATALOGUE.defaults["dormant_days"] == truth.DORMANT_DAYS
    if "cc6_3_admin_count_within_bounds" in CATALOGUE.by_id:
        bounds = CATALOGUE.by_id["cc6_3_admin_count_within_bounds"].parameters["admin_bounds"]
        assert {b["system"]: (b["min"], b["max"]) for b in bounds} == truth.ADMIN_BOUNDS


def test_every_control_judged_over_many_days_at_once_equals_day_by_day(pipeline_day: PipelineDay) -> None:
    """`sql_over_days` (history re-judged in one query) gives each day exactly the rows the daily SQL gives, for the
    collected day and for a day with no collection."""
    days = [pipeline_day.day - timedelta(days=400), pipeline_day.day]
    with Warehouse(pipeline_day.paths.warehouse).connect() as con:
        for control in CATALOGUE.controls:
            cursor = con.execute(control.sql_over_days(), control.days_parameters(days, CATALOGUE.defaults))
            assert cursor.description[0][0] == "evaluated_day"
            judged = cursor.fetchall()
            for day in days:
                daily = con.execute(control.sql, control.sql_parameters(day, CATALOGUE.defaults)).fetchall()
                at_once = [row[1:] for row in judged if row[0] == day]
                assert sorted(map(repr, at_once)) == sorted(map(repr, daily)), (control.id, day)
            assert sum(row[0] == pipeline_day.day for row in judged) > 0, control.id
