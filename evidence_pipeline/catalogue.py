"""The control catalogue (controls_map.yaml): schema, validation, loading.

A malformed catalogue fails before any run, and the error names the control and
the field. Validation goes as far as compiling every control's SQL against the
migrated (empty) warehouse schema and checking the columns it returns.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: SOC 2 Trust Services Criteria (2017, revised points of focus 2022).
SOC2_CRITERIA: frozenset[str] = frozenset(
    [f"CC1.{i}" for i in range(1, 6)] + [f"CC2.{i}" for i in range(1, 4)] + [f"CC3.{i}" for i in range(1, 5)]
    + [f"CC4.{i}" for i in range(1, 3)] + [f"CC5.{i}" for i in range(1, 4)] + [f"CC6.{i}" for i in range(1, 9)]
    + [f"CC7.{i}" for i in range(1, 6)] + ["CC8.1"] + [f"CC9.{i}" for i in range(1, 3)]
    + [f"A1.{i}" for i in range(1, 4)] + [f"C1.{i}" for i in range(1, 3)] + [f"PI1.{i}" for i in range(1, 6)]
    + ["P1.1", "P2.1", "P3.1", "P3.2", "P4.1", "P4.2", "P4.3", "P5.1", "P5.2", "P6.1", "P6.2", "P6.3", "P6.4",
       "P6.5", "P6.6", "P6.7", "P7.1", "P8.1"]
)
#: Criterion family -> Dagster group of the control assets.
FAMILIES = {
    "CC1": "control_environment", "CC2": "communication", "CC3": "risk_assessment", "CC4": "monitoring",
    "CC5": "control_activities", "CC6": "logical_access", "CC7": "system_operations", "CC8": "change_management",
    "CC9": "risk_mitigation", "A1": "availability", "C1": "confidentiality", "PI1": "processing_integrity",
    "P": "privacy",
}
REQUIRED_COLUMNS = ("resource_id", "status", "reason")
OPTIONAL_COLUMNS = ("resource_name", "resource_url", "failure", "dataset")
SQL_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")
SNAPSHOT_DATE = re.compile(r"\$snapshot_date\b")


class CatalogueError(ValueError):
    """controls_map.yaml is malformed; the message names the control and the field."""


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: str = Field(description="file name in shared/seeds the claim is quoted from")
    quote: str = Field(min_length=8, max_length=400)


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=5)
    criteria: list[str] = Field(min_length=1)
    claims: list[Claim] = Field(min_length=1)
    owner: str
    frequency: Literal["continuous", "daily", "weekly", "monthly", "quarterly", "annual"]
    severity: Literal["ERROR", "WARN"]
    #: source datasets as "<source>.<dataset>"; a failed, stale or unconfigured one makes the control unknown
    sources: list[str] = Field(min_length=1)
    #: datasets of a cross-system control, one per system: an unusable one makes only its own rows unknown
    #: (the SQL's `dataset` column says which rows come from where), the other systems are still judged
    system_sources: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    sql: str = Field(min_length=10)
    #: failure kind (the SQL's `failure` column) -> how to fix it
    remediation: dict[str, str] = Field(min_length=1)
    #: what one population row is, in words ("active repositories"), used in verdicts and reconciliation
    scope: str = Field(min_length=3)
    #: auditree's "is empty" rule: an empty population proves nothing unless the control says it may
    empty_population: Literal["pass", "unknown"] = "unknown"
    description: str = ""

    @field_validator("criteria")
    @classmethod
    def known_criteria(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in SOC2_CRITERIA]
        if unknown:
            raise ValueError(f"unknown SOC 2 criterion {', '.join(unknown)}")
        return value

    @field_validator("sources", "system_sources")
    @classmethod
    def source_names(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", s)]
        if bad:
            raise ValueError(f"sources must be '<source>.<dataset>', got {', '.join(bad)}")
        return value

    @property
    def family(self) -> str:
        first = self.criteria[0]
        prefix = first.split(".")[0]
        return FAMILIES.get(prefix, FAMILIES["P"] if prefix.startswith("P") and prefix != "PI1" else "controls")

    @property
    def datasets(self) -> list[str]:
        return [*self.sources, *self.system_sources]

    @cached_property
    def sql_sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def sql_over_days(self) -> str:
        """The control's SQL for many days in one query: each day of the list parameter `$days` stands where
        `$snapshot_date` stood (a LATERAL join, which DuckDB decorrelates into one set-based plan), and each row gains
        `evaluated_day`. For re-judging a period's history without a query per day."""
        body = SNAPSHOT_DATE.sub("evaluated.day", self.sql.strip().rstrip(";"))
        return (f"SELECT evaluated.day AS evaluated_day, judged.* FROM (SELECT unnest($days) AS day) AS evaluated, "
                f"LATERAL ({body}) AS judged")

    def days_parameters(self, days: list[Any], defaults: dict[str, Any]) -> dict[str, Any]:
        """`sql_over_days`'s parameters: the control's own, with `days` for `snapshot_date`."""
        parameters = self.sql_parameters(None, defaults)
        parameters.pop("snapshot_date", None)
        return {**parameters, "days": list(days)}

    def sql_parameters(self, snapshot_date: Any, defaults: dict[str, Any]) -> dict[str, Any]:
        """Only the parameters the SQL names: DuckDB rejects unused named parameters."""
        available = {**defaults, **self.parameters, "snapshot_date": snapshot_date}
        wanted = sorted(set(SQL_PARAMETER.findall(self.sql)))
        missing = [name for name in wanted if name not in available]
        if missing:
            raise CatalogueError(f"control {self.id!r}: field 'sql': parameter ${missing[0]} is not defined in "
                                 f"'parameters' or the catalogue defaults")
        return {name: available[name] for name in wanted}


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    defaults: dict[str, Any] = Field(default_factory=dict)
    controls: list[Control] = Field(min_length=1)

    @cached_property
    def by_id(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}


def load_catalogue(path: Path, warehouse_schema: duckdb.DuckDBPyConnection | None = None) -> Catalogue:
    """Parse, validate and (given a connection with the schema) compile every control's SQL."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: expected a mapping with 'version' and 'controls'")
    try:
        catalogue = Catalogue.model_validate(raw)
    except ValidationError as exc:
        raise CatalogueError(_describe(path, raw, exc)) from None
    seen: set[str] = set()
    for control in catalogue.controls:
        if control.id in seen:
            raise CatalogueError(f"{path}: control {control.id!r}: field 'id': duplicate id")
        seen.add(control.id)
    if warehouse_schema is not None:
        for control in catalogue.controls:
            compile_sql(control, catalogue.defaults, warehouse_schema, path)
    return catalogue


def compile_sql(control: Control, defaults: dict[str, Any], con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Bind the SQL against the schema (no data needed) and check the columns it returns."""
    from datetime import date

    try:
        params = control.sql_parameters(date(2000, 1, 1), defaults)
        cursor = con.execute(f"SELECT * FROM ({control.sql.strip().rstrip(';')}) LIMIT 0", params)
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    except duckdb.Error as exc:
        raise CatalogueError(f"{path}: control {control.id!r}: field 'sql': does not run: "
                             f"{str(exc).splitlines()[0]}") from None
    columns = [d[0] for d in cursor.description]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise CatalogueError(f"{path}: control {control.id!r}: field 'sql': must return columns "
                             f"{', '.join(REQUIRED_COLUMNS)}; missing {', '.join(missing)}")
    if control.system_sources and "dataset" not in columns:
        raise CatalogueError(f"{path}: control {control.id!r}: field 'sql': a control with system_sources must "
                             "return a 'dataset' column naming each row's source dataset")
    for source in [*control.sources, *control.system_sources]:
        table = "raw_" + source.replace(".", "_")
        if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [table]).fetchone():
            field = "sources" if source in control.sources else "system_sources"
            raise CatalogueError(f"{path}: control {control.id!r}: field {field!r}: unknown dataset {source!r} "
                                 f"(no table {table})")


def _describe(path: Path, raw: dict[str, Any], exc: ValidationError) -> str:
    """Turn pydantic's error into 'control <id>: field <name>: <problem>'."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    where = "catalogue"
    if len(loc) >= 2 and loc[0] == "controls" and isinstance(loc[1], int):
        controls = raw.get("controls") or []
        entry = controls[loc[1]] if loc[1] < len(controls) and isinstance(controls[loc[1]], dict) else {}
        where = f"control {entry.get('id', f'#{loc[1] + 1}')!r}"
        loc = loc[2:]
    field = ".".join(str(p) for p in loc) or "(entry)"
    message = error["msg"]
    if error["type"] == "missing":
        message = "is required but missing"
    elif error["type"] == "extra_forbidden":
        message = "is not a known field"
    return f"{path}: {where}: field {field!r}: {message}"
