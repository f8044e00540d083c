"""HR roster: a CSV export of the HR system (HR_ROSTER_PATH; schema in connectors/hr/roster.py).

Least privilege: a read-only export (a scheduled report written to a path the pipeline can
read); the pipeline never needs write access to the HR system.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from connectors.hr import HrRoster
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


class HrResource(SourceResource):
    """The path of the roster export."""

    roster_path: str | None = None

    def missing_settings(self) -> list[str]:
        return [] if self.roster_path else ["HR_ROSTER_PATH"]


def roster_streams(resource: HrResource, day: date) -> Iterable[Stream]:
    yield HrRoster(resource.roster_path or "")


#: a file export: no credentials, no API to fault
SOURCE = SourceDeclaration(source="hr", resource_key="hr", sandbox_system="hr")

DATASETS = [
    SourceDataset(
        source="hr",
        dataset="roster",
        description="The HR roster (email, name, status, start and end dates, manager, department) read from a CSV "
        "export in one pass; every row is validated and one bad row fails the dataset (listing each row, "
        "column and problem) so no person silently drops out of a population. The file's SHA-256 is the "
        "provenance payload hash.",
        streams=roster_streams,
        kinds=("csv",),
    ),
]


def hr_resource() -> HrResource:
    return HrResource(roster_path=env_value("HR_ROSTER_PATH"))


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, hr_resource())
