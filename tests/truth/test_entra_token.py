"""One token per source run: the Entra step's three datasets, fetched side by side in threads, share one msal app and
ask the identity platform once; each dataset's provenance records that request (never the token or the secret)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from evidence_pipeline.defs.resources import WarehouseResource
from evidence_pipeline.defs.sources import entra
from evidence_pipeline.defs.sources.factory import source_step
from evidence_pipeline.settings import Paths
from sandbox.launch import start_sandbox
from tests.truth.entra_graph import DAY
from warehouse import Warehouse


def test_a_run_of_every_dataset_requests_one_token(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path / "sandbox", size=50, today=DAY, systems=("entra",))
    try:
        env, login = sandbox.env, sandbox.servers["entra-login"]
        resource = entra.EntraResource(
            tenant_id=env["ENTRA_TENANT_ID"],
            client_id=env["ENTRA_CLIENT_ID"],
            client_secret=env["ENTRA_CLIENT_SECRET"],
            authority_url=env["ENTRA_AUTHORITY_URL"],
            graph_url=env["ENTRA_GRAPH_URL"],
            ca_bundle=env["ENTRA_CA_BUNDLE"],
        )
        login.reset_log()
        home = tmp_path / "home"
        result = dg.materialize(
            [source_step(entra.DATASETS, "entra")],
            partition_key=DAY.isoformat(),
            resources={"entra": resource, "warehouse": WarehouseResource(home=str(home))},
        )
        assert result.success
        token_requests = [r for r in login.requests if r.path.endswith("/oauth2/v2.0/token")]
        assert len(token_requests) == 1, [(r.method, r.path) for r in login.requests]
        issued = list(login.app.tokens.tokens)
        assert len(issued) == 1

        logs = Warehouse(Paths(home).warehouse).query(
            "SELECT dataset, status, provenance FROM collection_log WHERE source = 'entra'"
        )
        assert sorted(r["dataset"] for r in logs) == sorted(d.dataset for d in entra.DATASETS)
        for log in logs:
            assert log["status"] == "succeeded"
            recorded = json.loads(log["provenance"])["parameters"]["identity_platform_requests"]
            assert [
                (r["method"], r["url"].rsplit("/", 3)[-3:], r["status"]) for r in recorded if r["method"] == "POST"
            ] == [("POST", ["oauth2", "v2.0", "token"], 200)]
            assert issued[0] not in log["provenance"] and env["ENTRA_CLIENT_SECRET"] not in log["provenance"]
    finally:
        sandbox.stop()
