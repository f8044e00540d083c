"""The fault matrix at the connector level: every connector case x every fault the sandbox injects.

Each fault has one of two acceptable outcomes, declared here per case, never inferred from the run:
- retried and recovered: every record, the page-size minimum of requests, the retries (with their reason)
  in provenance;
- failed: a SourceError whose message names the source.dataset, the endpoint and the cause, and a provenance
  marked failed (the asset then fails alone; what follows is in tests/test_pipeline.py,
  test_source_failure_makes_dependent_control_unknown_and_keeps_earlier_rows).
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from connectors.stream import SourceError, Stream
from sandbox.launch import Sandbox, start_sandbox
from tests.connectors.contract import ConnectorCase
from tests.connectors.test_contract import CASES

#: where each system serves its dataset pages: (fake server name, path prefix). Faults go there, not to the
#: token endpoints (a refused token is the 401 row of the same matrix).
DATA_SERVER = {
    "aws": ("aws", ""),
    "google": ("google", "/admin"),
    "entra": ("entra-graph", "/v1.0"),
    "github": ("github", ""),
    "knowbe4": ("knowbe4", "/v1"),
}
HTTP_CASES = [c for c in CASES if c.systems[0] in DATA_SERVER and not c.credentials_free]  # not the CSV files

#: fault -> (times injected, reason text the retry must record); transient faults must be recovered from
TRANSIENT = {"429": (2, r"429|throttled"), "5xx": (3, r"503"), "reset": (1, r"transport error"), "timeout": (1, r"504")}
#: persistent refusals must fail, naming the cause
REFUSED = {"401": r"401|InvalidClientTokenId", "403": r"403|AccessDenied"}
#: a truncated body: these connectors retry the page, the others fail on the parse error
MALFORMED_RETRIED = {
    "entra.users",
    "entra.user_registration_details",
    "entra.role_assignments",
    "google_workspace.users",
    "google_workspace.role_assignments",
    "google_workspace.roles",
    "training.enrollments[knowbe4]",
    "aws.backup_jobs",
    "aws.restore_jobs",
    "aws.protected_resources",
    "aws.backup_plans",
    "aws.identity_center_users",
}
#: paginated datasets with a second page at org size 1000, and what stops the stream when the server answers a
#: page with the previous page of the same call again: the shared loop refuses a page identical to the previous
#: page of its call (KnowBe4 pages by number, so only the payload shows the repeat), or, where the connector drops
#: records it has already seen (merged pull requests: search results shift while paging) and so yields nothing
#: twice, the repeated cursor
REPEATED_PAGE = r"page \d+ repeated page \d+ \(identical payload"
REPEATED_CURSOR = r"returned cursor .* twice"
PAGINATED = {
    "aws.backup_jobs": REPEATED_PAGE,
    "entra.users": REPEATED_PAGE,
    "github.repositories": REPEATED_PAGE,
    "github.members": REPEATED_PAGE,
    "github.outside_collaborators": REPEATED_PAGE,
    "github.merged_pull_requests": REPEATED_CURSOR,
    "google_workspace.users": REPEATED_PAGE,
    "training.enrollments[knowbe4]": REPEATED_PAGE,
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
    name, prefix = DATA_SERVER[case.systems[0]]
    sandbox.servers[name].inject(kind, times=times, path_prefix=prefix, retry_after=0.05)
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
    name, _ = DATA_SERVER[case.systems[0]]
    assert all(f.times == 0 for f in sandbox.servers[name].faults), "the fault was never served"


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
