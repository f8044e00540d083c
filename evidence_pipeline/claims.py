"""The user's own trust page: the promises of their security page, in their own words, each mapped to the controls
that evidence it.

The file is the user's (`EVIDENCE_TRUST_PAGE`, else `trust_page.yaml` in the working folder or the repository),
not the catalogue's: the catalogue says how to judge a control, the trust page what the company promised. Loading
the catalogue reads it (catalogue.load_catalogue), checks that every control it names exists, and gives each
control the quotes it evidences; its hash is the catalogue's and each bundle carries a copy (trust_page.yaml).
`coverage` turns a day's verdicts into each promise's state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from evidence_pipeline.settings import project_file

TRUST_PAGE_ENV = "EVIDENCE_TRUST_PAGE"
TRUST_PAGE_FILE = "trust_page.yaml"

CoverageState = Literal["evidenced", "failing", "not evidenced"]


class TrustPageError(ValueError):
    """The trust page is malformed; the message (one line) names the file, the promise and the field."""


class Promise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: the page's heading the quote stands under
    section: str = Field(min_length=1)
    #: the promise in the page's own words
    quote: str = Field(min_length=8, max_length=600)
    #: the controls that evidence it; none means the promise is not evidenced (said so, never hidden)
    controls: list[str] = Field(default_factory=list)
    #: with no controls: why no system the pipeline reads can show it ("host configuration is not collected")
    out_of_reach: str | None = Field(default=None, min_length=8, max_length=300)


class TrustPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: str = Field(min_length=1)
    title: str = Field(min_length=1)
    url: str | None = None
    #: examples only: the page's text in shared/seeds, against which its quotes can be checked
    seed: str | None = None
    promises: list[Promise] = Field(default_factory=list)

    @property
    def name(self) -> str:
        """How the page is named wherever a quote is shown: "ByteMechanix LLC — Security Overview"."""
        return f"{self.company} — {self.title}"


def trust_page_file() -> Path | None:
    """The trust page in use: `EVIDENCE_TRUST_PAGE`'s path (checked when loaded), else the project's
    trust_page.yaml when there is one, else None (no promises: the controls are judged all the same)."""
    if os.environ.get(TRUST_PAGE_ENV):
        return Path(os.environ[TRUST_PAGE_ENV]).resolve()
    try:
        return project_file(TRUST_PAGE_FILE)
    except FileNotFoundError:
        return None


def read_trust_page(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes (hashed into the catalogue and copied into bundles as read) and its YAML mapping."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        named = os.environ.get(TRUST_PAGE_ENV)
        by_env = f" ({TRUST_PAGE_ENV} names it)" if named and Path(named).resolve() == path.resolve() else ""
        raise TrustPageError(f"{path}: trust page: no such file{by_env}") from None
    except OSError as exc:
        raise TrustPageError(f"{path}: trust page: cannot be read: {exc.strerror}") from None
    try:
        raw = yaml.load(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise TrustPageError(f"{path}: trust page: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise TrustPageError(f"{path}: trust page: expected a mapping with 'company', 'title' and 'promises'")
    return content, raw


def load_trust_page(path: Path, control_ids: set[str]) -> TrustPage:
    """Read and validate the trust page at `path`; every control a promise names must be in `control_ids`."""
    return parse_trust_page(path, read_trust_page(path)[1], control_ids)


def parse_trust_page(path: Path, raw: dict[str, Any], control_ids: set[str]) -> TrustPage:
    """Validate a trust page already read (read_trust_page) from `path`."""
    try:
        page = TrustPage.model_validate(raw)
    except ValidationError as exc:
        raise TrustPageError(_describe(exc, path, raw)) from None
    first: dict[str, int] = {}
    for index, promise in enumerate(page.promises):
        where = f"{path}: promise {promise.id!r}"
        if promise.id in first:
            raise TrustPageError(f"{where}: field 'id': duplicate id (first is promise #{first[promise.id] + 1})")
        first[promise.id] = index
        unknown = [control for control in promise.controls if control not in control_ids]
        if unknown:
            raise TrustPageError(f"{where}: field 'controls': no control {unknown[0]!r} in the catalogue")
        twice = {control for control in promise.controls if promise.controls.count(control) > 1}
        if twice:
            raise TrustPageError(f"{where}: field 'controls': {sorted(twice)[0]!r} is named twice")
        if promise.out_of_reach and promise.controls:
            raise TrustPageError(f"{where}: field 'out_of_reach': a promise its controls evidence is not out of reach")
    return page


def _describe(exc: ValidationError, path: Path, raw: dict[str, Any]) -> str:
    """pydantic's first error as '<file>: promise <id>: field <name>: <problem>'."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    where = "trust page"
    if len(loc) >= 2 and loc[0] == "promises" and isinstance(loc[1], int):
        promises = raw.get("promises")
        entry = promises[loc[1]] if isinstance(promises, list) and loc[1] < len(promises) else None
        named = entry.get("id") if isinstance(entry, dict) else None
        where = f"promise {named if isinstance(named, str) else f'#{loc[1] + 1}'!r}"
        loc = loc[2:]
    field_name = ".".join(str(part) for part in loc) or "(entry)"
    return f"{path}: {where}: field {field_name!r}: {validation_problem(error)}"


def validation_problem(error: ErrorDetails) -> str:
    """A pydantic error in the words every file's error uses (the catalogue's too)."""
    if error["type"] == "missing":
        return "is required but missing"
    if error["type"] == "extra_forbidden":
        return "is not a known field"
    return error["msg"]


@dataclass(frozen=True)
class PromiseCoverage:
    """One promise on one day: whether its controls evidence it."""

    promise: Promise
    state: CoverageState
    #: why, in words: "2 controls pass", "cc6_1_x fails", "no control evidences it", "cc6_1_y unknown: <reason>"
    why: str
    #: each mapped control's verdict that day (a control not judged that day is "unknown")
    verdicts: dict[str, str] = field(default_factory=dict)


def coverage(
    page: TrustPage, verdicts: Mapping[str, str], reasons: Mapping[str, str] | None = None
) -> list[PromiseCoverage]:
    """Each promise's state from the day's verdicts (control id -> pass / fail / unknown / not evaluated ...): any
    mapped control failing makes it *failing*; every mapped control passing makes it *evidenced*; no control, or
    one not passing for want of evidence (unknown, not judged), leaves it *not evidenced* (never evidenced on
    missing data). `reasons` (control id -> its verdict's reason) adds why a control is unknown."""
    reasons = reasons or {}
    covered = []
    for promise in page.promises:
        judged = {control: verdicts.get(control, "unknown") for control in promise.controls}
        failing = [control for control, verdict in judged.items() if verdict == "fail"]
        short = [control for control, verdict in judged.items() if verdict != "pass"]
        if not judged:
            state = "not evidenced"
            why = f"out of reach: {promise.out_of_reach}" if promise.out_of_reach else "no control evidences it"
        elif failing:
            state, why = "failing", f"{_listed(failing)} {'fails' if len(failing) == 1 else 'fail'}"
        elif short:
            first = short[0]
            reason = reasons.get(first)
            state, why = "not evidenced", f"{first} {judged[first]}" + (f": {reason}" if reason else "")
            if len(short) > 1:
                why += f" (and {len(short) - 1} more not passing)"
        else:
            state, why = "evidenced", "1 control passes" if len(judged) == 1 else f"{len(judged)} controls pass"
        covered.append(PromiseCoverage(promise, state, why, judged))
    return covered


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
