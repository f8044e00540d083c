"""A data folder with one hand-built, signed daily bundle (the real sealing code, no pipeline run): the frozen
controls' population.csv and result.json as the daily snapshot writes them, and the HR roster and identity map
records under sources/. Reasons follow the controls' SQL (controls/logical_access/*.sql)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from evidence_pipeline.evidence.chain import daily_bundles, seal_bundle
from evidence_pipeline.evidence.csv_cells import write_csv
from evidence_pipeline.evidence.model import POPULATION_COLUMNS
from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, SigningKey, generate_key
from evidence_pipeline.settings import Paths

FROZEN_DAY = date(2026, 10, 2)
#: the campaign starts on this day (start_campaign's and import_packet's `now`)
START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
OWNER = "sec@corp.test"

ROSTER = [
    {"email": "ada@corp.test", "status": "active", "manager": "bob@corp.test"},
    {"email": "frank@corp.test", "status": "active", "manager": "bob@corp.test"},
    {"email": "bob@corp.test", "status": "active", "manager": "carol@corp.test"},
    {"email": "carol@corp.test", "status": "active", "manager": None},
    {"email": "dan@corp.test", "status": "terminated", "manager": "bob@corp.test"},
    {"email": "eve@corp.test", "status": "active", "manager": "dan@corp.test"},
]
IDENTITY_MAP = [
    {"account_key": "aws:111/break-glass", "kind": "break_glass", "person_email": "carol@corp.test"},
    {"account_key": "github:ada-gh", "kind": "alias", "person_email": "ada@corp.test"},
]
#: (account key, name, privileges, reason as cc6_3_privileged_access_review's SQL writes it)
PRIVILEGED = [
    ("github:ada-gh", "Ada", ["owner"], "owner; owner ada@corp.test (active); MFA on"),
    ("github:frank-gh", "Frank", ["owner"], "owner; owner frank@corp.test (active); MFA on"),
    ("aws:111/bob", "bob", ["AdministratorAccess"], "AdministratorAccess; owner bob@corp.test (active); MFA on"),
    (
        "entra:carol@corp.test",
        "Carol",
        ["Global Administrator"],
        "Global Administrator; owner carol@corp.test (active);",
    ),
    (
        "aws:111/break-glass",
        "break-glass",
        ["AdministratorAccess"],
        "AdministratorAccess; owner carol@corp.test (approved break-glass); MFA on",
    ),
    ("google_workspace:eve@corp.test", "Eve", ["_SEED_ADMIN_ROLE"], "_SEED_ADMIN_ROLE; owner eve@corp.test (active)"),
    ("github:bot", "bot", ["owner"], "owner; owner unknown; MFA not reported"),
]


@dataclass
class Home:
    paths: Paths
    key: SigningKey
    daily: Path

    @property
    def campaigns(self) -> Path:
        return self.paths.evidence / "campaigns"


def population_rows() -> list[dict[str, Any]]:
    return [
        {
            "resource_id": key,
            "resource_name": f"{name} ({key.split(':')[0]})",
            "resource_url": "",
            "status": "pass",
            "reason": reason,
            "failure": None,
            "remediation": "",
            "details": json.dumps({"dataset": "x", "system": key.split(":")[0], "privileges": privileges}),
        }
        for key, name, privileges, reason in PRIVILEGED
    ]


def write_daily(
    evidence: Path,
    key: SigningKey,
    day: date = FROZEN_DAY,
    sources: list[dict[str, Any]] | None = None,
    population: list[dict[str, Any]] | None = None,
    control: str = "cc6_3_privileged_access_review",
    extra_sources: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
) -> Path:
    def write(work: Path) -> dict[str, Any]:
        folder = work / "controls" / control
        folder.mkdir(parents=True)
        write_csv(folder / "population.csv", POPULATION_COLUMNS, population or population_rows())
        result = {
            "control_id": control,
            "error": None,
            "sources": sources or [{"name": "hr.roster", "status": "succeeded"}],
        }
        (folder / "result.json").write_text(json.dumps(result))
        records_of = {("hr", "roster"): ROSTER, ("identity", "map"): IDENTITY_MAP, **(extra_sources or {})}
        for (source, dataset), records in records_of.items():
            (work / "sources" / source).mkdir(parents=True, exist_ok=True)
            (work / "sources" / source / f"{dataset}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        return {"kind": "daily_snapshot", "snapshot_date": day.isoformat(), "data_window": {"from": str(day)}}

    return seal_bundle(evidence, day.isoformat(), write, key, bundles=daily_bundles)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    key = generate_key(tmp_path / "keys" / "signing.pem")
    monkeypatch.setenv(SIGNING_KEY_ENV, str(key.path))
    monkeypatch.delenv("EVIDENCE_ALLOW_UNSIGNED", raising=False)
    monkeypatch.delenv("EVIDENCE_PUBLIC_KEY", raising=False)
    paths = Paths(tmp_path / "home")
    monkeypatch.setenv("EVIDENCE_HOME", str(paths.home))
    return Home(paths, key, write_daily(paths.evidence, key))
