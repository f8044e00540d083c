"""The one daily job, its schedule, and the alert resource.

Collection, the controls and the snapshot are one run: a source that fails is recorded as data (its
`collected` check fails, without blocking), so its controls still run in the same run and say *unknown*, and
each control's step starts as soon as its own sources have landed. The schedule, the UI and the CLI
(`evidence-pipeline run`, through `dg.execute_job`) all launch this job.
"""

from datetime import timedelta

import dagster as dg

DAILY_JOB = "daily_evidence"
#: the schedule's hour (UTC): the day's run starts then, and the controls and the snapshot are written minutes later
SCHEDULE_HOUR = 2

#: controls and the snapshot are written once a day by the schedule: a day's run an hour late warns, a missed day
#: fails (Dagster's freshness daemon evaluates it, measured from the latest materialization of any partition)
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25))

daily_evidence_job = dg.define_asset_job(
    DAILY_JOB,
    selection=dg.AssetSelection.all(),
    description="One day's evidence: collect every source, judge every control as its sources land, write the "
    "signed bundle and announce newly failing controls.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_evidence_job,
    hour_of_day=SCHEDULE_HOUR,
    minute_of_hour=0,
    name="daily_evidence_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


class AlertResource(dg.ConfigurableResource):
    """Where newly failing controls are announced besides the log (a Slack-compatible incoming webhook)."""

    webhook_url: str | None = None
