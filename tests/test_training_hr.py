"""Training (KnowBe4 API / CSV roster) and HR roster: pacing as the fake sees it, 429s, region
URLs, the CSV schemas' row errors, the file hash in provenance, and the scale reference."""

from __future__ import annotations

import hashlib
import random
from datetime import date
from pathlib import Path

import pytest
import requests

from connectors.csv_file import CsvValidationError
from connectors.hr import HrRoster
from connectors.knowbe4 import (
    PAGE_SIZE,
    REGIONS,
    KnowBe4Config,
    KnowBe4Enrollments,
    TrainingCsvEnrollments,
    make_session,
    resolve_base_url,
)
from connectors.stream import RequestPolicy, SourceError
from sandbox.company import SandboxOrg
from sandbox.hr.model import roster_row, write_roster
from sandbox.knowbe4 import model as knowbe4_model
from sandbox.knowbe4.serve import write_training_csv
from sandbox.knowbe4.server import KnowBe4App
from sandbox.org import _people
from sandbox.server import FakeServer

TODAY = date(2026, 11, 20)
API_KEY = "kb4-test-key-0123456789abcdef"


def people_org(size: int) -> SandboxOrg:
    """Only what training needs: the HR people and the KnowBe4 account (no other system built)."""
    org = SandboxOrg(seed=7, size=size, today=TODAY)
    org.people = _people(random.Random("7:people"), size, TODAY)
    org.systems["knowbe4"] = knowbe4_model.build(org, random.Random("7:knowbe4"))
    return org


@pytest.fixture(scope="module")
def knowbe4_1000():
    org = people_org(1000)
    server = FakeServer("knowbe4", KnowBe4App(org.systems["knowbe4"], {API_KEY})).start()
    yield org, server
    server.stop()


def stream_for(server: FakeServer, **kwargs) -> KnowBe4Enrollments:
    config = KnowBe4Config(api_key=API_KEY, api_url=server.url)
    return KnowBe4Enrollments(make_session(config), config.base_url, **kwargs)


# -- KnowBe4: pacing, retries, regions -------------------------------------------------------------


def test_requests_are_paced_to_four_a_second_at_the_server(knowbe4_1000) -> None:
    org, server = knowbe4_1000
    server.reset_log()
    records = list(stream_for(server).records())
    assert len(records) == len(org.systems["knowbe4"].enrollments) > 3 * PAGE_SIZE
    arrivals = [r.received_at for r in server.requests]
    assert len(arrivals) == len(records) // PAGE_SIZE + 1
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # the client sleeps 0.25 s before each send; the server-side gap may only lose scheduling jitter
    assert min(gaps) >= 0.25 - 0.02, gaps
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) * 0.25 - 0.02
    assert all("per_page=500" in r.query for r in server.requests)


def test_a_429_is_retried_after_retry_after_and_counted(knowbe4_1000) -> None:
    org, server = knowbe4_1000
    server.reset_log()
    server.inject("429", times=1, path_prefix="/v1/training/enrollments", retry_after=0.6)
    stream = stream_for(server)
    records = list(stream.records())
    assert len(records) == len(org.systems["knowbe4"].enrollments)
    assert stream.provenance.retry_count == 1
    assert "429" in stream.provenance.requests[0].retry_reasons[0]
    first, retried = server.requests[0], server.requests[1]
    assert first.query == retried.query  # the same page again
    assert retried.received_at - first.received_at >= 0.6 - 0.02
    assert len(server.requests) == len(records) // PAGE_SIZE + 2


def test_a_rejected_key_fails_at_once_without_leaking_it(knowbe4_1000) -> None:
    _, server = knowbe4_1000
    server.reset_log()
    wrong = "kb4-wrong-key-fedcba9876543210"
    stream = KnowBe4Enrollments(make_session(KnowBe4Config(api_key=wrong, api_url=server.url)), server.url)
    with pytest.raises(SourceError, match="401") as failure:
        list(stream.records())
    assert len(server.requests) == 1  # 401 is not retried
    assert stream.provenance.status == "failed"
    assert wrong not in str(failure.value) and wrong not in stream.provenance.to_json()
    assert wrong not in repr(KnowBe4Config(api_key=wrong, region="eu"))


class CapturingAdapter(requests.adapters.BaseAdapter):
    """Answers every request with an empty page and remembers what the real client sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response._content, response.url, response.request = 200, b"[]", request.url, request
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self) -> None:
        pass


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_each_region_sends_to_its_documented_base_url(region: str) -> None:
    config = KnowBe4Config(api_key=API_KEY, region=region.upper())
    session = make_session(config)
    adapter = CapturingAdapter()
    session.mount("https://", adapter)
    stream = KnowBe4Enrollments(session, config.base_url)
    assert list(stream.records()) == []
    [sent] = adapter.sent
    assert sent.method == "GET"
    assert sent.url == f"https://{region}.api.knowbe4.com/v1/training/enrollments?page=1&per_page=500"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert stream.provenance.parameters["base_url"] == f"https://{region}.api.knowbe4.com"


def test_region_resolution_rules() -> None:
    assert resolve_base_url("eu", "http://127.0.0.1:9/") == "http://127.0.0.1:9"  # an explicit URL wins
    with pytest.raises(ValueError, match="us, eu, ca, uk, de"):
        resolve_base_url("fr")
    with pytest.raises(ValueError, match="region"):
        resolve_base_url(None, None)


def test_course_pattern_decides_what_counts_as_security_awareness(knowbe4_1000) -> None:
    org, server = knowbe4_1000
    default = list(stream_for(server).records())
    custom = stream_for(server, course_pattern=r"code of conduct")
    records = list(custom.records())
    assert custom.provenance.parameters["course_pattern"] == "code of conduct"
    assert {r["course"] for r in default if r["security_awareness"]} == {
        knowbe4_model.SECURITY_MODULE,
        knowbe4_model.ONBOARDING_MODULE,
    }
    assert {r["course"] for r in records if r["security_awareness"]} == {"Code of Conduct Policy"}
    # emails come back lower-cased even where KnowBe4 shows capitals
    [mixed] = org.systems["knowbe4"].planted["mixed_case_email"]
    shown = {e.email for e in org.systems["knowbe4"].enrollments if e.email.lower() == mixed}
    assert shown != {mixed} and {r["email"] for r in default if r["email"] == mixed} == {mixed}


def test_csv_roster_and_api_give_the_same_enrollments(knowbe4_1000, tmp_path: Path) -> None:
    org, server = knowbe4_1000
    api = list(stream_for(server).records())
    path = write_training_csv(org.systems["knowbe4"], tmp_path / "training.csv")
    stream = TrainingCsvEnrollments(path)
    from_csv = list(stream.records())

    def key(r):
        return (
            r["email"],
            r["course"],
            r["completed"],
            r["security_awareness"],
            (r["completion_date"] or "")[:10],
            (r["enrollment_date"] or "")[:10],
        )

    assert sorted(map(key, api)) == sorted(map(key, from_csv))
    assert {r["provider"] for r in from_csv} == {"csv"}
    assert stream.provenance.payload_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_training_csv_rows_are_each_named(tmp_path: Path) -> None:
    path = tmp_path / "training.csv"
    path.write_text(
        "email,course,status,enrollment_date,completion_date\n"
        "ada@example-corp.test,Security Awareness,completed,2026-01-02,2026-01-03\n"
        "ben@example-corp.test,Security Awareness,done,2026-01-02,2026-01-03\n"
        "cleo@example-corp.test,Security Awareness,completed,2026-01-02,\n"
        "dev@example-corp.test,,in_progress,02/01/2026,\n"
    )
    stream = TrainingCsvEnrollments(path)
    with pytest.raises(CsvValidationError) as failure:
        list(stream.records())
    assert [(p.row, p.column) for p in failure.value.problems] == [
        (3, "status"),
        (4, "completion_date"),
        (5, "course"),
        (5, "enrollment_date"),
    ]
    assert "row 3, column 'status': 'done' is not one of" in str(failure.value)
    assert stream.provenance.status == "failed" and stream.provenance.record_count == 0


# -- HR roster ---------------------------------------------------------------------------------------


def test_hr_roster_reads_every_person_and_hashes_the_file(tmp_path: Path) -> None:
    org = people_org(50)
    path = write_roster(org.people, tmp_path / "roster.csv")
    stream = HrRoster(path)
    records = list(stream.records())
    assert [r["email"] for r in records] == [p.email for p in org.people]
    for record, person in zip(records, org.people, strict=True):
        expected = {k: (v or None) for k, v in roster_row(person).items()}
        assert {k: record[k] for k in expected} == expected
    assert stream.provenance.payload_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert stream.provenance.source_timestamp and stream.provenance.request_count == 1
    assert stream.provenance.requests[0].endpoint == path.resolve().as_uri()
    assert {r["status"] for r in records} == {"active", "terminated"}


def test_bad_hr_rows_fail_the_roster_with_row_column_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        "Email,Name,Status,Start_Date,End_Date,Manager,Department,Employee_Id\n"
        "Ada.Adler@Example-Corp.test,Ada Adler,Active,2024-01-02,,,Engineering,1\n"  # fine (case, extra column)
        "ben@example-corp.test,Ben Baptiste,on leave,2024-01-02,,,Sales,2\n"  # row 3: status
        "not-an-email,Cleo Chen,active,2024-01-02,,,Sales,3\n"  # row 4: email
        "dev@example-corp.test,,active,2024-13-02,,boss,Sales,4\n"  # row 5: name, start, manager
        "eli@example-corp.test,Eli Eze,terminated,2024-01-02,,,Finance,5\n"  # row 6: end_date missing
        "fay@example-corp.test,Fay Fischer,terminated,2024-05-02,2024-01-01,,Finance,6\n"  # row 7: end < start
        "ada.adler@example-corp.test,Ada Again,active,2024-01-02,,,People,7\n"  # row 8: duplicate
        "gus@example-corp.test,Gus Garcia,active\n"  # row 9: short row
    )
    stream = HrRoster(path)
    yielded = []
    with pytest.raises(CsvValidationError) as failure:
        for record in stream.records():
            yielded.append(record)
    assert yielded == []  # nothing loads from a file with bad rows
    assert [(p.row, p.column) for p in failure.value.problems] == [
        (3, "status"),
        (4, "email"),
        (5, "start_date"),
        (5, "name"),
        (5, "manager"),
        (6, "end_date"),
        (7, "end_date"),
        (8, "email"),
        (9, "*"),
    ]
    message = str(failure.value)
    assert "9 problem(s) in 7 row(s)" in message
    assert "row 8, column 'email': duplicate of row 2 (ada.adler@example-corp.test)" in message
    assert "row 7, column 'end_date': 2024-01-01 is before start_date 2024-05-02" in message
    assert stream.provenance.status == "failed"


def test_hr_nul_bytes_and_emails_equal_once_normalized_refuse_the_roster(tmp_path: Path) -> None:
    """A NUL byte cuts a value short in C-based tools; emails that differ only in case, surrounding spaces or a
    `+tag` are one person to identity resolution (identity.sql's normalize_email), so two rows of them would make
    one person's accounts match either row."""
    path = tmp_path / "roster.csv"
    path.write_text(
        "email,name,status,start_date,end_date,manager,department\n"
        "ada@corp.com,Ada Adler,active,2024-01-02,,,Engineering\n"  # row 2
        "ben@corp.com,Ben\x00 Baptiste,active,2024-01-02,,,Sales\n"  # row 3: NUL in name
        " Ada@Corp.com ,Ada Again,active,2024-01-02,,,People\n"  # row 4: case and spaces
        "ada+payroll@corp.com,Ada Payroll,active,2024-01-02,,,Finance\n"  # row 5: +tag
        "cleo@corp.com,Cleo Chen,active,2024-01-02,,,Sales\x00\n"  # row 6: NUL in department
        "dev@corp.com,Dev Diaz,active,2024-01-02,,,Sales\n"  # fine
    )
    stream = HrRoster(path)
    with pytest.raises(CsvValidationError) as failure:
        list(stream.records())
    assert [(p.row, p.column) for p in failure.value.problems] == [
        (3, "name"),
        (4, "email"),
        (5, "email"),
        (6, "department"),
    ]
    message = str(failure.value)
    assert "row 3, column 'name': holds a NUL byte at character 4" in message
    assert "row 4, column 'email': duplicate of row 2 (ada@corp.com)" in message
    assert "row 5, column 'email': duplicate of row 2 (ada@corp.com)" in message
    assert "\x00" not in message and stream.provenance.record_count == 0


def test_hr_roster_missing_column_or_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("email,name,status,start_date\nada@example-corp.test,Ada,active,2024-01-01\n")
    with pytest.raises(CsvValidationError, match="row 1, column 'end_date': column missing"):
        list(HrRoster(path).records())
    with pytest.raises(SourceError, match="cannot read"):
        list(HrRoster(tmp_path / "absent.csv").records())


def test_hr_planted_joiners_and_leavers_exist_at_size_50() -> None:
    from sandbox.hr.model import build

    org = people_org(50)
    data = build(org, random.Random(1))
    assert all(data.planted[case] for case in ("leavers", "joiners_in_window", "joiners_past_window"))
    assert data.people is org.people


# -- scale -------------------------------------------------------------------------------------------


class UnpacedEnrollments(KnowBe4Enrollments):
    policy = RequestPolicy(min_interval=0.0)


def test_forty_thousand_enrollments_build_and_serve() -> None:
    # how long it takes is the bench's to print (python -m bench), not a test's to bound
    org = people_org(20_000)
    enrollments = len(org.systems["knowbe4"].enrollments)
    assert enrollments >= 40_000
    server = FakeServer("knowbe4", KnowBe4App(org.systems["knowbe4"], {API_KEY})).start()
    try:
        stream = UnpacedEnrollments(make_session(KnowBe4Config(api_key=API_KEY, api_url=server.url)), server.url)
        count = sum(1 for _ in stream.records())
    finally:
        server.stop()
    assert count == enrollments
    assert stream.provenance.request_count == enrollments // PAGE_SIZE + 1


# -- Dagster wiring ----------------------------------------------------------------------------------


def materialize(spec, resource_key: str, resource, home: Path):
    import dagster as dg

    from evidence_pipeline.defs.resources import WarehouseResource
    from evidence_pipeline.defs.sources.factory import source_step

    return dg.materialize(
        [source_step([spec], resource_key)],
        partition_key=TODAY.isoformat(),
        raise_on_error=False,
        resources={resource_key: resource, "warehouse": WarehouseResource(home=str(home))},
    )


def collected_checks(result) -> list[tuple[bool, str]]:
    """The `collected` checks a source step ran: (passed, description) each."""
    return [
        (e.event_specific_data.passed, e.event_specific_data.description or "")
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == "collected"
    ]


def collection_log(home: Path) -> list[dict]:
    from evidence_pipeline.settings import Paths
    from warehouse import Warehouse

    return Warehouse(Paths(home).warehouse).query(
        "SELECT source, dataset, status, error, record_count, request_count, payload_sha256, provenance "
        "FROM collection_log ORDER BY logged_at"
    )


def test_training_and_hr_assets_land_their_day(knowbe4_1000, tmp_path: Path) -> None:
    from evidence_pipeline.defs.sources import hr, training
    from evidence_pipeline.settings import Paths
    from warehouse import Warehouse

    org, server = knowbe4_1000
    roster = write_roster(org.people, tmp_path / "roster.csv")
    home = tmp_path / "home"
    resource = training.TrainingResource(api_key=API_KEY, api_url=server.url, course_pattern="security awareness")
    assert materialize(training.DATASETS[0], "training", resource, home).success
    assert materialize(hr.DATASETS[0], "hr", hr.HrResource(roster_path=str(roster)), home).success
    logs = {(r["source"], r["dataset"]): r for r in collection_log(home)}
    assert logs[("training", "enrollments")]["status"] == "succeeded"
    assert logs[("training", "enrollments")]["request_count"] == len(org.systems["knowbe4"].enrollments) // 500 + 1
    assert logs[("hr", "roster")]["payload_sha256"] == hashlib.sha256(roster.read_bytes()).hexdigest()
    assert API_KEY not in logs[("training", "enrollments")]["provenance"]
    warehouse = Warehouse(Paths(home).warehouse)
    counts = warehouse.query(
        "SELECT (SELECT count(*) FROM raw_training_enrollments WHERE snapshot_date = $d) AS enrollments, "
        "(SELECT count(*) FROM raw_hr_roster WHERE snapshot_date = $d) AS people, "
        "(SELECT count(*) FROM raw_training_enrollments WHERE completion_date IS NOT NULL AND completed) AS done",
        {"d": TODAY},
    )[0]
    assert counts["enrollments"] == len(org.systems["knowbe4"].enrollments)
    assert counts["people"] == len(org.people)
    assert counts["done"] == sum(1 for e in org.systems["knowbe4"].enrollments if e.completion_date)


def test_unconfigured_or_doubly_configured_training_is_reported(tmp_path: Path) -> None:
    from evidence_pipeline.defs.sources import hr, training

    home = tmp_path / "home"
    assert training.TrainingResource(api_key="k").missing_settings() == [
        "KNOWBE4_REGION (us, eu, ca, uk, de) or KNOWBE4_API_URL"
    ]
    assert training.TrainingResource(csv_path="/x.csv").missing_settings() == []
    unconfigured = materialize(training.DATASETS[0], "training", training.TrainingResource(), home)
    assert unconfigured.success and [passed for passed, _ in collected_checks(unconfigured)] == [False]
    assert materialize(hr.DATASETS[0], "hr", hr.HrResource(), home).success
    both = training.TrainingResource(api_key="k", region="us", csv_path=str(tmp_path / "t.csv"))
    refused = materialize(training.DATASETS[0], "training", both, home)
    # the step goes on (its controls are judged unknown in the same run); the dataset's check fails with the cause
    assert refused.success
    [(passed, description)] = collected_checks(refused)
    assert not passed and "configure one provider" in description
    statuses = [(r["source"], r["status"], r["error"]) for r in collection_log(home)]
    assert statuses[0][:2] == ("training", "not_configured") and "TRAINING_CSV_PATH" in statuses[0][2]
    assert statuses[1][:2] == ("hr", "not_configured") and "HR_ROSTER_PATH" in statuses[1][2]
    assert statuses[2][:2] == ("training", "failed") and "configure one provider" in statuses[2][2]


# -- controls ----------------------------------------------------------------------------------------


def land(warehouse, stream, tmp_path: Path) -> None:
    from warehouse import stage_records

    staged = tmp_path / f"{stream.source}.jsonl"
    stage_records(stream.records(), staged)
    warehouse.land(stream.source, stream.dataset, TODAY, "test-run", staged, stream.provenance)


def evaluate_training_controls(
    org: SandboxOrg, tmp_path: Path, extra_roster_rows: str = ""
) -> dict[str, dict[str, dict]]:
    """Land the org's HR roster and KnowBe4 enrollments (through the real connectors), evaluate both controls."""
    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.evaluate import evaluate_control
    from evidence_pipeline.settings import project_file
    from warehouse import Warehouse

    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    roster = write_roster(org.people, tmp_path / "roster.csv")
    if extra_roster_rows:
        roster.write_text(roster.read_text() + extra_roster_rows)
    land(warehouse, HrRoster(roster), tmp_path)
    server = FakeServer("knowbe4", KnowBe4App(org.systems["knowbe4"], {API_KEY})).start()
    try:
        land(
            warehouse,
            UnpacedEnrollments(make_session(KnowBe4Config(api_key=API_KEY, api_url=server.url)), server.url),
            tmp_path,
        )
    finally:
        server.stop()
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    results = {}
    for control_id in ("cc1_4_security_training_current", "cc1_4_new_hire_training"):
        outcome = evaluate_control(warehouse, catalogue, catalogue.by_id[control_id], TODAY, "test-run")
        results[control_id] = {r["resource_id"]: r for r in outcome.rows}
    return results


@pytest.mark.parametrize("size", [50, 1000])
def test_training_controls_fail_exactly_the_planted_people(size: int, tmp_path: Path) -> None:
    org = people_org(size)
    planted = org.systems["knowbe4"].planted
    results = evaluate_training_controls(org, tmp_path)
    current, new_hire = results["cc1_4_security_training_current"], results["cc1_4_new_hire_training"]
    for control_id, rows in results.items():
        assert {r for r, row in rows.items() if row["status"] == "fail"} == org.expected[control_id]
        assert org.expected[control_id], control_id
    # population: active people only, leavers never judged
    assert set(current) == {p.email for p in org.people if p.status == "active"}
    assert planted["leavers"].isdisjoint(current) and planted["leavers"].isdisjoint(new_hire)
    # each failure kind says why
    failures = {r: row["failure"] for r, row in current.items() if row["status"] == "fail"}
    assert {failures[e] for e in planted["expired"]} == {"expired"}
    assert {failures[e] for e in planted["other_course_only"]} == {"not_enrolled"}
    assert {failures[e] for e in planted["never_completed"] | planted["new_hire_overdue"]} == {"never_completed"}
    assert all(
        "only other courses: Harassment Prevention Training" in current[e]["reason"]
        for e in planted["other_course_only"]
    )
    # new hires inside the window: pass as not yet due in both controls
    for email in planted["new_hire_in_window_untrained"]:
        for rows in (current, new_hire):
            assert rows[email]["status"] == "pass" and rows[email]["reason"].startswith("not yet due")
    # trained late: current today, but an exception of the new-hire control
    for email in planted["new_hire_trained_late"]:
        assert current[email]["status"] == "pass" and new_hire[email]["failure"] == "trained_late"
    [mixed] = planted["mixed_case_email"]
    assert current[mixed]["status"] == "pass"
    # the new-hire population is the last 90 days' starters
    assert set(new_hire) == {
        p.email for p in org.people if p.status == "active" and 0 <= (TODAY - p.start_date).days < 90
    }


def test_people_starting_after_the_snapshot_are_out_of_scope(tmp_path: Path) -> None:
    org = people_org(50)
    future = "yan.future@example-corp.test,Yan Future,active,2026-12-01,,,Sales\n"
    results = evaluate_training_controls(org, tmp_path, extra_roster_rows=future)
    assert "yan.future@example-corp.test" not in results["cc1_4_security_training_current"]
    assert "yan.future@example-corp.test" not in results["cc1_4_new_hire_training"]
