"""The access_reviews source: a real, signed campaign chain (the engine's own start and import, on a hand-built daily
bundle) read as three datasets with exactly their tables' columns; no folder is no campaign; a chain that does not
verify fails the datasets, so the controls are unknown; the decisions asset shows progress by reviewer; the alert
names the overdue reviewers."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path
from threading import Lock

import dagster as dg
import pytest

from connectors.access_reviews import minimum
from evidence_pipeline.alerts import newly_failing
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.defs.evidence import NEWLY_FAILING_CHECK
from evidence_pipeline.defs.sources.access_reviews import DATASETS, AccessReviewsResource, campaign_progress
from evidence_pipeline.defs.sources.factory import collect_dataset
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.reviews.campaigns import campaigns_root, import_packet, start_campaign
from evidence_pipeline.settings import project_file
from tests.conftest import PipelineDay
from tests.reviews.conftest import OWNER, START, Home, home  # noqa: F401 - `home` is the fixture used below
from warehouse import Warehouse, raw_table, schema_connection

CATALOGUE = load_catalogue(project_file("controls_map.yaml"))
DUE = date(2026, 10, 19)
CAMPAIGN = "2026-Q4-privileged"
#: set by landing, not by the connector
LANDING_COLUMNS = {"snapshot_date", "run_id"}


def returned(tmp_path: Path, start_bundle: Path, reviewer: str, decide: dict[str, dict[str, str]]) -> Path:
    """The reviewer's packet, filled in: account key -> the cells to set."""
    with (start_bundle / "packets" / f"{reviewer}.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.update(decide.get(row["account_key"], {}))
    path = tmp_path / f"{reviewer}-returned.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def chain(home: Home, tmp_path: Path) -> Home:  # noqa: F811 - the fixture imported above
    """A campaign of the fixture's privileged accounts: bob decides ada's (revoke) and frank's (frank himself: a
    self-review, rejected); the other reviewers never return their packets."""
    start = start_campaign(home.paths, "2026-Q4", "privileged", DUE, OWNER, {}, None, now=START)
    decide = {
        "github:ada-gh": {"decision": "revoke", "comment": "left the platform team"},
        "github:frank-gh": {"decision": "keep", "decided_by": "frank@corp.test"},
    }
    import_packet(home.paths, returned(tmp_path, start, "bob@corp.test", decide), OWNER, now=START)
    return home


def table_columns() -> dict[str, set[str]]:
    with schema_connection() as con:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE starts_with(table_name, "
            "'raw_access_reviews_')"
        ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return {table: columns - LANDING_COLUMNS for table, columns in tables.items()}


def records(root: Path, dataset: str) -> list[dict]:
    """The dataset's records, read as a run reads them: in the fewest reads its minimum says (one)."""
    spec = next(s for s in DATASETS if s.dataset == dataset)
    resource = AccessReviewsResource(campaigns_root=str(root))
    streams = list(spec.streams(resource, START.date()))
    read = [r for stream in streams for r in stream.records()]
    assert sum(stream.provenance.request_count for stream in streams) == minimum.min_requests()
    return read


def test_each_dataset_reads_the_verified_chain_with_exactly_its_tables_columns(chain: Home) -> None:
    columns = table_columns()
    read = {spec.dataset: records(chain.campaigns, spec.dataset) for spec in DATASETS}
    for dataset, rows in read.items():
        assert rows, dataset
        assert all(set(r) == columns[raw_table("access_reviews", dataset)] for r in rows), (dataset, rows[0])
    [campaign] = read["campaigns"]
    assert (campaign["campaign_id"], campaign["due"], campaign["revocation_window_days"]) == (CAMPAIGN, "2026-10-19", 5)
    assert campaign["population_count"] == len(read["population"])
    bot = next(r for r in read["population"] if r["account_key"] == "github:bot")
    assert bot["person_email"] is None  # an empty cell is "not there", never ""
    decisions = {r["account_key"]: r for r in read["decisions"]}
    assert decisions["github:ada-gh"]["decision"] == "revoke" and decisions["github:ada-gh"]["status"] == "accepted"
    frank = decisions["github:frank-gh"]
    assert (frank["status"], frank["decided_by"]) == ("rejected", "frank@corp.test")  # the attempt is evidence
    assert frank["import_bundle"].startswith(f"{CAMPAIGN}/v002-")


def test_no_campaign_folder_is_no_campaign_collected_with_zero_records(tmp_path: Path) -> None:
    for spec in DATASETS:
        assert records(tmp_path / "evidence" / "campaigns", spec.dataset) == []


def test_a_chain_that_does_not_verify_fails_every_dataset_and_its_controls_are_unknown(
    chain: Home, tmp_path: Path
) -> None:
    [start] = sorted(chain.campaigns.glob(f"{CAMPAIGN}/v001-*"))
    population = start / "population.csv"
    population.chmod(0o600)
    population.write_text(population.read_text().replace("bob@corp.test", "mallory@corp.test"))
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    day = START.date() + timedelta(days=1)
    resource = AccessReviewsResource(campaigns_root=str(chain.campaigns))
    for spec in DATASETS:
        collected = collect_dataset(spec, resource, warehouse, tmp_path / "staging", day, "run", Lock())
        assert collected.failure and f"{CAMPAIGN}/{start.name}" in collected.failure, collected.failure
    for control_id in ("cc6_3_access_review_quarterly", "cc6_3_access_review_decided"):
        outcome = evaluate_control(warehouse, CATALOGUE, CATALOGUE.by_id[control_id], day, "run")
        assert outcome.verdict == "unknown" and "access_reviews.campaigns failed" in outcome.reason, outcome.reason


def test_the_decisions_asset_shows_decided_of_total_by_reviewer_and_who_is_overdue(chain: Home) -> None:
    spec = next(s for s in DATASETS if s.dataset == "decisions")
    resource = AccessReviewsResource(campaigns_root=str(campaigns_root(chain.paths)))
    streams = list(spec.streams(resource, DUE))
    for stream in streams:
        list(stream.records())
    on_time, late = campaign_progress(streams, DUE), campaign_progress(streams, DUE + timedelta(days=1))
    table = late["campaign progress"].value
    # bob decided ada's account; frank's own decision was rejected, so it is still to decide
    assert "| 2026-Q4-privileged | 2026-10-19 | bob@corp.test | 1 | 2 | **overdue** |" in table, table
    assert f"| **{CAMPAIGN}** | 2026-10-19 | all reviewers | 1 | {late['accounts']} | |" in table
    assert on_time["overdue reviewers"] == "none" and "**overdue**" not in on_time["campaign progress"].value
    assert late["overdue reviewers"].startswith(f"bob@corp.test ({CAMPAIGN})")


def test_the_alert_names_the_overdue_reviewers_of_a_newly_failing_decided_control(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    day = date(2026, 11, 20)
    rows = [("a", "fail", "lea@x.test", "overdue"), ("b", "fail", "bo@x.test", "decided_late"), ("c", "pass", "", "")]
    with warehouse.connect() as con:
        con.execute(
            "INSERT INTO control_verdicts (snapshot_date, control_id, run_id, verdict, reason, population, passed, "
            "failed, unknown, waived, sql_sha256) VALUES (?, 'cc6_3_access_review_decided', 'r', 'fail', "
            "'2 of 3 fail', 3, 1, 2, 0, 0, 'x')",
            [day],
        )
        for resource, status, reviewer, failure in rows:
            con.execute(
                "INSERT INTO control_results VALUES (?, 'cc6_3_access_review_decided', 'r', ?, ?, NULL, ?, 'x', ?)",
                [day, resource, resource, status, json.dumps({"reviewer": reviewer, "failure": failure or None})],
            )
    [alert] = newly_failing(warehouse, day)
    # only the overdue rows' reviewers: a late decision is no one to chase
    assert alert.line().endswith("2 of 3 fail; overdue reviewers: lea@x.test"), alert.line()


def test_the_sandbox_days_alert_names_its_overdue_reviewer_and_the_decisions_asset_shows_the_campaign(
    pipeline_day: PipelineDay,
) -> None:
    overdue = pipeline_day.campaign.overdue_reviewer
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(pipeline_day.run.outcome.run_id).records
    events = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]
    [alert] = [
        e.event_specific_data
        for e in events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == NEWLY_FAILING_CHECK
    ]
    decided_line = next(line for line in alert.description.splitlines() if "cc6_3_access_review_decided" in line)
    assert decided_line.endswith(f"overdue reviewers: {overdue}"), decided_line
    [decisions] = [
        e.step_materialization_data.materialization
        for e in events
        if e.is_step_materialization and e.asset_key.to_user_string() == "sources/access_reviews/decisions"
    ]
    assert decisions.metadata["overdue reviewers"].value == f"{overdue} ({pipeline_day.campaign.campaign_id})"
    assert f"| {overdue} | 0 |" in decisions.metadata["campaign progress"].value
