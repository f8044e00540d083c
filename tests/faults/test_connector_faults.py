"""The fault matrix at the connector level: every connector case x every fault the sandbox injects.

The cases are the contract cases (tests/connectors/cases_<system>.py) of every declared dataset whose source has an
API. Each fault has one of two acceptable outcomes, the same for every source or declared per case by its source
(`SourceDeclaration.faults` in evidence_pipeline/defs/sources/<system>/), never inferred from the run:
- retried and recovered: every record, the page-size minimum of requests, the retries (with their reason)
  in provenance;
- failed: a SourceError whose message names the source.dataset, the endpoint and the cause, and a provenance
  marked failed (the dataset's `collected` check then fails alone; what follows is in tests/test_pipeline.py,
  test_source_failure_makes_dependent_control_unknown_and_keeps_earlier_rows).
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from connectors.stream import SourceError, Stream
from evidence_pipeline.defs.sources import declarations, systems
from evidence_pipeline.defs.sources.declaration import FaultExpectations, SourceDeclaration
from sandbox.launch import Sandbox, start_sandbox
from tests.connectors.contract import ConnectorCase
from tests.connectors.test_contract import CASES

#: each source's facts, its fault expectations among them (evidence_pipeline/defs/sources/<system>/)
SOURCES: dict[str, SourceDeclaration] = {source.source: source for source in declarations()}


def source_of(case: ConnectorCase) -> SourceDeclaration:
    """A contract case is named "<source>.<dataset>" (with "[<provider>]" when a source has several)."""
    return SOURCES[case.name.split(".")[0]]


def faults_of(case: ConnectorCase) -> FaultExpectations:
    expectations = source_of(case).faults
    assert expectations is not None, f"{case.name}: its source declares no API to fault"
    return expectations


#: the cases of every source with an API (a file export has none to fault)
HTTP_CASES = [c for c in CASES if source_of(c).faults is not None and not c.credentials_free]

#: fault -> (times injected, reason text the retry must record); transient faults must be recovered from
TRANSIENT = {"429": (2, r"429|throttled"), "5xx": (3, r"503"), "reset": (1, r"transport error"), "timeout": (1, r"504")}
#: persistent refusals must fail, naming the cause
REFUSED = {"401": r"401|InvalidClientTokenId", "403": r"403|AccessDenied"}
#: a truncated body: the cases each source declares (FaultExpectations.malformed_retried) retry the page, the others
#: fail on the parse error
MALFORMED_RETRIED = {name for source in SOURCES.values() if source.faults for name in source.faults.malformed_retried}
#: paginated cases with a second page at org size 1000 -> what stops the stream when the server answers a page with
#: the previous page of the same call again (FaultExpectations.repeated_page)
PAGINATED = {
    name: cause for source in SOURCES.values() if source.faults for name, cause in source.faults.repeated_page.items()
}


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory):
    started: dict[tuple[int, tuple[str, ...]], Sandbox] = {}

    def get(size: int, systems: tuple[str, ...]) -> Sandbox:
        if (size, systems) not in started:
            started[size, systems] = start_sandbox(tmp_path_factory.mktemp("sandbox"), size=size, systems=systems)
        sandbox = started[size, systems]
        for server in sandbox.servers.values():
            server.faults.clear()
            server.reset_log()
        return sandbox

    yield get
    for sandbox in started.values():
        sandbox.stop()


def faulted_stream(case: ConnectorCase, sandbox: Sandbox, kind: str, times: int) -> Stream:
    stream = case.make_stream(sandbox)
    # the policy as shipped, with a short backoff so the matrix stays fast (Retry-After is honoured as sent)
    stream.policy = dataclasses.replace(stream.policy, backoff_base=0.01)
    expectations = faults_of(case)
    sandbox.servers[expectations.data_server].inject(
        kind, times=times, path_prefix=expectations.path_prefix, retry_after=0.05
    )
    return stream


def assert_recovered(case: ConnectorCase, sandbox: Sandbox, stream: Stream, times: int, reason: str) -> None:
    records = list(stream.records())
    provenance = stream.provenance
    assert len(records) == case.expected_records(sandbox.org)
    assert provenance.status == "succeeded"
    # retries are not extra requests in provenance: each page is one logical request with its retries
    assert provenance.request_count == case.min_requests(sandbox.org)
    assert provenance.retry_count == times
    reasons = [r for log in provenance.requests for r in log.retry_reasons]
    assert len(reasons) == times and all(re.search(reason, r) for r in reasons), reasons
    assert all(f.times == 0 for f in sandbox.servers[faults_of(case).data_server].faults), "the fault was never served"


def assert_failed(stream: Stream, cause: str, yielded: list[dict] | None = None) -> SourceError:
    """The stream fails with a SourceError naming dataset, endpoint and `cause`; `yielded` gets what it yielded."""
    yielded = [] if yielded is None else yielded
    with pytest.raises(SourceError) as raised:
        yielded.extend(stream.records())
    message = str(raised.value)
    assert message.startswith(f"{stream.source}.{stream.dataset}:"), message
    endpoint = stream.endpoint.split()[-1] if " " in stream.endpoint else stream.endpoint
    assert endpoint in message, message
    assert re.search(cause, message), message
    assert stream.provenance.status == "failed" and stream.provenance.error == message
    return raised.value


@pytest.mark.parametrize("kind", list(TRANSIENT))
@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda c: c.name)
def test_transient_fault_is_retried_and_recorded(case: ConnectorCase, kind: str, sandboxes) -> None:
    sandbox = sandboxes(50, case.systems)
    times, reason = TRANSIENT[kind]
    assert_recovered(case, sandbox, faulted_stream(case, sandbox, kind, times), times, reason)


@pytest.mark.parametrize("kind", list(REFUSED))
@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda c: c.name)
def test_refused_credentials_fail_with_a_clear_message(case: ConnectorCase, kind: str, sandboxes) -> None:
    sandbox = sandboxes(50, case.systems)
    stream = faulted_stream(case, sandbox, kind, times=1000)
    assert_failed(stream, REFUSED[kind])
    assert stream.provenance.retry_count == 0  # a refusal is not retried
    assert stream.provenance.requests[-1].status in (401, 403)


@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda c: c.name)
def test_malformed_json_is_retried_or_fails_never_read_as_empty(case: ConnectorCase, sandboxes) -> None:
    sandbox = sandboxes(50, case.systems)
    stream = faulted_stream(case, sandbox, "malformed", times=1)
    if case.name in MALFORMED_RETRIED:
        assert_recovered(case, sandbox, stream, 1, r"malformed")
    else:
        assert_failed(stream, r"JSON|XML|parse")


@pytest.mark.parametrize("case", [c for c in HTTP_CASES if c.name in PAGINATED], ids=lambda c: c.name)
def test_repeated_page_is_refused(case: ConnectorCase, sandboxes) -> None:
    sandbox = sandboxes(1000, case.systems)
    assert case.min_requests(sandbox.org) >= 2, "the case needs a second page at this size"
    stream = faulted_stream(case, sandbox, "repeat_cursor", times=1)
    yielded: list[dict] = []
    # the records already yielded are never landed: staging fails, so the day's earlier rows stay
    assert_failed(stream, PAGINATED[case.name], yielded)
    # the repeated page's records were refused before they were yielded: no record came twice
    distinct = {json.dumps(r, sort_keys=True, default=str) for r in yielded}
    assert yielded and len(distinct) == len(yielded)


def test_every_paginated_case_is_in_the_matrix() -> None:
    assert set(PAGINATED) <= {c.name for c in HTTP_CASES}
    assert {c.name for c in HTTP_CASES} >= MALFORMED_RETRIED


def test_every_declared_dataset_of_a_source_with_an_api_is_in_the_matrix() -> None:
    """The matrix is the declared datasets: a dataset without a contract case would escape every fault."""
    declared = {spec.name for module in systems() if module.SOURCE.faults for spec in module.DATASETS}
    cased = {case.name.split("[")[0] for case in HTTP_CASES}
    assert declared and declared == cased, (declared - cased, cased - declared)
    for case in HTTP_CASES:
        source = source_of(case)
        # the case runs the fake the source declares, and names only credentials the source declares as secrets
        assert case.systems[0] == source.sandbox_system, case.name
        assert set(case.secret_env) <= set(source.secret_env), case.name


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_empty_organisation_is_an_empty_success(case: ConnectorCase, sandboxes) -> None:
    """An empty organisation is not a failure at the connector: zero records, one request, succeeded. The
    controls then say *unknown* ("empty evidence is not proof"), see tests/test_pipeline.py."""
    sandbox = sandboxes(0, case.systems)
    stream = case.make_stream(sandbox)
    records = list(stream.records())
    assert sandbox.org.accounts == [] and sandbox.org.people == []
    # no accounts; only what exists without people (built-in roles, the account summary, the organisation)
    assert len(records) == case.expected_records(sandbox.org)
    assert stream.provenance.status == "succeeded"
    assert stream.provenance.request_count == case.min_requests(sandbox.org)


class PagedList(Stream):
    """A page-numbered list served from memory: `pages[n]` is page n + 1."""

    source, dataset, endpoint = "test", "pages", "memory://pages"

    def __init__(self, pages: list[list[dict]]) -> None:
        self.pages = pages
        super().__init__()

    def request(self, cursor: int | None) -> list[dict]:
        return self.pages[(cursor or 1) - 1]

    def parse(self, payload: list[dict]) -> list[dict]:
        return payload

    def next_cursor(self, payload: list[dict]) -> int | None:
        page = self.provenance.requests[-1].page
        return page + 1 if page < len(self.pages) else None


def test_the_shared_loop_refuses_an_identical_non_empty_page_without_yielding_it() -> None:
    first, second = [{"id": 1}, {"id": 2}], [{"id": 3}]
    stream = PagedList([first, second, second])
    got: list[dict] = []
    with pytest.raises(SourceError, match=r"^test\.pages: GET memory://pages page 3 repeated page 2") as raised:
        got.extend(stream.records())
    assert got == first + second and stream.provenance.status == "failed"
    assert stream.provenance.error == str(raised.value)
    # the same records on pages that are not byte-identical are the connector's business, not a repeat
    assert len(list(PagedList([first, [{"id": 1}, {"id": 2}, {"id": 3}]]).records())) == 5
    # identical pages without records (a job polled until it is ready, empty results) duplicate nothing
    assert list(PagedList([[], [], second]).records()) == second


class InterleavedCalls(PagedList):
    """Follow-up calls whose pages need not name their parent: page n is call n's only page."""

    def page_scope(self, cursor: int | None) -> int:
        return cursor or 1


def test_identical_pages_of_different_calls_are_not_a_repeat() -> None:
    same = [{"reviewer": "octocat", "state": "APPROVED"}]
    assert len(list(InterleavedCalls([same, same]).records())) == 2
    with pytest.raises(SourceError, match="page 2 repeated page 1"):
        list(PagedList([same, same]).records())
