"""Newly failing controls: to the log, and to a Slack-compatible webhook when one is configured.

A control is newly failing on a day when its verdict is *fail* and its previous evaluated
day's verdict was not (or it was never evaluated before: the day is its first evaluated day). Each (day, control)
is reported once.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from datetime import date
from typing import Any

from evidence_pipeline.text import counted
from warehouse import Warehouse, results

WEBHOOK_ENV = "EVIDENCE_ALERT_WEBHOOK_URL"
log = logging.getLogger(__name__)
#: controls whose alert names the people who must act: control id -> (the failing rows' detail naming them, the
#: failure kind of those rows, what they are called in the alert)
NAMED_IN_ALERT = {"cc6_3_access_review_decided": ("reviewer", "overdue", "overdue reviewers")}


@dataclass(frozen=True)
class NewlyFailing:
    control_id: str
    reason: str
    failed: int
    population: int
    previous: str  # the previous evaluated day's verdict, or 'none' (never evaluated before)
    #: who must act, for a control of NAMED_IN_ALERT ("overdue reviewers: a@corp.com, b@corp.com"); else empty
    named: str = ""

    def line(self) -> str:
        """One line: the control, what it was before, and its reason (which holds the counts)."""
        before = (
            "its first evaluated day" if self.previous == "none" else f"{self.previous} on its previous evaluated day"
        )
        named = f"; {self.named}" if self.named else ""
        return f"{self.control_id} is newly failing ({before}): {self.reason}{named}"


def newly_failing(warehouse: Warehouse, day: date) -> list[NewlyFailing]:
    rows = results.unalerted_failures(warehouse, day)
    return [
        NewlyFailing(**row, named=named_in_alert(warehouse, day, row["control_id"]))
        for row in rows
        if row["previous"] != "fail"
    ]


def named_in_alert(warehouse: Warehouse, day: date, control_id: str) -> str:
    """The people a NAMED_IN_ALERT control's failing rows name that day, as "<what>: a, b" (empty for the others)."""
    if control_id not in NAMED_IN_ALERT:
        return ""
    detail, failure, what = NAMED_IN_ALERT[control_id]
    names = warehouse.query(
        "SELECT DISTINCT json_extract_string(details, ?) AS name FROM control_results "
        "WHERE snapshot_date = ? AND control_id = ? AND status = 'fail' "
        "AND json_extract_string(details, '$.failure') = ? AND json_extract_string(details, ?) IS NOT NULL "
        "ORDER BY name",
        [f"$.{detail}", day, control_id, failure, f"$.{detail}"],
    )
    return f"{what}: {', '.join(r['name'] for r in names)}" if names else ""


def report_newly_failing(
    warehouse: Warehouse, day: date, webhook_url: str | None, logger: Any = log
) -> list[NewlyFailing]:
    """Log every newly failing control, post one message to the webhook, and remember what was sent."""
    found = newly_failing(warehouse, day)
    if not found:
        return []
    for item in found:
        logger.warning(f"{day}: {item.line()}")
    delivered = "log"
    if webhook_url:
        text = f"SOC 2 evidence {day}: {counted(len(found), 'control')} newly failing\n" + "\n".join(
            f"• {item.line()}" for item in found
        )
        request = urllib.request.Request(
            webhook_url,
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            delivered = "log+webhook"
        except OSError as exc:  # the alert channel failing must not fail the evidence; it is logged instead
            logger.error(f"alert webhook failed ({type(exc).__name__}); the alerts are in the log only")
    results.record_alerts(warehouse, day, [item.control_id for item in found], delivered)
    return found
