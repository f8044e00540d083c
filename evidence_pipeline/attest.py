"""`evidence-pipeline attest`: record one attestation (a tabletop exercise, a penetration test, a background check...)
by appending one entry to the attestations file.

The file is evidence people keep: the existing entries are never rewritten. The new entry is validated alone, then
the file with it appended is validated whole (the same loader the daily collection uses) before a byte is written;
the artefact's SHA-256 goes into the entry, so a report changed later is refused by every later collection.
"""

from __future__ import annotations

import argparse
import fcntl
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connectors.attestations import (
    ATTESTATIONS_ENV,
    ATTESTATIONS_FILE,
    KINDS,
    Attestation,
    AttestationsError,
    configured_file,
)
from connectors.attestations.model import Entry, hash_file, item_indent, parse_attestations

#: the entry's fields -> the option that sets each, for one-line errors naming what the user typed
OPTIONS = {
    "kind": "--kind",
    "subject": "--subject",
    "summary": "--summary",
    "performed": "--performed",
    "performer": "--performer",
    "approver": "--approver",
    "artefact": "--artefact",
    "valid_months": "--valid-months",
}
#: the column of an appended entry's `- ` when the file has no entry yet
DEFAULT_INDENT = 2


class AttestError(ValueError):
    """The attestation or the file is wrong; one line naming the option or the file's line and field."""


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    attest = command(
        "attest",
        "record an attestation: append one validated entry to the attestations file",
        "Human processes no API shows (exercises, tests, reviews, background checks) are evidenced by an entry in\n"
        f"the attestations file ({ATTESTATIONS_ENV}, default ./{ATTESTATIONS_FILE}) naming its artefact, whose\n"
        "SHA-256 is recorded and which each day's evidence bundle carries. Existing entries are never rewritten.\n"
        f"Kinds: {', '.join(KINDS)}.",
        "evidence-pipeline attest --kind tabletop_exercise --performed 2026-05-12 --performer ciso@corp.com "
        "--approver cto@corp.com --artefact reports/tabletop-2026-05.pdf --valid-months 12\n"
        "evidence-pipeline attest --kind background_check --subject ada@corp.com --performed 2026-03-01 "
        "--performer hr@corp.com --approver people-lead@corp.com --artefact screening/ada.pdf --valid-months 120",
    )
    attest.add_argument("--kind", required=True, choices=KINDS, help="what was done")
    attest.add_argument("--performed", required=True, type=date.fromisoformat, help="the day it was done")
    attest.add_argument("--performer", required=True, help="who did it")
    attest.add_argument("--approver", required=True, help="who approved it (someone else)")
    attest.add_argument("--artefact", required=True, type=Path, help="the report or record (a file; it is hashed)")
    attest.add_argument("--valid-months", required=True, type=int, help="how long it stays current, e.g. 12 or 6")
    attest.add_argument("--subject", help="the person's e-mail (per-person kinds) or the vendor (vendor_review)")
    attest.add_argument("--summary", help="what was done, in a sentence")
    attest.add_argument(
        "--file",
        type=Path,
        default=None,
        help=f"the attestations file (default {ATTESTATIONS_ENV}, else ./{ATTESTATIONS_FILE})",
    )


def attest_command(args: argparse.Namespace) -> int:
    file = (args.file or configured_file(ATTESTATIONS_ENV, ATTESTATIONS_FILE)).resolve()
    entry = {
        "kind": args.kind,
        "subject": args.subject,
        "summary": args.summary,
        "performed": args.performed,
        "performer": args.performer,
        "approver": args.approver,
        "artefact": args.artefact,
        "valid_months": args.valid_months,
    }
    appended = append_attestation(file, {k: v for k, v in entry.items() if v is not None}, date.today())
    print(
        f"attested {appended.attestation.kind}"
        + (f" of {appended.attestation.subject}" if appended.attestation.subject else "")
        + f", performed {appended.attestation.performed}, current until {appended.attestation.expires}: "
        f"{file} line {appended.line}; artefact {appended.artefact_path.name} sha256 {appended.artefact_sha256}"
    )
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"attest": attest_command}


def append_attestation(file: Path, entry: dict[str, Any], today: date) -> Entry:
    """Validate `entry` (its artefact a path as given) and append it to `file` (created when missing); returns the
    entry as loaded from the file. Nothing is written unless the whole file, with it, validates."""
    artefact = Path(entry["artefact"]).expanduser().resolve()
    if not artefact.is_file():
        raise AttestError(f"--artefact: {entry['artefact']} is not a file")
    if entry["performed"] > today:
        raise AttestError(f"--performed: {entry['performed']} is in the future")
    written = {
        **entry,
        # relative to the file's folder, as the loader reads it
        "artefact": os.path.relpath(artefact, file.parent),
        "artefact_sha256": hash_file(artefact)[0],
    }
    try:
        Attestation.model_validate(written)
    except ValidationError as exc:
        raise AttestError(_option_problem(exc)) from None
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("ab+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two attests at once append one after the other
        handle.seek(0)
        existing = handle.read()
        try:
            before = parse_attestations(file, existing)
        except AttestationsError as exc:
            raise AttestError(f"{exc} (fix the file first: nothing was appended)") from None
        addition = _entry_text(existing, written)
        try:
            after = parse_attestations(file, existing + addition)
        except AttestationsError as exc:
            raise AttestError(f"{exc} (nothing was appended)") from None
        if len(after) != len(before) + 1 or after[-1].attestation != Attestation.model_validate(written):
            raise AttestError(
                f"{file}: cannot append: its 'attestations' list must be the file's last key, written as a block "
                "list ('- kind: ...' items); nothing was appended"
            )
        handle.write(addition)  # append mode: the bytes already there are never touched
        handle.flush()
        os.fsync(handle.fileno())
    return after[-1]


def _entry_text(existing: bytes, entry: dict[str, Any]) -> bytes:
    """The YAML to append: the `attestations:` key for a file without entries, and the entry as one list item at the
    file's own indentation."""
    text = existing.decode("utf-8-sig") if existing else ""
    prefix = "" if not text or text.endswith("\n") else "\n"
    loaded = yaml.safe_load(text) if text.strip() else None
    if loaded is None:
        prefix += "attestations:\n"
    indent = item_indent(existing) if loaded else None
    item = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=120)
    pad = " " * (DEFAULT_INDENT if indent is None else indent)
    return (prefix + "".join(pad + line for line in item.splitlines(keepends=True))).encode()


def _option_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = error["msg"].removeprefix("Value error, ")
    if error["loc"]:
        field = str(error["loc"][0])
    else:  # a model-level check names its field first: "subject: ..."
        field, _, message = message.partition(": ")
    given = error.get("input")
    shown = f" (got {given!r})" if error["loc"] and not isinstance(given, dict) else ""
    return f"{OPTIONS.get(field, field)}: {message}{shown}"
