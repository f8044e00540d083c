"""GitHub security and delivery against what GitHub documents it may answer: an alert list refused because the
feature is not licensed, a security_and_analysis block left out for a caller without admin rights, nullable severities
and dates, an environment whose admin bypass or branch policy is not shown, an environment list shorter than its
total, a secret sent unless hide_secret=true, and a branch requiring some status check but not the configured ones.
Each is served by the fake, read by the real connector, landed and judged by the catalogue's SQL: nothing GitHub did
not show may pass."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.github import (
    CodeScanningAlerts,
    DependabotAlerts,
    Environments,
    GitHubConfig,
    RepositoryReviewRules,
    RepositorySecurity,
    SecretScanningAlerts,
    make_github,
)
from connectors.github.security import normalise_severity
from connectors.stream import SourceError
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from sandbox.github.security_server import CODE_SCANNING_UNLICENSED, FAKE_SECRET
from sandbox.github.server import GitHubApp
from sandbox.org import build_org
from sandbox.server import FakeServer
from warehouse import Warehouse, stage_records

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "security-t0ken"
STREAMS = (
    DependabotAlerts,
    CodeScanningAlerts,
    SecretScanningAlerts,
    RepositorySecurity,
    Environments,
    RepositoryReviewRules,
)


class World:
    """The sandbox organisation on a fake GitHub; each `judge` collects every security dataset into a fresh
    warehouse and judges one control."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.org = build_org(size=50)
        self.app = GitHubApp(self.org, {TOKEN})
        self.server = FakeServer("github", self.app).start()
        self.template = workdir / "empty.duckdb"
        warehouse = Warehouse(self.template)
        warehouse.migrate()
        with warehouse.connect() as con:
            self.catalogue = load_catalogue(ROOT / "controls_map.yaml", con)
        self.runs = 0

    def client(self) -> Any:
        return make_github(GitHubConfig(org=self.org.org_login, base_url=self.server.url, token=TOKEN))

    def collect(self) -> tuple[Warehouse, dict[str, list[dict[str, Any]]]]:
        self.runs += 1
        path = self.workdir / f"day{self.runs}.duckdb"
        path.write_bytes(self.template.read_bytes())
        warehouse = Warehouse(path)
        records: dict[str, list[dict[str, Any]]] = {}
        for kind in STREAMS:
            stream = kind(self.client(), self.org.org_login)
            records[stream.dataset] = list(stream.records())
            staged = self.workdir / f"{stream.dataset}-{self.runs}.jsonl"
            stage_records(iter(records[stream.dataset]), staged)
            warehouse.land("github", stream.dataset, self.org.today, f"run{self.runs}", staged, stream.provenance)
        return warehouse, records

    def judge(self, control_id: str, warehouse: Warehouse) -> dict[str, dict[str, Any]]:
        control = self.catalogue.by_id[control_id]
        outcome = evaluate_control(warehouse, self.catalogue, control, self.org.today, f"run{self.runs}")
        return {row["resource_id"]: row for row in outcome.rows}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    started = World(tmp_path_factory.mktemp("github-security"))
    yield started
    started.server.stop()


@pytest.fixture
def rewrite(world: World) -> Iterator[Callable[[Callable[[str, Any], Any]], None]]:
    """Serve REST answers reshaped by a function of (path, body) for one test."""

    def use(function: Callable[[str, Any], Any]) -> None:
        world.app.rewrite_rest = function

    yield use
    world.app.rewrite_rest = None


def statuses(rows: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {resource: row["status"] for resource, row in rows.items()}


def test_an_unlicensed_code_scanning_list_is_unknown_with_githubs_message(world: World) -> None:
    world.app.unavailable_alerts["code-scanning"] = CODE_SCANNING_UNLICENSED
    try:
        warehouse, records = world.collect()
    finally:
        world.app.unavailable_alerts.clear()
    # the dataset succeeds with one row saying why there is nothing, not zero alerts
    (row,) = records["code_scanning_alerts"]
    assert row["unavailable"] == f"403 {CODE_SCANNING_UNLICENSED[1]}" and row["number"] is None
    rows = world.judge("cc7_1_github_alerts_within_sla", warehouse)
    refused = rows[f"{world.org.org_login}:code_scanning"]
    assert refused["status"] == "unknown" and "Advanced Security must be enabled" in refused["reason"]
    # no code-scanning alert row at all, so none can pass; the planted past-SLA one is now not judged
    assert not [r for r in rows if ":code_scanning#" in r]


def test_a_refusal_that_is_not_about_the_licence_fails_the_dataset(world: World) -> None:
    world.app.unavailable_alerts["dependabot"] = (403, "Resource not accessible by integration")
    try:
        with pytest.raises(SourceError, match=r"github\.dependabot_alerts: .*403"):
            list(DependabotAlerts(world.client(), world.org.org_login).records())
    finally:
        world.app.unavailable_alerts.clear()


def test_settings_hidden_from_a_non_admin_are_unknown_never_disabled_or_passing(world: World) -> None:
    world.app.viewer_is_owner = False  # GitHub leaves security_and_analysis out of every repository
    try:
        warehouse, records = world.collect()
    finally:
        world.app.viewer_is_owner = True
    assert all(r["settings_shown"] is False and r["secret_scanning"] is None for r in records["repository_security"])
    features = world.judge("cc7_1_github_security_features", warehouse)
    # Dependabot's flag still shows (GraphQL): a repository with it off still fails; nothing passes
    assert "pass" not in statuses(features).values()
    assert {r for r, s in statuses(features).items() if s == "fail"} == {
        f"{world.org.org_login}/{s.repository}"
        for s in world.org.github.security.settings.values()
        if not s.vulnerability_alerts
    }
    secrets = world.judge("cc7_1_github_no_open_secret_alerts", warehouse)
    assert "pass" not in statuses(secrets).values()


def test_null_severities_and_dates_are_unknown_never_within_sla(world: World, rewrite) -> None:
    def strip(path: str, body: Any) -> Any:
        if path.endswith("/dependabot/alerts"):
            for alert in body:
                if alert["state"] == "open" and alert["number"] == 1:
                    alert["security_advisory"]["severity"] = None
                    alert["security_vulnerability"]["severity"] = None
                if alert["state"] == "open" and alert["number"] == 2:
                    alert["created_at"] = None
        return body

    baseline = statuses(world.judge("cc7_1_github_alerts_within_sla", world.collect()[0]))
    rewrite(strip)
    rows = world.judge("cc7_1_github_alerts_within_sla", world.collect()[0])
    nulled = [r for r in rows if r.endswith(":dependabot#1") or r.endswith(":dependabot#2")]
    opened = [r for r in nulled if r in baseline]
    assert opened and all(rows[r]["status"] == "unknown" for r in opened), {r: rows[r]["reason"] for r in opened}
    for resource, status in statuses(rows).items():
        if status == "pass":
            assert baseline.get(resource) == "pass", resource


def test_graphql_moderate_is_rest_medium() -> None:
    assert normalise_severity("MODERATE") == "medium" == normalise_severity("medium")
    assert normalise_severity(None) is None and normalise_severity("") is None


def test_environment_fields_not_shown_are_unknown_and_a_short_list_is_said(world: World, rewrite) -> None:
    production = sorted(
        (e for e in world.org.github.security.environments if e.production and e.verdict == "pass"), key=lambda e: e.id
    )
    assert production, "the sandbox plants passing production environments"
    reviewed = next(e for e in production if e.reviewers)
    branch_only = next(e for e in production if not e.reviewers)

    def strip(path: str, body: Any) -> Any:
        if path.endswith("/environments"):
            for environment in body["environments"]:
                if (environment["name"], path.split("/")[-2]) == (reviewed.name, reviewed.repository):
                    del environment["can_admins_bypass"]
                if (environment["name"], path.split("/")[-2]) == (branch_only.name, branch_only.repository):
                    del environment["deployment_branch_policy"]
                    environment["protection_rules"] = None
            if path.split("/")[-2] == production[0].repository:
                body["total_count"] += 1  # GitHub counts one more than it listed
        return body

    rewrite(strip)
    rows = world.judge("cc8_1_github_production_environments", world.collect()[0])
    full = world.org.org_login + "/"
    assert rows[full + reviewed.id]["status"] == "unknown"
    assert rows[full + branch_only.id]["status"] == "unknown"
    short = rows[full + production[0].repository]
    assert short["status"] == "unknown" and "list truncated" in short["reason"]


def test_the_secret_itself_is_never_stored(world: World) -> None:
    warehouse, records = world.collect()
    requests = [r for r in world.server.requests if r.path.endswith("/secret-scanning/alerts")]
    assert requests and all("hide_secret=true" in r.query for r in requests)
    assert records["secret_scanning_alerts"]
    assert FAKE_SECRET not in json.dumps(records, default=str)
    with warehouse.connect() as con:
        stored = con.execute("SELECT raw FROM raw_github_secret_scanning_alerts").fetchall()
    assert stored and all(FAKE_SECRET not in raw and '"secret":' not in raw for (raw,) in stored)


def test_a_secret_sent_anyway_is_dropped(world: World, rewrite) -> None:
    # a server that ignores hide_secret=true (an older GitHub Enterprise Server): the literal still never lands
    rewrite(lambda path, body: [{**a, "secret": FAKE_SECRET} for a in body] if "secret-scanning" in path else body)
    _, records = world.collect()
    assert records["secret_scanning_alerts"] and FAKE_SECRET not in json.dumps(records, default=str)


def test_a_branch_requiring_only_some_other_check_fails_the_status_checks_control(world: World) -> None:
    data = world.org.github
    target = next(
        r for r in data.repositories if r.kind == "protected_with_review" and r.classic["requiresStatusChecks"]
    )
    original = list(data.repositories)
    lint_only = replace(target, classic={**target.classic, "requiredStatusCheckContexts": ["lint"]})
    data.repositories[data.repositories.index(target)] = lint_only
    world.app.reload()
    try:
        rows = world.judge("cc8_1_required_status_checks", world.collect()[0])
    finally:
        data.repositories[:] = original
        world.app.reload()
    row = rows[f"{world.org.org_login}/{target.name}"]
    assert (row["status"], row["failure"]) == ("fail", "missing_contexts"), row["reason"]
    assert "dependency-review" in row["reason"] and "test" in row["reason"]


def test_required_contexts_github_did_not_name_are_unknown(world: World) -> None:
    data = world.org.github
    target = next(
        r for r in data.repositories if r.kind == "protected_with_review" and r.classic["requiresStatusChecks"]
    )
    original = list(data.repositories)
    data.repositories[data.repositories.index(target)] = replace(
        target, classic={**target.classic, "requiredStatusCheckContexts": None}
    )
    world.app.reload()
    try:
        rows = world.judge("cc8_1_required_status_checks", world.collect()[0])
    finally:
        data.repositories[:] = original
        world.app.reload()
    assert rows[f"{world.org.org_login}/{target.name}"]["status"] == "unknown"
