"""Identity resolution joins the HR roster on every e-mail-shaped identifier an account shows, not only its first."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.settings import project_file
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


def _sql(value: object) -> str:
    return "NULL" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)


def _accounts(
    con: duckdb.DuckDBPyConnection,
    rows: list[tuple[str, list[str], str | None]],
    active: bool | None = True,
    privileged: bool | None = False,
) -> None:
    """Stand in for every system's view: `accounts` with the given (account id, emails, primary email)."""
    values = ", ".join(
        f"('{DAY}'::DATE, 'aws', '{account}', {_sql(primary)}, {emails!r}::VARCHAR[], '{account}', {_sql(active)}, "
        f"{_sql(privileged)}, []::VARCHAR[], NULL, NULL, '2026-01-01'::TIMESTAMP, NULL, 'aws.authorization_details')"
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
        "INSERT INTO raw_identity_map VALUES (?, 'r', 'aws:aliased', 'alias', 'ada@corp.example', NULL, NULL)", [DAY]
    )
    assert con.execute("SELECT person_email, matched_by FROM resolved_accounts").fetchall() == [
        ("ada@corp.example", "alias")
    ]


def _judge(con: duckdb.DuckDBPyConnection, control_id: str) -> list[tuple[str, str, str]]:
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    control = catalogue.by_id[control_id]
    return con.execute(
        f"SELECT resource_id, status, reason FROM ({control.sql})", control.sql_parameters(DAY, catalogue.defaults)
    ).fetchall()


@pytest.mark.parametrize(
    "control_id",
    [
        "cc6_2_leavers_deprovisioned",
        "cc6_2_accounts_have_owner",
        "cc6_2_dormant_accounts",
        "cc6_3_privileged_access_review",
        "cc6_3_admin_count_within_bounds",
    ],
)
def test_an_account_whose_state_the_system_did_not_report_is_unknown_never_pass(
    con: duckdb.DuckDBPyConnection, control_id: str
) -> None:
    """An IAM user without a credential-report row has no known state: it may be an active leaver's account."""
    _accounts(
        con, [("leaver", ["ada@corp.example"], "ada@corp.example"), ("nobody", [], None)], active=None, privileged=True
    )
    rows = _judge(con, control_id)
    assert rows, f"{control_id} dropped the accounts whose state is unknown"
    assert all(reason for _, _, reason in rows)
    assert "unknown" in {status for _, status, _ in rows}, rows
