"""The identity map (aliases and approved service / break-glass accounts), read daily like a source."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import dagster as dg

from connectors.identity_map import IdentityMap
from connectors.stream import Stream
from evidence_pipeline.defs.sources.declaration import SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions
from evidence_pipeline.settings import optional_project_file


class IdentityMapResource(SourceResource):
    """EVIDENCE_IDENTITY_MAP, or identity_map.yaml in the working directory."""

    path: str | None = None

    def missing_settings(self) -> list[str]:
        return [] if self.path else ["EVIDENCE_IDENTITY_MAP (or an identity_map.yaml in the working directory)"]


def identity_streams(resource: IdentityMapResource, day: date) -> Iterable[Stream]:
    yield IdentityMap(Path(resource.path or ""))


#: a file the company keeps (the sandbox writes one beside its fakes): no credentials, no API, no fake of its own
SOURCE = SourceDeclaration(source="identity", resource_key="identity_map", sandbox_system=None)

DATASETS = [
    SourceDataset(
        source="identity",
        dataset="map",
        description="The company's identity map: aliases joining accounts to HR people where the system shows no "
        "(or another) email, and the approved service and break-glass accounts with their owners.",
        streams=identity_streams,
        fresh_hours=24 * 366,  # edited by people, not generated: a year-old map is still the map
        kinds=("yaml",),
    ),
]


def defs() -> dg.Definitions:
    path = optional_project_file("identity_map.yaml")
    return source_definitions(DATASETS, SOURCE.resource_key, IdentityMapResource(path=str(path) if path else None))
