"""The attestations file: human acts no API shows (a tabletop exercise, a penetration test, a background check), each
with its performer, approver, artefact and validity.

Schema of `attestations.yaml` (EVIDENCE_ATTESTATIONS):

```yaml
attestations:
  - kind: tabletop_exercise          # one of KINDS
    subject: ada@example.com         # person kinds: the person's e-mail; vendor_review: the vendor; else absent
    summary: Ransomware scenario, 14 participants
    performed: 2026-05-12
    performer: ciso@example.com
    approver: cto@example.com        # someone else than the performer
    artefact: reports/tabletop-2026-05.pdf   # relative to this file's folder; must exist
    artefact_sha256: 3b4c...         # optional; `evidence-pipeline attest` writes it. A file that no longer has it
                                     # changed since it was attested: the entry is refused, never used
    valid_months: 12
```

Loading validates every entry like waivers.yaml does: the first problem is one line naming the file, the entry's line
and the field. Every artefact is hashed (SHA-256, size) on each read, so the records carry the hash of what exists
today.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors.hr.roster import normalize_email

#: attestations about a person (the subject is their e-mail) and about a vendor of the register
PERSON_KINDS = ("background_check", "confidentiality_agreement")
VENDOR_KINDS = ("vendor_review",)
KINDS = (
    "tabletop_exercise",
    "penetration_test",
    "dr_exercise",
    "policy_review",
    "risk_assessment",
    *VENDOR_KINDS,
    *PERSON_KINDS,
)
#: the longest validity an entry may claim (ten years): a typo of 1200 months would keep an act current for ever
MAX_VALID_MONTHS = 120
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: the record keys (and raw_attestations_attestations columns), in order
RECORD_COLUMNS = (
    "kind",
    "subject",
    "summary",
    "performed",
    "performer",
    "approver",
    "artefact_name",
    "artefact_sha256",
    "artefact_bytes",
    "valid_months",
    "expires",
    "line",
)


class _DatesAsText(yaml.CSafeLoader):
    """YAML's own dates raise without a line on a bad one (2026-13-01): kept as text, the model parses them and the
    error names the entry's line and field.

    Each distinct plain scalar's tag is resolved once: YAML's implicit resolvers are regexes run on every scalar, and
    a large organisation's file repeats its kinds, dates and names hundreds of thousands of times (no path resolver
    is registered, so a scalar's tag depends on its text and style alone)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._scalar_tags: dict[tuple[str, Any], str] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._scalar_tags.get(key)
        if tag is None:
            tag = self._scalar_tags[key] = super().resolve(kind, value, implicit)
        return tag


_DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


class AttestationsError(ValueError):
    """The attestations file is malformed; the message names the file, the entry (line) and the field."""


class Attestation(BaseModel):
    """One entry as written."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal[KINDS]  # type: ignore[valid-type]
    subject: str | None = None
    summary: str | None = Field(default=None, min_length=5)
    performed: date
    performer: str = Field(min_length=3)
    approver: str = Field(min_length=3)
    artefact: str = Field(min_length=1)
    artefact_sha256: str | None = None
    valid_months: int = Field(ge=1, le=MAX_VALID_MONTHS)

    @field_validator("artefact_sha256")
    @classmethod
    def hex_digest(cls, value: str | None) -> str | None:
        if value is not None and not SHA256.fullmatch(value):
            raise ValueError("must be a SHA-256 hex digest (64 lower-case hex characters)")
        return value

    @model_validator(mode="after")
    def subject_fits_kind(self) -> Attestation:
        # a ValueError here is reported against 'subject' (or 'approver') by `_problem`
        if self.kind in PERSON_KINDS:
            if not self.subject or not EMAIL.match(self.subject.strip()):
                raise ValueError(f"subject: a {self.kind} names the person's e-mail address (got {self.subject!r})")
        elif self.kind in VENDOR_KINDS:
            if not self.subject or not self.subject.strip():
                raise ValueError("subject: a vendor_review names the vendor, as in the vendor register")
        elif self.subject is not None:
            raise ValueError(f"subject: a {self.kind} has no subject (it covers the organisation)")
        if self.performer.strip().lower() == self.approver.strip().lower():
            raise ValueError("approver: must be someone other than the performer")
        return self

    @property
    def expires(self) -> date:
        return add_months(self.performed, self.valid_months)


@dataclass(frozen=True)
class Entry:
    attestation: Attestation
    #: the line of the entry in the file (its `- ` item), to find it again
    line: int
    #: the artefact as found today
    artefact_path: Path
    artefact_sha256: str
    artefact_bytes: int

    def record(self) -> dict[str, Any]:
        a = self.attestation
        subject = a.subject.strip() if a.subject else None
        return {
            "kind": a.kind,
            "subject": normalize_email(subject) if subject and a.kind in PERSON_KINDS else subject,
            "summary": a.summary,
            "performed": a.performed.isoformat(),
            "performer": a.performer.strip(),
            "approver": a.approver.strip(),
            "artefact_name": self.artefact_path.name,
            "artefact_sha256": self.artefact_sha256,
            "artefact_bytes": self.artefact_bytes,
            "valid_months": a.valid_months,
            "expires": a.expires.isoformat(),
            "line": self.line,
        }


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the month's last day (2025-08-31 + 6 = 2026-02-28), as DuckDB's
    `date + to_months(n)` does."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file, read in chunks (a penetration-test report may be large)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def parse_attestations(path: Path, content: bytes) -> list[Entry]:
    """Every entry of the file's `content` (read from `path`), validated, its artefact found and hashed; the first
    problem raises AttestationsError naming the file, the entry's line and the field."""
    name = str(path)
    try:
        text = content.decode("utf-8-sig")
        # one parse: the values are constructed from the node tree whose marks give the entries' lines
        loader = _DatesAsText(text)
        try:
            root = loader.get_single_node()
            raw = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except UnicodeDecodeError as exc:
        raise AttestationsError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AttestationsError(f"{name}: {where}not valid YAML: {problem}") from None
    if raw is None:
        return []
    if not isinstance(raw, dict) or set(raw) != {"attestations"}:
        raise AttestationsError(f"{name}: expected a mapping with only the key 'attestations' (a list of entries)")
    items = raw["attestations"] or []
    if not isinstance(items, list):
        raise AttestationsError(f"{name}: field 'attestations': expected a list of entries")
    nodes = _item_nodes(root)
    entries = []
    #: each artefact file read once however many entries name it (one report per tabletop, one form per person)
    hashed: dict[Path, tuple[str, int]] = {}
    resolved: dict[str, Path] = {}
    for index, item in enumerate(items):
        node = nodes[index] if index < len(nodes) else None
        line = node.start_mark.line + 1 if node is not None else 0
        if not isinstance(item, dict):
            raise AttestationsError(
                f"{_located(name, line, index)}: expected a mapping of fields, found {type(item).__name__}"
            )
        try:
            attestation = Attestation.model_validate(item)
        except ValidationError as exc:
            raise AttestationsError(_problem(exc, name, index, node, line)) from None
        field = _located(name, _field_line(node, "artefact") or line, index)
        entries.append(_with_artefact(attestation, path, field, line, resolved, hashed))
    return entries


def _located(name: str, line: int, index: int) -> str:
    return f"{name}: line {line} (attestation #{index + 1})"


def _with_artefact(
    attestation: Attestation,
    path: Path,
    field: str,
    line: int,
    resolved: dict[str, Path],
    hashed: dict[Path, tuple[str, int]],
) -> Entry:
    """The entry with its artefact found (each name resolved once: `resolved`) and hashed (each file once:
    `hashed`); `field` locates the artefact field in errors."""
    artefact = resolved.get(attestation.artefact)
    if artefact is None:
        artefact = resolved[attestation.artefact] = (path.parent / attestation.artefact).resolve()
    if artefact not in hashed and not artefact.is_file():
        raise AttestationsError(f"{field}: field 'artefact': {attestation.artefact!r} is not a file ({artefact})")
    try:
        if artefact not in hashed:
            hashed[artefact] = hash_file(artefact)
        digest, size = hashed[artefact]
    except OSError as exc:
        raise AttestationsError(f"{field}: field 'artefact': cannot read {artefact}: {exc.strerror or exc}") from None
    if attestation.artefact_sha256 is not None and attestation.artefact_sha256 != digest:
        raise AttestationsError(
            f"{field}: field 'artefact': {attestation.artefact!r} changed since it was attested "
            f"(artefact_sha256 {attestation.artefact_sha256[:12]}…, the file now {digest[:12]}…): "
            "restore the attested file (a revised report is a new file, attested as a new entry)"
        )
    return Entry(attestation, line, artefact, digest, size)


def _item_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    """The `attestations` list's item nodes (for their lines)."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "attestations" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def item_indent(content: bytes) -> int | None:
    """The column of the `- ` of the file's attestation items (None: no item yet), so an appended entry lines up."""
    nodes = _item_nodes(yaml.compose(content.decode("utf-8-sig"), Loader=_DatesAsText))
    return max(0, nodes[0].start_mark.column - 2) if nodes else None


def _field_line(node: yaml.Node | None, field: str) -> int | None:
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if key.value == field:
                return key.start_mark.line + 1
    return None


def _problem(exc: ValidationError, name: str, index: int, node: yaml.Node | None, line: int) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    if loc:
        field = loc[0]
    else:  # a model-level check names its field first: "subject: ..."
        field, _, message = message.partition(": ")
    given = error.get("input")
    shown = f" (got {given!r})" if loc and not isinstance(given, dict) else ""
    return f"{_located(name, _field_line(node, field) or line, index)}: field {field!r}: {message}{shown}"
