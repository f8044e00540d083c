"""Accepted exceptions (waivers.yaml): a failing row with an active waiver shows as *waived*
(never pass); a waiver past its expiry no longer covers the row, which fails and says so."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class WaiverError(ValueError):
    """waivers.yaml is malformed; the message names the waiver and the field."""


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    control: str
    resource: str
    reason: str = Field(min_length=5)
    approver: str = Field(min_length=3)
    expires: date


class Waivers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    waivers: list[Waiver] = Field(default_factory=list)
    #: SHA-256 of the file the waivers came from (empty when there is none), for the manifest
    source_sha256: str = ""

    def for_control(self, control_id: str) -> dict[str, Waiver]:
        return {w.resource: w for w in self.waivers if w.control == control_id}


def load_waivers(path: Path | None, control_ids: set[str] | None = None) -> Waivers:
    """The waivers of `path` (none when there is no file); anything malformed raises WaiverError with one line naming
    the file, the waiver and the field."""
    if path is None or not path.is_file():
        return Waivers()
    try:
        content = path.read_bytes()
        raw = yaml.safe_load(content) or {}
    except OSError as exc:
        raise WaiverError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WaiverError(f"{path}: {where}not valid YAML: {problem}") from None
    except (ValueError, TypeError) as exc:  # a YAML value its type cannot hold (a date like 2026-13-01)
        raise WaiverError(f"{path}: a value cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise WaiverError(f"{path}: expected a mapping with a 'waivers' list, found {type(raw).__name__}")
    try:
        waivers = Waivers.model_validate({**raw, "source_sha256": hashlib.sha256(content).hexdigest()})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = list(error["loc"])
        where = f"waiver #{loc[1] + 1}" if len(loc) > 1 and isinstance(loc[1], int) else "file"
        field = ".".join(str(p) for p in loc[2:] if where != "file") or ".".join(str(p) for p in loc)
        given = f" (got {error['input']!r})" if where != "file" and not isinstance(error["input"], dict) else ""
        what = f"field {field!r}: " if where == "file" or loc[2:] else ""
        raise WaiverError(f"{path}: {where}: {what}{error['msg']}{given}") from None
    if control_ids is not None:
        for number, waiver in enumerate(waivers.waivers, 1):
            if waiver.control not in control_ids:
                raise WaiverError(f"{path}: waiver #{number}: field 'control': unknown control {waiver.control!r}")
    return waivers


def apply_waivers(rows: list[dict[str, Any]], waivers: dict[str, Waiver], day: date) -> None:
    """Mark covered failing rows as waived, in place; note expired waivers on the rows they no longer cover."""
    for row in rows:
        waiver = waivers.get(row["resource_id"])
        if waiver is None or row["status"] != "fail":
            continue
        if waiver.expires >= day:
            row["status"] = "waived"
            row["reason"] = f"{row['reason']} — waived until {waiver.expires} by {waiver.approver}: {waiver.reason}"
        else:
            row["reason"] = f"{row['reason']} — waiver expired on {waiver.expires} (approved by {waiver.approver})"
        row["details"]["waiver"] = waiver.model_dump(mode="json")
