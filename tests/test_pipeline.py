"""The whole path on the sandbox: collect, land, evaluate, snapshot, under the multiprocess executor."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from evidence_pipeline.evidence.verify import verify_bundle
from evidence_pipeline.launch import prepare_dagster_home
from evidence_pipeline.settings import Paths
from sandbox.github.model import REPO_KINDS
from tests.conftest import PipelineDay, bundles_of
from tests.runs import run_daily_job
from warehouse import Warehouse


def test_one_run_materializes_every_definition_without_duckdb_lock_errors(pipeline_day: PipelineDay) -> None:
    """The session's day is one run of the daily job, launched as `evidence-pipeline run` does, under Dagster's
    multiprocess executor with its steps in parallel processes: it materializes every asset and runs every check,
    and a control's step starts as soon as its own sources have landed (GitHub's controls before training lands)."""
    [outcome] = pipeline_day.outcomes
    assert outcome.success and outcome.failed_steps == [], outcome
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(outcome.run_id)
        assert run.job_name == "daily_evidence" and run.run_config.get("execution") is None  # the default
        records = instance.get_records_for_run(outcome.run_id).records
    events = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]
    text = "\n".join(str(r.event_log_entry.dagster_event or r.event_log_entry.user_message) for r in records)
    materialized = {e.asset_key.to_user_string() for e in events if e.is_step_materialization}
    checked = {e.event_specific_data.asset_check_key for e in events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert len({e.pid for e in events if e.event_type == dg.DagsterEventType.STEP_START}) > 1, "separate processes"
    assert "Could not set lock" not in text
    from evidence_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    assert materialized == {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert checked == set(graph.asset_check_keys)
    # each judging step waits for its own sources only: GitHub's controls do not wait for training's paced API
    with dg.DagsterInstance.get() as instance:
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    upstream = {
        step.key: {handle.step_key for step_input in step.inputs for handle in step_input.upstream_output_handles}
        for step in plan.steps
    }
    assert upstream["judge_github"] == {"collect_github"}
    assert upstream["judge_hr_training"] == {"collect_hr", "collect_training"}
    assert upstream["evidence__daily_snapshot"] == {key for key in upstream if key.startswith("judge_")}


def test_review_rule_verdicts_equal_the_sandbox_known_states(pipeline_day: PipelineDay) -> None:
    org = pipeline_day.sandbox.org
    rows = Warehouse(pipeline_day.paths.warehouse).query(
        "SELECT resource_id, status FROM control_results WHERE control_id = 'cc8_1_branch_review_rules' "
        "AND snapshot_date = ?",
        [pipeline_day.day],
    )
    verdicts = {r["resource_id"]: r["status"] for r in rows}
    expected = {f"{org.org_login}/{repo.name}": REPO_KINDS[repo.kind] for repo in org.github.repositories}
    waived = org.waived.get("cc8_1_branch_review_rules", set())
    assert waived, "the sandbox waives one failing repository"
    expected.update({name: "waived" for name in waived})
    assert {k for k, v in expected.items() if v == "out_of_scope"}.isdisjoint(verdicts)  # archived: not judged
    assert verdicts == {k: v for k, v in expected.items() if v != "out_of_scope"}
    assert {k for k, v in verdicts.items() if v == "fail"} == org.expected["cc8_1_branch_review_rules"] - waived
    # every planted kind is present, so the comparison above covers each of them
    assert {repo.kind for repo in org.github.repositories} == set(REPO_KINDS)


def test_archived_repositories_are_recorded_but_out_of_scope(pipeline_day: PipelineDay) -> None:
    warehouse = Warehouse(pipeline_day.paths.warehouse)
    archived = warehouse.query(
        "SELECT full_name FROM raw_github_repositories WHERE is_archived AND snapshot_date = ?", [pipeline_day.day]
    )
    assert archived, "archived repositories must be collected"
    verdict = warehouse.query(
        "SELECT population, failed FROM control_verdicts WHERE control_id = "
        "'cc8_1_branch_review_rules' AND snapshot_date = ?",
        [pipeline_day.day],
    )[0]
    collected = warehouse.query(
        "SELECT count(*) AS n FROM raw_github_repositories WHERE snapshot_date = ?", [pipeline_day.day]
    )[0]["n"]
    assert verdict["population"] == collected - len(archived)


def test_source_failure_makes_dependent_control_unknown_and_keeps_earlier_rows(
    pipeline_day: PipelineDay, tmp_path: Path
) -> None:
    # the session's day, copied: the failure is played on the copy, so the day stays as the other tests expect it
    paths = Paths(tmp_path / "home")
    shutil.copytree(pipeline_day.paths.home, paths.home, ignore=shutil.ignore_patterns("sandbox"))
    saved = {name: os.environ.get(name) for name in ("DAGSTER_HOME", "EVIDENCE_HOME")}
    prepare_dagster_home(paths)
    warehouse = Warehouse(paths.warehouse)
    count_sql = "SELECT count(*) AS n FROM raw_github_repositories WHERE snapshot_date = ?"
    verdict_sql = (
        "SELECT verdict, reason FROM control_verdicts WHERE control_id = 'cc8_1_branch_review_rules' "
        "AND snapshot_date = ?"
    )
    before = warehouse.query(count_sql, [pipeline_day.day])[0]["n"]
    earlier_bundles = bundles_of(paths, pipeline_day.day)
    github = pipeline_day.sandbox.servers["github"]
    github.inject("401", times=10_000)
    # and, in the same run, a transient 429 on Google Workspace, which must be retried and recovered
    pipeline_day.sandbox.servers["google"].inject("429", times=1, path_prefix="/admin/directory/v1/users")
    # only what this failure touches: GitHub's and Google's datasets, two controls, the snapshot
    from evidence_pipeline.definitions import defs

    github_sources = [
        k.to_user_string()
        for k in defs.resolve_asset_graph().get_all_asset_keys()
        if k.path[:2] in (["sources", "github"], ["sources", "google_workspace"])
    ]
    affected = [f"controls/{c}" for c in ("cc8_1_branch_review_rules", "cc6_2_leavers_deprovisioned")]
    try:
        # one run: the failed source is data plus a failed check, and its controls are judged in the same run
        collect = run_daily_job(pipeline_day.day, paths, [*github_sources, *affected, "evidence/daily_snapshot"])
        verdict = warehouse.query(verdict_sql, [pipeline_day.day])[0]
        after = warehouse.query(count_sql, [pipeline_day.day])[0]["n"]
        statuses = {
            f"{r['source']}.{r['dataset']}": r
            for r in warehouse.query(
                "SELECT source, dataset, status, retry_count, run_id FROM source_status WHERE snapshot_date = ?",
                [pipeline_day.day],
            )
        }
        leavers = {
            r["resource_id"]: r
            for r in warehouse.query(
                "SELECT resource_id, status, reason FROM control_results WHERE control_id = "
                "'cc6_2_leavers_deprovisioned' AND snapshot_date = ?",
                [pipeline_day.day],
            )
        }
        leavers_verdict = warehouse.query(
            verdict_sql.replace("cc8_1_branch_review_rules", "cc6_2_leavers_deprovisioned"), [pipeline_day.day]
        )[0]
        newest = bundles_of(paths, pipeline_day.day)[-1]
        bundle_result = (newest / "controls/cc8_1_branch_review_rules/result.json").read_text()
        bundle_provenance = (newest / "sources/github/provenance.json").read_text()
    finally:
        github.faults.clear()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert collect.outcome.success and collect.outcome.failed_steps == [], collect
    assert "401" in collect.outcome.uncollected["github.repositories"]
    assert "not collected: github.repositories" in collect.stderr  # the user is told which source failed
    assert not any(key.startswith("google_workspace.") for key in collect.outcome.uncollected)
    assert verdict["verdict"] == "unknown"
    assert "github.repositories failed" in verdict["reason"] and "401" in verdict["reason"]
    assert after == before  # earlier evidence intact
    # the failed dataset's latest attempt says failed: no partial day is marked complete
    assert statuses["github.repositories"]["status"] == "failed"
    assert statuses["github.repositories"]["run_id"] == collect.outcome.run_id
    # the other source of the same run completed, its retry in provenance
    users = statuses["google_workspace.users"]
    assert users["status"] == "succeeded" and users["run_id"] == collect.outcome.run_id and users["retry_count"] == 1
    assert all(key.startswith("github.") for key in collect.outcome.uncollected)
    # a cross-system control keeps judging the other systems; GitHub's accounts stand as one unknown row
    github_row = leavers["github.members"]
    assert github_row["status"] == "unknown" and "github.members failed" in github_row["reason"]
    assert not any(k.startswith("github:") and r["status"] == "fail" for k, r in leavers.items())
    other_systems = {
        k for k in pipeline_day.sandbox.org.expected["cc6_2_leavers_deprovisioned"] if not k.startswith("github:")
    }
    assert other_systems and {k for k, r in leavers.items() if r["status"] == "fail"} == other_systems
    assert leavers_verdict["verdict"] == "fail"
    assert '"verdict": "unknown"' in bundle_result
    assert os.environ["GITHUB_TOKEN"] not in bundle_provenance
    assert newest not in earlier_bundles  # the failed day got a bundle of its own, beside the earlier ones
    for bundle in earlier_bundles:
        verify_bundle(bundle)  # and the earlier evidence is byte for byte what it was


def test_the_longest_aws_datasets_start_first(pipeline_day: PipelineDay) -> None:
    """AWS fetches `datasets_at_once` datasets side by side: those whose calls grow with the account start in the
    first batch, not after the short ones in declaration order (copy jobs are declared twentieth)."""
    from evidence_pipeline.defs.sources.aws import LONGEST_FIRST, AwsResource

    started = sorted(
        (row["started_at"], row["dataset"])
        for row in Warehouse(pipeline_day.paths.warehouse).query(
            "SELECT dataset, started_at FROM source_status WHERE source = 'aws' AND snapshot_date = ? "
            "AND started_at IS NOT NULL",
            [pipeline_day.day],
        )
    )
    first_batch = {dataset for _, dataset in started[: AwsResource.datasets_at_once]}
    assert len(started) > AwsResource.datasets_at_once
    assert set(LONGEST_FIRST) <= first_batch, started
