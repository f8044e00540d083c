"""The CSV alternative to the KnowBe4 API: a training roster exported from any LMS or kept in a sheet.

Schema (header names are case-insensitive; extra columns are ignored):

| column          | required | rule                                                             |
|-----------------|----------|------------------------------------------------------------------|
| email           | yes      | the person's email address (matched to the HR roster lower-cased) |
| course          | yes      | the course name; TRAINING_COURSE_PATTERN decides if it counts     |
| status          | yes      | not_started, in_progress, completed (or passed), past_due, failed |
| enrollment_date | yes      | YYYY-MM-DD or an ISO 8601 timestamp                               |
| completion_date | no       | same format; required when status is completed/passed             |
| campaign        | no       | the campaign or assignment the enrollment belongs to              |

One row per enrollment (a person who took the course in 2025 and 2026 has two rows).
A file with any bad row fails the dataset with every problem listed and loads nothing.
"""

from __future__ import annotations

from typing import Any

from connectors.csv_file import CsvFileStream, RowChecker
from connectors.knowbe4.records import COMPLETED_STATUSES, compile_course_pattern, enrollment_record

TRAINING_CSV_COLUMNS = ("email", "course", "status", "enrollment_date", "completion_date")
TRAINING_CSV_STATUSES = ("not_started", "in_progress", "completed", "passed", "past_due", "failed")


class TrainingCsvEnrollments(CsvFileStream):
    source = "training"
    dataset = "enrollments"
    required_columns = TRAINING_CSV_COLUMNS
    optional_columns = ("campaign",)

    def __init__(self, path: Any, course_pattern: str | None = None) -> None:
        self.course_pattern = compile_course_pattern(course_pattern)
        super().__init__(path)

    def parameters(self) -> dict[str, Any]:
        return {"provider": "csv", **super().parameters(), "course_pattern": self.course_pattern.pattern}

    def convert(self, row: RowChecker) -> dict[str, Any]:
        status = row.choice("status", TRAINING_CSV_STATUSES)
        completed = row.timestamp("completion_date")
        if status in COMPLETED_STATUSES and completed is None and not row.problems:
            row.fail("completion_date", f"is empty but status is {status}")
        return enrollment_record(
            provider="csv",
            enrollment_id=f"row-{row.row}",
            user_id=None,
            email=row.email("email", required=True),
            user_name=None,
            course=row.text("course", required=True),
            campaign=row.text("campaign"),
            content_type=None,
            status=status,
            enrollment_date=row.timestamp("enrollment_date", required=True),
            start_date=None,
            completion_date=completed,
            time_spent=None,
            course_pattern=self.course_pattern,
            raw=dict(row.values),
        )
