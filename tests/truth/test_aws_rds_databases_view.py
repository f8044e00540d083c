"""`aws_rds_databases` (warehouse/views/), the one population the four RDS controls judge: an Aurora cluster's
exposure comes from its members of the same day only, and a warehouse made before the view existed gains it."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path

from evidence_pipeline.catalogue import Catalogue, load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from tests.connectors.cases_aws import land_records
from warehouse import Warehouse

DAY = date(2026, 11, 20)
ACCOUNT = "320000000002"
REGION = "us-east-1"
CLUSTER_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders"


@cache
def the_catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"))


def member(publicly_accessible: bool | None) -> dict:
    return {
        "account_id": ACCOUNT,
        "region": REGION,
        "db_instance_identifier": "orders-1",
        "db_instance_arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-1",
        "engine": "aurora-postgresql",
        "engine_version": "16.4",
        "db_instance_class": "db.r6g.large",
        "status": "available",
        "backup_retention_period": 7,
        "storage_encrypted": True,
        "publicly_accessible": publicly_accessible,
        "multi_az": False,
        "deletion_protection": False,
        "latest_restorable_time": None,
        "instance_create_time": None,
        "db_cluster_identifier": "orders",
        "enabled_cloudwatch_logs_exports": [],
    }


def cluster() -> dict:
    return {
        "account_id": ACCOUNT,
        "region": REGION,
        "db_cluster_identifier": "orders",
        "db_cluster_arn": CLUSTER_ARN,
        "engine": "aurora-postgresql",
        "status": "available",
        "multi_az": True,
        "availability_zones": [f"{REGION}a", f"{REGION}b"],
        "deletion_protection": True,
        "storage_encrypted": True,
        # PubliclyAccessible is only for non-Aurora Multi-AZ DB clusters (DBCluster): an Aurora cluster's members decide
        "publicly_accessible": None,
        "enabled_cloudwatch_logs_exports": ["postgresql"],
        "members": ["orders-1"],
    }


def land_day(store: Warehouse, day: date, member_public: bool | None) -> None:
    land_records(
        store,
        "aws.regions",
        day,
        [{"account_id": ACCOUNT, "region": REGION, "configured": True, "opt_in_status": "opt-in-not-required"}],
    )
    land_records(store, "aws.rds_instances", day, [member(member_public)])
    land_records(store, "aws.rds_clusters", day, [cluster()])


def test_an_aurora_clusters_exposure_is_its_members_of_the_same_day(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "warehouse.duckdb")
    store.migrate()
    yesterday = DAY - timedelta(days=1)
    land_day(store, yesterday, member_public=True)  # made private since: yesterday's exposure is not today's
    land_day(store, DAY, member_public=False)
    rows = store.query(
        "SELECT snapshot_date, kind, resource_id, publicly_accessible, multi_az FROM aws_rds_databases ORDER BY ALL"
    )
    # the member is judged through its cluster, never as a database of its own
    assert [tuple(r.values()) for r in rows] == [
        (yesterday, "cluster", CLUSTER_ARN, True, True),
        (DAY, "cluster", CLUSTER_ARN, False, True),
    ]
    catalogue = the_catalogue()
    control = catalogue.by_id["cc6_6_aws_rds_not_public"]
    judged = {d: evaluate_control(store, catalogue, control, d, "test").rows for d in (yesterday, DAY)}
    assert {d: [(r["resource_id"], r["status"]) for r in found] for d, found in judged.items()} == {
        yesterday: [(CLUSTER_ARN, "fail")],
        DAY: [(CLUSTER_ARN, "pass")],
    }


def test_a_warehouse_made_before_the_view_gains_it_on_migrate(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "warehouse.duckdb")
    store.migrate()
    with store.connect() as con:
        con.execute("DROP VIEW IF EXISTS aws_rds_databases")  # as a warehouse migrated before the view file existed
    assert store.migrate() == []  # no migration is new: the view comes back all the same
    assert store.query("SELECT view_name FROM duckdb_views() WHERE view_name = 'aws_rds_databases'")
    land_day(store, DAY, member_public=None)
    catalogue = the_catalogue()
    for control_id in (
        "cc6_6_aws_rds_not_public",
        "a1_2_aws_rds_multi_az",
        "a1_2_aws_rds_deletion_protection",
        "cc7_2_aws_rds_log_exports",
    ):
        outcome = evaluate_control(store, catalogue, catalogue.by_id[control_id], DAY, "test")
        assert [r["resource_id"] for r in outcome.rows] == [CLUSTER_ARN], control_id
    # a member that reports no PubliclyAccessible leaves the cluster's exposure unknown, never a pass
    not_public = evaluate_control(store, catalogue, catalogue.by_id["cc6_6_aws_rds_not_public"], DAY, "test")
    assert not_public.rows[0]["status"] == "unknown"
