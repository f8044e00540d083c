"""Canary credentials: the session's pipeline day (and, run after tests/test_pipeline.py, its failing-source
re-run) used the sandbox's credentials, and a GitHub API URL carrying credentials of its own (userinfo and an
`api_key` query, which PyGithub accepts and sends without); not one of them may appear in Dagster's run storage and
compute logs, the DuckDB warehouse, the staging folder or any evidence bundle."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from evidence_pipeline.defs.sources import declarations
from sandbox.launch import start_sandbox
from tests.conftest import PipelineDay

#: every variable whose value is a credential, as each source declares it (SourceDeclaration.secret_env)
SECRET_ENV = tuple(name for source in declarations() for name in source.secret_env)


#: the credentials planted in the GitHub API URL (userinfo and query) by `add_url_canaries`
URL_USERINFO_CANARY = "ghp-url-userinfo-canary-5d1f0c"
URL_QUERY_CANARY = "url-query-canary-api-key-93b2a7"


def add_url_canaries(env: dict[str, str]) -> dict[str, str]:
    """GITHUB_API_URL with credentials in it (set in `env`, which the fixture applies): PyGithub connects to the host
    and port, sends its own token, and keeps the URL as given, so records made from the URL would carry them."""
    parts = urlsplit(env["GITHUB_API_URL"])
    env["GITHUB_API_URL"] = (
        f"{parts.scheme}://x-access-token:{URL_USERINFO_CANARY}@{parts.netloc}{parts.path}?api_key={URL_QUERY_CANARY}"
    )
    return env


def canaries(env: dict[str, str]) -> dict[str, str]:
    found = {name: env[name] for name in SECRET_ENV if env.get(name)}
    found.update({"GITHUB_API_URL userinfo": URL_USERINFO_CANARY, "GITHUB_API_URL api_key": URL_QUERY_CANARY})
    key = json.loads(env["GOOGLE_WORKSPACE_CREDENTIALS_JSON"])
    # parts of the key file that could leak on their own: its id and a line of the private key
    found["google private_key_id"] = key["private_key_id"]
    found["google private key line"] = max(key["private_key"].splitlines(), key=len)
    return found


def test_every_source_with_an_api_declares_its_credentials_and_the_sandbox_sets_one(tmp_path: Path) -> None:
    """A source that talks to an API has credentials: it declares them, and its sandbox fake hands one out (so the
    scans below look for it). One way of authenticating is enough (a GitHub token, or the App's private key)."""
    with_api = [source for source in declarations() if source.faults is not None]
    assert with_api and all(source.secret_env for source in with_api), [s.source for s in with_api]
    systems = tuple(sorted({source.sandbox_system for source in with_api if source.sandbox_system}))
    with start_sandbox(tmp_path, size=0, systems=systems) as sandbox:
        unset = [source.source for source in with_api if not any(sandbox.env.get(n) for n in source.secret_env)]
    assert not unset, f"the sandbox sets none of the declared credentials of {unset}"


def test_canary_credentials_are_distinct_and_were_used(pipeline_day: PipelineDay) -> None:
    secrets = canaries(pipeline_day.sandbox.env)
    unset = [s.source for s in declarations() if s.secret_env and not set(s.secret_env) & set(secrets)]
    assert not unset, f"every source's credential is a canary: none of {unset}'s"
    assert URL_USERINFO_CANARY in pipeline_day.sandbox.env["GITHUB_API_URL"], "the URL carried credentials"
    assert all(len(value) >= 16 for value in secrets.values())
    assert all(o.success for o in pipeline_day.outcomes[:1]), "the day was collected with them"
    # GitHub was read through the URL carrying them: its provenance names the host with the credentials removed
    con = duckdb.connect(str(pipeline_day.paths.warehouse), read_only=True)
    try:
        logged = con.execute(
            "SELECT provenance FROM source_status WHERE source = 'github' AND status = 'succeeded'"
        ).fetchall()
    finally:
        con.close()
    endpoints = {request["endpoint"] for (provenance,) in logged for request in json.loads(provenance)["requests"]}
    host = urlsplit(pipeline_day.sandbox.env["GITHUB_API_URL"]).hostname
    assert endpoints and all(f"://[redacted]@{host}" in e for e in endpoints), endpoints


def test_no_canary_in_dagster_storage_warehouse_staging_or_bundles(pipeline_day: PipelineDay) -> None:
    secrets = canaries(pipeline_day.sandbox.env)
    home = pipeline_day.paths.home
    sandbox_files = home / "sandbox"  # the sandbox's own key file lives there, as a user's key file would
    scanned: list[Path] = []
    for path in home.rglob("*"):
        if not path.is_file() or sandbox_files in path.parents:
            continue
        data = path.read_bytes()
        scanned.append(path)
        for name, value in secrets.items():
            assert value.encode() not in data, f"{name} found in {path}"
    folders = {p.relative_to(home).parts[0] for p in scanned}
    assert {"dagster", "evidence", "warehouse.duckdb"} <= folders, folders  # run storage, bundles, DuckDB
    # DuckDB compresses strings on disk, so the byte scan above is not enough: read every table too
    con = duckdb.connect(str(pipeline_day.paths.warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        assert "collection_log" in tables and "raw_github_repositories" in tables
        for table in tables:
            text = str(con.execute(f"SELECT * FROM {table}").fetchall())
            for name, value in secrets.items():
                assert value not in text, f"{name} found in table {table}"
    finally:
        con.close()
