"""Security-awareness training: the KnowBe4 Reporting API, or a CSV roster of the same shape.

Both providers fill one dataset, `training.enrollments`, with one record shape
(`records.enrollment_record`), so the controls never care which one a company uses.
"""

from connectors.knowbe4.client import REGIONS, KnowBe4Config, make_session, resolve_base_url
from connectors.knowbe4.csv_roster import TRAINING_CSV_COLUMNS, TrainingCsvEnrollments
from connectors.knowbe4.records import DEFAULT_COURSE_PATTERN
from connectors.knowbe4.streams import PAGE_SIZE, REQUESTS_PER_SECOND, KnowBe4Enrollments

__all__ = [
    "DEFAULT_COURSE_PATTERN",
    "PAGE_SIZE",
    "REGIONS",
    "REQUESTS_PER_SECOND",
    "TRAINING_CSV_COLUMNS",
    "KnowBe4Config",
    "KnowBe4Enrollments",
    "TrainingCsvEnrollments",
    "make_session",
    "resolve_base_url",
]
