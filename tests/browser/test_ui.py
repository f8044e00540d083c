"""The compliance lead's view: `dagster dev` on the sandbox day, opened in headless Chromium.
Opens a failing control asset and finds its failing rows on the page; saves a screenshot."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chromium import Browser
from tests.conftest import PipelineDay
from warehouse import Warehouse

ARTIFACTS = Path(os.environ.get("EVIDENCE_TEST_ARTIFACTS", "test-artifacts"))
CONTROL = "cc8_1_branch_review_rules"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dagster_ui(pipeline_day: PipelineDay) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(pipeline_day.paths.dagster_home),
        "EVIDENCE_HOME": str(pipeline_day.paths.home),
    }
    log = (pipeline_day.paths.home / "dagster-dev.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-m",
            "evidence_pipeline.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=5).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dagster dev did not start; see {log.name}") from None
                time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
        log.close()


def dismiss_community_dialog(browser: Browser) -> None:
    """Dagster's first-visit "Join the Dagster community" dialog covers the page for a new instance."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if "Join the Dagster community" in browser.text():
            browser.click_text("Skip")
        elif time.monotonic() > deadline - 10:  # it did not appear within 5 s, or it is gone
            return
        time.sleep(0.5)


def test_a_failing_control_shows_its_failing_rows(dagster_ui: str, pipeline_day: PipelineDay) -> None:
    failing = Warehouse(pipeline_day.paths.warehouse).query(
        "SELECT resource_name, reason FROM control_results WHERE control_id = ? AND snapshot_date = ? "
        "AND status = 'fail' ORDER BY resource_name",
        [CONTROL, pipeline_day.day],
    )
    assert failing, "the sandbox plants failing repositories"
    browser = Browser()
    try:
        browser.goto(f"{dagster_ui}/assets/controls/{CONTROL}")
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
