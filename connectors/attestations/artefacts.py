"""Artefacts kept by content: `<store>/<sha256>-<name>`, written once at collection, copied into each daily bundle
under `sources/attestations/artefacts/` and verified against the day's records there.

Why a store: the bundle is written after the collection; the file next to attestations.yaml may change meanwhile.
The store holds exactly the bytes that were hashed, so the bundle carries what the record says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from connectors.attestations.model import hash_file
from connectors.stream import SourceError

#: the day's raw records in a bundle's sources/attestations/ (daily.py writes `<dataset>.jsonl`)
RECORDS_FILE = "attestations.jsonl"
ARTEFACTS_FOLDER = "artefacts"


def artefact_store(home: Path) -> Path:
    """The store under the data folder (EVIDENCE_HOME)."""
    return home / "attestations" / ARTEFACTS_FOLDER


def stored_name(sha256: str, name: str) -> str:
    return f"{sha256}-{Path(name).name}"


def keep_artefact(store: Path, artefact: Path, sha256: str) -> Path:
    """Copy `artefact` into the store under its hash, unless an identical copy is there; the copy is re-hashed, so a
    file that changed while it was read is refused rather than kept under another file's hash."""
    target = store / stored_name(sha256, artefact.name)
    if target.is_file() and hash_file(target)[0] == sha256:
        return target
    store.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(artefact, partial)
    if hash_file(partial)[0] != sha256:
        partial.unlink()
        raise SourceError(f"attestations.attestations: {artefact} changed while it was read; collect again")
    partial.replace(target)
    return target


def bundle_artefacts(source_folder: Path, store: Path) -> list[str]:
    """Copy every artefact the day's records name (`source_folder`/attestations.jsonl, when the dataset was
    collected) from the store into `source_folder`/artefacts/, each verified against its record's SHA-256. Returns
    the names copied. A stored copy that is missing or does not verify stops the bundle (RuntimeError naming it):
    a bundle must not claim an artefact it cannot show."""
    records = source_folder / RECORDS_FILE
    if not records.is_file():
        return []
    wanted = {}
    for line in records.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            wanted[stored_name(record["artefact_sha256"], record["artefact_name"])] = record["artefact_sha256"]
    folder = source_folder / ARTEFACTS_FOLDER
    for name, sha256 in sorted(wanted.items()):
        kept = store / name
        if not kept.is_file() or hash_file(kept)[0] != sha256:
            raise RuntimeError(
                f"attestation artefact {name}: {'missing from' if not kept.is_file() else 'does not verify in'} "
                f"{store}; collect attestations.attestations again for the day"
            )
        folder.mkdir(exist_ok=True)
        shutil.copyfile(kept, folder / name)
    return sorted(wanted)
