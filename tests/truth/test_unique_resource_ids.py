"""The class of duplicate resource ids: within one day's population a control names each resource once. Counts,
waivers, period exports and sampling (SHA-256 of `<seed>|<date>|<resource_id>`) all key on the id, so two rows of
one id are one resource counted twice and sampled as one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from tests.conftest import PipelineDay
from warehouse import Warehouse


def test_no_control_repeats_a_resource_id_on_the_pipeline_day(pipeline_day: PipelineDay) -> None:
    warehouse = Warehouse(pipeline_day.paths.warehouse)
    judged = warehouse.query(
        "SELECT DISTINCT control_id FROM control_results WHERE snapshot_date = ?", [pipeline_day.day]
    )
    # every control of the catalogue has a population that day, so every one is checked
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    assert {r["control_id"] for r in judged} == {control.id for control in catalogue.controls}
    repeated = warehouse.query(
        "SELECT control_id, resource_id, count(*) AS n FROM control_results WHERE snapshot_date = ? "
        "GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL",
        [pipeline_day.day],
    )
    assert repeated == [], repeated


def test_a_control_returning_a_resource_twice_is_unknown_naming_it(tmp_path: Path) -> None:
    """At run time too: a repeated id (one row per region of one resource) never reaches the counts."""
    day = date(2026, 11, 20)
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    control = catalogue.by_id["a1_2_restore_tested"].model_copy(
        update={
            "sql": (
                "SELECT '111122223333/RDS' AS resource_id, 'pass' AS status, 'restored in ' || region AS reason "
                "FROM (VALUES ('eu-west-1'), ('us-east-1')) AS regions(region)"
            )
        }
    )
    with warehouse.connect() as con:
        for dataset in control.datasets:
            source, name = dataset.split(".")
            con.execute(
                "INSERT INTO collection_log (run_id, source, dataset, snapshot_date, status, finished_at, "
                "record_count) VALUES ('r', ?, ?, ?, 'succeeded', now(), 0)",
                [source, name, day],
            )
    outcome = evaluate_control(warehouse, catalogue, control, day, "run")
    assert outcome.verdict == "unknown"
    assert "'111122223333/RDS' returned more than once" in (outcome.error or "")
