from __future__ import annotations

from datetime import date

import dagster as dg

#: One partition per day; today's partition exists (end_offset=1) because evidence is collected during the day.
daily_partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)


def partition_date(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
