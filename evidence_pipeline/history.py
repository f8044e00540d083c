"""Every control's verdict on every day of a period: what passed, what failed, since when. Checking code: reads the
warehouse, never an API.

A day's verdict is the one stored when that day was evaluated, as long as the control's SQL is still the one the
catalogue holds (same SHA-256): stored evidence is read, never silently re-judged. Days whose control SQL has changed
since, or that were collected but never evaluated, are re-judged from the day's raw rows, one query per control over
all such days (`Control.sql_over_days`), under the daily rules: a source that was not usable that day (failed, not
configured, not collected) makes the day unknown, never pass; waivers apply; the empty-population rule applies; a row
without a valid status or a reason is unknown, and SQL that fails makes the days it judges unknown with the error.
The SQL runs in the judging session (evaluate.judging_session): no file, network or setting is within its reach.
Re-judged verdicts are marked as such and never stored: materializing the control's partitions stores them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb

from evidence_pipeline.catalogue import Catalogue, Control
from evidence_pipeline.evaluate import OPTIONAL_NOT_CONFIGURED, judging_session, sql_error, verdict_from_counts
from evidence_pipeline.evidence.model import STATUSES
from evidence_pipeline.waivers import Waivers
from warehouse import Warehouse, results

#: stored: the verdict stored that day; re-judged: judged now from the day's raw rows (its SQL changed, or the day was
#: collected but never evaluated); not evaluated: no verdict stored and the day's data is not usable
Origin = Literal["stored", "re-judged", "not evaluated"]


@dataclass(frozen=True)
class DayVerdict:
    control_id: str
    day: date
    verdict: str
    reason: str
    #: population and count per status (empty when the day could not be judged)
    counts: dict[str, int]
    origin: Origin


def verdict_history(
    warehouse: Warehouse, catalogue: Catalogue, days: list[date], waivers: Waivers | None = None
) -> list[DayVerdict]:
    """One verdict per control and day, in catalogue then day order."""
    if not days:
        return []
    first, last = min(days), max(days)
    with judging_session(warehouse) as con:
        stored = results.verdicts_between(warehouse, first, last)
        collected = results.collection_statuses_between(warehouse, first, last)
        history: list[DayVerdict] = []
        for control in catalogue.controls:
            by_day: dict[date, DayVerdict] = {}
            to_judge: list[date] = []
            for day in days:
                found = stored.get((control.id, day))
                if found and found.sql_sha256 == control.sql_sha256:
                    by_day[day] = DayVerdict(control.id, day, found.verdict, found.reason, found.counts, "stored")
                    continue
                unusable = [
                    f"{name} {collected.get((name, day), 'not collected').replace('_', ' ')}"
                    for name in control.datasets
                    if collected.get((name, day)) != "succeeded"
                    # an optional system switched off is out of scope, as in the daily evaluation
                    and not (name in control.system_sources and collected.get((name, day)) == OPTIONAL_NOT_CONFIGURED)
                ]
                if unusable:
                    by_day[day] = DayVerdict(
                        control.id,
                        day,
                        "unknown",
                        f"cannot evaluate: {'; '.join(unusable)}",
                        {},
                        "re-judged" if found else "not evaluated",
                    )
                else:
                    to_judge.append(day)
            try:
                judged = _judge(con, catalogue, control, to_judge, waivers)
            except duckdb.Error as exc:  # as in the daily evaluation: the control is unknown with the error
                error = f"the control's SQL failed: {sql_error(exc)}"
                by_day |= {day: DayVerdict(control.id, day, "unknown", error, {}, "re-judged") for day in to_judge}
                judged = {}
            for day, counts in judged.items():
                verdict, reason = verdict_from_counts(control, counts)
                by_day[day] = DayVerdict(
                    control.id,
                    day,
                    verdict,
                    reason,
                    {"population": sum(counts.values()), **{status: counts[status] for status in STATUSES}},
                    "re-judged",
                )
            history += [by_day[day] for day in days]
    return history


def _judge(
    con: duckdb.DuckDBPyConnection, catalogue: Catalogue, control: Control, days: list[date], waivers: Waivers | None
) -> dict[date, Counter[str]]:
    """Each day's count per status, from the raw rows, in one query over every day."""
    if not days:
        return {}
    counts: dict[date, Counter[str]] = {day: Counter() for day in days}
    parameters = control.days_parameters(days, catalogue.defaults)
    waived = waivers.for_control(control.id) if waivers else {}
    # as the daily evaluation judges: a status it does not know, or a row without a reason or resource, is unknown
    status = (
        f"CASE WHEN lower(judged.status) IN ({', '.join(repr(s) for s in STATUSES)}) "
        "AND judged.reason IS NOT NULL AND judged.resource_id IS NOT NULL THEN lower(judged.status) "
        "ELSE 'unknown' END"
    )
    join = ""
    if waived:
        status = f"CASE WHEN {status} = 'fail' AND waiver.until >= judged.evaluated_day THEN 'waived' ELSE {status} END"
        join = (
            "LEFT JOIN (SELECT unnest($waived_resources) AS resource, unnest($waived_until) AS until) AS waiver "
            "ON waiver.resource = CAST(judged.resource_id AS VARCHAR)"
        )
        parameters |= {"waived_resources": list(waived), "waived_until": [w.expires for w in waived.values()]}
    # every day in one query: the days join the raw rows once (a query per chunk of days would scan them all again)
    for day, judged_status, count in con.execute(
        f"SELECT judged.evaluated_day, {status}, count(*) FROM ({control.sql_over_days()}) AS judged {join} "
        "GROUP BY ALL",
        parameters,
    ).fetchall():
        counts[day][judged_status] += count
    return counts
