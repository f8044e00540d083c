"""Fixtures for the evidence tests: copies of the session's signed bundle, synthetic day series written with the
real bundle writer (fast: no pipeline run)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence_pipeline.catalogue import Control, load_catalogue
from evidence_pipeline.evidence.daily import BundleInputs, write_bundle
from evidence_pipeline.evidence.model import ControlOutcome
from evidence_pipeline.evidence.signing import SigningKey, data_folder_key, generate_key, load_private_key
from evidence_pipeline.settings import project_file
from tests.conftest import PipelineDay, bundles_of
from warehouse import Warehouse


def writable_copy(bundle: Path, target: Path) -> Path:
    shutil.copytree(bundle, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture
def bundle_copy(pipeline_day: PipelineDay, tmp_path: Path) -> Path:
    return writable_copy(bundles_of(pipeline_day.paths, pipeline_day.day)[0], tmp_path / "bundle")


@pytest.fixture(scope="session")
def pipeline_key(pipeline_day: PipelineDay) -> SigningKey:
    """The key the session's pipeline signed with (the demo's data-folder key)."""
    return load_private_key(data_folder_key(pipeline_day.paths.home))


@pytest.fixture(scope="session")
def catalogue_control() -> Control:
    return load_catalogue(project_file("controls_map.yaml")).by_id["cc8_1_branch_review_rules"]


def row(
    resource_id: str, status: str, reason: str = "", name: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "resource_id": resource_id,
        "resource_name": name or resource_id,
        "resource_url": f"https://example.test/{resource_id}",
        "status": status,
        "reason": reason or f"{resource_id} {status}",
        "failure": "no_review" if status == "fail" else None,
        "details": details or {},
    }


def outcome(control: Control, day: date, rows: list[dict[str, Any]]) -> ControlOutcome:
    fails = sum(r["status"] == "fail" for r in rows)
    verdict = "fail" if fails else "pass"
    return ControlOutcome(
        control,
        day,
        verdict,
        f"{fails} of {len(rows)} fail",
        rows,
        {"snapshot_date": day, "min_approving_reviews": 1},
        [],
    )


@dataclass
class Series:
    evidence: Path
    key: SigningKey
    days: list[date]
    missing: list[date]


def write_day(
    warehouse: Warehouse,
    evidence: Path,
    control: Control,
    day: date,
    rows: list[dict[str, Any]],
    key: SigningKey | None,
) -> Path:
    inputs = BundleInputs(
        snapshot_date=day,
        run_id=f"synthetic-{day}",
        outcomes=[outcome(control, day, rows)],
        datasets=[],
        catalogue=load_catalogue(project_file("controls_map.yaml")),
    )
    return write_bundle(warehouse, evidence, inputs, signing_key=key)


SERIES_START = date(2026, 3, 2)


@pytest.fixture(scope="session")
def written_series(
    pipeline_day: PipelineDay, catalogue_control: Control, tmp_path_factory: pytest.TempPathFactory
) -> Series:
    """synthetic_series as written once per session: four bundles, each printed by Chromium, take seconds."""
    folder = tmp_path_factory.mktemp("synthetic-series")
    warehouse = Warehouse(pipeline_day.paths.warehouse)
    key = generate_key(folder / "keys" / "series.pem")
    evidence = folder / "evidence"
    d = [SERIES_START + timedelta(days=n) for n in range(5)]
    person = {"email": "ann@school.test", "display_name": "Ann Example"}
    plan = {
        d[0]: [row("repo-a", "fail"), row("repo-b", "pass"), row("repo-c", "pass")],
        d[1]: [row("repo-a", "fail"), row("repo-b", "fail"), row("repo-c", "pass")],
        d[3]: [
            row("repo-a", "pass"),
            row("repo-b", "fail"),
            row("repo-c", "pass"),
            row(
                "ann@school.test",
                "fail",
                "Ann Example (ann@school.test) has not finished training",
                name="Ann Example",
                details=person,
            ),
        ],
        d[4]: [row("repo-a", "pass"), row("repo-b", "fail"), row("repo-c", "pass")],
    }
    for day, rows in plan.items():
        write_day(warehouse, evidence, catalogue_control, day, rows, key)
    return Series(evidence, key, d, [d[2]])


@pytest.fixture
def synthetic_series(written_series: Series, tmp_path: Path) -> Series:
    """Five days, the third without a snapshot. `repo-a` fails days 1-2 and passes on day 4; `ann@school.test`
    (a person) fails from day 4 and leaves the population on day 5; `repo-b` fails from day 2 to the end. Each test
    has a copy of its own to export into or tamper with (the bundles as written, modes and all)."""
    evidence = tmp_path / "evidence"
    shutil.copytree(written_series.evidence, evidence)
    return Series(evidence, written_series.key, written_series.days, written_series.missing)
