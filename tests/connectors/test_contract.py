"""Every connector: pages to the end, the fewest requests, an empty organisation,
complete provenance, read-only, and credentials never in provenance, logs or records."""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil

import pytest

import tests.connectors as package
from sandbox.launch import start_sandbox
from tests.connectors.contract import ConnectorCase

CASES: list[ConnectorCase] = [
    case
    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("cases_"))
    for case in importlib.import_module(f"tests.connectors.{module}").CASES
]


@pytest.fixture(scope="module", params=[0, 50, 1000], ids=lambda size: f"org{size}")
def sandboxes(request, tmp_path_factory):
    started = {}

    def get(systems: tuple[str, ...]):
        if systems not in started:
            started[systems] = start_sandbox(tmp_path_factory.mktemp("sandbox"), size=request.param, systems=systems)
        return started[systems]

    yield get
    for sandbox in started.values():
        sandbox.stop()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_connector_contract(case: ConnectorCase, sandboxes, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox = sandboxes(case.systems)
    for server in sandbox.servers.values():
        server.reset_log()
    stream = case.make_stream(sandbox)
    records = list(stream.records())
    provenance = stream.provenance

    # every page followed, every record returned
    assert len(records) == case.expected_records(sandbox.org)
    assert provenance.record_count == len(records)
    assert provenance.status == "succeeded"
    # the fewest requests the page size allows
    assert provenance.request_count == case.min_requests(sandbox.org), [r.params for r in provenance.requests]
    # provenance complete
    assert provenance.started_at and provenance.finished_at and len(provenance.payload_sha256) == 64
    for request in provenance.requests:
        assert request.endpoint and request.method and request.started_at and request.status is not None
    assert sum(r.record_count for r in provenance.requests) == len(records) + case.folded_records(sandbox.org)
    # read-only: the fake saw no write
    writes = [w for server in sandbox.servers.values() for w in server.writes()]
    assert writes == [], [(w.method, w.path) for w in writes]
    # credentials never in provenance, records or logs
    secrets = [sandbox.env[name] for name in case.secret_env if sandbox.env.get(name)]
    assert secrets or case.credentials_free, "a connector case must name its credentials"
    exposed = json.dumps(provenance.to_dict(), default=str) + json.dumps(records, default=str) + caplog.text
    for secret in secrets:
        assert secret not in exposed
