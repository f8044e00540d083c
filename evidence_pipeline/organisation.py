"""The organisation profile (organisation.yaml): who the report is about, what the system is, who owns the controls
and who signs the report off.

The report's page 1 names the organisation, describes the system and its boundaries, names each control owner
(the catalogue's `owner:` keys, e.g. `it`, `engineering`) and prints a sign-off block from this file. Nothing in it is
evidence: it is the organisation's own statement, shown as such. Without the file the report says what is missing
rather than inventing names.

```yaml
name: Example Corp Ltd
system_description: The Example Corp SaaS platform ...
system_boundaries: Production AWS accounts, the GitHub organisation, ... Out of scope: ...
scope_notes: ["Students' Google accounts (/Students) are collected but out of scope of staff controls"]
control_owners:
  it: {name: Dana Whitfield, role: IT Manager}
  engineering: {role: VP Engineering}
sign_off:
  - {role: Chief Executive Officer, name: Sam Rivera}
  - {role: Head of Security}
```
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evidence_pipeline.settings import optional_project_file

ORGANISATION_ENV = "EVIDENCE_ORGANISATION"
ORGANISATION_FILE = "organisation.yaml"


class OrganisationError(ValueError):
    """organisation.yaml is unreadable or malformed; the one-line message names the file and the field."""


class Person(BaseModel):
    """Someone the report names: by name, by role, or both (a role alone is honest when the name is not to be
    printed)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=2)
    role: str | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def named_somehow(self) -> Person:
        if not self.name and not self.role:
            raise ValueError("give a name, a role or both")
        return self

    def __str__(self) -> str:
        return ", ".join(part for part in (self.name, self.role) if part)


class Signatory(BaseModel):
    """A line of the sign-off block: the role signs; the name is printed when given, else left blank to fill in."""

    model_config = ConfigDict(extra="forbid")
    role: str = Field(min_length=2)
    name: str | None = Field(default=None, min_length=2)


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2)
    #: what the system is: the service, its users, its main components
    system_description: str = Field(min_length=20)
    #: where the system ends: what is in and what is out of scope
    system_boundaries: str = Field(min_length=10)
    scope_notes: list[str] = Field(default_factory=list)
    #: the catalogue's owner key (a control's `owner:`) -> who owns those controls
    control_owners: dict[str, Person] = Field(default_factory=dict)
    sign_off: list[Signatory] = Field(min_length=1)

    def owner_of(self, key: str) -> Person | None:
        return self.control_owners.get(key)


@dataclass(frozen=True)
class Profile:
    """The profile a report is rendered with: the organisation, or why there is none (missing file, bad file)."""

    organisation: Organisation | None
    #: the file it was read from (its name as the report shows it), None when there is no file
    file: str | None
    #: why `organisation` is None, in one line the report prints
    problem: str | None = None


def organisation_file() -> Path | None:
    """EVIDENCE_ORGANISATION's path, else the project's organisation.yaml when there is one, else None."""
    configured = os.environ.get(ORGANISATION_ENV)
    if configured:
        return Path(configured)
    return optional_project_file(ORGANISATION_FILE)


def load_organisation(path: Path, owner_keys: Collection[str] | None = None) -> Organisation:
    """Read and check organisation.yaml. `owner_keys` (the catalogue's `owner:` values), when given, refuses a
    `control_owners` key no control has: a misspelt key would leave its controls' owner unnamed."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise OrganisationError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise OrganisationError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(document, dict):
        raise OrganisationError(f"{path}: expected a mapping with name, system_description, ... at the top")
    try:
        organisation = Organisation.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise OrganisationError(f"{path}: field '{field}': {error['msg']}") from None
    if owner_keys is not None:
        unknown = sorted(set(organisation.control_owners) - set(owner_keys))
        if unknown:
            raise OrganisationError(
                f"{path}: field 'control_owners.{unknown[0]}': no control has owner {unknown[0]!r} "
                f"(the catalogue's owners: {', '.join(sorted(owner_keys))})"
            )
    return organisation


def read_profile(owner_keys: Collection[str] | None = None) -> Profile:
    """The profile for a report: never raises, a bad or missing file becomes the report's stated problem."""
    path = organisation_file()
    if path is None:
        return Profile(
            None,
            None,
            f"no organisation profile: create {ORGANISATION_FILE} (examples/{ORGANISATION_FILE}) "
            f"or set {ORGANISATION_ENV}",
        )
    try:
        return Profile(load_organisation(path, owner_keys), path.name)
    except OrganisationError as exc:
        return Profile(None, path.name, str(exc))
