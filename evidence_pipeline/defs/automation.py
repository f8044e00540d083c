"""The one daily job, its schedule, and the alert resource.

Collection, the controls and the snapshot are one run: a source that fails is recorded as data (its
`collected` check fails, without blocking), so its controls still run in the same run and say *unknown*, and
each control's step starts as soon as its own sources have landed. The schedule, the UI and the CLI
(`evidence-pipeline run`, through `dg.execute_job`) all launch this job.
"""

import dagster as dg

DAILY_JOB = "daily_evidence"

daily_evidence_job = dg.define_asset_job(
    DAILY_JOB,
    selection=dg.AssetSelection.all(),
    description="One day's evidence: collect every source, judge every control as its sources land, write the "
    "signed bundle and announce newly failing controls.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_evidence_job,
    hour_of_day=2,
    minute_of_hour=0,
    name="daily_evidence_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


class AlertResource(dg.ConfigurableResource):
    """Where newly failing controls are announced besides the log (a Slack-compatible incoming webhook)."""

    webhook_url: str | None = None
