"""The compliance lead's view: `evidence-pipeline ui`'s `serve_ui` (dg dev) on a copy of the sandbox day, opened in
headless Chromium. On that copy one of the day's passing controls is judged again after its source failed, so the
day has a failing control and an unknown one, both found from the day's verdicts.

Dagster OSS 1.13 has no asset-health column (Dagster+ only: its webapp's `assetHealthEnabled()` is false and the
GraphQL `assetHealth` is UNKNOWN); the lineage view is where OSS shows each asset's health: the verdict check's
severity makes a failing control red and an unknown one a warning."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.settings import Paths, project_file
from evidence_pipeline.ui import LOCATION_NAME
from provenance import Provenance, utc_now
from tests.browser.chromium import Browser
from tests.browser.serve import ServedUi, served_ui
from tests.conftest import PipelineDay
from tests.runs import dagster_environment_kept, run_daily_job, wait_for
from warehouse import Warehouse

ARTIFACTS = Path(os.environ.get("EVIDENCE_TEST_ARTIFACTS", "test-artifacts"))
CONTROL = "cc8_1_branch_review_rules"
#: the asset checks row of a control's node in the lineage: its text and the names of its icons
CHECKS_ROW = """((id) => {
  const name = document.querySelector(`[data-tooltip="${id}"]`);
  let node = name;
  while (node && !(node.innerText || '').includes('Asset checks')) node = node.parentElement;
  if (!node) return null;
  let row = [...node.querySelectorAll('*')].find(e => !e.childElementCount && e.textContent.trim() === 'Asset checks');
  while (row.parentElement !== node) row = row.parentElement;
  return {text: row.innerText, icons: [...row.querySelectorAll('[role=img]')].map(i => i.getAttribute('aria-label'))};
})"""


@dataclass
class LeadDay:
    ui: ServedUi
    day: date
    verdicts: dict[str, str]


def verdicts_of(paths: Paths, day: date) -> dict[str, str]:
    rows = Warehouse(paths.warehouse).query(
        "SELECT control_id, verdict FROM control_verdicts WHERE snapshot_date = ?", [day]
    )
    return {row["control_id"]: row["verdict"] for row in rows}


def make_one_control_unknown(paths: Paths, day: date) -> None:
    """A passing control's required source fails (as a 503 would), and the control alone is judged again: unknown."""
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    verdicts = verdicts_of(paths, day)
    control = next(c for c in catalogue.controls if verdicts[c.id] == "pass")
    source, dataset = control.sources[0].split(".", 1)
    failure = Provenance(
        source=source, dataset=dataset, parameters={}, status="failed", error="HTTP 503", finished_at=utc_now()
    )
    Warehouse(paths.warehouse).log_failure(day, "a-failed-collection", failure)
    assert run_daily_job(day, paths, [f"controls/{control.id}"]).outcome.success


@pytest.fixture(scope="module")
def lead_day(pipeline_day: PipelineDay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeadDay]:
    paths = Paths(tmp_path_factory.mktemp("lead-home") / "home")
    shutil.copytree(pipeline_day.paths.home, paths.home, ignore=shutil.ignore_patterns("sandbox"))
    with dagster_environment_kept():
        make_one_control_unknown(paths, pipeline_day.day)
        with served_ui(paths) as ui:
            yield LeadDay(ui, pipeline_day.day, verdicts_of(paths, pipeline_day.day))


def dismiss_community_dialog(browser: Browser) -> None:
    """Dagster's first-visit "Join the Dagster community" dialog covers the page for a new instance."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if "Join the Dagster community" in browser.text():
            browser.click_text("Skip")
        elif time.monotonic() > deadline - 10:  # it did not appear within 5 s, or it is gone
            return
        time.sleep(0.5)


def checks_rows(browser: Browser, controls: list[str]) -> list[dict[str, Any]] | None:
    """Each control's asset checks row in the lineage, once all of them have drawn their status icon."""
    rows = [browser.evaluate(f"{CHECKS_ROW}({json.dumps(control)})") for control in controls]
    return rows if all(row and row["icons"] for row in rows) else None


def test_the_ui_serves_one_code_location_named_evidence_pipeline(lead_day: LeadDay) -> None:
    assert lead_day.ui.loaded_locations() == [LOCATION_NAME]


def test_a_failing_control_is_red_and_an_unknown_one_a_warning_in_the_lineage(lead_day: LeadDay) -> None:
    family = {c.id: c.family for c in load_catalogue(project_file("controls_map.yaml")).controls}
    unknown = next(c for c, verdict in sorted(lead_day.verdicts.items()) if verdict == "unknown")
    # one of its group: the lineage draws the assets of a single group, and collapses several groups to a box each
    failing = next(
        c for c, verdict in sorted(lead_day.verdicts.items()) if verdict == "fail" and family[c] == family[unknown]
    )
    browser = Browser()
    try:
        browser.goto(f"{lead_day.ui.url}/assets")  # the catalog, whose "View lineage" shows each asset's health
        # loaded once it lists the first control (asset keys in order; it draws only the rows in view)
        first_listed = f"controls / {min(lead_day.verdicts)}"
        assert first_listed in browser.wait_for_text(first_listed), "the catalog lists the controls"
        dismiss_community_dialog(browser)
        selection = " or ".join(f'key:"controls/{control}"' for control in (failing, unknown))
        browser.goto(f"{lead_day.ui.url}/asset-groups~{urllib.parse.quote(selection, safe='')}/")
        rows = wait_for(
            "both controls' checks in the lineage", lambda: checks_rows(browser, [failing, unknown]), 90, 0.5
        )
        shot = browser.screenshot(ARTIFACTS / "lineage-failing-and-unknown.png")
    finally:
        browser.close()
    assert shot.stat().st_size > 10_000
    failing_row, unknown_row = rows
    # the icons of Dagster's check summary: `close` in red for a failed ERROR check, `warning_outline` in yellow
    # for a failed WARN one (`done` when passing)
    assert failing_row["icons"] == ["close"] and "0 / 1 Passed" in failing_row["text"], failing_row
    assert unknown_row["icons"] == ["warning_outline"] and "0 / 1 Passed" in unknown_row["text"], unknown_row


CHECKS_QUERY = """
query($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks {
      name executionForLatestMaterialization { status evaluation { severity } } } } } }
  }
}
"""


def test_the_verdict_check_severity_follows_the_verdict(lead_day: LeadDay) -> None:
    """What the UI reads: a failing control's check failed as an ERROR, an unknown one's as a WARN."""
    seen = set()
    for control_id, verdict in lead_day.verdicts.items():
        node = lead_day.ui.graphql(CHECKS_QUERY, {"key": {"path": ["controls", control_id]}})["assetNodeOrError"]
        [check] = [c for c in node["assetChecksOrError"]["checks"] if c["name"] == "verdict"]
        execution = check["executionForLatestMaterialization"]
        expected = {"pass": "SUCCEEDED", "fail": "FAILED", "unknown": "FAILED"}[verdict]
        assert execution["status"] == expected, (control_id, verdict, execution)
        if verdict != "pass":
            assert execution["evaluation"]["severity"] == ("ERROR" if verdict == "fail" else "WARN"), control_id
        seen.add(verdict)
    assert seen == {"pass", "fail", "unknown"}


def test_a_failing_control_shows_its_failing_rows(lead_day: LeadDay) -> None:
    failing = Warehouse(lead_day.ui.paths.warehouse).query(
        "SELECT resource_name, reason FROM control_results WHERE control_id = ? AND snapshot_date = ? "
        "AND status = 'fail' ORDER BY resource_name",
        [CONTROL, lead_day.day],
    )
    assert failing, "the sandbox plants failing repositories"
    browser = Browser()
    try:
        browser.goto(f"{lead_day.ui.url}/assets/controls/{CONTROL}")
        page = browser.wait_for_text("failing rows")
        assert "failing rows" in page, page[:2000]
        dismiss_community_dialog(browser)
        assert browser.click_text("[Show Markdown]"), "the failing rows are behind the metadata's markdown link"
        page = browser.wait_for_text(failing[0]["resource_name"], "how to fix", timeout=30)
        shot = browser.screenshot(ARTIFACTS / f"{CONTROL}.png")
    finally:
        browser.close()
    assert shot.stat().st_size > 10_000
    for row in failing[:5]:
        assert row["resource_name"] in page
    assert "admins can bypass" in page or "no branch protection" in page or "force pushes" in page


def test_ctrl_c_stops_the_ui_its_daemon_and_code_server(lead_day: LeadDay) -> None:
    """Last: the terminal's Ctrl-C (SIGINT to the foreground group) ends dg dev and every process it started."""
    ui = lead_day.ui
    commands = " ".join(ui.processes().values())
    for service in (" dev ", "dagster_webserver", "dagster._daemon", "code-server"):
        assert service in commands, (service, commands)
    ui.interrupt()
    wait_for("every process of the UI to end", lambda: not ui.processes(), timeout=30, every=0.2)
    assert ui.process.wait() == 0
    output = ui.output()
    assert "Dagster services shut down" in output, output[-2000:]
    # it started cleanly: dg dev, not `dagster dev`, and no dagster.yaml beside it that DAGSTER_HOME would ignore
    assert "superseded" not in output and "will not be used to configure Dagster" not in output, output[:3000]
