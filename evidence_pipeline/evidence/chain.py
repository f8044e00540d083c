"""Evidence bundles: one immutable directory per day and version, sealed by a signed, chained manifest.

A bundle is written aside (a hidden temporary directory) and renamed into place only once complete, so a crash
never leaves a half-written bundle that looks finished. A re-run of a day writes a new version next to the old
one; nothing here ever opens an existing bundle for writing.

Every bundle of a series (the daily snapshots under <evidence>/, the period exports under <evidence>/exports/,
the samples under <evidence>/samples/) carries a sequence number and the SHA-256 of the previous bundle's
manifest, so deleting or altering a bundle breaks the chain visibly; the manifest also records where the bundle
sits (<group>/<version>), so a bundle copied or renamed into another day or version is refused. The manifest is
signed (Ed25519) with EVIDENCE_SIGNING_KEY; nothing is written unsigned unless EVIDENCE_ALLOW_UNSIGNED=1, and a
chain changes signer only through a key rotation record signed by the previous key (see signing.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence_pipeline import __version__
from evidence_pipeline.evidence.signing import (
    ALGORITHM,
    ROTATION_RECORD,
    ROTATION_SIGNATURE,
    SIGNING_KEY_ENV,
    SigningKey,
    SigningKeyError,
    check_rotation_record,
    load_public_key,
    pending_rotation,
    public_pem,
    require_signing,
)

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
#: files that describe the bundle rather than belong to it: not listed in the manifest's file list
SEAL_FILES = frozenset({MANIFEST, SIGNATURE})
#: /3 records the bundle's location (<group>/<version>) in its manifest; /2 bundles are still read
BUNDLE_FORMAT = "soc2-evidence-bundle/3"
DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
VERSION_FOLDER = re.compile(r"^v\d{3}-")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Sealing: any series of bundles (daily snapshots, period exports, samples)
# ---------------------------------------------------------------------------------------------------------------


def series_bundles(series_root: Path) -> list[Path]:
    """Complete bundles of a series: <series_root>/<group>/v<NNN>-<stamp>/manifest.json."""
    return sorted(p.parent for p in series_root.glob(f"*/v*/{MANIFEST}") if not p.parent.parent.name.startswith("."))


def daily_bundles(evidence_root: Path) -> list[Path]:
    return [b for b in series_bundles(evidence_root) if DAY_FOLDER.match(b.parent.name)]


def _read_manifest(bundle: Path) -> dict[str, Any]:
    try:
        return json.loads((bundle / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _signer(manifest: dict[str, Any]) -> str | None:
    return (manifest.get("signature") or {}).get("key_id")


def signer_of(bundle: Path) -> str | None:
    """The key id the bundle's manifest names as its signer (unverified)."""
    return _signer(_read_manifest(bundle))


def chain_signer(bundles: list[Path]) -> Path | None:
    """The newest signed bundle of a chain: its key signs the chain until a rotation record introduces another."""
    return chain_head([b for b in bundles if signer_of(b)])


def _chain_position(bundle: Path) -> tuple[int, str, str]:
    manifest = _read_manifest(bundle)
    return int(manifest.get("sequence") or 0), str(manifest.get("created_at") or ""), bundle.as_posix()


def chain_head(bundles: list[Path]) -> Path | None:
    """The newest bundle by chain sequence (creation order), whatever day it covers."""
    return max(bundles, key=_chain_position) if bundles else None


def latest_bundle(evidence_root: Path, before: Path | None = None) -> Path | None:
    """The newest complete daily bundle (the head of the daily chain)."""
    return chain_head([b for b in daily_bundles(evidence_root) if b != before])


@contextmanager
def _series_lock(series_root: Path) -> Iterator[None]:
    """One writer per series at a time, so two bundles never claim the same predecessor (a fork)."""
    series_root.mkdir(parents=True, exist_ok=True)
    with (series_root / ".chain.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def seal_bundle(
    series_root: Path,
    group: str,
    write: Callable[[Path], dict[str, Any]],
    signing_key: SigningKey | None,
    bundles: Callable[[Path], list[Path]] = series_bundles,
) -> Path:
    """Write a bundle aside with `write(work) -> manifest fields`, hash, chain, sign, then rename it into place.

    Refuses (SigningKeyError, before anything is written) an unsigned bundle unless EVIDENCE_ALLOW_UNSIGNED says so,
    and a key other than the chain's signer unless a rotation record signed by that signer introduces it."""
    require_signing(signing_key, f"bundle in {series_root}")
    group_dir = series_root / group
    group_dir.mkdir(parents=True, exist_ok=True)
    work = group_dir / f".incomplete-{uuid.uuid4().hex}"
    work.mkdir()
    try:
        fields = write(work)
        if signing_key is not None:
            (work / PUBLIC_KEY).write_bytes(public_pem(signing_key.public_key))
        with _series_lock(series_root):
            existing = bundles(series_root)
            previous = chain_head(existing)
            rotation = _carry_rotation(series_root, chain_signer(existing), signing_key, work)
            # the version is claimed before the manifest is written, so that the manifest can record it
            final = _claim_version(group_dir)
            manifest = _manifest(work, {**fields, "key_rotation": rotation}, series_root, previous, signing_key, final)
            manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
            (work / MANIFEST).write_bytes(manifest_bytes)
            if signing_key is not None:
                (work / SIGNATURE).write_bytes(signing_key.sign(manifest_bytes))
            for path in work.rglob("*"):
                if path.is_file():
                    path.chmod(0o400)  # read-only, and owner-only: bundles hold personal data
            os.rename(work, final)  # atomic on one filesystem: the bundle appears whole or not at all
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _carry_rotation(
    series_root: Path, signed_last: Path | None, signing_key: SigningKey | None, work: Path
) -> dict[str, Any] | None:
    """When `signing_key` is not the chain's signer, copy the rotation record introducing it into the bundle;
    without a valid one the bundle is refused (verify would fail the chain from it on)."""
    if signing_key is None or signed_last is None:
        return None
    old_id = signer_of(signed_last)
    if old_id == signing_key.key_id:
        return None
    pending = pending_rotation(series_root, signing_key.key_id)
    if pending is None:
        problem = "no key rotation record introduces it"
    else:
        old_key = load_public_key((signed_last / PUBLIC_KEY).read_bytes(), str(signed_last / PUBLIC_KEY))
        problem = check_rotation_record(*pending, old_key, signing_key.key_id)
    if problem:
        raise SigningKeyError(
            f"{series_root}: the chain is signed by {old_id} (up to {signed_last.relative_to(series_root)}); "
            f"{signing_key.key_id} cannot continue it: {problem} (run `evidence-pipeline rotate-key --new <new "
            f"public key>` with {SIGNING_KEY_ENV} set to the current key, or start a new evidence folder)"
        )
    (work / ROTATION_RECORD).write_bytes(pending[0])
    (work / ROTATION_SIGNATURE).write_bytes(pending[1])
    return {
        "from_key_id": old_id,
        "to_key_id": signing_key.key_id,
        "record": ROTATION_RECORD,
        "signature": ROTATION_SIGNATURE,
    }


#: an aside bundle folder untouched this long is abandoned whoever made it (writing a bundle takes minutes at most)
ABANDONED_AFTER_SECONDS = 6 * 3600


def remove_abandoned_bundles(evidence_root: Path, runs_in_progress: bool) -> list[Path]:
    """Remove the aside folders (`.incomplete-*`, see seal_bundle) of bundles whose writer was killed: they
    hold raw personal data and would stay for ever. A daily snapshot is written only inside a run, so with no run in
    progress its aside folders are abandoned; exports and samples (written by the CLI, outside runs) and daily
    folders while runs are under way count as abandoned only once untouched for ABANDONED_AFTER_SECONDS."""
    removed: list[Path] = []
    now = time.time()
    for aside in sorted(evidence_root.glob("*/.incomplete-*")) + sorted(evidence_root.glob("*/*/.incomplete-*")):
        if not aside.is_dir():
            continue
        daily = aside.parent.parent == evidence_root and DAY_FOLDER.match(aside.parent.name)
        try:
            touched = max(p.lstat().st_mtime for p in [aside, *aside.rglob("*")])
        except FileNotFoundError:
            continue  # sealed or cleaned up meanwhile
        if (daily and not runs_in_progress) or now - touched > ABANDONED_AFTER_SECONDS:
            shutil.rmtree(aside, ignore_errors=True)
            removed.append(aside)
    return removed


def _claim_version(group_dir: Path) -> Path:
    versions = [p for p in group_dir.iterdir() if p.is_dir() and p.name.startswith("v")]
    number = max((int(p.name[1:4]) for p in versions if p.name[1:4].isdigit()), default=0) + 1
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return group_dir / f"v{number:03d}-{stamp}"


def _manifest(
    work: Path,
    fields: dict[str, Any],
    series_root: Path,
    previous: Path | None,
    signing_key: SigningKey | None,
    final: Path,
) -> dict[str, Any]:
    files = [
        {"path": path.relative_to(work).as_posix(), "sha256": sha256_file(path), "size": path.stat().st_size}
        for path in sorted(work.rglob("*"))
        if path.is_file() and path.relative_to(work).as_posix() not in SEAL_FILES
    ]
    previous_manifest = _read_manifest(previous) if previous else {}
    return {
        "format": BUNDLE_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": {"name": "evidence-pipeline", "version": __version__},
        **fields,
        # where the bundle sits in its series: moved or renamed, it no longer verifies as part of the series
        "location": final.relative_to(series_root).as_posix(),
        "sequence": int(previous_manifest.get("sequence") or 0) + 1,
        # the chain: the previous bundle of the same series, by path relative to the series root and by hash
        "previous": {
            "bundle": previous.relative_to(series_root).as_posix(),
            "manifest_sha256": sha256_file(previous / MANIFEST),
        }
        if previous
        else None,
        "previous_manifest_sha256": sha256_file(previous / MANIFEST) if previous else None,
        "signature": {
            "algorithm": ALGORITHM,
            "key_id": signing_key.key_id,
            "public_key_file": PUBLIC_KEY,
            "signature_file": SIGNATURE,
            "signed": MANIFEST,
        }
        if signing_key
        else None,
        "files": files,
    }
