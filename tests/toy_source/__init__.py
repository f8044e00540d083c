"""A toy source kept outside the package (tests/test_toy_source.py): everything it needs is in this folder, found
through EVIDENCE_EXTRA_SOURCES, with no shared file edited. Its connector (connector.py) reads widgets.json, its raw
table is in migrations/, its control in controls/."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions

from .connector import Widgets

#: a local file: no credentials, no API to fault, no sandbox fake
SOURCE = SourceDeclaration(source="toy", resource_key="toy", sandbox_system=None)


class ToyResource(SourceResource):
    widgets_path: str | None = None

    def missing_settings(self) -> list[str]:
        return [] if self.widgets_path else ["TOY_WIDGETS_PATH"]


def widget_streams(resource: ToyResource, day: date) -> Iterable[Stream]:
    yield Widgets(resource.widgets_path or "")


DATASETS = [
    SourceDataset(
        source="toy",
        dataset="widgets",
        description="Every toy widget with its owner and whether it is encrypted, read from a JSON file.",
        streams=widget_streams,
        kinds=("json",),
    )
]


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, ToyResource(widgets_path=env_value("TOY_WIDGETS_PATH")))
