"""One control's failure never costs the day: a control whose SQL fails on the data is *unknown* with the error, a row
returned without a valid status or reason is an unknown row naming the resource, every other control is still judged,
the day's bundle is written and says which control errored, and `evidence-pipeline run` exits non-zero naming it."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from evidence_pipeline.catalogue import catalogue_document, load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.launch import prepare_dagster_home
from evidence_pipeline.settings import Paths, project_file
from tests.conftest import PipelineDay, bundles_of
from tests.runs import run_daily_job
from warehouse import Warehouse
from warehouse.results import errored_controls

#: fails on the day's data only (it binds): every repository's name is not a number
FAILING = "cc8_1_branch_review_rules"
FAILING_SQL = (
    "SELECT full_name AS resource_id, 'pass' AS status, 'number ' || CAST(full_name AS INTEGER) AS reason "
    "FROM raw_github_repositories WHERE snapshot_date = $snapshot_date"
)
#: judged after the failing one in catalogue order, so its fresh verdict shows the step went on
HEALTHY = "cc6_1_workspace_2sv_enrolled"
#: one of its rows comes back with a status that is not one, another with no reason
ROWS_GO_WRONG = "cc6_1_aws_console_users_mfa"


def _variant_catalogue(tmp_path: Path) -> Path:
    data = catalogue_document(project_file("controls_map.yaml"))  # as one file, every control inline
    controls = {c["id"]: c for c in data["controls"]}
    controls[FAILING]["sql"] = FAILING_SQL
    original = controls[ROWS_GO_WRONG]["sql"].strip().rstrip(";")
    # the first row (in resource order) gets a status that is not one, the second no reason; the rest stay as judged
    controls[ROWS_GO_WRONG]["sql"] = (
        f"SELECT * REPLACE (CASE WHEN rank = 1 THEN 'maybe' ELSE status END AS status, "
        f"CASE WHEN rank = 2 THEN NULL ELSE reason END AS reason) "
        f"FROM (SELECT *, row_number() OVER (ORDER BY CAST(resource_id AS VARCHAR)) AS rank FROM (\n{original}\n))"
    )
    path = tmp_path / "controls_map.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture()
def copied_day(pipeline_day: PipelineDay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """The session's day, copied (the other tests keep theirs), with the variant catalogue in the environment."""
    paths = Paths(tmp_path / "home")
    shutil.copytree(pipeline_day.paths.home, paths.home, ignore=shutil.ignore_patterns("sandbox"))
    for name in ("DAGSTER_HOME", "EVIDENCE_HOME"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored afterwards; prepare_dagster_home sets them
    monkeypatch.setenv("EVIDENCE_CONTROLS_MAP", str(_variant_catalogue(tmp_path)))
    prepare_dagster_home(paths)
    return paths


def test_a_failing_control_is_unknown_with_its_error_and_the_day_is_still_evidenced(
    pipeline_day: PipelineDay, copied_day: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = pipeline_day.day
    earlier = bundles_of(copied_day, day)
    keys = [f"controls/{c}" for c in (FAILING, ROWS_GO_WRONG, HEALTHY)]
    cli_run = run_daily_job(day, copied_day, [*keys, "evidence/daily_snapshot"])
    evaluate = cli_run.outcome

    # the step did not fail the run: the snapshot ran and wrote the day's bundle
    assert evaluate.success and evaluate.failed_steps == [], evaluate
    newest = bundles_of(copied_day, day)[-1]
    assert newest not in earlier
    warehouse = Warehouse(copied_day.warehouse)
    verdicts = {
        r["control_id"]: r
        for r in warehouse.query(
            "SELECT control_id, verdict, reason, error, run_id, population FROM control_verdicts "
            "WHERE snapshot_date = ?",
            [day],
        )
    }
    failing = verdicts[FAILING]
    assert failing["verdict"] == "unknown" and failing["run_id"] == evaluate.run_id
    assert "Conversion Error" in failing["error"] and "INT" in failing["error"] and failing["population"] == 0
    # judged after the failure, in the same run
    assert verdicts[HEALTHY]["run_id"] == evaluate.run_id and verdicts[HEALTHY]["error"] is None
    assert verdicts[HEALTHY]["population"] > 0

    # the rows that went wrong are unknown and say what the SQL returned; the others are judged as before
    rows = warehouse.query(
        "SELECT resource_id, status, reason FROM control_results WHERE control_id = ? AND "
        "snapshot_date = ? ORDER BY resource_id",
        [ROWS_GO_WRONG, day],
    )
    first, second, *rest = rows
    assert first["status"] == "unknown" and "'maybe'" in first["reason"]
    assert second["status"] == "unknown" and "reason None" in second["reason"]
    org = pipeline_day.sandbox.org
    gone_wrong = {first["resource_id"], second["resource_id"]}
    waived = org.waived.get(ROWS_GO_WRONG, set())
    assert rest and {r["resource_id"] for r in rest if r["status"] == "fail"} == (
        org.expected[ROWS_GO_WRONG] - waived - gone_wrong
    )
    assert all(r["status"] in ("pass", "fail", "waived") for r in rest)
    problem = verdicts[ROWS_GO_WRONG]["error"]
    assert "2 rows" in problem and first["resource_id"] in problem and second["resource_id"] in problem

    # the bundle says which control errored, and how
    result = json.loads((newest / "controls" / FAILING / "result.json").read_text())
    assert result["verdict"] == "unknown" and result["error"] == failing["error"]
    assert failing["error"] in result["reason"]
    assert json.loads((newest / "controls" / HEALTHY / "result.json").read_text())["error"] is None
    assert "Conversion Error" in (newest / "report.html").read_text()

    # the Dagster check of the failing control failed with the error
    with dg.DagsterInstance.get() as instance:
        checks = [
            r.event_log_entry.dagster_event.event_specific_data
            for r in instance.get_records_for_run(
                evaluate.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
        ]
    failing_check = next(c for c in checks if c.asset_key == dg.AssetKey(["controls", FAILING]))
    assert not failing_check.passed and "Conversion Error" in failing_check.description

    # `evidence-pipeline run`: the bundle is reported, and the exit is non-zero naming the control
    assert errored_controls(warehouse, day).keys() == {FAILING, ROWS_GO_WRONG}
    assert cli_run.exit_code != 0
    out, err = cli_run.stdout, cli_run.stderr
    assert re.search(rf"evidence bundle +{re.escape(str(newest))}", out), out  # a row of the summary table
    assert f"control {FAILING}: the control's SQL failed: Conversion Error" in err
    assert f"control {ROWS_GO_WRONG}: 2 rows" in err
    assert "Traceback" not in err


def test_a_control_judged_again_without_error_clears_it(pipeline_day: PipelineDay, tmp_path: Path) -> None:
    """The stored error belongs to the verdict it explains: a later, clean evaluation of the day replaces both."""
    shutil.copyfile(pipeline_day.paths.warehouse, tmp_path / "warehouse.duckdb")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    catalogue = load_catalogue(_variant_catalogue(tmp_path))
    broken = evaluate_control(warehouse, catalogue, catalogue.by_id[FAILING], pipeline_day.day, "broken")
    assert broken.verdict == "unknown" and broken.error and broken.counts["population"] == 0
    assert errored_controls(warehouse, pipeline_day.day) == {FAILING: broken.error}
    fixed = load_catalogue(project_file("controls_map.yaml"))
    judged = evaluate_control(warehouse, fixed, fixed.by_id[FAILING], pipeline_day.day, "fixed")
    assert judged.error is None and judged.counts["population"] > 0
    assert errored_controls(warehouse, pipeline_day.day) == {}
