"""Access-review campaigns: the frozen population and its hashes, reviewers (never oneself), packets refused whole
when foreign or malformed, self-reviews recorded as rejected, and a campaign chain that verifies or raises."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from evidence_pipeline import cli
from evidence_pipeline.evidence.chain import MANIFEST, sha256_file
from evidence_pipeline.evidence.verify import verify_series
from evidence_pipeline.reviews.campaigns import (
    SELF_REVIEW,
    CampaignError,
    import_packet,
    read_campaigns,
    start_campaign,
)
from evidence_pipeline.reviews.packets import PACKET_COLUMNS
from tests.reviews.conftest import FROZEN_DAY, OWNER, START, Home, population_rows, write_daily

CAMPAIGN = "2026-Q4-privileged"
DUE = date(2026, 10, 19)
LATER = START + timedelta(days=2)


def start(home: Home, overrides: dict[str, str] | None = None, owner: str | None = OWNER) -> Path:
    return start_campaign(home.paths, "2026-Q4", "privileged", DUE, owner, overrides or {}, None, now=START)


def packet(bundle: Path, reviewer: str) -> list[dict[str, str]]:
    with (bundle / "packets" / f"{reviewer}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def returned(tmp_path: Path, rows: list[dict[str, str]], name: str = "returned.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def bundles(home: Home) -> list[Path]:
    return sorted(home.campaigns.glob(f"{CAMPAIGN}/v*"))


def test_start_freezes_the_population_with_its_hashes_and_assigns_reviewers_never_oneself(home: Home) -> None:
    bundle = start(home, overrides={"github": "ada@corp.test"})
    campaign = json.loads((bundle / "campaign.json").read_text())
    assert campaign["population_sha256"] == sha256_file(bundle / "population.csv")
    assert campaign["frozen_bundle"] == f"{FROZEN_DAY}/{home.daily.name}"
    assert campaign["frozen_bundle_manifest_sha256"] == sha256_file(home.daily / MANIFEST)
    assert (campaign["frozen_day"], campaign["due"], campaign["population_count"]) == (str(FROZEN_DAY), str(DUE), 7)
    with (bundle / "population.csv").open(newline="") as handle:
        assigned = {r["account_key"]: (r["reviewer"], r["reviewer_rule"]) for r in csv.DictReader(handle)}
    assert assigned == {
        # the override would make Ada her own reviewer: the next rule, her manager
        "github:ada-gh": ("bob@corp.test", "manager"),
        "github:frank-gh": ("ada@corp.test", "override github"),
        "github:bot": ("ada@corp.test", "override github"),
        "aws:111/bob": ("carol@corp.test", "manager"),
        "aws:111/break-glass": ("carol@corp.test", "approved owner"),
        # Carol has no manager; Eve's manager has left: the campaign's owner
        "entra:carol@corp.test": (OWNER, "fallback owner"),
        "google_workspace:eve@corp.test": (OWNER, "fallback owner"),
    }
    rows = packet(bundle, "bob@corp.test")
    assert [r["account_key"] for r in rows] == ["github:ada-gh"]
    assert list(rows[0]) == PACKET_COLUMNS
    assert (rows[0]["population_sha256"], rows[0]["decision"]) == (campaign["population_sha256"], "")
    sheet = load_workbook(bundle / "packets" / "bob@corp.test.xlsx")["packet"]
    assert [c.value for c in sheet[1]] == PACKET_COLUMNS
    assert sheet["D2"].value == "github:ada-gh"
    # the chain of campaigns verifies, and the daily chain ignores it
    assert len(verify_series(home.campaigns)) == 1
    assert [v.bundle for v in verify_series(home.paths.evidence)] == [home.daily]
    with pytest.raises(CampaignError, match="already started"):
        start(home)


def test_start_refuses_what_it_cannot_stand_on_and_writes_nothing(home: Home, tmp_path: Path) -> None:
    with pytest.raises(CampaignError, match=r"no reviewer other than their own person, e\.g\. entra:carol"):
        start(home, owner=None)
    with pytest.raises(CampaignError, match="no account of system 'gihub'"):
        start(home, overrides={"gihub": "ada@corp.test"})
    failed = [{"name": "entra.users", "status": "failed"}]
    later = write_daily(home.paths.evidence, home.key, FROZEN_DAY + timedelta(days=1), failed)
    with pytest.raises(CampaignError, match=r"entra\.users was failed that day"):
        start(home)  # the latest day: its population may lack Entra's accounts
    shutil.rmtree(later.parent)
    stand_in = {**population_rows()[0], "resource_id": "github.members", "details": json.dumps({"dataset": "x"})}
    later = write_daily(home.paths.evidence, home.key, FROZEN_DAY + timedelta(days=1), population=[stand_in])
    with pytest.raises(CampaignError, match="no account in cc6_3_privileged_access_review's population"):
        start(home)  # an empty population proves nothing
    shutil.rmtree(later.parent)
    tampered = home.daily / "controls" / "cc6_3_privileged_access_review" / "population.csv"
    tampered.chmod(0o600)
    tampered.write_text(tampered.read_text().replace("bob@corp.test", "mallory@corp.test"))
    with pytest.raises(CampaignError, match=rf"{FROZEN_DAY}/{home.daily.name}: .*population.csv: changed"):
        start(home)
    assert bundles(home) == []


def test_import_accepts_the_reviewers_rows_and_records_a_self_review_as_rejected(home: Home, tmp_path: Path) -> None:
    bundle = start(home, overrides={"github": "ada@corp.test"})
    rows = packet(bundle, "ada@corp.test")
    for row in rows:
        row["decision"] = "keep"
    rows[0].update(decision="revoke", comment="left the platform team")  # github:bot
    path = returned(tmp_path, rows)
    result = import_packet(home.paths, path, "sec@corp.test", now=LATER)
    assert (len(result.accepted), len(result.rejected)) == (2, 0)

    # Bob's packet: Ada decides on her own account (decided_by), Bob on nothing else
    rows = packet(bundle, "bob@corp.test")
    rows[0].update(decision="keep", decided_by="Ada@corp.test")
    path = returned(tmp_path, rows, "bob.csv")
    result = import_packet(home.paths, path, now=LATER)
    assert result.accepted == []
    assert [(r["account_key"], r["row"], r["rejection"]) for r in result.rejected] == [
        ("github:ada-gh", 2, SELF_REVIEW)
    ]
    assert (result.bundle / "returned" / "bob.csv").read_bytes() == path.read_bytes()

    (campaign,) = read_campaigns(home.campaigns)
    assert [(d["account_key"], d["decision"], d["status"], d["decided_on"]) for d in campaign.decisions] == [
        ("github:bot", "revoke", "accepted", str(LATER.date())),
        ("github:frank-gh", "keep", "accepted", str(LATER.date())),
        ("github:ada-gh", "keep", "rejected", str(LATER.date())),
    ]
    assert set(campaign.latest_decisions()) == {"github:bot", "github:frank-gh"}
    assert campaign.decisions[0]["import_bundle"] == bundles(home)[1].relative_to(home.campaigns).as_posix()
    progress = {p.reviewer: (p.decided, p.total, p.overdue) for p in campaign.progress(DUE + timedelta(days=1))}
    assert progress["ada@corp.test"] == (2, 2, False)
    assert progress["bob@corp.test"] == (0, 1, True)
    assert len(verify_series(home.campaigns)) == 3


def test_a_later_import_adds_rows_and_its_decision_counts(home: Home, tmp_path: Path) -> None:
    bundle = start(home, overrides={"github": "ada@corp.test"})
    rows = packet(bundle, "ada@corp.test")
    rows[1]["decision"] = "keep"  # github:frank-gh; github:bot left undecided
    first = import_packet(home.paths, returned(tmp_path, rows, "first.csv"), now=LATER)
    assert (len(first.accepted), first.undecided) == (1, 1)
    rows[1].update(decision="change", comment="drop the owner role, keep member")
    import_packet(home.paths, returned(tmp_path, rows, "second.csv"), now=LATER)
    (campaign,) = read_campaigns(home.campaigns)
    assert [d["decision"] for d in campaign.decisions] == ["keep", "change"]  # nothing imported is lost
    assert campaign.latest_decisions()["github:frank-gh"]["decision"] == "change"
    with pytest.raises(CampaignError, match="this very file was already imported"):
        import_packet(home.paths, tmp_path / "second.csv", now=LATER)


def test_a_workbook_resaved_by_a_spreadsheet_is_read(home: Home, tmp_path: Path) -> None:
    bundle = start(home)
    book = load_workbook(bundle / "packets" / "carol@corp.test.xlsx")
    sheet = book["packet"]
    columns = [c.value for c in sheet[1]]
    for number in range(2, sheet.max_row + 1):
        sheet.cell(number, columns.index("decision") + 1, "Keep")
        sheet.cell(number, columns.index("decided_on") + 1, datetime(2026, 10, 6))  # a date typed into a cell
    path = tmp_path / "carol.xlsx"
    book.save(path)
    result = import_packet(home.paths, path, now=LATER)
    assert sorted((d["account_key"], d["decision"], d["decided_on"]) for d in result.accepted) == [
        ("aws:111/bob", "keep", "2026-10-06"),
        ("aws:111/break-glass", "keep", "2026-10-06"),
    ]
    assert (result.bundle / "returned" / "carol.xlsx").read_bytes() == path.read_bytes()


def _edit(rows: list[dict[str, str]], **changes: str) -> list[dict[str, str]]:
    edited = [dict(r, decision="keep") for r in rows]
    edited[-1].update(changes)
    return edited


REFUSALS = [
    ("population", lambda rows: _edit(rows, population_sha256="0" * 64), "row 3: field population_sha256"),
    ("campaign", lambda rows: _edit(rows, campaign_id="2026-Q3-privileged"), "row 3: field campaign_id"),
    ("foreign row", lambda rows: _edit(rows, account_key="github:ada-gh"), "row 3: field account_key: 'github:ada-gh'"),
    ("reviewer", lambda rows: _edit(rows, reviewer="bob@corp.test"), "row 3: field reviewer"),
    ("decision", lambda rows: _edit(rows, decision="approve"), "row 3: field decision: 'approve'"),
    ("comment", lambda rows: _edit(rows, decision="revoke"), "row 3: field comment: required for revoke"),
    ("date", lambda rows: _edit(rows, decided_on="10/06/2026"), "row 3: field decided_on"),
    ("decided_by", lambda rows: _edit(rows, decided_by="Carol"), "row 3: field decided_by"),
    ("nothing decided", lambda rows: [dict(r, decision="") for r in rows], "no decision in the file"),
    ("column", lambda rows: [{k: v for k, v in r.items() if k != "comment"} for r in rows], "row 1: missing column"),
]


@pytest.mark.parametrize(("what", "change", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_foreign_or_wrong_packet_is_refused_whole_naming_file_and_row(
    home: Home, tmp_path: Path, what: str, change, message: str
) -> None:
    bundle = start(home)
    rows = change(packet(bundle, "carol@corp.test"))
    with pytest.raises(CampaignError, match=r"^returned\.csv: " + message.replace("(", r"\(")):
        import_packet(home.paths, returned(tmp_path, rows), now=LATER)
    assert bundles(home) == [bundle]  # nothing written, not even the good row


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("packet.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx workbook"),
        ("packet.csv", b"\xff\xfe\x00garbage", "not UTF-8 text"),
        ("packet.pdf", b"%PDF-1.7", "expected a .csv or .xlsx file"),
        ("packet.csv", b'campaign_id,population_sha256\n"unclosed', "line 2: not a well-formed CSV file"),
        ("packet.csv", b"campaign_id,population_sha256\nx,y\n", "row 1: missing column(s) reviewer, account_key"),
    ],
)
def test_a_malformed_file_is_one_line_at_the_command_line(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, message: str
) -> None:
    bundle = start(home)
    path = tmp_path / name
    path.write_bytes(data)
    assert cli.main(["review", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {name}: ") and message in err and err.count("\n") == 1, err
    assert bundles(home) == [bundle]


def test_a_tampered_campaign_bundle_makes_read_campaigns_raise(home: Home, tmp_path: Path) -> None:
    bundle = start(home)
    rows = [dict(r, decision="keep") for r in packet(bundle, "carol@corp.test")]
    imported = import_packet(home.paths, returned(tmp_path, rows), now=LATER).bundle
    assert cli.main(["verify", str(home.campaigns)]) == 0
    decisions = imported / "decisions.csv"
    decisions.chmod(0o600)
    decisions.write_text(decisions.read_text().replace('"keep"', '"revoke"'))
    location = imported.relative_to(home.campaigns).as_posix()
    assert cli.main(["verify", str(home.campaigns)]) == 1  # `verify` takes the campaigns folder as a series
    with pytest.raises(CampaignError, match=rf"{location}: decisions\.csv: changed"):
        read_campaigns(home.campaigns)
    with pytest.raises(CampaignError, match="does not verify"):
        import_packet(home.paths, returned(tmp_path, rows, "again.csv"), now=LATER)


def test_status_names_each_reviewer_with_decided_of_total(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    start(home)
    assert cli.main(["review", "status"]) == 0
    out = capsys.readouterr().out
    assert f"{CAMPAIGN}: 0 of 7 decided, due {DUE}" in out
    assert "  carol@corp.test: 0 of 2" in out and f"  {OWNER}: 0 of 3" in out


def test_every_account_scope_freezes_cc6_2s_population_and_reads_its_person(home: Home) -> None:
    """cc6_2_accounts_have_owner names the account's person as "belongs to <email> (matched by ...)"."""
    rows = population_rows()[:2]
    rows[0]["reason"] = "belongs to ada@corp.test (matched by alias)"
    rows[1]["reason"] = "the account shows no email and the identity map has no alias for it"
    day = FROZEN_DAY + timedelta(days=1)
    write_daily(home.paths.evidence, home.key, day, population=rows, control="cc6_2_accounts_have_owner")
    with pytest.raises(CampaignError, match="control cc6_2_accounts_have_owner cannot be read"):
        start_campaign(home.paths, "2026-Q4", "all", DUE, OWNER, {}, FROZEN_DAY, now=START)
    bundle = start_campaign(home.paths, "2026-Q4", "all", DUE, OWNER, {}, day, now=START)
    campaign = json.loads((bundle / "campaign.json").read_text())
    assert (campaign["campaign_id"], campaign["frozen_control"]) == ("2026-Q4-all", "cc6_2_accounts_have_owner")
    with (bundle / "population.csv").open(newline="") as handle:
        frozen = [(r["account_key"], r["person_email"], r["reviewer"]) for r in csv.DictReader(handle)]
    assert frozen == [("github:ada-gh", "ada@corp.test", "bob@corp.test"), ("github:frank-gh", "", OWNER)]
