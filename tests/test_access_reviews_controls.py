"""The access-review controls' rules, each case written as raw rows and judged by the control's own SQL (no sandbox,
no run): a quarter over without a completed campaign fails, pending is unknown, revocations are judged from the
accounts collected after the decision (never the reviewer's word), and a self-review attempt fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.settings import project_file
from warehouse import schema_connection

CATALOGUE = load_catalogue(project_file("controls_map.yaml"))
CAMPAIGN = "2026-Q4-privileged"
DECIDED_ON = date(2026, 11, 19)
DUE = date(2026, 11, 19)
WINDOW = 5


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with schema_connection() as connection:
        yield connection


def judge(con: duckdb.DuckDBPyConnection, control_id: str, day: date) -> dict[str, dict[str, Any]]:
    control = CATALOGUE.by_id[control_id]
    cursor = con.execute(control.sql, control.sql_parameters(day, CATALOGUE.defaults))
    names = [d[0] for d in cursor.description]
    return {row["resource_id"]: row for row in (dict(zip(names, r, strict=True)) for r in cursor.fetchall())}


def campaign(
    con: duckdb.DuckDBPyConnection,
    day: date,
    campaign_id: str = CAMPAIGN,
    accounts: dict[str, str] | None = None,
    frozen_day: date = DECIDED_ON,
    due: date = DUE,
) -> None:
    """A campaign as the source lands it on `day`: account key -> its person's e-mail, reviewed by lea@x.test."""
    accounts = accounts if accounts is not None else {"github:ada": "ada@x.test", "github:ben": "ben@x.test"}
    quarter, scope = campaign_id.rsplit("-", 1)
    con.execute(
        "INSERT INTO raw_access_reviews_campaigns VALUES (?, 'r', ?, ?, ?, ?, now(), ?, 'x/v001', 'h', ?, ?, 'm')",
        [day, campaign_id, quarter[:7], scope, due, frozen_day, len(accounts), WINDOW],
    )
    for key, person in accounts.items():
        con.execute(
            "INSERT INTO raw_access_reviews_population VALUES (?, 'r', ?, ?, 'github', ?, ?, ?, NULL, 'lea@x.test', "
            "'manager', 'owner')",
            [day, campaign_id, key, key.split(":")[1], key.split(":")[1], person],
        )


def decision(
    con: duckdb.DuckDBPyConnection,
    day: date,
    key: str,
    decision: str = "keep",
    decided_by: str = "lea@x.test",
    decided_on: date = DECIDED_ON,
    status: str = "accepted",
    rejection: str | None = None,
    campaign_id: str = CAMPAIGN,
    bundle: str = "v002",
) -> None:
    con.execute(
        "INSERT INTO raw_access_reviews_decisions VALUES (?, 'r', ?, ?, 'lea@x.test', ?, ?, 'why', ?, "
        "?::TIMESTAMPTZ, ?, ?, ?)",
        [
            day,
            campaign_id,
            key,
            decided_by,
            decision,
            decided_on,
            f"{decided_on} 12:00:00+00",
            status,
            rejection,
            f"{campaign_id}/{bundle}",
        ],
    )


def github_day(
    con: duckdb.DuckDBPyConnection, day: date, owners: list[str], members: list[str] = (), status: str = "succeeded"
) -> None:
    """The GitHub organisation's members as collected on `day` (its source's collection status too)."""
    for login, role in [*((o, "ADMIN") for o in owners), *((m, "MEMBER") for m in members)]:
        con.execute(
            "INSERT INTO raw_github_members (snapshot_date, run_id, org, login, role, two_factor_enabled, url) "
            "VALUES (?, 'r', 'corp', ?, ?, true, 'https://github.com/x')",
            [day, login, role],
        )
    con.execute(
        "INSERT INTO collection_log (run_id, source, dataset, snapshot_date, status, finished_at) "
        "VALUES ('r', 'github', 'members', ?, ?, now())",
        [day, status],
    )


# -- cc6_3_access_review_decided --------------------------------------------------------------------------------


def test_an_undecided_account_is_pending_before_the_due_day_and_overdue_after_it(con) -> None:
    for day in (DUE, DUE + timedelta(days=1)):
        campaign(con, day)
        decision(con, day, "github:ada")
    before, after = (
        judge(con, "cc6_3_access_review_decided", DUE),
        judge(con, "cc6_3_access_review_decided", DUE + timedelta(days=1)),
    )
    assert before[f"{CAMPAIGN}/github:ada"]["status"] == after[f"{CAMPAIGN}/github:ada"]["status"] == "pass"
    assert before[f"{CAMPAIGN}/github:ben"]["status"] == "unknown"
    assert "pending: reviewer lea@x.test" in before[f"{CAMPAIGN}/github:ben"]["reason"]
    overdue = after[f"{CAMPAIGN}/github:ben"]
    assert (overdue["status"], overdue["failure"], overdue["reviewer"]) == ("fail", "overdue", "lea@x.test")
    assert "overdue: reviewer lea@x.test" in overdue["reason"]


def test_a_late_decision_or_ones_own_never_counts_as_decided_in_time(con) -> None:
    day = DUE + timedelta(days=3)
    campaign(con, day)
    decision(con, day, "github:ada", decided_on=DUE + timedelta(days=2))
    decision(con, day, "github:ben", decided_by="ben@x.test")  # accepted by mistake: still one's own access
    judged = judge(con, "cc6_3_access_review_decided", day)
    assert judged[f"{CAMPAIGN}/github:ada"]["failure"] == "decided_late"
    assert judged[f"{CAMPAIGN}/github:ben"]["failure"] == "overdue"


# -- cc6_3_access_review_quarterly ------------------------------------------------------------------------------


def test_a_quarter_over_without_a_completed_campaign_fails_and_the_current_one_is_unknown(con) -> None:
    day = date(2026, 11, 20)
    campaign(con, day)
    decision(con, day, "github:ada")  # ben undecided: not complete
    judged = judge(con, "cc6_3_access_review_quarterly", day)
    assert set(judged) == {"2026-Q3", "2026-Q4"}
    assert (judged["2026-Q3"]["status"], judged["2026-Q3"]["failure"]) == ("fail", "no_campaign")
    assert judged["2026-Q4"]["status"] == "unknown"
    assert "1 of 2 accounts decided" in judged["2026-Q4"]["reason"]
    decision(con, day, "github:ben")
    assert judge(con, "cc6_3_access_review_quarterly", day)["2026-Q4"]["status"] == "pass"
    # the next quarter: Q4 judged once more, now a quarter that is over, and passing on its campaign
    later = date(2027, 1, 5)
    campaign(con, later)
    decision(con, later, "github:ada")
    decision(con, later, "github:ben")
    judged = judge(con, "cc6_3_access_review_quarterly", later)
    assert (judged["2026-Q4"]["status"], judged["2027-Q1"]["status"]) == ("pass", "unknown")


def test_a_campaign_frozen_outside_its_quarter_does_not_complete_it(con) -> None:
    day = date(2026, 11, 20)
    campaign(con, day, "2026-Q3-privileged", frozen_day=date(2026, 11, 2), due=date(2026, 11, 10))
    for key in ("github:ada", "github:ben"):
        decision(con, day, key, decided_on=date(2026, 11, 3), campaign_id="2026-Q3-privileged")
    assert judge(con, "cc6_3_access_review_quarterly", day)["2026-Q3"]["status"] == "fail"


def test_a_campaign_unfinished_by_its_due_day_fails_its_quarter_once_over(con) -> None:
    day = date(2027, 1, 2)
    campaign(con, day)
    decision(con, day, "github:ada")
    decision(con, day, "github:ben", decided_on=DUE + timedelta(days=20))  # after the due day
    quarter = judge(con, "cc6_3_access_review_quarterly", day)["2026-Q4"]
    assert (quarter["status"], quarter["failure"]) == ("fail", "not_completed")


# -- cc6_3_access_review_revocations_done -----------------------------------------------------------------------


def revocation(con, day: date) -> dict[str, Any]:
    return judge(con, "cc6_3_access_review_revocations_done", day)[f"{CAMPAIGN}/github:ada"]


def test_a_revoke_carried_out_passes_naming_the_day_it_showed_in_the_collected_data(con) -> None:
    github_day(con, DECIDED_ON, owners=["ada", "ben"])
    day = DECIDED_ON + timedelta(days=1)
    github_day(con, day, owners=["ben"], members=["ada"])  # ada demoted: the privilege is gone
    campaign(con, day)
    decision(con, day, "github:ada", decision="revoke")
    decision(con, day, "github:ben")  # a keep: not in the population
    judged = judge(con, "cc6_3_access_review_revocations_done", day)
    assert set(judged) == {f"{CAMPAIGN}/github:ada"}
    row = judged[f"{CAMPAIGN}/github:ada"]
    assert row["status"] == "pass" and row["took_effect_on"] == day
    assert f"took effect: github no longer shows the account or its privilege on {day}" in row["reason"]


def test_a_revoke_not_carried_out_is_unknown_in_its_window_and_fails_after_it(con) -> None:
    for offset in range(0, WINDOW + 3):
        day = DECIDED_ON + timedelta(days=offset)
        github_day(con, day, owners=["ada"])
        campaign(con, day)
        decision(con, day, "github:ada", decision="revoke")
    inside = revocation(con, DECIDED_ON + timedelta(days=WINDOW))
    assert inside["status"] == "unknown" and "still shown by github" in inside["reason"]
    after = revocation(con, DECIDED_ON + timedelta(days=WINDOW + 1))
    assert (after["status"], after["failure"]) == ("fail", "not_revoked")


def test_the_reviewers_word_is_no_revocation_without_a_usable_later_day(con) -> None:
    github_day(con, DECIDED_ON, owners=["ada"])
    later = DECIDED_ON + timedelta(days=WINDOW + 2)
    # the later day's GitHub collection failed: its (missing) members prove nothing
    github_day(con, later, owners=[], status="failed")
    campaign(con, later)
    decision(con, later, "github:ada", decision="revoke")
    row = revocation(con, later)
    assert row["status"] == "unknown" and "no usable day of github" in row["reason"]


def test_a_revoke_carried_out_after_its_window_fails_as_late(con) -> None:
    late = DECIDED_ON + timedelta(days=WINDOW + 2)
    github_day(con, DECIDED_ON + timedelta(days=1), owners=["ada"])
    github_day(con, late, owners=[])
    campaign(con, late)
    decision(con, late, "github:ada", decision="revoke")
    row = revocation(con, late)
    assert (row["status"], row["failure"]) == ("fail", "revoked_late")


def test_a_demotion_does_not_carry_out_a_revoke_of_a_review_of_every_account(con) -> None:
    day = DECIDED_ON + timedelta(days=WINDOW + 1)
    github_day(con, day, owners=[], members=["ada"])
    campaign(con, day, "2026-Q4-all")
    decision(con, day, "github:ada", decision="revoke", campaign_id="2026-Q4-all")
    row = judge(con, "cc6_3_access_review_revocations_done", day)["2026-Q4-all/github:ada"]
    assert (row["status"], row["failure"]) == ("fail", "not_revoked")


# -- cc6_3_access_review_no_self_review -------------------------------------------------------------------------


def test_a_self_review_attempt_fails_though_rejected_and_an_accepted_one_fails_too(con) -> None:
    day = DECIDED_ON
    campaign(con, day)
    decision(
        con,
        day,
        "github:ada",
        decided_by="ada@x.test",
        status="rejected",
        rejection="self-review: decided_by is the account's own person",
    )
    decision(con, day, "github:ben", decided_by="ben@x.test", bundle="v003")  # accepted by mistake
    decision(con, day, "github:ada", bundle="v004")  # the reviewer decides it instead
    judged = judge(con, "cc6_3_access_review_no_self_review", day)
    assert judged[f"{CAMPAIGN}/v002:github:ada"]["failure"] == "self_review_attempt"
    assert judged[f"{CAMPAIGN}/v003:github:ben"]["failure"] == "self_review_accepted"
    assert judged[f"{CAMPAIGN}/v004:github:ada"]["status"] == "pass"
