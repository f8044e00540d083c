"""The attestations file and the vendor register, read daily like the HR roster: one file read each, every entry
validated, every artefact hashed and kept (content-addressed) for the day's evidence bundle."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.attestations.artefacts import keep_artefact
from connectors.attestations.model import EMAIL, AttestationsError, parse_attestations
from connectors.csv_file import CsvFileStream, RowChecker, RowProblem
from connectors.stream import Retry, SourceError, Stream

VENDOR_COLUMNS = ("vendor", "service", "data_access", "owner")
#: the variables naming the two files, and the files read from the working folder without them
ATTESTATIONS_ENV, ATTESTATIONS_FILE = "EVIDENCE_ATTESTATIONS", "attestations.yaml"
VENDORS_ENV, VENDORS_FILE = "EVIDENCE_VENDORS", "vendors.csv"


class AttestationsFile(Stream):
    """attestations.attestations: one record per entry, with its artefact's SHA-256 and size as found today."""

    source = "attestations"
    dataset = "attestations"
    method = "READ"

    def __init__(self, path: Path, artefact_store: Path | None) -> None:
        self.path = Path(path)
        #: where each artefact is kept by its hash until the day's bundle copies it (None: hashed, not kept)
        self.artefact_store = artefact_store
        self.endpoint = f"file://{self.path.name}"
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {"file": self.path.name, "invalid_entries": "fail the dataset"}

    def request(self, cursor: Any) -> bytes:
        try:
            content = self.path.read_bytes()
            modified = self.path.stat().st_mtime
        except OSError as exc:
            raise SourceError(f"attestations.attestations: cannot read {self.path}: {exc.strerror or exc}") from None
        self.provenance.source_timestamp = datetime.fromtimestamp(modified, UTC).isoformat()
        self.provenance.parameters["sha256"] = hashlib.sha256(content).hexdigest()
        return content

    def classify(self, exc: Exception) -> Retry | None:
        return None  # a local file does not get better by waiting

    def parse(self, payload: bytes) -> Iterator[dict[str, Any]]:
        try:
            entries = parse_attestations(self.path, payload)
        except AttestationsError as exc:
            # one bad entry fails the dataset, as one bad roster row does: a dropped entry could hide an expiry
            raise SourceError(f"attestations.attestations: {exc}") from None
        kept: set[tuple[Path, str]] = set()  # each artefact copied (and its copy checked) once per collection
        for entry in entries:
            artefact = (entry.artefact_path, entry.artefact_sha256)
            if self.artefact_store is not None and artefact not in kept:
                keep_artefact(self.artefact_store, *artefact)
                kept.add(artefact)
            yield entry.record()


class VendorRegister(CsvFileStream):
    """attestations.vendors: the vendor register (vendor, service, data_access, owner), every row validated."""

    source = "attestations"
    dataset = "vendors"
    required_columns = VENDOR_COLUMNS

    def convert(self, row: RowChecker) -> dict[str, Any]:
        owner = row.text("owner", required=True)
        if owner is not None and not EMAIL.match(owner):
            row.fail("owner", f"{owner!r} is not an email address")
        return {
            "vendor": row.text("vendor", required=True),
            "service": row.text("service", required=True),
            "data_access": row.text("data_access", required=True),
            "owner": owner.lower() if owner else None,
            "row_number": row.row,
        }

    def check_all(self, records: list[dict[str, Any]]) -> list[RowProblem]:
        first_row: dict[str, int] = {}
        problems = []
        for record in records:
            row = first_row.setdefault(record["vendor"].strip().lower(), record["row_number"])
            if row != record["row_number"]:
                problems.append(RowProblem(record["row_number"], "vendor", f"duplicate of row {row}"))
        return problems


def configured_file(variable: str, default_name: str, environ: Mapping[str, str] = os.environ) -> Path:
    """The file `variable` names, else `default_name` in the working folder (which may not exist yet)."""
    value = environ.get(variable, "").strip()
    return Path(value).resolve() if value else (Path.cwd() / default_name).resolve()
