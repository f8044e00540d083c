"""Evidence bundles: one immutable directory per day and version, and its verification.

A bundle is written aside (a hidden temporary directory) and renamed into place
only once complete, so a crash never leaves a half-written bundle that looks
finished. A re-run of a day writes a new version next to the old one; nothing
here ever opens an existing bundle for writing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from evidence_pipeline import __version__
from evidence_pipeline.evaluate import ControlOutcome
from warehouse import Warehouse

MANIFEST = "manifest.json"
BUNDLE_FORMAT = "soc2-evidence-bundle/1"
POPULATION_COLUMNS = ["resource_id", "resource_name", "resource_url", "status", "reason", "failure", "remediation",
                      "details"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BundleInputs:
    snapshot_date: date
    run_id: str
    outcomes: list[ControlOutcome]
    #: "<source>.<dataset>" names whose raw rows and provenance go into the bundle
    datasets: list[str]
    controls_map: Path


def write_bundle(warehouse: Warehouse, evidence_root: Path, inputs: BundleInputs,
                 extras: list[Callable[[Path, BundleInputs], None]] | None = None) -> Path:
    """Write a complete bundle aside, hash it, then rename it into place. Returns its path."""
    day_dir = evidence_root / inputs.snapshot_date.isoformat()
    day_dir.mkdir(parents=True, exist_ok=True)
    work = day_dir / f".incomplete-{uuid.uuid4().hex}"
    work.mkdir()
    try:
        for outcome in inputs.outcomes:
            _write_control(work / "controls" / outcome.control.id, outcome)
        _write_sources(warehouse, work / "sources", inputs)
        for extra in extras or []:
            extra(work, inputs)
        previous = latest_bundle(evidence_root, before=None)
        manifest = _manifest(work, inputs, previous)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for path in work.rglob("*"):
            if path.is_file():
                path.chmod(0o444)
        final = _claim_version(day_dir, inputs.snapshot_date)
        os.rename(work, final)  # atomic on one filesystem: the bundle appears whole or not at all
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _claim_version(day_dir: Path, snapshot_date: date) -> Path:
    versions = [p for p in day_dir.iterdir() if p.is_dir() and p.name.startswith("v")]
    number = max((int(p.name[1:4]) for p in versions if p.name[1:4].isdigit()), default=0) + 1
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return day_dir / f"v{number:03d}-{stamp}"


def latest_bundle(evidence_root: Path, before: Path | None = None) -> Path | None:
    """The newest complete bundle (all days), by day then version."""
    bundles = sorted(p.parent for p in evidence_root.glob(f"*/v*/{MANIFEST}"))
    if before is not None:
        bundles = [b for b in bundles if b != before]
    return bundles[-1] if bundles else None


def _write_control(folder: Path, outcome: ControlOutcome) -> None:
    folder.mkdir(parents=True)
    (folder / "query.sql").write_text(outcome.control.sql.strip() + "\n")
    (folder / "result.json").write_text(json.dumps(outcome.summary(), indent=2, sort_keys=True, default=str) + "\n")
    for name, rows in (("population.csv", outcome.rows), ("exceptions.csv", outcome.exceptions)):
        with (folder / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=POPULATION_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({**{c: row.get(c) for c in POPULATION_COLUMNS[:6]},
                                 "remediation": outcome.remediation_for(row) if row["status"] != "pass" else "",
                                 "details": json.dumps(row["details"], sort_keys=True, default=str)})


def _write_sources(warehouse: Warehouse, folder: Path, inputs: BundleInputs) -> None:
    """Each dataset's raw rows of the day (JSON lines) and its collection provenance."""
    day = inputs.snapshot_date
    provenance: dict[str, dict[str, Any]] = {}
    with warehouse.connect() as con:
        for name in sorted(set(inputs.datasets)):
            source, dataset = name.split(".", 1)
            (folder / source).mkdir(parents=True, exist_ok=True)
            log = con.execute(
                "SELECT status, run_id, provenance FROM source_status WHERE source = ? AND dataset = ? "
                "AND snapshot_date = ?", [source, dataset, day]).fetchone()
            entry: dict[str, Any] = {"status": log[0] if log else "not_collected"}
            if log:
                entry["collection_run_id"] = log[1]
                entry["provenance"] = json.loads(log[2]) if log[2] else None
            table = f"raw_{source}_{dataset}"
            target = folder / source / f"{dataset}.jsonl"
            if log and log[0] == "succeeded":
                con.execute(
                    f"COPY (SELECT * EXCLUDE (snapshot_date, run_id) FROM {table} WHERE snapshot_date = ? "
                    f"ORDER BY ALL) TO '{target}' (FORMAT JSON)", [day])
                entry["records_file"] = target.name
                entry["records_sha256"] = sha256_file(target)
            provenance.setdefault(source, {})[dataset] = entry
    for source, datasets in provenance.items():
        (folder / source / "provenance.json").write_text(
            json.dumps(datasets, indent=2, sort_keys=True, default=str) + "\n")


def _manifest(work: Path, inputs: BundleInputs, previous: Path | None) -> dict[str, Any]:
    files = [
        {"path": path.relative_to(work).as_posix(), "sha256": sha256_file(path), "size": path.stat().st_size}
        for path in sorted(work.rglob("*")) if path.is_file()
    ]
    return {
        "format": BUNDLE_FORMAT,
        "snapshot_date": inputs.snapshot_date.isoformat(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": inputs.run_id,
        "tool": {"name": "evidence-pipeline", "version": __version__},
        "controls_map_sha256": sha256_file(inputs.controls_map),
        "data_window": {"from": inputs.snapshot_date.isoformat(), "to": inputs.snapshot_date.isoformat()},
        "previous_manifest_sha256": sha256_file(previous / MANIFEST) if previous else None,
        "verdicts": {o.control.id: o.verdict for o in inputs.outcomes},
        "files": files,
    }


class VerificationError(Exception):
    """The bundle does not match its manifest; the message names the first thing that differs."""


def verify_bundle(bundle: Path) -> dict[str, Any]:
    """Recompute every hash. Raises VerificationError naming the first missing, extra or changed file."""
    manifest_path = bundle / MANIFEST
    if not manifest_path.is_file():
        raise VerificationError(f"{bundle}: no {MANIFEST}")
    try:
        manifest = json.loads(manifest_path.read_text())
        listed = {entry["path"]: entry for entry in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"{manifest_path}: unreadable manifest: {exc}") from None
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {MANIFEST}
    problems: list[tuple[str, str]] = []
    for path in sorted(listed.keys() | present):
        if path not in present:
            problems.append((path, "missing"))
        elif path not in listed:
            problems.append((path, "extra (not in the manifest)"))
        else:
            actual = bundle / path
            entry = listed[path]
            if actual.stat().st_size != entry["size"] or sha256_file(actual) != entry["sha256"]:
                problems.append((path, "changed (SHA-256 differs from the manifest)"))
    if problems:
        path, what = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VerificationError(f"{path}: {what}{more}")
    return manifest
