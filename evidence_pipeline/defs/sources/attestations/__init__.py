"""Attestations (EVIDENCE_ATTESTATIONS, default ./attestations.yaml) and the vendor register (EVIDENCE_VENDORS,
default ./vendors.csv): files the company keeps, read daily like the HR roster (schema in connectors/attestations).

Each artefact an entry names is hashed on every read and kept by its hash under <EVIDENCE_HOME>/attestations/artefacts/
until the day's bundle copies it into sources/attestations/artefacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import dagster as dg

from connectors.attestations import (
    ATTESTATIONS_ENV,
    ATTESTATIONS_FILE,
    VENDORS_ENV,
    VENDORS_FILE,
    AttestationsFile,
    VendorRegister,
    configured_file,
)
from connectors.attestations.artefacts import artefact_store
from connectors.stream import Stream
from evidence_pipeline.defs.sources.declaration import SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions
from evidence_pipeline.settings import Paths


class AttestationsResource(SourceResource):
    """The two files' paths (None: not configured)."""

    attestations_path: str | None = None
    vendors_path: str | None = None

    def missing_settings(self) -> list[str]:
        return (
            []
            if self.attestations_path
            else [f"{ATTESTATIONS_ENV} (or an {ATTESTATIONS_FILE} in the working directory)"]
        )

    def missing_dataset_settings(self, dataset: str) -> list[str]:
        if dataset == "vendors" and not self.vendors_path:
            return [f"{VENDORS_ENV} (or a {VENDORS_FILE} in the working directory)"]
        return []


def attestation_streams(resource: AttestationsResource, day: date) -> Iterable[Stream]:
    # the store lies in the data folder the warehouse resource uses (EVIDENCE_HOME), where the bundle writer finds it
    yield AttestationsFile(Path(resource.attestations_path or ""), artefact_store(Paths.from_env().home))


def vendor_streams(resource: AttestationsResource, day: date) -> Iterable[Stream]:
    yield VendorRegister(resource.vendors_path or "")


#: files the company keeps: no credentials, no HTTP API to fault
SOURCE = SourceDeclaration(source="attestations", resource_key="attestations", sandbox_system="attestations")

DATASETS = [
    SourceDataset(
        source="attestations",
        dataset="attestations",
        description="The company's attestations of human processes (tabletop and DR exercises, penetration tests, "
        "policy reviews, risk assessments, vendor reviews, background checks, confidentiality agreements): kind, "
        "subject, performed, performer, approver, validity and expiry, and the artefact's SHA-256 and size as read "
        "that day. One bad entry fails the dataset naming its line and field.",
        streams=attestation_streams,
        fresh_hours=24 * 366,  # edited by people, not generated: an old file is still the file
        kinds=("yaml",),
    ),
    SourceDataset(
        source="attestations",
        dataset="vendors",
        description="The vendor register (vendor, service, data access, owner) whose vendors the annual vendor "
        "reviews cover; every row validated, one bad row fails the dataset.",
        streams=vendor_streams,
        fresh_hours=24 * 366,
        kinds=("csv",),
    ),
]


def _configured(variable: str, default_name: str) -> str | None:
    """The file the variable names (a missing one then fails the dataset, saying so), else the working folder's file
    when there is one."""
    path = configured_file(variable, default_name)
    return str(path) if os.environ.get(variable, "").strip() or path.is_file() else None


def defs() -> dg.Definitions:
    resource = AttestationsResource(
        attestations_path=_configured(ATTESTATIONS_ENV, ATTESTATIONS_FILE),
        vendors_path=_configured(VENDORS_ENV, VENDORS_FILE),
    )
    return source_definitions(DATASETS, SOURCE.resource_key, resource)
