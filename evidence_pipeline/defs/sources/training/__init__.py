"""Security-awareness training: KnowBe4 Reporting API enrollments, or a CSV training roster.

Configure one provider:
- KnowBe4: KNOWBE4_API_KEY (a Reporting API key: read-only reporting access) and KNOWBE4_REGION
  (us, eu, ca, uk, de) or KNOWBE4_API_URL.
- CSV: TRAINING_CSV_PATH (schema in connectors/knowbe4/csv_roster.py).
KNOWBE4_COURSE_PATTERN (a case-insensitive regular expression, default "security awareness")
says which courses or campaigns count as security-awareness training, for either provider.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from connectors.knowbe4 import (
    DEFAULT_COURSE_PATTERN,
    REGIONS,
    KnowBe4Config,
    KnowBe4Enrollments,
    TrainingCsvEnrollments,
    make_session,
)
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import REPEATED_PAGE, FaultExpectations, SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


class TrainingResource(SourceResource):
    """Either the KnowBe4 Reporting API (key + region or URL) or a CSV training roster."""

    api_key: str | None = None
    region: str | None = None
    api_url: str | None = None
    course_pattern: str = DEFAULT_COURSE_PATTERN
    csv_path: str | None = None

    def missing_settings(self) -> list[str]:
        if self.csv_path:
            return []
        if not self.api_key:
            return ["KNOWBE4_API_KEY (with KNOWBE4_REGION or KNOWBE4_API_URL), or TRAINING_CSV_PATH"]
        if not self.region and not self.api_url:
            return [f"KNOWBE4_REGION ({', '.join(REGIONS)}) or KNOWBE4_API_URL"]
        return []

    def streams(self) -> Iterable[Stream]:
        if self.csv_path and self.api_key:
            raise ValueError("training: both TRAINING_CSV_PATH and KNOWBE4_API_KEY are set; configure one provider")
        if self.csv_path:
            yield TrainingCsvEnrollments(self.csv_path, self.course_pattern)
            return
        config = KnowBe4Config(api_key=self.api_key or "", region=self.region, api_url=self.api_url)
        yield KnowBe4Enrollments(make_session(config), config.base_url, self.course_pattern, config.timeout)


def enrollment_streams(resource: TrainingResource, day: date) -> Iterable[Stream]:
    yield from resource.streams()


SOURCE = SourceDeclaration(
    source="training",
    resource_key="training",
    # KnowBe4 is the API provider (the CSV roster the other); its fake carries the vendor's name
    sandbox_system="knowbe4",
    secret_env=("KNOWBE4_API_KEY",),
    faults=FaultExpectations(
        data_server="knowbe4",
        path_prefix="/v1",
        malformed_retried=frozenset({"training.enrollments[knowbe4]"}),
        repeated_page={"training.enrollments[knowbe4]": REPEATED_PAGE},
    ),
)

DATASETS = [
    SourceDataset(
        source="training",
        dataset="enrollments",
        description="Every training enrollment with its status and completion date, from the KnowBe4 Reporting API "
        "(GET /v1/training/enrollments, 500 a page, paced to 4 requests a second) or a CSV training "
        "roster. Each is flagged security_awareness when its course or campaign matches the configured "
        "course pattern (recorded in provenance).",
        streams=enrollment_streams,
        kinds=("knowbe4",),
        priority=10,  # 4 requests a second: 40,000 enrollments take 20 s whatever else runs
    ),
]


def training_resource() -> TrainingResource:
    return TrainingResource(
        api_key=env_value("KNOWBE4_API_KEY"),
        region=env_value("KNOWBE4_REGION"),
        api_url=env_value("KNOWBE4_API_URL"),
        course_pattern=env_value("KNOWBE4_COURSE_PATTERN") or DEFAULT_COURSE_PATTERN,
        csv_path=env_value("TRAINING_CSV_PATH"),
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, training_resource())
