"""Control SQL is sandboxed: exactly one SELECT over the control's own sources, no file, network or side effect, checked
by parsing before anything binds, and judged on a connection that can reach no file. Each attack is refused with one
line naming the control and the field, and leaves no trace: no file written, no row deleted, no file read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from evidence_pipeline.catalogue import CatalogueError, SqlSchema, catalogue_document, check_sql, load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from warehouse import Warehouse, schema_connection

CONTROL = "cc8_1_branch_review_rules"  # sources: github.repositories
DAY = date(2026, 11, 20)
COLUMNS = "'x' AS resource_id, 'pass' AS status"
CATALOGUE = load_catalogue(project_file("controls_map.yaml"))


@pytest.fixture(scope="module")
def schema():
    with schema_connection() as con:
        yield con, SqlSchema.of(con)


def _catalogue_with_sql(tmp_path: Path, sql: str) -> Path:
    data = catalogue_document(project_file("controls_map.yaml"))  # as one file, every control inline
    control = next(c for c in data["controls"] if c["id"] == CONTROL)
    control["sql"] = sql
    path = tmp_path / "controls_map.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _one_line(refused: pytest.ExceptionInfo[CatalogueError], path: Path) -> str:
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{path}: control '{CONTROL}': field 'sql': ")
    return message


def _loading_refuses(tmp_path: Path, sql: str, con=None) -> str:
    """The whole load of a catalogue whose control has `sql` (on `con`, else the in-memory schema)."""
    path = _catalogue_with_sql(tmp_path, sql)
    with pytest.raises(CatalogueError) as refused:
        load_catalogue(path, con)
    return _one_line(refused, path)


def _refusal(schema, sql: str) -> str:
    """check_sql alone (what loading runs first) on the control with `sql`: fast enough for every attack."""
    con, offered = schema
    path = Path("controls_map.yaml")
    with pytest.raises(CatalogueError) as refused:
        check_sql(CATALOGUE.by_id[CONTROL].model_copy(update={"sql": sql}), con, path, offered)
    return _one_line(refused, path)


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    """A warehouse with one collected repository, the day's collection logged as succeeded."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    with warehouse.connect() as con:
        con.execute(
            "INSERT INTO raw_github_repositories (snapshot_date, run_id, org, name, full_name) "
            "VALUES (?, 'run', 'acme', 'api', 'acme/api')",
            [DAY],
        )
        con.execute(
            "INSERT INTO collection_log (run_id, source, dataset, snapshot_date, status, record_count) "
            "VALUES ('run', 'github', 'repositories', ?, 'succeeded', 1)",
            [DAY],
        )
    return warehouse


def _repositories(warehouse: Warehouse) -> int:
    return warehouse.query("SELECT count(*) AS n FROM raw_github_repositories")[0]["n"]


# -- files and the network --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        (
            f"SELECT {COLUMNS}, column0 AS reason FROM read_csv('/etc/passwd', header = false)",
            "table function read_csv",
        ),
        (f"SELECT {COLUMNS}, content AS reason FROM read_text('/etc/passwd')", "table function read_text"),
        (f"SELECT {COLUMNS}, column0 AS reason FROM '/etc/passwd'", "reads /etc/passwd"),
        (f"SELECT {COLUMNS}, file AS reason FROM glob('/etc/*')", "table function glob"),
        (f"SELECT {COLUMNS}, 'r' AS reason FROM read_parquet('https://example.com/x.parquet')", "read_parquet"),
        (f"SELECT {COLUMNS}, 'r' AS reason FROM sniff_csv('/etc/passwd')", "table function sniff_csv"),
        (f"SELECT {COLUMNS}, 'r' AS reason FROM query('SELECT 1')", "table function query"),
        (f"SELECT {COLUMNS}, value AS reason FROM duckdb_settings()", "table function duckdb_settings"),
    ],
)
def test_control_sql_cannot_read_a_file_or_the_network(schema, sql: str, refused: str) -> None:
    assert refused in _refusal(schema, sql)


def test_a_file_is_refused_before_anything_opens_it(tmp_path: Path) -> None:
    """Refused by parsing: a file that does not exist is never looked for (binding read_csv would open it)."""
    missing = tmp_path / "never-opened.csv"
    message = _loading_refuses(tmp_path, f"SELECT {COLUMNS}, a AS reason FROM read_csv('{missing}')")
    assert "table function read_csv" in message and "No files found" not in message


# -- statements other than one SELECT ---------------------------------------------------------------------------


def test_a_breakout_copy_in_the_sql_writes_nothing_when_the_catalogue_loads(tmp_path: Path) -> None:
    target = tmp_path / "pwned.csv"
    sql = (
        f"SELECT {COLUMNS}, 'r' AS reason FROM raw_github_repositories) LIMIT 0; "
        f"COPY (SELECT 'pwned') TO '{target}'; SELECT * FROM (SELECT 1"
    )
    message = _loading_refuses(tmp_path, sql)
    assert "does not parse" in message or "single SELECT" in message
    assert not target.exists()


def test_a_breakout_delete_removes_no_raw_row(tmp_path: Path, warehouse: Warehouse) -> None:
    sql = (
        f"SELECT {COLUMNS}, 'r' AS reason FROM raw_github_repositories) LIMIT 0; "
        "DELETE FROM raw_github_repositories; SELECT * FROM (SELECT 1"
    )
    with warehouse.connect() as con:
        _loading_refuses(tmp_path, sql, con)
    assert _repositories(warehouse) == 1


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT {COLUMNS}, 'r' AS reason; SELECT {COLUMNS}, 'r' AS reason",
        "DELETE FROM raw_github_repositories",
        f"ATTACH '{Path('/tmp/other.duckdb')}' AS other",
        "SET enable_external_access = true",
        "INSTALL httpfs",
        "COPY raw_github_repositories TO '/tmp/out.csv'",
        "CREATE TABLE stolen AS SELECT 1",
    ],
)
def test_only_one_select_statement_is_accepted(schema, sql: str) -> None:
    message = _refusal(schema, sql)
    assert "only a single SELECT" in message or "2 statements" in message


# -- tables outside the control's sources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    [
        "raw_aws_credential_report",
        "control_results",
        "control_verdicts",
        "evidence_snapshots",
        "collection_log",
        "resolved_accounts",
        "accounts",
        "main.raw_aws_credential_report",
        "system.main.duckdb_settings",
    ],
)
def test_control_sql_reads_only_its_own_sources(schema, table: str) -> None:
    message = _refusal(schema, f"SELECT {COLUMNS}, 'r' AS reason FROM {table}")
    assert f"reads {table.removeprefix('main.')}," in message


def test_a_cte_named_like_a_table_does_not_open_that_table(schema) -> None:
    sql = (
        f"WITH control_results AS (SELECT * FROM control_results) SELECT {COLUMNS}, 'r' AS reason FROM control_results"
    )
    assert "reads control_results," in _refusal(schema, sql)


def test_the_identity_views_need_every_system_declared(schema) -> None:
    leavers = CATALOGUE.by_id["cc6_2_leavers_deprovisioned"]
    assert "resolved_accounts" in leavers.sql
    check_sql(leavers, schema[0], Path("controls_map.yaml"), schema[1])  # as declared: accepted
    without_github = leavers.model_copy(
        update={"system_sources": [s for s in leavers.system_sources if not s.startswith("github.")]}
    )
    with pytest.raises(CatalogueError, match=r"refused: reads resolved_accounts,"):
        check_sql(without_github, schema[0], Path("controls_map.yaml"), schema[1])


# -- functions ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "function"),
    [
        ("current_setting('home_directory')", "current_setting"),
        ("getvariable('x')", "getvariable"),
        ("CAST(sleep_ms(1) AS VARCHAR)", "sleep_ms"),
        ("CAST(pg_sleep(1) AS VARCHAR)", "pg_sleep"),
        ("CAST(nextval('s') AS VARCHAR)", "nextval"),
        ("CAST(setseed(0.1) AS VARCHAR)", "setseed"),
        ("CAST(get_block_size('memory') AS VARCHAR)", "get_block_size"),
        ("version()", "version"),
    ],
)
def test_functions_with_side_effects_or_reading_the_instance_are_refused(
    schema, expression: str, function: str
) -> None:
    message = _refusal(schema, f"SELECT {COLUMNS}, {expression} AS reason FROM raw_github_repositories")
    assert f"function {function}()" in message


# -- the judging connection ---------------------------------------------------------------------------------------


def test_judging_reaches_no_file_even_past_the_catalogue_and_landing_still_reads_files(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    """Defence in depth: SQL that skipped the catalogue's check (here: put on the control directly) still cannot read
    the signing key's file into the warehouse; afterwards, in the same process, a connection reads staged files again
    (landing's read_json): the judging settings ended with the judging connection."""
    key = tmp_path / "evidence-signing.pem"
    canary = "KEY-FILE-CANARY-3f9c"  # stands in for the key's text; a real-looking PEM would trip secret scanners
    key.write_text(canary + "\n")
    catalogue = CATALOGUE
    control = catalogue.by_id[CONTROL].model_copy(
        update={"sql": f"SELECT 'key' AS resource_id, 'pass' AS status, content AS reason FROM read_text('{key}')"}
    )
    outcome = evaluate_control(warehouse, catalogue, control, DAY, "attack")
    assert outcome.verdict == "unknown" and "disabled by configuration" in (outcome.error or "")
    stored = warehouse.query("SELECT reason FROM control_results UNION ALL SELECT reason FROM control_verdicts")
    assert stored and not any(canary in r["reason"] for r in stored)

    assert _repositories(warehouse) == 1

    staged = tmp_path / "staged.jsonl"
    staged.write_text('{"a": 1}\n')
    with warehouse.connect() as con:
        assert con.execute("SELECT a FROM read_json(?)", [str(staged)]).fetchall() == [(1,)]
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is True


# -- the real catalogue -------------------------------------------------------------------------------------------


def test_every_control_of_the_real_catalogue_passes_the_sandbox(schema) -> None:
    entries = catalogue_document(project_file("controls_map.yaml"))["controls"]
    assert [c.id for c in CATALOGUE.controls] == [e["id"] for e in entries]
    for control in CATALOGUE.controls:
        check_sql(control, schema[0], Path("controls_map.yaml"), schema[1])  # raises naming a refused control
