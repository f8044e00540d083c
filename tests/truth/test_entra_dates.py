"""Graph's "no date" (DateTimeOffset.MinValue 0001-01-01T00:00:00Z, and its kin) is not a date: the connector maps
every sentinel to NULL in the one function that reads Graph timestamps, and the accounts view ignores NULLs, so an
account that never signed in non-interactively is not "last used 0001-01-01"."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.entra.streams import parse_graph_time
from tests.truth.entra_graph import Tenant, ago, judge, land, registration, user


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00.0000000Z",
        "0001-01-01T00:00:00+01:00",
        "1601-01-01T00:00:00Z",
        "9999-12-31T23:59:59.9999999Z",
        "",
        None,
    ],
)
def test_graph_no_date_sentinels_are_null(value: str | None) -> None:
    assert parse_graph_time(value) is None


def test_real_dates_still_parse() -> None:
    assert parse_graph_time("2026-11-18T09:15:41.6195833Z") == "2026-11-18T09:15:41.619583"
    assert parse_graph_time("2026-11-18T10:15:41+01:00") == "2026-11-18T09:15:41.000000"


def test_a_new_account_is_not_dormant_because_graph_said_never(tmp_path: Path) -> None:
    new = user("nia", created_days_ago=12)
    new["signInActivity"].update(
        lastSuccessfulSignInDateTime="0001-01-01T00:00:00Z",
        lastNonInteractiveSignInDateTime="0001-01-01T00:00:00Z",
        lastSignInDateTime=ago(2),
    )
    never = user("ned", created_days_ago=12)
    never["signInActivity"] = {
        "lastSignInDateTime": "0001-01-01T00:00:00Z",
        "lastNonInteractiveSignInDateTime": "0001-01-01T00:00:00Z",
        "lastSuccessfulSignInDateTime": "0001-01-01T00:00:00Z",
    }
    tenant = Tenant(users=[new, never], registrations=[registration(u, ["fido2"]) for u in (new, never)])
    warehouse = land(tenant, tmp_path)
    activity = {
        r["account_id"]: r["last_activity"]
        for r in warehouse.query("SELECT account_id, last_activity FROM accounts_entra")
    }
    assert activity["nia@contoso.example"].isoformat().startswith("2026-11-18")
    assert activity["ned@contoso.example"] is None
    dormant = judge(warehouse, ("cc6_2_dormant_accounts",))["cc6_2_dormant_accounts"]
    assert dormant["entra:nia@contoso.example"]["status"] == "pass"
    assert dormant["entra:nia@contoso.example"]["reason"] == "last used 2026-11-18"
    assert dormant["entra:ned@contoso.example"]["status"] == "pass"
    assert dormant["entra:ned@contoso.example"]["reason"].startswith("never used; created 2026-11-08")


def test_sentinels_landed_before_the_fix_are_read_as_null(tmp_path: Path) -> None:
    # days collected by an older connector still hold 0001-01-01; the history re-judges them through the view
    warehouse = land(Tenant(users=[user("old", created_days_ago=12)]), tmp_path)
    with warehouse.connect() as con:
        con.execute("UPDATE raw_entra_users SET last_successful_sign_in_at = TIMESTAMP '0001-01-01 00:00:00'")
    rows = warehouse.query("SELECT last_activity FROM accounts_entra")
    assert rows[0]["last_activity"].isoformat().startswith("2026-11-17")
