"""A campaign frozen from a real pipeline day (a copy of the session's signed evidence): the controls' SQL as it is
names each account's person the way the campaign reads it, and nobody is assigned their own account."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence_pipeline.evidence.csv_cells import read_csv
from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, data_folder_key
from evidence_pipeline.reviews.campaigns import SCOPE_CONTROLS, read_campaigns, start_campaign
from evidence_pipeline.settings import Paths
from tests.conftest import PipelineDay, bundles_of

#: the person each control's reason names, written independently of the campaign's own parsing
PERSON_IN_REASON = {
    "privileged": re.compile(r"owner (\S+@\S+) \((?!approved )[^)]*\)"),
    "all": re.compile(r"^belongs to (\S+@\S+) "),
}


@pytest.mark.parametrize("scope", ["privileged", "all"])
def test_a_real_days_population_is_frozen_with_each_accounts_person(
    pipeline_day: PipelineDay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scope: str
) -> None:
    paths = Paths(tmp_path / "home")
    # the daily chain only: the sandbox day may hold its own campaigns already
    shutil.copytree(pipeline_day.paths.evidence, paths.evidence, ignore=shutil.ignore_patterns("campaigns"))
    monkeypatch.setenv(SIGNING_KEY_ENV, str(data_folder_key(pipeline_day.paths.home)))
    now = datetime.combine(pipeline_day.day + timedelta(days=1), datetime.min.time(), UTC)
    bundle = start_campaign(paths, "2026-Q4", scope, None, "owner@example-corp.test", {}, pipeline_day.day, now=now)

    daily = bundles_of(pipeline_day.paths, pipeline_day.day)[-1]
    with (daily / "controls" / SCOPE_CONTROLS[scope] / "population.csv").open(newline="") as handle:
        reasons = {r["resource_id"]: r["reason"] for r in read_csv(handle)}
    with (bundle / "population.csv").open(newline="") as handle:
        frozen = list(csv.DictReader(handle))
    assert len(frozen) == len(reasons) > 0
    named = 0
    for row in frozen:
        match = PERSON_IN_REASON[scope].search(reasons[row["account_key"]])
        assert row["person_email"] == (match.group(1) if match else ""), reasons[row["account_key"]]
        named += bool(match)
        assert row["reviewer"] and row["reviewer"] != row["person_email"], row
    assert named > len(frozen) // 2  # most accounts belong to a person: the reasons were read, not skipped
    (campaign,) = read_campaigns(paths.evidence / "campaigns")
    assert campaign.population_count == len(frozen)
    assert campaign.due == pipeline_day.day + timedelta(days=15)
