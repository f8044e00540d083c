"""Every KnowBe4 Reporting API field the connector reads, null, through the real connector's parsing and the
training controls' SQL on DuckDB: nothing crashes and no person passes on what KnowBe4 did not report. The CSV
alternative likewise with each cell empty.

The response shape is KnowBe4's documented sample of GET /v1/training/enrollments ("Get all Training
Enrollments", https://developer.knowbe4.com/rest/reporting#tag/Training/paths/~1v1~1training~1enrollments/get):
enrollment_id, content_type, module_name, user {id, first_name, last_name, email, employee_number},
campaign_name, enrollment_date, start_date, completion_date, status, time_spent, policy_acknowledged."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.csv_file import CsvValidationError
from connectors.knowbe4 import KnowBe4Enrollments, TrainingCsvEnrollments
from evidence_pipeline.defs.sources.factory import SourceDataset, collect_dataset
from tests.truth.test_google_truth import Day

CONTROLS = ("cc1_4_security_training_current", "cc1_4_new_hire_training")
FIRST_DAY = date(2026, 10, 1)
DOMAIN = "corp.example"


def documented(local: str, completed: date, number: int) -> dict[str, Any]:
    """KnowBe4's sample enrollment, for a security-awareness course the person passed on `completed`."""
    stamp = f"{completed.isoformat()}T15:02:38.000Z"
    return {
        "enrollment_id": 1425526 + number,
        "content_type": "Store Purchase",
        "module_name": "2026 Security Awareness Training",
        "user": {
            "id": 796742 + number,
            "first_name": local.title(),
            "last_name": "Thomas",
            "email": f"{local}@{DOMAIN}",
            "employee_number": 123456,
        },
        "campaign_name": "Annual Security Awareness",
        "enrollment_date": stamp,
        "start_date": stamp,
        "completion_date": stamp,
        "status": "Passed",
        "time_spent": 2340,
        "policy_acknowledged": False,
    }


#: field (user.<x> inside the user object, + for several at once) -> status of the person's row in each control;
#: a field not listed keeps its pass: what it says is not a verdict input.
EXPECTED: dict[str, dict[str, str | None]] = {
    "enrollment_id": dict.fromkeys(CONTROLS, None),  # the page is refused: both controls unknown, no rows
    "user": dict.fromkeys(CONTROLS, "fail"),  # an enrollment of nobody: the person has none
    "user.email": dict.fromkeys(CONTROLS, "fail"),
    "status": dict.fromkeys(CONTROLS, "unknown"),
    "completion_date": dict.fromkeys(CONTROLS, "unknown"),
    "module_name+campaign_name": dict.fromkeys(CONTROLS, "unknown"),
}
FIELDS = [
    "enrollment_id",
    "content_type",
    "module_name",
    "user",
    "user.id",
    "user.first_name",
    "user.last_name",
    "user.email",
    "campaign_name",
    "enrollment_date",
    "start_date",
    "completion_date",
    "status",
    "time_spent",
    "policy_acknowledged",
    "module_name+campaign_name",
]


def nulled(item: dict[str, Any], field: str) -> dict[str, Any]:
    copy = {**item, "user": dict(item["user"])}
    for name in field.split("+"):
        if name.startswith("user."):
            copy["user"][name.removeprefix("user.")] = None
        else:
            copy[name] = None
    return copy


def served(items: list[dict[str, Any]]) -> KnowBe4Enrollments:
    class Served(KnowBe4Enrollments):
        def request(self, cursor: Any) -> list[dict[str, Any]]:
            self._page = cursor or 1
            return items

    return Served(requests.Session(), "http://127.0.0.1:9")


def roster(on: date) -> list[dict[str, Any]]:
    """A long-serving person and a recent hire (40 days ago, so past the 30-day grace)."""
    return [
        {
            "email": f"{local}@{DOMAIN}",
            "name": local.title(),
            "status": "active",
            "start_date": str(start),
            "end_date": None,
            "manager": None,
            "department": "Sales",
            "row_number": 2,
        }
        for local, start in (("sarah", date(2023, 1, 1)), ("niko", on - timedelta(days=40)))
    ]


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str | None, dict]]:
    day = Day(tmp_path_factory.mktemp("knowbe4-nulls"))
    results = {}
    for offset, field in enumerate(["", *FIELDS]):
        on = FIRST_DAY + timedelta(days=offset)
        items = [documented("sarah", on - timedelta(days=60), 0), documented("niko", on - timedelta(days=30), 1)]
        items = [nulled(item, field) for item in items] if field else items
        spec = SourceDataset(
            source="training",
            dataset="enrollments",
            description="",
            streams=lambda resource, day, items=items: [served(items)],
        )
        collected = collect_dataset(spec, None, day.warehouse, day.folder, on, f"run-{on}", threading.Lock())
        day.land("hr", "roster", on, roster(on))
        results[field] = (collected.failure, {control: day.judge(control, on) for control in CONTROLS})
    return results


def status_of(outcome: Any, local: str) -> str | None:
    return next((r["status"] for r in outcome.rows if r["resource_id"] == f"{local}@{DOMAIN}"), None)


@pytest.mark.parametrize("field", FIELDS)
def test_a_null_field_never_passes_and_nothing_crashes(judged, field: str) -> None:
    failure, outcomes = judged[field]
    _, baseline = judged[""]
    assert status_of(baseline["cc1_4_security_training_current"], "sarah") == "pass"
    assert status_of(baseline["cc1_4_new_hire_training"], "niko") == "pass"
    for control, outcome in outcomes.items():
        local = "niko" if control == "cc1_4_new_hire_training" else "sarah"
        row = next((r for r in outcome.rows if r["resource_id"] == f"{local}@{DOMAIN}"), None)
        want = EXPECTED.get(field, {}).get(control, "pass")
        assert status_of(outcome, local) == want, (control, row)
        if row is not None:
            assert row["reason"], (control, "every row says why")
        if field in EXPECTED:
            assert outcome.verdict != "pass", control
    assert (failure is not None) == (field == "enrollment_id")
    if failure:
        assert "without enrollment_id" in failure


ROW = {
    "email": "sarah@corp.example",
    "course": "Security Awareness Training",
    "status": "completed",
    "enrollment_date": "2026-09-01",
    "completion_date": "2026-09-02",
    "campaign": "Annual",
}
#: CSV column left empty -> the problem named, or None when the file loads (the column is optional)
CSV_EXPECTED = {
    "email": "is empty",
    "course": "is empty",
    "status": "is empty",
    "enrollment_date": "is empty",
    "completion_date": "is empty but status is completed",
    "campaign": None,
}


@pytest.mark.parametrize("column", list(ROW))
def test_an_empty_csv_cell_is_refused_or_harmless(tmp_path: Path, column: str) -> None:
    path = tmp_path / "training.csv"
    row = {**ROW, column: ""}
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    stream = TrainingCsvEnrollments(path)
    if CSV_EXPECTED[column] is None:
        records = list(stream.records())
        assert [(r["completed"], r["security_awareness"], r["campaign"]) for r in records] == [(True, True, None)]
        return
    with pytest.raises(CsvValidationError) as refused:
        list(stream.records())
    assert [(p.row, p.column) for p in refused.value.problems] == [(2, column)]
    assert CSV_EXPECTED[column] in str(refused.value) and "\n" not in str(refused.value)
