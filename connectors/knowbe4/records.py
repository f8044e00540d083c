"""The one record shape of `training.enrollments`, whichever provider filled it."""

from __future__ import annotations

import json
import re
from typing import Any

#: Which courses count as security-awareness training: a case-insensitive regular expression
#: searched in the course (module) name and the campaign name. KNOWBE4_COURSE_PATTERN overrides it.
DEFAULT_COURSE_PATTERN = r"security awareness"
#: Statuses that mean the person finished the course (KnowBe4 says Passed, or Completed for policies).
COMPLETED_STATUSES = frozenset({"passed", "completed"})


def compile_course_pattern(pattern: str | None) -> re.Pattern[str]:
    try:
        return re.compile(pattern or DEFAULT_COURSE_PATTERN, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"course pattern {pattern!r} is not a regular expression: {exc}") from None


def enrollment_record(
    *,
    provider: str,
    enrollment_id: str,
    user_id: str | None,
    email: str | None,
    user_name: str | None,
    course: str | None,
    campaign: str | None,
    content_type: str | None,
    status: str | None,
    enrollment_date: str | None,
    start_date: str | None,
    completion_date: str | None,
    time_spent: int | None,
    course_pattern: re.Pattern[str],
    raw: dict[str, Any],
) -> dict[str, Any]:
    """Keys are the columns of raw_training_enrollments (warehouse/migrations/0007_training.sql)."""
    return {
        "provider": provider,
        "enrollment_id": enrollment_id,
        "user_id": user_id,
        "email": email.strip().lower() if email else None,
        "user_name": user_name,
        "course": course,
        "campaign": campaign,
        "content_type": content_type,
        "status": status,
        "completed": (status or "").strip().lower() in COMPLETED_STATUSES and completion_date is not None,
        "security_awareness": any(course_pattern.search(text) for text in (course, campaign) if text),
        "enrollment_date": enrollment_date,
        "start_date": start_date,
        "completion_date": completion_date,
        "time_spent": time_spent,
        "raw": json.dumps(raw, sort_keys=True, default=str),
    }
