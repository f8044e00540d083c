"""Identity resolution joins the HR roster on every e-mail-shaped identifier an account shows, not only its first."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from warehouse.store import ACCOUNT_COLUMN_TYPES, ACCOUNT_COLUMNS, apply_migrations

DAY = date(2026, 11, 20)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    apply_migrations(connection)
    connection.execute(
        "INSERT INTO raw_hr_roster (snapshot_date, run_id, email, name, status, start_date, end_date) VALUES "
        "(?, 'r', 'ada@corp.example', 'Ada', 'terminated', '2020-01-01', '2026-10-01'), "
        "(?, 'r', 'bob@corp.example', 'Bob', 'active', '2021-01-01', NULL)",
        [DAY, DAY],
    )
    return connection


def _accounts(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, list[str], str | None]]) -> None:
    """Stand in for every system's view: `accounts` with the given (account id, emails, primary email)."""
    values = ", ".join(
        f"('{DAY}'::DATE, 'test', '{account}', {repr(primary) if primary else 'NULL'}, {emails!r}::VARCHAR[], "
        f"'{account}', true, false, []::VARCHAR[], NULL, NULL, NULL, NULL, 'test.users')"
        for account, emails, primary in rows
    )
    casts = ", ".join(f"col{i}::{kind} AS {name}" for i, (name, kind) in enumerate(ACCOUNT_COLUMN_TYPES.items()))
    con.execute(f"CREATE OR REPLACE VIEW accounts AS SELECT {casts} FROM (VALUES {values})")


def test_a_person_is_found_by_any_of_the_accounts_identifiers(con: duckdb.DuckDBPyConnection) -> None:
    _accounts(
        con,
        [
            ("no-mail-upn-only", ["ADA+laptop@corp.example"], None),  # Entra: mail null, the UPN is the address
            ("second-identifier", ["nobody@corp.example", "bob@corp.example"], "nobody@corp.example"),
            ("nothing", [], None),
        ],
    )
    resolved = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT account_id, person_email, person_status, matched_by FROM resolved_accounts"
        ).fetchall()
    }
    assert resolved["no-mail-upn-only"] == ("ada@corp.example", "terminated", "email")
    assert resolved["second-identifier"] == ("bob@corp.example", "active", "email")
    assert resolved["nothing"] == (None, None, None)
    assert len(ACCOUNT_COLUMNS) == len(ACCOUNT_COLUMN_TYPES)


def test_the_first_identifier_that_is_a_person_wins(con: duckdb.DuckDBPyConnection) -> None:
    _accounts(con, [("both", ["bob@corp.example", "ada@corp.example"], "bob@corp.example")])
    assert con.execute("SELECT person_email FROM resolved_accounts").fetchall() == [("bob@corp.example",)]


def test_an_alias_outranks_every_identifier(con: duckdb.DuckDBPyConnection) -> None:
    _accounts(con, [("aliased", ["bob@corp.example"], "bob@corp.example")])
    con.execute(
        "INSERT INTO raw_identity_map VALUES (?, 'r', 'test:aliased', 'alias', 'ada@corp.example', NULL, NULL)", [DAY]
    )
    assert con.execute("SELECT person_email, matched_by FROM resolved_accounts").fetchall() == [
        ("ada@corp.example", "alias")
    ]
