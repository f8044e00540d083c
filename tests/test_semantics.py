"""Unit-level semantics on a scratch warehouse: stale sources, waivers, the identity map, alerts."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from connectors.identity_map import IdentityMap
from connectors.stream import SourceError
from evidence_pipeline.alerts import report_newly_failing
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control, source_states
from evidence_pipeline.settings import project_file
from evidence_pipeline.waivers import WaiverError, apply_waivers, load_waivers
from warehouse import Warehouse
from warehouse.results import failing_since

DAY = date(2026, 11, 20)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    return warehouse


def log_collection(
    warehouse: Warehouse,
    dataset: str,
    finished: str,
    source_timestamp: str | None,
    status: str = "succeeded",
    day: date = DAY,
) -> None:
    source, name = dataset.split(".")
    with warehouse.connect() as con:
        con.execute(
            "INSERT INTO collection_log (run_id, source, dataset, snapshot_date, status, finished_at, "
            "record_count, source_timestamp) VALUES ('r', ?, ?, ?, ?, ?, 0, ?)",
            [source, name, day, status, finished, source_timestamp],
        )


def test_a_source_older_than_its_freshness_window_is_stale(warehouse: Warehouse) -> None:
    log_collection(warehouse, "aws.credential_report", "2026-11-20T06:00:00+00:00", "2026-11-18T04:00:00+00:00")
    log_collection(warehouse, "hr.roster", "2026-11-20T06:00:00+00:00", "2026-11-20T05:00:00+00:00")
    states = {
        s["name"]: s
        for s in source_states(
            warehouse, ["aws.credential_report", "hr.roster"], DAY, {"aws.credential_report": 26, "hr.roster": 26}
        )
    }
    assert states["aws.credential_report"]["status"] == "stale"
    assert "50 h old" in states["aws.credential_report"]["error"]
    assert states["hr.roster"]["status"] == "succeeded"


def test_a_stale_required_source_makes_the_control_unknown_never_pass(warehouse: Warehouse) -> None:
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    control = catalogue.by_id["cc8_1_branch_review_rules"]
    log_collection(warehouse, "github.repositories", "2026-11-20T06:00:00+00:00", "2026-11-10T00:00:00+00:00")
    outcome = evaluate_control(warehouse, catalogue, control, DAY, "run", freshness_hours={"github.repositories": 26})
    assert outcome.verdict == "unknown"
    assert "github.repositories is stale" in outcome.reason


def test_waivers_cover_failing_rows_until_they_expire(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n"
        "  - {control: c1, resource: a, reason: replacement due, approver: cto, expires: 2026-12-01}\n"
        "  - {control: c1, resource: b, reason: replacement due, approver: cto, expires: 2026-11-01}\n"
        "  - {control: c1, resource: c, reason: replacement due, approver: cto, expires: 2026-12-01}\n"
    )
    waivers = load_waivers(path, {"c1"})
    assert waivers.source_sha256
    rows = [
        {"resource_id": r, "status": s, "reason": "why", "details": {}}
        for r, s in (("a", "fail"), ("b", "fail"), ("c", "pass"))
    ]
    apply_waivers(rows, waivers.for_control("c1"), DAY)
    assert [r["status"] for r in rows] == ["waived", "fail", "pass"]
    assert "waived until 2026-12-01 by cto" in rows[0]["reason"]
    assert "waiver expired on 2026-11-01" in rows[1]["reason"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("waivers:\n  - {control: c1, resource: a, approver: cto, expires: 2026-12-01}\n", "waiver #1: field 'reason'"),
        (
            "waivers:\n  - {control: c9, resource: a, reason: because, approver: cto, expires: 2026-12-01}\n",
            "waiver #1: field 'control': unknown control 'c9'",
        ),
        (
            "waivers:\n  - {control: c1, resource: a, reason: because, approver: cto, expires: soon}\n",
            "waiver #1: field 'expires'",
        ),
    ],
)
def test_a_malformed_waiver_names_the_waiver_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    with pytest.raises(WaiverError, match=message):
        load_waivers(path, {"c1"})


def test_the_identity_map_is_read_with_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "identity_map.yaml"
    path.write_text(
        "aliases:\n  github:Octo: Ada@Corp.test\napproved_accounts:\n"
        "  - {account: 'aws:1/svc', kind: service, owner: ada@corp.test, approved_by: cto, reason: ci}\n"
    )
    stream = IdentityMap(path)
    records = list(stream.records())
    assert records[0] == {
        "account_key": "github:octo",
        "kind": "alias",
        "person_email": "ada@corp.test",
        "approved_by": None,
        "reason": None,
    }
    assert records[1]["kind"] == "service" and records[1]["person_email"] == "ada@corp.test"
    assert len(stream.provenance.parameters["sha256"]) == 64 and stream.provenance.request_count == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aliases:\n  octocat: ada@corp.test\n", "aliases: account 'octocat' must be '<system>:<account id>'"),
        (
            "approved_accounts:\n  - {account: 'aws:1/x', kind: service, owner: a@b.c, reason: r}\n",
            "approved_accounts #1: field 'approved_by' is required",
        ),
        (
            "approved_accounts:\n  - {account: 'aws:1/x', kind: robot, owner: a@b.c, approved_by: x, reason: r}\n",
            "approved_accounts #1: field 'kind'",
        ),
        ("people: []\n", "expected only the keys"),
    ],
)
def test_a_malformed_identity_map_fails_naming_the_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "identity_map.yaml"
    path.write_text(text)
    with pytest.raises(SourceError, match=message):
        list(IdentityMap(path).records())


class Capture(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
        Capture.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def record_verdict(warehouse: Warehouse, day: date, control: str, verdict: str) -> None:
    with warehouse.connect() as con:
        con.execute(
            "INSERT INTO control_verdicts (snapshot_date, control_id, run_id, verdict, reason, population, "
            "passed, failed, unknown, waived, sql_sha256) VALUES (?, ?, 'r', ?, 'because', 3, 1, 2, 0, 0, "
            "'x')",
            [day, control, verdict],
        )


def test_newly_failing_controls_are_posted_once(warehouse: Warehouse) -> None:
    record_verdict(warehouse, date(2026, 11, 19), "still_failing", "fail")
    record_verdict(warehouse, date(2026, 11, 19), "newly_failing", "pass")
    for control in ("still_failing", "newly_failing"):
        record_verdict(warehouse, DAY, control, "fail")
    server = HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Capture.received.clear()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        first = report_newly_failing(warehouse, DAY, url)
        again = report_newly_failing(warehouse, DAY, url)
    finally:
        server.shutdown()
    assert [item.control_id for item in first] == ["newly_failing"] and again == []
    assert len(Capture.received) == 1 and "newly_failing is newly failing" in Capture.received[0]["text"]
    assert "still_failing" not in Capture.received[0]["text"]
    assert failing_since(warehouse, "still_failing", DAY) == date(2026, 11, 19)
    assert failing_since(warehouse, "newly_failing", DAY) == DAY
    delivered = warehouse.query("SELECT delivered_to FROM control_alerts")
    assert delivered == [{"delivered_to": "log+webhook"}]
