from __future__ import annotations

import functools
from datetime import date

import dagster as dg

from evidence_pipeline.settings import Paths, first_day


def daily_partitions_from(start: date) -> dg.DailyPartitionsDefinition:
    """One partition per day from `start`; today's partition exists (end_offset=1) because evidence is collected
    during the day."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), end_offset=1)


@functools.cache
def daily_partitions() -> dg.DailyPartitionsDefinition:
    """From the configured first day (EVIDENCE_FIRST_DAY), else the first day collected, else today. Read once per
    process when the definitions are built, not when this module is imported: `evidence-pipeline run` imports it
    before `run_day` records its day (`record_first_day`), and every asset of the process shares one start."""
    return daily_partitions_from(first_day(Paths.from_env()))


def partition_date(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
