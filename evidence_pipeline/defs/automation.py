"""Jobs, the daily schedule, and the sensor that evaluates controls after collection.

Collection and evaluation are separate jobs on purpose: when a source fails, the
controls must still run (and say *unknown*) instead of being skipped by Dagster.
"""

from datetime import date

import dagster as dg

from evidence_pipeline.alerts import report_newly_failing
from evidence_pipeline.defs.resources import WarehouseResource

SOURCES = dg.AssetSelection.key_prefixes(["sources"])
CONTROLS_AND_EVIDENCE = dg.AssetSelection.key_prefixes(["controls"]) | dg.AssetSelection.key_prefixes(["evidence"])

collect_sources_job = dg.define_asset_job(
    "collect_sources",
    selection=SOURCES,
    description="Collect every configured source for the day (in parallel).",
)
evaluate_controls_job = dg.define_asset_job(
    "evaluate_controls",
    selection=CONTROLS_AND_EVIDENCE,
    description="Evaluate every control from the day's landed data and write the evidence bundle.",
)
daily_evidence_job = dg.define_asset_job(
    "daily_evidence",
    selection=dg.AssetSelection.all(),
    description="Everything for one day in one run (controls are skipped if a source fails; prefer the schedule).",
)

daily_collection_schedule = dg.build_schedule_from_partitioned_job(
    collect_sources_job,
    hour_of_day=2,
    minute_of_hour=0,
    name="daily_collection",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def _evaluate_after(run: dg.DagsterRun) -> dg.RunRequest | dg.SkipReason:
    partition = run.tags.get("dagster/partition")
    if not partition:
        return dg.SkipReason("collection run had no partition")
    return dg.RunRequest(run_key=f"evaluate-{run.run_id}", partition_key=partition)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[collect_sources_job],
    request_job=evaluate_controls_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def evaluate_after_collection(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    """A complete collection is evaluated at once."""
    return _evaluate_after(context.dagster_run)


@dg.run_failure_sensor(
    monitored_jobs=[collect_sources_job],
    request_job=evaluate_controls_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def evaluate_after_failed_collection(context: dg.RunFailureSensorContext) -> dg.RunRequest | dg.SkipReason:
    """A partly failed collection is evaluated too: controls of the failed sources report unknown."""
    return _evaluate_after(context.dagster_run)


class AlertResource(dg.ConfigurableResource):
    """Where newly failing controls are announced besides the log (a Slack-compatible incoming webhook)."""

    webhook_url: str | None = None


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[evaluate_controls_job, daily_evidence_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def newly_failing_controls(
    context: dg.RunStatusSensorContext, alerts: AlertResource, warehouse: WarehouseResource
) -> dg.SkipReason:
    """Reports controls that fail on the evaluated day but did not fail on the previous one."""
    partition = context.dagster_run.tags.get("dagster/partition")
    if not partition:
        return dg.SkipReason("evaluation run had no partition")
    found = report_newly_failing(warehouse.get(), date.fromisoformat(partition), alerts.webhook_url, context.log)
    return dg.SkipReason(f"{len(found)} newly failing control(s) reported" if found else "no newly failing control")
