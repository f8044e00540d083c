"""The shared loop sends the requests of cursors a stream knows in advance (`Stream.ahead`) `read_ahead` at once, and
still consumes, logs and parses them in turn: the same records, provenance and request count as one after another."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import pytest

from connectors.stream import RequestPolicy, Retry, SourceError, Stream


class Items(Stream):
    """A listing of `count` items, then one read per item: the reads are known once the listing is in."""

    source, dataset, endpoint = "toy", "items", "toy://items"

    def __init__(self, count: int, read_ahead: int, fail_at: int | None = None, flaky: set[int] | None = None) -> None:
        self.count, self.read_ahead, self.fail_at = count, read_ahead, fail_at
        self.flaky = set(flaky or ())
        self.listed = False
        self.requested: list[Any] = []
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        # two reads must meet here at once: only requests sent side by side get past it
        self.meeting = threading.Barrier(2, timeout=10)
        super().__init__()

    def ahead(self, cursor: Any) -> Iterable[Any]:
        if not self.listed:
            return ()
        return range(0 if cursor is None else cursor + 1, self.count)

    def request(self, cursor: Any) -> Any:
        with self.lock:
            self.requested.append(cursor)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if cursor is None:
                return {"items": list(range(self.count))}
            if cursor in (0, 1) and self.read_ahead > 1 and self.policy.min_interval == 0:
                self.meeting.wait()
            if cursor in self.flaky:
                self.flaky.discard(cursor)
                raise TimeoutError(f"item {cursor} timed out")
            if cursor == self.fail_at:
                raise ValueError(f"item {cursor} is broken")
            return {"item": cursor, "value": cursor * 10}
        finally:
            with self.lock:
                self.in_flight -= 1

    def classify(self, exc: Exception) -> Retry | None:
        return Retry(0.0, "timed out") if isinstance(exc, TimeoutError) else None

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        if "items" in payload:
            self.listed = True
            return []
        return [{"item": payload["item"], "value": payload["value"]}]

    def next_cursor(self, payload: Any) -> Any:
        if "items" in payload:
            return 0 if self.count else None
        return payload["item"] + 1 if payload["item"] + 1 < self.count else None


def test_reads_known_ahead_go_side_by_side_and_come_back_in_turn() -> None:
    stream = Items(40, read_ahead=6, flaky={7})
    records = list(stream.records())
    assert records == [{"item": i, "value": i * 10} for i in range(40)]
    assert stream.most_in_flight > 1  # the first two reads met at the barrier: sent side by side
    assert stream.most_in_flight <= 6 + 1  # the loop's own request and at most `read_ahead` ahead of it
    # each cursor requested once (the flaky one once more, its retry): no request beyond the dataset's minimum
    assert sorted(stream.requested, key=lambda c: -1 if c is None else c) == [None, *range(8), 7, *range(8, 40)]
    logs = stream.provenance.requests
    assert [log.page for log in logs] == list(range(1, 42))
    assert [log.params for log in logs] == [{}, *({"cursor": i} for i in range(40))]
    assert [log.retries for log in logs][8] == 1 and logs[8].retry_reasons == ["timed out"]
    assert [log.record_count for log in logs] == [0, *[1] * 40]
    assert stream.provenance.record_count == 40 and stream.provenance.status == "succeeded"


def test_the_same_provenance_as_one_after_another() -> None:
    ahead, serial = Items(25, read_ahead=5), Items(25, read_ahead=1)
    ahead_records, serial_records = list(ahead.records()), list(serial.records())
    assert ahead_records == serial_records
    assert ahead.provenance.payload_sha256 == serial.provenance.payload_sha256
    assert [(r.page, r.params, r.record_count) for r in ahead.provenance.requests] == [
        (r.page, r.params, r.record_count) for r in serial.provenance.requests
    ]
    assert serial.most_in_flight == 1


def test_a_paced_policy_is_never_sent_ahead() -> None:
    stream = Items(6, read_ahead=4)
    stream.policy = RequestPolicy(min_interval=0.001)
    assert len(list(stream.records())) == 6
    assert stream.most_in_flight == 1


def test_a_failure_sent_ahead_fails_the_dataset_at_its_own_turn() -> None:
    stream = Items(30, read_ahead=4, fail_at=12)
    seen = []
    with pytest.raises(SourceError, match=r"page 14 failed: ValueError: item 12 is broken"):
        for record in stream.records():
            seen.append(record["item"])
    assert seen == list(range(12))  # every item before it, in turn; none after it
    assert stream.provenance.status == "failed"
    assert [log.params.get("cursor") for log in stream.provenance.requests][-1] == 12
