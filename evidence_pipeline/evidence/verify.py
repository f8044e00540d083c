"""Verifying bundles and their chains without trusting their writer: every file against the signed manifest, the
signature against the pinned key or the chain's signer (changed only by a rotation record signed by the previous
key), each bundle's place against its manifest's location, each link against the previous manifest, and the head
against the one an auditor pinned."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence_pipeline.evidence.chain import (
    BUNDLE_FORMAT,
    MANIFEST,
    PUBLIC_KEY,
    SEAL_FILES,
    SIGNATURE,
    series_bundles,
    sha256_file,
    signer_of,
)
from evidence_pipeline.evidence.signing import (
    ROTATION_RECORD,
    ROTATION_SIGNATURE,
    SigningKeyError,
    check_rotation_record,
    fingerprint,
    load_public_key,
    signature_valid,
)


class VerificationError(Exception):
    """The bundle does not match its manifest; the message names the first thing that differs."""


@dataclass
class Verification:
    bundle: Path
    manifest: dict[str, Any]
    #: key id (sha256:<hex>) of the key that signed the manifest; None when the bundle is unsigned
    signed_by: str | None
    #: how the link to the previous bundle was checked
    chain: str
    #: the key that signed the manifest (the bundle's public_key.pem, checked against the manifest's key id)
    signer_key: Ed25519PublicKey | None = None
    manifest_sha256: str = ""

    def __getitem__(self, key: str) -> Any:  # the manifest's fields, for callers that only want those
        return self.manifest[key]


def verify_bundle(
    bundle: Path,
    public_key: bytes | None = None,
    require_signature: bool = True,
    series_root: Path | None = None,
    hash_files: bool = True,
) -> Verification:
    """Check the folder's contents, the signature, every file's hash and the link to the previous bundle.

    Raises VerificationError naming the first symbolic link or special file, duplicate, missing, extra or changed
    file, a missing or bad signature (an unsigned bundle unless `require_signature` is False), a key other than
    the pinned `public_key`, a bundle that is not where its manifest says (`series_root` given), or a previous
    bundle whose manifest no longer matches the recorded hash or whose signer differs without a rotation record.
    `hash_files=False` checks names and sizes only (a chain's bundles outside the period an export reads).
    """
    if bundle.is_symlink():
        raise VerificationError(f"{bundle}: a symbolic link, not a bundle folder")
    manifest_path = bundle / MANIFEST
    if not manifest_path.is_file():
        raise VerificationError(f"{bundle}: no {MANIFEST}")
    # 1. the folder holds regular files only: a link or a device could show other bytes than those hashed
    present, odd = _bundle_files(bundle)
    if odd:
        path, what = odd[0]
        raise VerificationError(f"{path}: {what}" + (f" (and {len(odd) - 1} more)" if len(odd) > 1 else ""))
    manifest_bytes = manifest_path.read_bytes()
    try:
        manifest = json.loads(manifest_bytes)
        listed = _listed_files(manifest["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"{manifest_path}: unreadable manifest: {exc}") from None

    # 2. the signature: if the manifest itself is forged, its file hashes prove nothing
    signed_by, signer_key = _check_signature(bundle, manifest, manifest_bytes, present, public_key, require_signature)

    # 3. where it sits: a signed bundle copied into another day's folder or renamed to another version is not
    # the evidence of that day or version
    if series_root is not None:
        _check_location(bundle, manifest, series_root)

    # 4. every file against the manifest
    problems: list[tuple[str, str]] = []
    for path in sorted(listed.keys() | present):
        if path not in present:
            problems.append((path, "missing"))
        elif path not in listed:
            problems.append((path, "extra (not in the manifest)"))
        else:
            actual = bundle / path
            entry = listed[path]
            # a rotation record is always hashed: the chain's signer depends on it
            hashed = hash_files or path in (ROTATION_RECORD, ROTATION_SIGNATURE)
            if actual.stat().st_size != entry["size"] or (hashed and sha256_file(actual) != entry["sha256"]):
                problems.append((path, "changed (SHA-256 differs from the manifest)"))
    if problems:
        path, what = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VerificationError(f"{path}: {what}{more}")

    # 5. the link to the previous bundle, when it sits where the manifest says (the series root)
    chain = _check_link(bundle, manifest, signed_by)
    return Verification(bundle, manifest, signed_by, chain, signer_key, hashlib.sha256(manifest_bytes).hexdigest())


def _bundle_files(bundle: Path) -> tuple[set[str], list[tuple[str, str]]]:
    """The regular files of the bundle (relative paths, without the seal files), and every entry that is not one."""
    files: set[str] = set()
    odd: list[tuple[str, str]] = []
    for folder, subfolders, names in os.walk(bundle):  # never follows a symbolic link
        for name in sorted(subfolders + names):
            path = Path(folder) / name
            relative = path.relative_to(bundle).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                odd.append((relative, "a symbolic link (a bundle holds regular files only)"))
            elif stat.S_ISREG(mode):
                files.add(relative)
            elif not stat.S_ISDIR(mode):
                odd.append((relative, "a special file, not a regular file (a bundle holds regular files only)"))
    return files - SEAL_FILES, odd


def _listed_files(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    listed: dict[str, dict[str, Any]] = {}
    for entry in entries:
        path = entry["path"]
        if not isinstance(path, str) or path.startswith("/") or any(p in ("", ".", "..") for p in path.split("/")):
            raise ValueError(f"{path!r} is not a path inside the bundle")
        if path in listed:
            # two entries for one file: one of them is not what the folder holds, whichever a reader believes
            raise ValueError(f"{path} is listed twice")
        listed[path] = entry
    return listed


def _check_signature(
    bundle: Path,
    manifest: dict[str, Any],
    manifest_bytes: bytes,
    present: set[str],
    public_key: bytes | None,
    require_signature: bool,
) -> tuple[str | None, Ed25519PublicKey | None]:
    signing = manifest.get("signature")
    try:
        pinned = load_public_key(public_key, "--public-key") if public_key is not None else None
    except SigningKeyError as exc:
        raise VerificationError(str(exc)) from None
    if signing is None:
        if (bundle / SIGNATURE).exists():
            raise VerificationError(f"{SIGNATURE}: present, but the manifest declares no signature")
        if require_signature or pinned is not None:
            raise VerificationError(
                f"{MANIFEST}: UNSIGNED bundle: nothing shows who wrote it or that it was not "
                f"edited (--allow-unsigned accepts it)"
            )
        return None, None
    key_file = bundle / signing.get("public_key_file", PUBLIC_KEY)
    sig_file = bundle / signing.get("signature_file", SIGNATURE)
    if not sig_file.is_file():
        raise VerificationError(f"{SIGNATURE}: missing (the manifest says it is signed by {signing['key_id']})")
    if not key_file.is_file():
        raise VerificationError(f"{PUBLIC_KEY}: missing (the manifest says it is signed by {signing['key_id']})")
    try:
        embedded = load_public_key(key_file.read_bytes(), str(key_file))
    except SigningKeyError as exc:
        raise VerificationError(str(exc)) from None
    if fingerprint(embedded) != signing.get("key_id"):
        raise VerificationError(
            f"{PUBLIC_KEY}: key {fingerprint(embedded)} is not the key the manifest names ({signing.get('key_id')})"
        )
    if pinned is not None and fingerprint(pinned) != fingerprint(embedded):
        raise VerificationError(
            f"{SIGNATURE}: signed by key {fingerprint(embedded)}, not by the expected key "
            f"{fingerprint(pinned)} (--public-key)"
        )
    if not signature_valid(pinned or embedded, sig_file.read_bytes(), manifest_bytes):
        raise VerificationError(
            f"{SIGNATURE}: bad signature: {MANIFEST} was changed after signing or the "
            f"signature is not by key {fingerprint(embedded)}"
        )
    return fingerprint(embedded), embedded


def _check_location(bundle: Path, manifest: dict[str, Any], series_root: Path) -> None:
    """The bundle sits at the <group>/<version> its manifest records (and a day's bundle covers that day)."""
    actual = bundle.relative_to(series_root).as_posix()
    recorded = manifest.get("location")
    if recorded is None and manifest.get("format") == BUNDLE_FORMAT:
        raise VerificationError(f"{MANIFEST}: records no location, found at {actual}")
    if recorded is not None and recorded != actual:
        raise VerificationError(
            f"{MANIFEST}: the bundle was written as {recorded}, but sits at {actual} (a bundle "
            f"is never moved, copied or renamed)"
        )
    day = manifest.get("snapshot_date")
    if manifest.get("kind") == "daily_snapshot" and day != bundle.parent.name:
        raise VerificationError(f"{MANIFEST}: the snapshot of {day} sits in the folder of {bundle.parent.name}")


def _rotation_problem(bundle: Path, manifest: dict[str, Any], old_key: Ed25519PublicKey, new_key_id: str) -> str | None:
    """Why this bundle does not hand its chain from `old_key` to its signer `new_key_id`; None when it does."""
    listed = {entry["path"] for entry in manifest.get("files", [])}
    if not (manifest.get("key_rotation") and {ROTATION_RECORD, ROTATION_SIGNATURE} <= listed):
        return f"no key rotation record ({ROTATION_RECORD} signed by {fingerprint(old_key)}) introduces it"
    return check_rotation_record(
        (bundle / ROTATION_RECORD).read_bytes(), (bundle / ROTATION_SIGNATURE).read_bytes(), old_key, new_key_id
    )


def _check_link(bundle: Path, manifest: dict[str, Any], signed_by: str | None) -> str:
    previous = manifest.get("previous")
    if not previous:
        return "first bundle of its chain" if manifest.get("sequence") in (1, None) else "no previous bundle recorded"
    series_root = bundle.parent.parent
    earlier = series_root / previous["bundle"]
    if not (earlier / MANIFEST).is_file():
        return f"previous bundle {previous['bundle']} is not present here (link not checked)"
    actual = sha256_file(earlier / MANIFEST)
    if actual != previous["manifest_sha256"]:
        raise VerificationError(
            f"chain broken: {previous['bundle']}/{MANIFEST} has SHA-256 {actual[:16]}…, but "
            f"this bundle recorded {previous['manifest_sha256'][:16]}…"
        )
    link = f"links to {previous['bundle']} (manifest SHA-256 matches)"
    earlier_signer = signer_of(earlier)
    if signed_by is None or earlier_signer is None or earlier_signer == signed_by:
        return link
    try:
        earlier_key = load_public_key((earlier / PUBLIC_KEY).read_bytes(), str(earlier / PUBLIC_KEY))
    except (OSError, SigningKeyError) as exc:
        raise VerificationError(f"{previous['bundle']}/{PUBLIC_KEY}: unreadable: {exc}") from None
    if fingerprint(earlier_key) != earlier_signer:
        raise VerificationError(f"{previous['bundle']}/{PUBLIC_KEY}: not the key its manifest names")
    problem = _rotation_problem(bundle, manifest, earlier_key, signed_by)
    if problem:
        raise VerificationError(
            f"signer changed: {previous['bundle']} is signed by {earlier_signer}, this bundle by {signed_by}: {problem}"
        )
    return f"{link}; signer rotated from {earlier_signer} by {ROTATION_RECORD}"


@dataclass(frozen=True)
class ChainHead:
    """The newest bundle of a chain: pin it (sequence:sha256) to detect the newest bundles being deleted."""

    sequence: int
    bundle: str
    covers: str
    manifest_sha256: str

    @property
    def pin(self) -> str:
        return f"{self.sequence}:{self.manifest_sha256}"


@dataclass
class Chain:
    """A verified series: its bundles (in folder order), its head and the keys that signed it, in order."""

    bundles: list[Verification]
    head: ChainHead
    #: the first signer, then each key a rotation record signed by the one before introduced
    signers: list[str]
    #: bundles accepted without a signature (only with require_signature=False)
    unsigned: list[str]
    #: how many bundles were added after the head pinned with `expect_head` (0: the pinned head is the head)
    added_since_pin: int | None = None

    def __iter__(self) -> Iterator[Verification]:
        return iter(self.bundles)

    def __len__(self) -> int:
        return len(self.bundles)

    def __getitem__(self, index: int) -> Verification:
        return self.bundles[index]


def covers(manifest: dict[str, Any]) -> str:
    """What a bundle is evidence of: its day, or its data window."""
    window = manifest.get("data_window") or {}
    return manifest.get("snapshot_date") or f"{window.get('from', '?')} to {window.get('to', '?')}"


def verify_series(
    series_root: Path,
    public_key: bytes | None = None,
    require_signature: bool = True,
    expect_head: str | None = None,
    hash_files: Callable[[Path], bool] | None = None,
) -> Chain:
    """Verify every bundle of a series, where it sits, and that they form one unbroken chain under one line of keys.

    The chain's signer is the pinned `public_key` (else the first bundle's signer); a bundle signed by another key
    fails unless it carries a rotation record signed by the signer so far. `expect_head` (`sha256` or
    `sequence:sha256` of the head's manifest, as printed by verify) fails a chain whose newest bundles were removed.
    `hash_files(bundle)` False checks that bundle's files by name and size only.
    """
    bundles = series_bundles(series_root)
    if not bundles:
        raise VerificationError(f"{series_root}: no bundles (expected <group>/v<NNN>-<stamp>/{MANIFEST})")
    results = []
    for bundle in bundles:
        try:
            results.append(
                verify_bundle(bundle, None, require_signature, series_root, hash_files is None or hash_files(bundle))
            )
        except VerificationError as exc:
            raise VerificationError(f"{bundle.relative_to(series_root).as_posix()}: {exc}") from None
    by_sequence = sorted(results, key=lambda r: int(r.manifest.get("sequence") or 0))
    _check_links(series_root, by_sequence)
    signers, unsigned = _check_signers(series_root, by_sequence, public_key)
    last = by_sequence[-1]
    head = ChainHead(
        int(last.manifest["sequence"]),
        last.bundle.relative_to(series_root).as_posix(),
        covers(last.manifest),
        last.manifest_sha256,
    )
    chain = Chain(results, head, signers, unsigned)
    if expect_head is not None:
        chain.added_since_pin = _check_expected_head(by_sequence, head, expect_head)
    return chain


def _check_links(series_root: Path, by_sequence: list[Verification]) -> None:
    seen: dict[str, Path] = {}
    for position, result in enumerate(by_sequence):
        previous = result.manifest.get("previous")
        name = result.bundle.relative_to(series_root).as_posix()
        if position == 0:
            if previous and not (series_root / previous["bundle"] / MANIFEST).is_file():
                raise VerificationError(f"chain broken: {name} follows {previous['bundle']}, which is missing here")
        else:
            expected = by_sequence[position - 1].bundle.relative_to(series_root).as_posix()
            if not previous:
                raise VerificationError(f"chain broken: {name} records no previous bundle, expected {expected}")
            if previous["bundle"] in seen:
                raise VerificationError(
                    f"chain forked: {name} and {seen[previous['bundle']]} both follow {previous['bundle']}"
                )
            seen[previous["bundle"]] = Path(name)
            if previous["bundle"] != expected:
                raise VerificationError(
                    f"chain broken: {name} follows {previous['bundle']}, which is missing "
                    f"here; the chain expected {expected}"
                )
        if result.manifest.get("sequence") != position + 1:  # e.g. the first bundles removed, links and all
            raise VerificationError(
                f"chain broken: {name} has sequence {result.manifest.get('sequence')}, but is "
                f"bundle {position + 1} of the chain here"
            )


def _check_signers(
    series_root: Path, by_sequence: list[Verification], public_key: bytes | None
) -> tuple[list[str], list[str]]:
    """One line of keys: the pinned key (or the first signer), then each key a rotation record hands over to."""
    try:
        current = load_public_key(public_key, "--public-key") if public_key is not None else None
    except SigningKeyError as exc:
        raise VerificationError(str(exc)) from None
    signers = [fingerprint(current)] if current is not None else []
    unsigned: list[str] = []
    for result in by_sequence:
        name = result.bundle.relative_to(series_root).as_posix()
        if result.signed_by is None:
            unsigned.append(name)
            continue
        if current is None:
            current = result.signer_key
            signers.append(result.signed_by)
            continue
        if result.signed_by == fingerprint(current):
            continue
        problem = _rotation_problem(result.bundle, result.manifest, current, result.signed_by)
        if problem:
            whose = (
                "the pinned key (--public-key)"
                if len(signers) == 1 and public_key is not None
                else "the chain's signer so far"
            )
            raise VerificationError(
                f"{name}: signer changed: signed by {result.signed_by}, but {whose} is "
                f"{fingerprint(current)}: {problem}"
            )
        current = result.signer_key
        signers.append(result.signed_by)
    return signers, unsigned


def _check_expected_head(by_sequence: list[Verification], head: ChainHead, expected: str) -> int:
    """How many bundles follow the pinned head; fails when the pinned head is not in the chain (truncated)."""
    sequence_text, _, digest = expected.strip().lower().rpartition(":")
    if not re.fullmatch(r"[0-9a-f]{64}", digest) or (sequence_text and not sequence_text.isdigit()):
        raise VerificationError(
            f"--expect-head {expected}: expected the head's manifest SHA-256, or SEQUENCE:SHA-256, as verify prints it"
        )
    pinned = next((r for r in by_sequence if r.manifest_sha256 == digest), None)
    if pinned is None:
        lost = int(sequence_text) - head.sequence if sequence_text else 0
        removed = f"{lost} newest bundle(s) removed" if lost > 0 else "the newest bundles removed or replaced"
        raise VerificationError(
            f"chain truncated: the expected head {expected} is not in this chain, which ends at "
            f"sequence {head.sequence} ({head.bundle}, manifest SHA-256 {head.manifest_sha256}):"
            f" {removed}"
        )
    sequence = int(pinned.manifest["sequence"])
    if sequence_text and int(sequence_text) != sequence:
        raise VerificationError(f"--expect-head {expected}: that manifest is sequence {sequence} of this chain")
    return head.sequence - sequence
