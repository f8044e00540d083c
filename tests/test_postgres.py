"""The production instance: the same definitions on Dagster's PostgreSQL storage (deploy/dagster.yaml) run a day:
two sources collected, every control judged and the bundle written (what is stored where does not depend on how
many sources a run collects; each lands the same way, and the session's day collects them all: tests/test_pipeline.py).

PostgreSQL comes from EVIDENCE_TEST_POSTGRES_URL (.ci/run installs Debian's postgresql, starts it and sets it), else
a throwaway server is started here with the installed PostgreSQL's own initdb and pg_ctl."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key
from evidence_pipeline.evidence.verify import verify_bundle
from tests.conftest import DAY, bundles_of, sandbox_home
from tests.runs import assets_collecting_only, run_daily_job
from warehouse import Warehouse

URL_ENV = "EVIDENCE_TEST_POSTGRES_URL"


def postgres_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    if not found[-1]:
        pytest.fail(f"PostgreSQL is needed: apt-get install postgresql, or set {URL_ENV} (.ci/run does both)")
    return Path(found[-1]).parent


def as_owner(command: list[str], owner: str | None) -> list[str]:
    # PostgreSQL refuses to run as root: a root test runs it as the package's own user
    return ["runuser", "-u", owner, "--", *command] if owner else command


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if os.environ.get(URL_ENV):
        yield os.environ[URL_ENV]
        return
    binaries = postgres_binaries()
    owner = "postgres" if os.geteuid() == 0 else None
    # not under pytest's folders, which are root's alone: the server's own user must reach its data folder
    folder = Path(tempfile.mkdtemp(prefix="evidence-postgres-"))
    data = folder / "data"
    if owner:
        shutil.chown(folder, owner)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(
        as_owner([str(binaries / "initdb"), "-D", str(data), "-U", "evidence", "--auth=trust"], owner),
        check=True,
        capture_output=True,
    )
    start = [str(binaries / "pg_ctl"), "-D", str(data), "-w", "-o", f"-p {port} -h 127.0.0.1 -k {data}", "start"]
    subprocess.run(as_owner([*start, "-l", str(data / "log")], owner), check=True, capture_output=True)
    try:
        subprocess.run(
            as_owner(
                [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "evidence", "evidence"], owner
            ),
            check=True,
            capture_output=True,
        )
        yield f"postgresql://evidence@127.0.0.1:{port}/evidence"
    finally:
        subprocess.run(as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], owner), check=False)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_postgres_backed_instance_runs_a_day(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence_pipeline.settings import project_file

    parts = urlsplit(postgres_url)
    for name, value in {
        "DAGSTER_PG_HOST": parts.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(parts.port or 5432),
        "DAGSTER_PG_USER": parts.username or "evidence",
        "DAGSTER_PG_PASSWORD": parts.password or "",
        "DAGSTER_PG_DB": parts.path.lstrip("/") or "evidence",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVIDENCE_DAGSTER_YAML", str(project_file("deploy/dagster.yaml")))
    for name in ("DAGSTER_HOME", "EVIDENCE_HOME"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored afterwards
    with sandbox_home(tmp_path / "home", size=10) as (_, paths):
        os.environ[SIGNING_KEY_ENV] = str(ensure_data_folder_key(paths.home).path)
        day = run_daily_job(DAY, paths, assets_collecting_only(("hr", "identity")))
        assert day.outcome.success and day.outcome.failed_steps == [], day
        with dg.DagsterInstance.get() as instance:
            # the run, its events and the pool's slots live in PostgreSQL, not in files under DAGSTER_HOME
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            run = instance.get_run_by_id(day.outcome.run_id)
            assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags["dagster/partition"] == DAY.isoformat()
        assert not list(paths.dagster_home.glob("history/runs.db")), "no SQLite run storage beside it"
        verdicts = Warehouse(paths.warehouse).query(
            "SELECT count(*) AS n FROM control_verdicts WHERE snapshot_date = ? AND run_id = ?",
            [DAY, day.outcome.run_id],
        )
        assert verdicts[0]["n"] > 20
        [bundle] = bundles_of(paths, DAY)
        assert verify_bundle(bundle)["run_id"] == day.outcome.run_id
