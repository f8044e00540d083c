"""Code scanning's setup per repository against what GitHub documents: a code security configuration's attachment
states a repository's default setup only when `attached` or `enforced` (failed, attaching, updating, removed,
removed_by_enterprise and detached prove nothing, so the repository's own default setup is read), an `enabled`
configuration is trusted only where Code Security is shown licensed, GET .../code-scanning/default-setup answers 403
where code scanning is not licensed, and a repository scanned by an advanced setup has no default setup. Each is
served by the fake, read by the real connector, landed and judged by the catalogue's SQL: nothing GitHub did not
show may pass."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.github import CodeScanningAlerts, CodeScanningSetup, GitHubConfig, make_github
from connectors.github.minimum import code_scanning_setup_requests
from connectors.stream import SourceError
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from sandbox.github.minimum import code_scanning_counts
from sandbox.github.security import SETUP_KINDS, Configuration
from sandbox.github.security import CodeScanningSetup as PlantedSetup
from sandbox.github.security_server import CODE_SCANNING_UNLICENSED
from sandbox.github.server import GitHubApp
from sandbox.org import build_org
from sandbox.server import FakeServer
from warehouse import Warehouse, stage_records

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "code-scanning-t0ken"
CONTROL = "cc7_1_github_code_scanning_enabled"


class World:
    """The sandbox organisation on a fake GitHub; `judge` collects the control's datasets into a fresh warehouse."""

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

    @property
    def full(self) -> str:
        return f"{self.org.org_login}/"

    def stream(self) -> CodeScanningSetup:
        client = make_github(GitHubConfig(org=self.org.org_login, base_url=self.server.url, token=TOKEN))
        return CodeScanningSetup(client, self.org.org_login)

    def judge(self) -> tuple[dict[str, dict[str, Any]], CodeScanningSetup]:
        self.runs += 1
        self.server.reset_log()
        path = self.workdir / f"day{self.runs}.duckdb"
        path.write_bytes(self.template.read_bytes())
        warehouse = Warehouse(path)
        client = make_github(GitHubConfig(org=self.org.org_login, base_url=self.server.url, token=TOKEN))
        setup = self.stream()
        for stream in (setup, CodeScanningAlerts(client, self.org.org_login)):
            staged = self.workdir / f"{stream.dataset}-{self.runs}.jsonl"
            stage_records(stream.records(), staged)
            warehouse.land("github", stream.dataset, self.org.today, f"run{self.runs}", staged, stream.provenance)
        control = self.catalogue.by_id[CONTROL]
        outcome = evaluate_control(warehouse, self.catalogue, control, self.org.today, f"run{self.runs}")
        return {row["resource_id"]: row for row in outcome.rows}, setup

    def of_kind(self, kind: str) -> list[str]:
        active = {r.name for r in self.org.github.repositories if not r.archived}
        return sorted(n for n, s in self.org.github.security.setups.items() if s.kind == kind and n in active)

    def default_setup_calls(self) -> set[str]:
        suffix = "/code-scanning/default-setup"
        return {r.path.split("/")[3] for r in self.server.requests if r.path.endswith(suffix)}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    started = World(tmp_path_factory.mktemp("code-scanning"))
    yield started
    started.server.stop()


@pytest.fixture
def planted(world: World) -> Iterator[dict[str, PlantedSetup]]:
    """The organisation's setups, restored after a test changes them."""
    setups = world.org.github.security.setups
    original = dict(setups)
    yield setups
    setups.clear()
    setups.update(original)


def statuses(rows: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {resource: row["status"] for resource, row in rows.items()}


def test_each_planted_setup_gets_its_documented_verdict(world: World) -> None:
    rows, _ = world.judge()
    for kind, verdict in SETUP_KINDS.items():
        for name in world.of_kind(kind):
            assert rows[world.full + name]["status"] == verdict, (kind, rows[world.full + name]["reason"])
    assert {r for r, s in statuses(rows).items() if s == "fail"} == world.org.expected[CONTROL]
    assert {r for r, s in statuses(rows).items() if s == "unknown"} == world.org.unknown[CONTROL]


def test_a_403_not_licensed_default_setup_is_unknown_with_githubs_message(world: World) -> None:
    rows, _ = world.judge()
    unlicensed = world.of_kind("unlicensed")
    assert unlicensed and set(unlicensed) <= world.default_setup_calls()
    for name in unlicensed:
        row = rows[world.full + name]
        assert row["status"] == "unknown" and f"403 {CODE_SCANNING_UNLICENSED[1]}" in row["reason"], row["reason"]


@pytest.mark.parametrize("status", ["failed", "attaching", "updating", "removed", "removed_by_enterprise", "detached"])
def test_an_attachment_that_is_not_attached_or_enforced_is_not_trusted(world: World, planted, status: str) -> None:
    # a repository listed under the enforced configuration that enables default setup (no alert of its own), its
    # own answer not-configured: trusting the attachment would pass it
    (name,) = world.of_kind("failed_attachment")
    planted[name] = replace(planted[name], status=status)
    rows, _ = world.judge()
    row = rows[world.full + name]
    assert name in world.default_setup_calls()
    assert (row["status"], row["failure"]) == ("fail", "not_configured"), row["reason"]
    assert f"{status} to 'Production baseline'" in row["reason"]


def test_an_enabled_configuration_is_trusted_only_where_the_licence_shows(world: World, planted) -> None:
    # attached to GitHub's recommended configuration, but security_and_analysis is hidden from the caller: the
    # repository's own answer decides, here not-configured
    hidden = world.of_kind("hidden_configured")
    assert hidden
    for name in hidden:
        planted[name] = replace(planted[name], configured=False)
    rows, _ = world.judge()
    assert set(hidden) <= world.default_setup_calls()
    assert all(rows[world.full + name]["status"] == "fail" for name in hidden)
    # the trusted attachments are not read again: one call per repository no attachment proves, and no more
    proven = world.of_kind("attached_enabled") + world.of_kind("enforced_enabled")
    assert proven and not set(proven) & world.default_setup_calls()


def test_default_setup_not_configured_with_alerts_is_unknown_never_pass_or_fail(world: World) -> None:
    rows, _ = world.judge()
    (advanced,) = world.of_kind("advanced_setup")
    row = rows[world.full + advanced]
    assert row["status"] == "unknown" and "advanced setup" in row["reason"] and "CodeQL" in row["reason"]


def test_a_refused_alert_list_turns_not_configured_into_unknown(world: World) -> None:
    baseline = statuses(world.judge()[0])
    world.app.unavailable_alerts["code-scanning"] = CODE_SCANNING_UNLICENSED
    try:
        rows, _ = world.judge()
    finally:
        world.app.unavailable_alerts.clear()
    failing = {r for r, s in baseline.items() if s == "fail"}
    assert failing and all(rows[r]["status"] == "unknown" and "refused" in rows[r]["reason"] for r in failing)
    assert {r for r, s in statuses(rows).items() if s == "pass"} == {r for r, s in baseline.items() if s == "pass"}


def test_archived_repositories_are_out_of_scope_and_never_called(world: World) -> None:
    rows, _ = world.judge()
    archived = {r.name for r in world.org.github.repositories if r.archived}
    assert archived and not archived & world.default_setup_calls()
    assert not {world.full + name for name in archived} & set(rows)


def test_configurations_and_attachments_are_read_to_the_end(world: World) -> None:
    security = world.org.github.security
    original = list(security.configurations)
    # more configurations than a page holds, the last one holding the enforced repository
    extra = [Configuration(1000 + k, f"team-{k:03d}", "organization", "not_set", "unenforced") for k in range(150)]
    security.configurations[:] = original + extra + [replace(original[1], id=5000, name="Last page")]
    (name,) = world.of_kind("enforced_enabled")
    setups = security.setups
    saved = setups[name]
    setups[name] = replace(saved, configuration=5000, configured=False)
    try:
        rows, stream = world.judge()
        configurations, attachments, repositories, calls = code_scanning_counts(world.org)
    finally:
        security.configurations[:] = original
        setups[name] = saved
    assert configurations == len(original) + 151 and attachments[-1] == 1
    # every configuration page and every configuration's attachments, and the repository proven by the last one
    assert stream.provenance.request_count == code_scanning_setup_requests(
        configurations, attachments, repositories, calls
    )
    # its attachment on the last configuration page proves it: read there, not by a call of its own
    assert name not in world.default_setup_calls()
    assert rows[world.full + name]["status"] == "pass", rows[world.full + name]["reason"]


def test_a_refusal_of_default_setup_that_is_not_about_the_licence_fails_the_dataset(world: World) -> None:
    # "Resource not accessible by integration" on the per-repository calls only (the only /repos/ paths read): a
    # token without the permission, which no row may hide
    world.server.inject("403", times=1000, path_prefix="/repos/")
    try:
        with pytest.raises(SourceError, match=r"github\.code_scanning_setup: .*default-setup.*403"):
            list(world.stream().records())
    finally:
        world.server.faults.clear()


def test_a_configuration_whose_repositories_are_not_listed_is_said_and_proves_nothing(world: World) -> None:
    # an enterprise's configuration the organisation lists but whose repositories it answers 404 for
    def add_enterprise_configuration(path: str, body: Any) -> Any:
        if path.endswith("/code-security/configurations"):
            body = [*body, {**body[0], "id": 9999, "name": "Enterprise baseline", "target_type": "enterprise"}]
        return body

    world.app.rewrite_rest = add_enterprise_configuration
    try:
        stream = world.stream()
        records = list(stream.records())
    finally:
        world.app.rewrite_rest = None
    (refused,) = [r for r in records if r["configuration_id"] == 9999 and r["unavailable"]]
    assert refused["evidence"] == "configuration" and refused["unavailable"].startswith("404")
    assert refused["configuration_name"] == "Enterprise baseline"
    assert stream.provenance.status == "succeeded"
    assert not [r for r in records if r["evidence"] == "attachment" and r["configuration_id"] == 9999]
