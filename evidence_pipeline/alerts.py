"""Newly failing controls: to the log, and to a Slack-compatible webhook when one is configured.

A control is newly failing on a day when its verdict is *fail* and its previous evaluated
day's verdict was not (or there was none). Each (day, control) is reported once.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from datetime import date
from typing import Any

from warehouse import Warehouse

WEBHOOK_ENV = "EVIDENCE_ALERT_WEBHOOK_URL"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewlyFailing:
    control_id: str
    reason: str
    failed: int
    population: int
    previous: str  # the previous evaluated day's verdict, or 'none'

    def line(self) -> str:
        return (
            f"{self.control_id} is newly failing ({self.failed} of {self.population} fail; was "
            f"{self.previous}): {self.reason}"
        )


def newly_failing(warehouse: Warehouse, day: date) -> list[NewlyFailing]:
    rows = warehouse.query(
        """
        SELECT today.control_id, today.reason, today.failed, today.population,
               coalesce((SELECT verdict FROM control_verdicts before
                         WHERE before.control_id = today.control_id AND before.snapshot_date < today.snapshot_date
                         ORDER BY before.snapshot_date DESC LIMIT 1), 'none') AS previous
        FROM control_verdicts today
        WHERE today.snapshot_date = ? AND today.verdict = 'fail'
          AND NOT EXISTS (SELECT 1 FROM control_alerts a
                          WHERE a.snapshot_date = today.snapshot_date AND a.control_id = today.control_id)
        ORDER BY today.control_id
        """,
        [day],
    )
    return [NewlyFailing(**row) for row in rows if row["previous"] != "fail"]


def failing_since(warehouse: Warehouse, control_id: str, day: date) -> date | None:
    """The first day of the control's current run of failing verdicts, or None if it does not fail."""
    rows = warehouse.query(
        "SELECT snapshot_date, verdict FROM control_verdicts WHERE control_id = ? AND snapshot_date <= ? "
        "ORDER BY snapshot_date DESC",
        [control_id, day],
    )
    since = None
    for row in rows:
        if row["verdict"] != "fail":
            break
        since = row["snapshot_date"]
    return since


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
        text = f"SOC 2 evidence {day}: {len(found)} control(s) newly failing\n" + "\n".join(
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
    with warehouse.connect() as con:
        con.executemany(
            "INSERT OR IGNORE INTO control_alerts (snapshot_date, control_id, verdict, delivered_to) "
            "VALUES (?, ?, 'fail', ?)",
            [[day, item.control_id, delivered] for item in found],
        )
    return found
