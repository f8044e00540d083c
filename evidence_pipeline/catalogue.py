"""The control catalogue (controls_map.yaml): schema, validation, loading.

A malformed catalogue fails before any run, and the error names the control and
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warehouse import raw_table, schema_connection

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
#: Criterion family -> Dagster group of the control assets.
FAMILIES = {
    "CC1": "control_environment",
    "CC2": "communication",
    "CC3": "risk_assessment",
    "CC4": "monitoring",
    "CC5": "control_activities",
    "CC6": "logical_access",
    "CC7": "system_operations",
    "CC8": "change_management",
    "CC9": "risk_mitigation",
    "A1": "availability",
    "C1": "confidentiality",
    "PI1": "processing_integrity",
    "P": "privacy",
}
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
#: every control may read how its data was collected (the latest attempt's provenance: window, parameters, counts;
#: never a secret), e.g. to say unknown when the collected window does not cover the control's period
PROVENANCE_VIEW = "source_status"


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


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    defaults: dict[str, Any] = Field(default_factory=dict)
    controls: list[Control] = Field(min_length=1)

    @cached_property
    def by_id(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}


def load_catalogue(path: Path, warehouse_schema: duckdb.DuckDBPyConnection | None = None) -> Catalogue:
    """Parse and validate the catalogue, then check (`check_sql`) and compile every control's SQL against the warehouse
    schema (`warehouse_schema`, else an in-memory one made here). Nothing in the catalogue is ever executed."""
    try:
        raw = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
    if warehouse_schema is None:
        with schema_connection() as con:
            _compile_all(catalogue, con, path)
    else:
        _compile_all(catalogue, warehouse_schema, path)
    return catalogue


def _compile_all(catalogue: Catalogue, con: duckdb.DuckDBPyConnection, path: Path) -> None:
    schema = SqlSchema.of(con)
    for control in catalogue.controls:
        check_sql(control, con, path, schema)  # parsed only: nothing of the SQL runs or binds before it passes
        compile_sql(control, catalogue.defaults, con, path)


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
    for kind, name in _references(parsed["statements"][0]["node"], frozenset()):
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


def readable_relations(control: Control, systems: frozenset[str]) -> set[str]:
    """What a control's SQL may read: the raw tables of its datasets; `accounts_<system>` for a system it declares a
    dataset of; `accounts` (every system's accounts) when it declares every system, so that each row's `dataset` is
    one it checks; the identity views (IDENTITY_VIEWS) when, besides, it declares the HR roster or the identity map;
    and the provenance (PROVENANCE_VIEW). Never the results, verdicts, alerts or snapshots."""
    declared_sources = {d.split(".")[0] for d in control.datasets}
    readable = {PROVENANCE_VIEW, *(raw_table(*d.split(".")) for d in control.datasets)}
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
