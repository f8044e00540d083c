"""The attestations have no API in the sandbox: the file, its artefacts and the vendor register are written into the
workdir, exactly what a real deployment points EVIDENCE_ATTESTATIONS and EVIDENCE_VENDORS at."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from connectors.attestations import VENDOR_COLUMNS
from sandbox.attestations.model import AttestationsData
from sandbox.company import SandboxOrg
from sandbox.server import FakeServer


def write_files(data: AttestationsData, folder: Path) -> tuple[Path, Path]:
    """attestations.yaml (with its artefacts beside it) and vendors.csv in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for relative, content in data.artefacts.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(content)
    attestations = folder / "attestations.yaml"
    attestations.write_text(
        "# Sandbox attestations (generated)\n"
        # libyaml's emitter: the 20,000-person file (36,000 entries) in seconds, not a minute
        + yaml.dump({"attestations": data.entries}, Dumper=yaml.CSafeDumper, sort_keys=False)
    )
    vendors = folder / "vendors.csv"
    with vendors.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=VENDOR_COLUMNS)
        writer.writeheader()
        writer.writerows(data.vendors)
    return attestations, vendors


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    attestations, vendors = write_files(org.systems["attestations"], workdir / "attestations")
    return [], {"EVIDENCE_ATTESTATIONS": str(attestations), "EVIDENCE_VENDORS": str(vendors)}
