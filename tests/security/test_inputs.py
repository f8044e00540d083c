"""Inputs that cannot hurt: a malformed setting or file stops with one line naming it (no traceback, exit status 2),
a day with nothing collected does not exit 0, the data folder is owner-only, a killed snapshot's personal data does
not stay behind, and names cannot reorder what a report shows."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from evidence_pipeline import cli
from evidence_pipeline.defs.controls import failing_rows_table
from evidence_pipeline.evidence.chain import ABANDONED_AFTER_SECONDS, remove_abandoned_bundles
from evidence_pipeline.evidence.render.report import _e
from evidence_pipeline.launch import RunOutcome
from evidence_pipeline.settings import URL_SETTINGS, Paths, SettingsError, url_setting
from evidence_pipeline.waivers import WaiverError, load_waivers
from provenance import Provenance
from tests.conftest import PipelineDay
from warehouse import Warehouse

DAY = date(2026, 11, 20)
CONTROL_IDS = {"cc6_1_github_2fa"}
GOOD_WAIVER = "{control: cc6_1_github_2fa, resource: octocat, reason: contractor account, approver: ciso, "


@pytest.fixture
def umask_restored() -> Iterator[None]:
    """The CLI sets this process's umask; put it back for the rest of the session."""
    saved = os.umask(0o022)
    os.umask(saved)
    try:
        yield
    finally:
        os.umask(saved)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_restored: None) -> Path:
    """A data folder of the test's own and no source configured."""
    monkeypatch.setenv("EVIDENCE_HOME", str(tmp_path / "home"))
    for name in [*URL_SETTINGS, "EVIDENCE_SIGNING_KEY", "EVIDENCE_WAIVERS"]:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# -- waivers.yaml ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("waivers: [\n", "line 2, column 1: not valid YAML"),
        ("- control: x\n", "expected a mapping with a 'waivers' list, found list"),
        ("waivers: 3\n", "field 'waivers': Input should be a valid list"),
        ("waivers:\n  - just a string\n", "waiver #1: Input should be a valid dictionary"),
        (f"waivers:\n  - {GOOD_WAIVER}expires: 2026-12-31, resource: [1]}}\n", "waiver #1: field 'resource'"),
        (f"waivers:\n  - {GOOD_WAIVER}expires: soon}}\n", "waiver #1: field 'expires': Input should be a valid date"),
        (f"waivers:\n  - {GOOD_WAIVER}expires: 2026-13-01}}\n", "month must be in 1..12"),
        (
            "waivers:\n  - {control: no_such_control, resource: r, reason: a reason, approver: ciso, "
            "expires: 2026-12-31}\n",
            "waiver #1: field 'control': unknown control 'no_such_control'",
        ),
    ],
)
def test_a_bad_waivers_file_is_one_line_naming_file_and_field(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(content)
    with pytest.raises(WaiverError) as failure:
        load_waivers(path, CONTROL_IDS)
    message = str(failure.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message, message


def test_the_cli_reports_a_bad_waivers_file_in_one_line(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    waivers = cli_env / "waivers.yaml"
    waivers.write_text("waivers: [\n")
    monkeypatch.setenv("EVIDENCE_WAIVERS", str(waivers))
    assert cli.main(["history", "--from", "2026-11-01", "--to", "2026-11-02"]) == 2
    assert str(waivers) in one_line_error(capsys)


def test_the_evaluation_step_fails_with_the_waivers_line_and_writes_nothing(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.defs.controls import control_definitions, control_key
    from evidence_pipeline.defs.resources import WarehouseResource
    from evidence_pipeline.settings import project_file

    waivers = cli_env / "waivers.yaml"
    waivers.write_text(f"waivers:\n  - {GOOD_WAIVER}expires: soon}}\n")
    monkeypatch.setenv("EVIDENCE_WAIVERS", str(waivers))
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    control = catalogue.controls[0]
    home = cli_env / "home"
    warehouse = Warehouse(Paths(home).warehouse)
    warehouse.migrate()
    with warehouse.connect() as con:  # the day's earlier verdicts, which the failed step must leave alone
        before = con.execute("SELECT count(*) FROM control_results").fetchone()
    result = dg.materialize(
        control_definitions(catalogue),
        partition_key=DAY.isoformat(),
        raise_on_error=False,
        selection=[control_key(control.id)],
        resources={"warehouse": WarehouseResource(home=str(home))},
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith(f"{waivers}: waiver #1: field 'expires'") and "\n" not in description
    with warehouse.connect() as con:
        assert con.execute("SELECT count(*) FROM control_results").fetchone() == before


# -- URL variables and the signing key -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", URL_SETTINGS)
@pytest.mark.parametrize("value", ["not-a-url", "ftp://files.example.com", "https://", "https://host:port/"])
def test_every_url_variable_is_checked_naming_it(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"^{name}: ") as failure:
        url_setting(name)
    assert "\n" not in str(failure.value)
    monkeypatch.setenv(name, "https://api.example.com/v3")
    assert url_setting(name) == "https://api.example.com/v3"


def test_a_bad_url_is_refused_where_the_definitions_read_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_pipeline.defs.resources import env_value

    monkeypatch.setenv("GITHUB_API_URL", "not-a-url")
    with pytest.raises(SettingsError, match="^GITHUB_API_URL: 'not-a-url' is not an http"):
        env_value("GITHUB_API_URL")


def test_run_with_a_bad_url_variable_exits_2_naming_it(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "not-a-url")
    assert cli.main(["run", "--date", DAY.isoformat()]) == 2
    assert one_line_error(capsys).startswith("error: GITHUB_API_URL: 'not-a-url'")
    assert not (cli_env / "home" / "dagster").exists(), "refused before any run started"


def _not_ed25519(path: Path) -> Path:
    path.write_bytes(
        x25519.X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@pytest.mark.parametrize(
    ("make_key", "expected"),
    [
        (lambda p: p, "cannot read the key file"),
        (lambda p: p.write_text("not a key\n") and p, "not a readable unencrypted Ed25519 private key"),
        (_not_ed25519, "not Ed25519"),
    ],
)
def test_a_bad_signing_key_exits_2_naming_it(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], make_key, expected: str
) -> None:
    """Refused before any run starts: inside the run it would fail only the snapshot, after collecting the day."""
    key = make_key(cli_env / "signing.pem")
    monkeypatch.setenv("EVIDENCE_SIGNING_KEY", str(key))
    assert cli.main(["run", "--date", DAY.isoformat()]) == 2
    line = one_line_error(capsys)
    assert f"EVIDENCE_SIGNING_KEY={key}" in line and expected in line, line
    assert not (cli_env / "home" / "dagster").exists(), "refused before any run started"


# -- a day with nothing collected ----------------------------------------------------------------------------------


def test_a_run_where_every_source_failed_exits_non_zero(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runs themselves finish (the snapshot is written, every control unknown): the exit status must still
    say that nothing was collected."""
    paths = Paths.from_env()
    warehouse = Warehouse(paths.warehouse)
    warehouse.migrate()
    for source, status in (("github", "failed"), ("aws", "failed"), ("hr", "not_configured")):
        warehouse.log_failure(
            DAY,
            "run-1",
            Provenance(source=source, dataset="x", parameters={}, status=status, error="boom"),
            status=status,
        )
    bundle = paths.evidence / DAY.isoformat() / "v001-20261120T000000Z"
    bundle.mkdir(parents=True)
    (bundle / "manifest.json").write_text('{"sequence": 1}')
    outcome = RunOutcome("run-1", True, [], {"github.x": "boom", "aws.x": "boom"})
    monkeypatch.setattr("evidence_pipeline.launch.run_day", lambda day, paths, assets, **_: outcome)
    assert cli.main(["run", "--date", DAY.isoformat()]) == 1
    err = capsys.readouterr().err
    assert f"no source could be collected for {DAY}" in err and "github.x failed" in err, err

    # one dataset collected is a day with evidence: a good exit
    with warehouse.connect() as con:
        con.execute("UPDATE collection_log SET status = 'succeeded' WHERE source = 'github'")
    assert cli.main(["run", "--date", DAY.isoformat()]) == 0


# -- the data folder: owner-only, no leftovers ---------------------------------------------------------------------


def test_the_data_folder_is_made_owner_only(tmp_path: Path, umask_restored: None) -> None:
    home = tmp_path / "home"
    (home / "evidence" / "2026-11-20").mkdir(parents=True)
    (home / "warehouse.duckdb").write_bytes(b"x")
    (home / "evidence" / "2026-11-20" / "population.csv").write_text("x")
    for path in [home, home / "evidence", home / "evidence" / "2026-11-20"]:
        path.chmod(0o755)
    for path in [home / "warehouse.duckdb", home / "evidence" / "2026-11-20" / "population.csv"]:
        path.chmod(0o644)
    Paths(home).make_private()
    modes = {p.relative_to(home).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [home, *home.rglob("*")]}
    assert modes == {
        ".": 0o700,
        "evidence": 0o700,
        "evidence/2026-11-20": 0o700,
        "warehouse.duckdb": 0o600,
        "evidence/2026-11-20/population.csv": 0o600,
    }
    (home / "new.txt").write_text("x")  # and what the process writes next
    (home / "new").mkdir()
    assert stat.S_IMODE((home / "new.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "new").stat().st_mode) == 0o700


def test_after_a_pipeline_day_nothing_in_the_data_folder_is_group_or_world_accessible(
    pipeline_day: PipelineDay,
) -> None:
    home = pipeline_day.paths.home
    opened = [
        f"{p} {stat.S_IMODE(p.lstat().st_mode):o}"
        for p in [home, *home.rglob("*")]
        if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077
    ]
    assert opened == []
    assert pipeline_day.paths.warehouse.is_file() and any(pipeline_day.paths.evidence.rglob("manifest.json"))


def test_a_killed_snapshots_aside_folder_is_removed_when_no_writer_can_be_alive(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    daily = evidence / "2026-11-20" / ".incomplete-0a1b"
    export = evidence / "exports" / "2026-11-01--2026-11-30" / ".incomplete-2c3d"
    stale_export = evidence / "samples" / "cc6_1--2026-11-01--2026-11-30" / ".incomplete-4e5f"
    for folder in (daily, export, stale_export):
        (folder / "cc6_1").mkdir(parents=True)
        (folder / "cc6_1" / "population.csv").write_text("ada@example-corp.test\n")
    finished = evidence / "2026-11-20" / "v001-20261120T000000Z"
    finished.mkdir()
    old = time.time() - ABANDONED_AFTER_SECONDS - 60
    for path in [stale_export, *stale_export.rglob("*")]:
        os.utime(path, (old, old))

    # a run under way may be writing the daily one: only what nobody touched for hours goes
    assert remove_abandoned_bundles(evidence, runs_in_progress=True) == [stale_export]
    assert daily.is_dir() and export.is_dir()
    # no run under way: the daily snapshot's writer is dead; an export (the CLI's, outside runs) is fresh: kept
    assert remove_abandoned_bundles(evidence, runs_in_progress=False) == [daily]
    assert not daily.exists() and export.is_dir() and finished.is_dir()


# -- names that reorder text -----------------------------------------------------------------------------------------

NAME = "Ada \u202egnp.exe\u202c Adler\u2066x\u2069\u200e\u200f\u061c"


def test_bidi_controls_in_names_are_shown_escaped_in_html() -> None:
    shown = _e(NAME)
    assert shown == "Ada \\u202egnp.exe\\u202c Adler\\u2066x\\u2069\\u200e\\u200f\\u061c"
    assert _e("<b>") == "&lt;b&gt;"


def test_bidi_controls_in_names_are_shown_escaped_in_dagster_metadata() -> None:
    row = {
        "resource_id": "u1",
        "resource_name": NAME,
        "resource_url": None,
        "status": "fail",
        "reason": "no 2FA \u202eon",
    }
    outcome = SimpleNamespace(exceptions=[row], exception_count=1, remediation_for=lambda row: "enable \u2067it")
    table = failing_rows_table(outcome)
    assert not any(ch in table for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
    assert "Ada \\u202egnp.exe\\u202c Adler" in table and "no 2FA \\u202eon" in table and "enable \\u2067it" in table
