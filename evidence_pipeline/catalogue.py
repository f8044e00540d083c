"""The control catalogue: schema, validation, loading.

controls_map.yaml is the entry point: the defaults, the families, the shared dataset groups, and the files it
includes (`include:`, globs allowed: `controls/*.yaml`, one file per family, so a new source's controls come in a
file of their own). A control's SQL may stand in a file beside its family file (`sql_file:`); a catalogue may also
be one file with its controls inline.

Each control says in words how it is tested (`procedure`), for the auditor. The promises it evidences are not the
catalogue's: they come from the user's trust page (claims.py), read with the catalogue, hashed among its files.

A malformed catalogue (or trust page) fails before any run, and the error names the file, the control (promise) and
the field. Validation goes as far as compiling every control's SQL against the
migrated (empty) warehouse schema and checking the columns it returns.

Control SQL is sandboxed (`check_sql`): parsed, never run, before it is compiled, it must be exactly one SELECT that
reads only the raw tables of its declared datasets and the shared views those datasets feed, calls no table function
but `unnest`, `range` and `generate_series`, and only functions free of side effects. It is judged on a connection
that can reach no file or network (evaluate.judging_session).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from evidence_pipeline.claims import (
    TRUST_PAGE_FILE,
    TrustPage,
    TrustPageError,
    parse_trust_page,
    read_trust_page,
    trust_page_file,
    validation_problem,
)
from warehouse import raw_table, schema_connection, view_definitions

#: SOC 2 Trust Services Criteria (2017, revised points of focus 2022).
SOC2_CRITERIA: frozenset[str] = frozenset(
    [f"CC1.{i}" for i in range(1, 6)]
    + [f"CC2.{i}" for i in range(1, 4)]
    + [f"CC3.{i}" for i in range(1, 5)]
    + [f"CC4.{i}" for i in range(1, 3)]
    + [f"CC5.{i}" for i in range(1, 4)]
    + [f"CC6.{i}" for i in range(1, 9)]
    + [f"CC7.{i}" for i in range(1, 6)]
    + ["CC8.1"]
    + [f"CC9.{i}" for i in range(1, 3)]
    + [f"A1.{i}" for i in range(1, 4)]
    + [f"C1.{i}" for i in range(1, 3)]
    + [f"PI1.{i}" for i in range(1, 6)]
    + [
        "P1.1",
        "P2.1",
        "P3.1",
        "P3.2",
        "P4.1",
        "P4.2",
        "P4.3",
        "P5.1",
        "P5.2",
        "P6.1",
        "P6.2",
        "P6.3",
        "P6.4",
        "P6.5",
        "P6.6",
        "P6.7",
        "P7.1",
        "P8.1",
    ]
)
Model = TypeVar("Model", bound=BaseModel)
#: a family's or a dataset group's name; a dataset is "<source>.<dataset>"
NAME = re.compile(r"[a-z][a-z0-9_]*")
DATASET = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
REQUIRED_COLUMNS = ("resource_id", "status", "reason")
OPTIONAL_COLUMNS = ("resource_name", "resource_url", "failure", "dataset")
SQL_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")
SNAPSHOT_DATE = re.compile(r"\$snapshot_date\b")

# -- the control SQL sandbox (check_sql) -------------------------------------------------------------------------
#: the only table functions control SQL may call: none reads a file, the network, the catalogue or other SQL
#: (read_csv, read_json, read_text, glob, query, duckdb_settings, ... are refused by not being here)
TABLE_FUNCTIONS = frozenset({"unnest", "range", "generate_series"})
#: functions DuckDB declares free of side effects that still read the session, the instance or the query text: no
#: verdict needs them, and they would put the deployment's setup into evidence
SESSION_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getvariable",
        "current_query",
        "current_query_id",
        "current_connection_id",
        "current_transaction_id",
        "current_database",
        "current_catalog",
        "current_schema",
        "current_schemas",
        "in_search_path",
        "version",
        "json_serialize_sql",
        "json_deserialize_sql",
        "json_serialize_plan",
        "parse_duckdb_log_message",
    }
)
#: FROM items control SQL may use: a table or view by name, an allowed table function, a subquery, a join, VALUES
FROM_ITEMS = frozenset({"BASE_TABLE", "TABLE_FUNCTION", "SUBQUERY", "JOIN", "EXPRESSION_LIST", "EMPTY"})
#: query shapes: SELECT, UNION/EXCEPT/INTERSECT, WITH [RECURSIVE]
QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
#: the identity views (warehouse/views/identity.sql) and the dataset (one of them) a control reading them declares
IDENTITY_VIEWS = {"people": ("hr.roster",), "resolved_accounts": ("hr.roster", "identity.map")}
#: the views over one source's tables (warehouse/views/) and the datasets they read: a control reading one declares them
#: all, so that its sources' freshness and collection status speak for every row it judges
SOURCE_VIEWS = {"aws_rds_databases": ("aws.rds_instances", "aws.rds_clusters", "aws.regions")}
#: every control may read how its data was collected (the latest attempt's provenance: window, parameters, counts;
#: never a secret), e.g. to say unknown when the collected window does not cover the control's period
PROVENANCE_VIEW = "source_status"


class CatalogueError(ValueError):
    """The catalogue is malformed; the message names the file, the control and the field."""


def _dataset_names(value: list[str]) -> list[str]:
    bad = [s for s in value if not DATASET.fullmatch(s)]
    if bad:
        raise ValueError(f"sources must be '<source>.<dataset>', got {', '.join(bad)}")
    return value


class Claim(BaseModel):
    """A promise of the user's trust page (claims.py) that a control evidences, as the control shows it."""

    model_config = ConfigDict(extra="forbid")
    #: the trust page's name ("ByteMechanix LLC — Security Overview")
    page: str
    #: the page's heading the quote stands under
    section: str
    quote: str
    #: the promise's id in the trust page
    promise_id: str


class TestProcedure(BaseModel):
    """The written test procedure an auditor reads (the population is the control's `scope`)."""

    model_config = ConfigDict(extra="forbid")
    __test__ = False  # not a pytest test class, despite its name
    #: which records of which system and API were inspected
    inspected: str = Field(min_length=20)
    #: the attributes of each record that were tested
    attribute: str = Field(min_length=10)
    #: when a record passes, fails or is unknown, in words (exclusions and the unknown cases included)
    rule: str = Field(min_length=20)


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=5)
    criteria: list[str] = Field(min_length=1)
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
    #: the written test procedure: what was inspected, which attributes, the rule (the population is `scope`)
    procedure: TestProcedure

    @field_validator("criteria")
    @classmethod
    def known_criteria(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in SOC2_CRITERIA]
        if unknown:
            raise ValueError(f"unknown SOC 2 criterion {', '.join(unknown)}")
        return value

    #: the catalogue's family of its first criterion (controls_map.yaml `families`), set when the catalogue loads
    _family: str = PrivateAttr(default="controls")
    #: the trust page's promises this control evidences, set when the catalogue loads (not written in the catalogue:
    #: the promises are the user's, claims.py)
    _claims: list[Claim] = PrivateAttr(default_factory=list)
    #: the texts of the view files its SQL reads (warehouse/views/), set when the catalogue checks the SQL
    _views_sql: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("sources", "system_sources")
    @classmethod
    def source_names(cls, value: list[str]) -> list[str]:
        return _dataset_names(value)

    @property
    def family(self) -> str:
        """The Dagster group of the control's assets, and the name of its family file (controls/<family>.yaml)."""
        return self._family

    @property
    def claims(self) -> list[Claim]:
        """The promises of the trust page this control evidences; none when no promise names it or no page is set."""
        return self._claims

    @property
    def datasets(self) -> list[str]:
        return [*self.sources, *self.system_sources]

    @property
    def views_sql(self) -> str:
        """The text of the warehouse/views/ files defining the views this control's SQL reads (set when the
        catalogue checks the SQL), in name order; empty when it reads none."""
        return "".join(self._views_sql)

    @cached_property
    def sql_sha256(self) -> str:
        """The SQL's hash, with the views it reads: a changed view is changed SQL (history re-judges the days)."""
        return hashlib.sha256((self.sql + self.views_sql).encode()).hexdigest()

    def sql_over_days(self) -> str:
        """The control's SQL for many days in one query: each day of the list parameter `$days` stands where
        `$snapshot_date` stood (a LATERAL join, which DuckDB decorrelates into one set-based plan), and each row gains
        `evaluated_day`. For re-judging a period's history without a query per day."""
        body = SNAPSHOT_DATE.sub("evaluated.day", self.sql.strip().rstrip(";"))
        return (
            f"SELECT evaluated.day AS evaluated_day, judged.* FROM (SELECT unnest($days) AS day) AS evaluated, "
            f"LATERAL ({body}) AS judged"
        )

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
            raise CatalogueError(
                f"control {self.id!r}: field 'sql': parameter ${missing[0]} is not defined in "
                f"'parameters' or the catalogue defaults"
            )
        return {name: available[name] for name in wanted}


class EntryPoint(BaseModel):
    """controls_map.yaml's own keys."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    defaults: dict[str, Any] = Field(default_factory=dict)
    #: SOC 2 criterion family (`CC6`; `P` for every privacy criterion) -> the control family of its controls: the
    #: Dagster group of their assets and the name of their file, controls/<family>.yaml
    families: dict[str, str] = Field(min_length=1)
    #: named lists of datasets, declared once: a control's `sources` or `system_sources` may be
    #: `{group: <name>, except: [<dataset>, ...]}`, which loading expands to the group's datasets, in its order
    dataset_groups: dict[str, list[str]] = Field(default_factory=dict)
    #: files of controls, relative to this file's folder; a glob takes every file it matches, in name order
    include: list[str] = Field(default_factory=list)
    #: the order controls are judged and listed in; controls it does not name follow, in the order they were read
    order: list[str] = Field(default_factory=list)
    #: controls may stand here too (a one-file catalogue), before the included ones
    controls: list[Any] = Field(default_factory=list)

    @field_validator("families")
    @classmethod
    def family_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value.values() if not NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"a family is a lower-case name (its file is controls/<family>.yaml), got {bad[0]!r}")
        return value

    @field_validator("dataset_groups")
    @classmethod
    def group_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = [name for name in value if not NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"a dataset group's name is lower-case without a dot, got {bad[0]!r}")
        for datasets in value.values():
            _dataset_names(datasets)
        return value


class ControlsFile(BaseModel):
    """An included file (controls/<family>.yaml): its controls only."""

    model_config = ConfigDict(extra="forbid")
    controls: list[Any] = Field(min_length=1)


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    defaults: dict[str, Any] = Field(default_factory=dict)
    families: dict[str, str] = Field(default_factory=dict)
    controls: list[Control] = Field(min_length=1)
    #: every file the catalogue was read from, with the SHA-256 of the bytes read: the entry point first, then each
    #: included file followed by the SQL files its controls name, and last the trust page when there is one
    files: dict[Path, str] = Field(default_factory=dict)
    #: the user's trust page (claims.py) the controls' claims come from; None when none is configured
    trust_page: TrustPage | None = None
    #: the trust page's file and the bytes read from it (what a bundle carries as trust_page.yaml)
    _trust_page_file: Path | None = PrivateAttr(default=None)
    _trust_page_bytes: bytes | None = PrivateAttr(default=None)

    @cached_property
    def by_id(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}

    @property
    def trust_page_bytes(self) -> bytes | None:
        """The trust page exactly as read (its SHA-256 is in `files`), for a bundle's trust_page.yaml."""
        return self._trust_page_bytes

    def relative_name(self, file: Path) -> str:
        """`file`'s name relative to the entry point's folder (`controls/logical_access.yaml`); the trust page, which
        is the user's and may lie anywhere, is named as a bundle carries it: `trust_page.yaml`."""
        if file == self._trust_page_file:
            return TRUST_PAGE_FILE
        return file.relative_to(next(iter(self.files)).parent).as_posix()

    def catalogue_sha256(self) -> str:
        """One hash of every file the catalogue was read from: the SHA-256 of `sha256sum`'s listing of `files`, in
        order, named relative to the entry point's folder (`sha256sum controls_map.yaml controls/... | sha256sum`
        there gives the same)."""
        listing = "".join(f"{digest}  {self.relative_name(file)}\n" for file, digest in self.files.items())
        return hashlib.sha256(listing.encode()).hexdigest()


@dataclass(frozen=True)
class _Entry:
    """One control as written, and where: its file and its position in that file's `controls`."""

    file: Path
    index: int
    #: the control's mapping (its `sql_file` read into `sql`), or whatever else the file holds there
    raw: Any

    @property
    def id(self) -> Any:
        return self.raw.get("id") if isinstance(self.raw, dict) else None

    @property
    def name(self) -> str:
        return f"control {self.id if isinstance(self.id, str) else f'#{self.index + 1}'!r}"


@dataclass(frozen=True)
class _Read:
    entry_point: EntryPoint
    entries: list[_Entry]
    files: dict[Path, str]


def load_catalogue(
    path: Path,
    warehouse_schema: duckdb.DuckDBPyConnection | None = None,
    trust_page: Path | None | Literal["configured"] = "configured",
) -> Catalogue:
    """Read the catalogue from its entry point (`path`, controls_map.yaml) and the files it includes, validate it, then
    check (`check_sql`) and compile every control's SQL against the warehouse schema (`warehouse_schema`, else an
    in-memory one made here). Nothing in the catalogue is ever executed.

    `trust_page`: the user's trust page whose promises become the controls' claims; by default the one configured
    (claims.trust_page_file), None for none. A malformed one is a CatalogueError naming its file, promise and field."""
    path = Path(path)
    read = _read(path)
    families = read.entry_point.families
    try:
        catalogue = Catalogue.model_validate(
            {
                "version": read.entry_point.version,
                "defaults": read.entry_point.defaults,
                "families": families,
                "controls": [_expand_groups(entry, read.entry_point.dataset_groups, path) for entry in read.entries],
                "files": read.files,
            }
        )
    except ValidationError as exc:
        raise CatalogueError(_describe(exc, path, read.entries)) from None
    origin: dict[str, Path] = {}
    for entry, control in zip(read.entries, catalogue.controls, strict=True):
        if control.id in origin:
            first = f" (first in {origin[control.id]})" if origin[control.id] != entry.file else ""
            raise CatalogueError(f"{entry.file}: control {control.id!r}: field 'id': duplicate id{first}")
        origin[control.id] = entry.file
        control._family = _family(control, entry.file, families, path)
    _attach_trust_page(catalogue, trust_page_file() if trust_page == "configured" else trust_page)
    if warehouse_schema is None:
        with schema_connection() as con:
            _compile_all(catalogue, con, origin)
    else:
        _compile_all(catalogue, warehouse_schema, origin)
    return catalogue


def _attach_trust_page(catalogue: Catalogue, file: Path | None) -> None:
    """Read the trust page (its hash joins the catalogue's files) and give each control the promises naming it."""
    if file is None:
        return
    try:
        content, raw = read_trust_page(file)
        page = parse_trust_page(file, raw, set(catalogue.by_id))
    except TrustPageError as exc:
        raise CatalogueError(str(exc)) from None  # the same one line, surfaced wherever catalogue errors are
    catalogue.files[file] = hashlib.sha256(content).hexdigest()
    catalogue.trust_page, catalogue._trust_page_file, catalogue._trust_page_bytes = page, file, content
    for promise in page.promises:
        claim = Claim(page=page.name, section=promise.section, quote=promise.quote, promise_id=promise.id)
        for control_id in promise.controls:
            catalogue.by_id[control_id]._claims.append(claim)


def catalogue_document(path: Path) -> dict[str, Any]:
    """The catalogue at `path` as the content of one file: the entry point's keys with every control inline (its SQL
    file read in), in catalogue order; e.g. for a test to change and write as a one-file catalogue. Not validated
    beyond reading: load_catalogue validates."""
    read = _read(Path(path))
    document = read.entry_point.model_dump(include={"version", "defaults", "families", "dataset_groups"})
    return {**document, "controls": [entry.raw for entry in read.entries]}


def _compile_all(catalogue: Catalogue, con: duckdb.DuckDBPyConnection, origin: dict[str, Path]) -> None:
    schema = SqlSchema.of(con)
    for control in catalogue.controls:
        path = origin[control.id]  # the file the control is written in
        check_sql(control, con, path, schema)  # parsed only: nothing of the SQL runs or binds before it passes
        compile_sql(control, catalogue.defaults, con, path)


def _read(path: Path) -> _Read:
    """The entry point, then each file it includes, each checked for its own keys, with every control's SQL file
    read; the controls in catalogue order (`order`, then as read)."""
    files: dict[Path, str] = {}
    entry_point = _validated(EntryPoint, _read_mapping(path, files, "'version' and 'controls'"), path)
    entries = _entries(path, entry_point.controls, path.parent, files)
    for included in _included(path, entry_point.include):
        controls_file = _validated(ControlsFile, _read_mapping(included, files, "'controls'"), included)
        entries += _entries(included, controls_file.controls, path.parent, files)
    return _Read(entry_point, _ordered(entries, entry_point.order, path), files)


def _read_mapping(path: Path, files: dict[Path, str], expected: str) -> dict[str, Any]:
    content = path.read_bytes()
    files[path] = hashlib.sha256(content).hexdigest()
    try:
        raw = yaml.load(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None  # one line
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: expected a mapping with {expected}")
    return raw


def _validated(model: type[Model], raw: dict[str, Any], path: Path) -> Model:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise CatalogueError(_describe(exc, path, [])) from None


def _included(path: Path, patterns: list[str]) -> list[Path]:
    """The files `include` names, relative to the entry point's folder: a glob's matches in name order, each file once,
    never the entry point itself."""
    folder = path.parent
    where = f"{path}: catalogue: field 'include'"
    found: list[Path] = []
    for pattern in patterns:
        if Path(pattern).is_absolute():
            raise CatalogueError(f"{where}: {pattern!r} must be relative to {folder}")
        if any(char in pattern for char in "*?["):
            matches = sorted((match for match in folder.glob(pattern) if match.is_file()), key=Path.as_posix)
            if not matches:
                raise CatalogueError(f"{where}: {pattern!r} matches no file in {folder}")
        else:
            matches = [folder / pattern]
            if not matches[0].is_file():
                raise CatalogueError(f"{where}: {matches[0]} does not exist")
        for match in matches:
            _inside(match, folder, where)
            if match.resolve() != path.resolve() and all(match.resolve() != seen.resolve() for seen in found):
                found.append(match)
    return found


def _inside(file: Path, folder: Path, where: str) -> None:
    """Every file of the catalogue lies in the entry point's folder, so each has a name relative to it."""
    if not file.resolve().is_relative_to(folder.resolve()):
        raise CatalogueError(f"{where}: {file} is outside the catalogue's folder {folder}")


def _entries(file: Path, controls: list[Any], folder: Path, files: dict[Path, str]) -> list[_Entry]:
    entries = []
    for index, raw in enumerate(controls):
        entry = _Entry(file, index, raw)
        if isinstance(raw, dict) and "sql_file" in raw:
            sql = _read_sql_file(entry, folder, files)
            entry = _Entry(
                file,
                index,
                {("sql" if k == "sql_file" else k): (sql if k == "sql_file" else v) for k, v in raw.items()},
            )
        entries.append(entry)
    return entries


def _read_sql_file(entry: _Entry, folder: Path, files: dict[Path, str]) -> str:
    """The text of the control's `sql_file`, a .sql file named relative to the folder of the file the control is in."""
    where = f"{entry.file}: {entry.name}: field 'sql_file'"
    name = entry.raw["sql_file"]
    if "sql" in entry.raw:
        raise CatalogueError(f"{where}: give the SQL inline ('sql') or in a file ('sql_file'), not both")
    if not isinstance(name, str) or not name.endswith(".sql") or Path(name).is_absolute():
        raise CatalogueError(f"{where}: expected a .sql file's path relative to {entry.file.parent}, got {name!r}")
    sql_file = entry.file.parent / name
    _inside(sql_file, folder, where)
    if not sql_file.is_file():
        raise CatalogueError(f"{where}: {sql_file} does not exist")
    content = sql_file.read_bytes()
    files[sql_file] = hashlib.sha256(content).hexdigest()
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogueError(f"{where}: {sql_file} is not UTF-8 text") from None


def _ordered(entries: list[_Entry], order: list[str], path: Path) -> list[_Entry]:
    where = f"{path}: catalogue: field 'order'"
    twice = [control_id for control_id, count in Counter(order).items() if count > 1]
    if twice:
        raise CatalogueError(f"{where}: {twice[0]!r} is named twice")
    ids = {entry.id for entry in entries}
    unknown = [control_id for control_id in order if control_id not in ids]
    if unknown:
        raise CatalogueError(f"{where}: no control {unknown[0]!r} in the catalogue's files")
    rank = {control_id: position for position, control_id in enumerate(order)}
    return sorted(entries, key=lambda entry: rank.get(entry.id, len(order)))  # stable: the rest as read


def _expand_groups(entry: _Entry, groups: dict[str, list[str]], path: Path) -> Any:
    """The control with each `{group: <name>, except: [...]}` in `sources` or `system_sources` replaced by the group's
    datasets (controls_map.yaml `dataset_groups`) less those excepted, in the group's order."""
    if not isinstance(entry.raw, dict):
        return entry.raw
    control = dict(entry.raw)
    for field in ("sources", "system_sources"):
        reference = control.get(field)
        if not isinstance(reference, dict):
            continue
        where = f"{entry.file}: {entry.name}: field {field!r}"
        if "group" not in reference or set(reference) - {"group", "except"}:
            raise CatalogueError(f"{where}: a dataset group is written {{group: <name>, except: [<dataset>, ...]}}")
        group, excepted = reference["group"], reference.get("except", [])
        if group not in groups:
            defined = ", ".join(groups) or "none"
            raise CatalogueError(f"{where}: unknown dataset group {group!r} ({path.name} 'dataset_groups': {defined})")
        if not isinstance(excepted, list):
            raise CatalogueError(f"{where}: 'except' must be a list of datasets of group {group!r}")
        strays = [dataset for dataset in excepted if dataset not in groups[group]]
        if strays:
            raise CatalogueError(f"{where}: 'except' names {strays[0]!r}, which is not in dataset group {group!r}")
        control[field] = [dataset for dataset in groups[group] if dataset not in excepted]
    return control


def _family(control: Control, file: Path, families: dict[str, str], path: Path) -> str:
    """The family of the control's first criterion (`CC6.1` -> `CC6`; `P4.1` -> `P` unless `P4` is named); a control
    in a family's file (controls/<family>.yaml) must be of that family."""
    prefix = control.criteria[0].split(".")[0]
    family = families.get(prefix) or families.get(prefix.rstrip("0123456789"))
    if family is None:
        raise CatalogueError(
            f"{file}: control {control.id!r}: field 'criteria': no family for {prefix} in {path.name} 'families'"
        )
    if file != path and file.stem in families.values() and file.stem != family:
        raise CatalogueError(
            f"{file}: control {control.id!r}: field 'criteria': {control.criteria[0]} makes it a control of family "
            f"{family!r}, whose file is {family}.yaml, not {file.name}"
        )
    return family


@dataclass(frozen=True)
class SqlSchema:
    """What the warehouse schema offers control SQL, read once per catalogue load."""

    #: tables and views
    relations: frozenset[str]
    #: the systems with an `accounts_<system>` view
    systems: frozenset[str]
    #: functions control SQL may call (allowed_functions)
    functions: frozenset[str]

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection) -> SqlSchema:
        relations = frozenset(
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() "
                "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        )
        systems = frozenset(name.removeprefix("accounts_") for name in relations if name.startswith("accounts_"))
        return cls(relations, systems, allowed_functions(con))


def compile_sql(control: Control, defaults: dict[str, Any], con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Bind the SQL against the schema (no data needed, nothing executed) and check the columns it returns."""
    try:
        params = control.sql_parameters(date(2000, 1, 1), defaults)
        columns = con.sql(f"SELECT * FROM (\n{control.sql.strip().rstrip(';')}\n) AS judged", params=params).columns
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    except duckdb.Error as exc:
        raise CatalogueError(
            f"{path}: control {control.id!r}: field 'sql': does not run: {str(exc).splitlines()[0]}"
        ) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise CatalogueError(
            f"{path}: control {control.id!r}: field 'sql': must return columns "
            f"{', '.join(REQUIRED_COLUMNS)}; missing {', '.join(missing)}"
        )
    if control.system_sources and "dataset" not in columns:
        raise CatalogueError(
            f"{path}: control {control.id!r}: field 'sql': a control with system_sources must "
            "return a 'dataset' column naming each row's source dataset"
        )


def check_sql(control: Control, con: duckdb.DuckDBPyConnection, path: Path, schema: SqlSchema | None = None) -> None:
    """The sandbox, by parsing only (DuckDB's `json_serialize_sql`, which serializes one SELECT per statement and
    refuses every other kind): exactly one SELECT, reading only what `readable_relations` allows, calling only allowed
    functions. Raises CatalogueError naming the control, the field and what was refused."""
    schema = schema or SqlSchema.of(con)
    for source in control.datasets:
        if raw_table(*source.split(".")) not in schema.relations:
            field = "sources" if source in control.sources else "system_sources"
            raise CatalogueError(
                f"{path}: control {control.id!r}: field {field!r}: unknown dataset {source!r} "
                f"(no table {raw_table(*source.split('.'))})"
            )

    def refuse(what: str) -> CatalogueError:
        return CatalogueError(f"{path}: control {control.id!r}: field 'sql': refused: {what}")

    parsed = json.loads(
        con.execute("SELECT json_serialize_sql(?::VARCHAR)", [control.sql.strip().rstrip(";")]).fetchone()[0]
    )
    if parsed.get("error"):
        message = parsed.get("error_message") or "does not parse"
        if "Only SELECT" in message:
            raise refuse("only a single SELECT statement may be given (no COPY, ATTACH, SET, DDL or DML)")
        raise refuse(f"does not parse: {message.splitlines()[0]}")
    if len(parsed["statements"]) != 1:
        raise refuse(f"{len(parsed['statements'])} statements; exactly one SELECT may be given")
    readable = readable_relations(control, schema.systems)
    views = view_definitions()
    read: set[str] = set()
    for kind, name in _references(parsed["statements"][0]["node"], frozenset()):
        if kind == "table":
            read.add(name)
        match kind:
            case "query" if name not in QUERY_NODES:
                raise refuse(f"query of kind {name}")
            case "from" if name not in FROM_ITEMS:
                raise refuse(
                    f"FROM item of kind {name} (only tables, views, subqueries, joins, VALUES and "
                    f"{', '.join(sorted(TABLE_FUNCTIONS))})"
                )
            case "table" if name not in readable:
                raise refuse(
                    f"reads {name}, which is neither the raw table of a dataset in its sources or "
                    f"system_sources nor a shared view those datasets feed"
                )
            case "table function" if name not in TABLE_FUNCTIONS:
                raise refuse(f"table function {name}() (allowed: {', '.join(sorted(TABLE_FUNCTIONS))})")
            case "function" if name not in schema.functions and name not in TABLE_FUNCTIONS:
                raise refuse(f"function {name}() (side effects, or reads the session or instance)")
    # a file defining several views read counts once
    control._views_sql = tuple(dict.fromkeys(views[name] for name in sorted(read) if name in views))


def readable_relations(control: Control, systems: frozenset[str]) -> set[str]:
    """What a control's SQL may read: the raw tables of its datasets; `accounts_<system>` for a system it declares a
    dataset of; `accounts` (every system's accounts) when it declares every system, so that each row's `dataset` is
    one it checks; the identity views (IDENTITY_VIEWS) when, besides, it declares the HR roster or the identity map;
    a view over one source's tables (SOURCE_VIEWS) when it declares every dataset the view reads; and the provenance
    (PROVENANCE_VIEW). Never the results, verdicts, alerts or snapshots."""
    declared_sources = {d.split(".")[0] for d in control.datasets}
    readable = {PROVENANCE_VIEW, *(raw_table(*d.split(".")) for d in control.datasets)}
    readable |= {view for view, needs in SOURCE_VIEWS.items() if set(needs) <= set(control.datasets)}
    # a system is `<source>`, or `<source>_<kind>` for a source with a second kind of account (aws_identity_center)
    declared_systems = {
        system
        for system in systems
        if any(system == source or system.startswith(f"{source}_") for source in declared_sources)
    }
    readable |= {f"accounts_{system}" for system in declared_systems}
    if systems <= declared_systems:
        readable.add("accounts")
        readable |= {view for view, needs in IDENTITY_VIEWS.items() if set(needs) & set(control.datasets)}
    return readable


@cache
def _builtin_functions() -> frozenset[str]:
    """DuckDB's scalar, aggregate and window functions that it declares free of side effects (`has_side_effects`),
    less SESSION_FUNCTIONS; computed once per process."""
    with duckdb.connect() as con:
        return (
            frozenset(
                name
                for (name,) in con.execute(
                    "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN "
                    "('scalar', 'aggregate', 'window') AND NOT has_side_effects"
                ).fetchall()
            )
            - SESSION_FUNCTIONS
        )


def allowed_functions(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """`_builtin_functions`, plus each macro (DuckDB's or the warehouse's) whose body reads no table and calls only
    allowed functions: a macro may wrap anything (pg_sleep wraps sleep_ms, get_block_size a pragma)."""
    allowed = set(_builtin_functions())
    calls: dict[str, set[str] | None] = {}
    for name, parsed in con.execute(
        "SELECT function_name, json_serialize_sql('SELECT ' || macro_definition) "
        "FROM duckdb_functions() WHERE function_type = 'macro'"
    ).fetchall():
        if name in allowed:
            continue
        body = _expression_calls(json.loads(parsed)) if parsed else None
        # one overload that is not allowed refuses the name: the call does not say which overload it means
        refused = body is None or (name in calls and calls[name] is None)
        calls[name] = None if refused else (calls.get(name) or set()) | body
    while True:  # a macro may call another macro: add those whose calls are all allowed until nothing changes
        added = {name for name, body in calls.items() if body is not None and body <= allowed}
        if not added:
            return frozenset(allowed)
        allowed |= added
        calls = {name: body for name, body in calls.items() if name not in added}


def _expression_calls(parsed: dict[str, Any]) -> set[str] | None:
    """The functions a parsed `SELECT <expression>` calls, or None when it reads a table or has a subquery."""
    if parsed.get("error") or len(parsed["statements"]) != 1:
        return None
    references = list(_references(parsed["statements"][0]["node"], frozenset()))
    if any(kind in ("table", "table function") or (kind == "from" and name != "EMPTY") for kind, name in references):
        return None
    if sum(kind == "query" for kind, _ in references) != 1:
        return None
    return {name for kind, name in references if kind == "function"}


def _references(node: Any, ctes: frozenset[str]) -> Iterator[tuple[str, str]]:
    """Walk a parsed statement (json_serialize_sql's AST): every query node, FROM item, table or view read (by name,
    CTE names excepted where they are in scope), table function and function called."""
    if isinstance(node, list):
        for item in node:
            yield from _references(item, ctes)
        return
    if not isinstance(node, dict):
        return
    if "cte_map" in node:  # a query node
        yield "query", node.get("type", "")
        if node.get("type") == "RECURSIVE_CTE_NODE":
            ctes |= {(node.get("ctename") or "").lower()}
        # each CTE sees the ones before it (a CTE named like a table reads that table in its own body)
        for entry in node["cte_map"].get("map", []):
            yield from _references(entry["value"], ctes)
            ctes |= {entry["key"].lower()}
        rest = {k: v for k, v in node.items() if k != "cte_map"}
        for value in rest.values():
            yield from _references(value, ctes)
        return
    if "class" in node:  # an expression
        if node["class"] in ("FUNCTION", "WINDOW"):
            yield "function", (node.get("function_name") or "").lower()
    elif "sample" in node and "type" in node:  # a FROM item
        yield "from", node["type"]
        if node["type"] == "BASE_TABLE":
            # names are case-insensitive in DuckDB; a schema-qualified name is never a CTE's
            name = (node.get("table_name") or "").lower()
            schema, catalog = (node.get("schema_name") or "").lower(), (node.get("catalog_name") or "").lower()
            if catalog or schema not in ("", "main"):
                yield "table", ".".join(part for part in (catalog, schema, name) if part)
            elif schema or name not in ctes:
                yield "table", name
        elif node["type"] == "TABLE_FUNCTION":
            yield "table function", (node["function"].get("function_name") or "").lower()
            yield from _references(node["function"].get("arguments", []), ctes)
            return
    for value in node.values():
        yield from _references(value, ctes)


def _describe(exc: ValidationError, path: Path, entries: list[_Entry]) -> str:
    """Turn pydantic's error into '<file>: control <id>: field <name>: <problem>', naming the file the control is in."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    where = "catalogue"
    if len(loc) >= 2 and loc[0] == "controls" and isinstance(loc[1], int) and loc[1] < len(entries):
        entry = entries[loc[1]]
        path, where = entry.file, entry.name
        loc = loc[2:]
    field = ".".join(str(p) for p in loc) or "(entry)"
    return f"{path}: {where}: field {field!r}: {validation_problem(error)}"
