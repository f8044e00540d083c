"""The one HTTP policy every connector shares, and the stream contract over it.

A connector is a `Stream` subclass that fills in a few hooks:

- `request(cursor)`      make one page's request with the real client; return the parsed payload
- `parse(payload)`       turn a page into records (dicts matching the warehouse's raw table)
- `next_cursor(payload)` the next page's cursor, or None at the end
- `classify(exc)`        is this failure worth a retry, and after how long?

The shared loop (`Stream.records`) pages to the end, paces requests (or sends
up to `read_ahead` at once for the cursors `ahead` knows in advance: the
per-item reads of a listed set), retries transient failures honouring Retry-After, refuses a cursor that repeats and a
page identical to the previous page of the same call (a server serving a page
twice, which only the payload shows when pages are numbered), hashes every
payload and records each request in `Provenance`. Authentication lives in how
the connector builds its real client; credentials never reach provenance.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from provenance import PayloadHasher, Provenance, RequestLog, utc_now
from provenance.redact import redact_params


def pages(records: int, page_size: int) -> int:
    """The fewest requests that list `records` records at `page_size` a page: an empty collection still takes one.
    Each connector's `minimum.py` builds its datasets' request minimum on it (the contract tests and the bench hold
    the connectors to that minimum)."""
    return max(1, math.ceil(records / page_size))


class SourceError(Exception):
    """A source could not be read; the message names the source, endpoint and cause."""


@dataclass(frozen=True)
class Retry:
    """A classification result: retry after `wait` seconds, for `reason`."""

    wait: float | None
    reason: str


@dataclass(frozen=True)
class RequestPolicy:
    max_retries: int = 5
    backoff_base: float = 0.5
    max_wait: float = 60.0
    #: Minimum seconds between two requests of one stream (KnowBe4 allows ~4/s).
    min_interval: float = 0.0
    timeout: float = 30.0

    def backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff_base * (2**attempt)) * (0.5 + random.random() / 2)


@dataclass
class _Attempts:
    """What one logical request's attempts came to: its payload, or the error that ended them."""

    started_at: str
    payload: Any = None
    error: Exception | None = None
    status: int | None = None
    retries: int = 0
    retry_reasons: list[str] = field(default_factory=list)
    duration_ms: float = 0.0


class Stream(ABC):
    """One dataset of one source, read page by page through the shared policy."""

    source: str = ""
    dataset: str = ""
    endpoint: str = ""
    method: str = "GET"
    policy: RequestPolicy = RequestPolicy()
    #: requests in flight at once for the cursors `ahead` names (1: one after another). Only for an unpaced policy.
    read_ahead: int = 1

    def __init__(self) -> None:
        self.provenance = Provenance(source=self.source, dataset=self.dataset, parameters=self.parameters())
        self._hasher = PayloadHasher()
        self._last_request_at = 0.0
        #: SHA-256 of the page `call` returned last
        self._page_digest = ""
        #: repr(cursor) -> its request, sent ahead of its turn (`read_ahead`)
        self._sent_ahead: dict[str, Future[_Attempts]] = {}

    # -- hooks ---------------------------------------------------------------
    def parameters(self) -> dict[str, Any]:
        """Collection parameters recorded in provenance (never credentials)."""
        return {}

    def params(self, cursor: Any) -> dict[str, Any]:
        """The request parameters of the page at `cursor`, as recorded in provenance."""
        return {} if cursor is None else {"cursor": cursor}

    @abstractmethod
    def request(self, cursor: Any) -> Any:
        """Perform one page's request with the real client and return its payload."""

    @abstractmethod
    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        """Records of one page."""

    def next_cursor(self, payload: Any) -> Any:
        return None

    def ahead(self, cursor: Any) -> Iterable[Any]:
        """Cursors certain to be requested after `cursor` whatever the pages say (a work queue's per-item
        reads of an already listed set), in the order they will be: their requests are sent before their turn,
        `read_ahead` at once, and consumed in turn. `request(cursor)` must then depend only on the cursor and on
        what earlier pages made known, and be safe to call from several threads."""
        return ()

    def page_records(self, payload: Any, parsed: int) -> int:
        """How many records the page returned, for its request log: the records parsed from it, unless the stream
        folds a page's records into others' instead of yielding them (GitHub's list of members without 2FA)."""
        return parsed

    def page_scope(self, cursor: Any) -> Hashable:
        """The call the page at `cursor` belongs to, for the repeated-page guard: a page identical to the previous
        page of its call is a repeat. One call per stream; a stream that interleaves calls (a work queue of
        follow-up queries whose payloads need not name their parent) names the call of each page."""
        return None

    def classify(self, exc: Exception) -> Retry | None:
        """Return a Retry for transient failures, None for fatal ones."""
        return None

    def status_of(self, exc: Exception | None) -> int | None:
        return getattr(exc, "status", None) if exc is not None else 200

    # -- the shared loop -----------------------------------------------------
    def call(self, cursor: Any, page: int) -> Any:
        """One logical request with pacing, retries and provenance (its attempts may have been sent ahead)."""
        log = RequestLog(
            endpoint=self.endpoint,
            method=self.method,
            params=redact_params(self.params(cursor)),
            page=page,
            started_at=utc_now(),
        )
        self.provenance.requests.append(log)
        sent_ahead = self._sent_ahead.pop(repr(cursor), None)
        attempts = sent_ahead.result() if sent_ahead is not None else self._attempt(cursor)
        log.started_at, log.retries, log.retry_reasons = attempts.started_at, attempts.retries, attempts.retry_reasons
        log.duration_ms = attempts.duration_ms
        if attempts.error is not None:
            exc = attempts.error
            log.status = attempts.status
            raw_error = f"{type(exc).__name__}: {exc}"[:500]
            log.error = raw_error  # redacted on assignment
            tried = f" after {log.retries} retries" if log.retries else ""
            raise SourceError(
                f"{self.source}.{self.dataset}: {self.method} {log.endpoint} page {page} failed{tried}: {log.error}"
            ) from (exc if log.error == raw_error else None)  # a cause quoting a credential is not chained
        log.status = 200 if attempts.status is None or attempts.status >= 400 else attempts.status
        page_bytes = _page_bytes(attempts.payload)
        self._hasher.add(page_bytes)
        self._page_digest = hashlib.sha256(page_bytes).hexdigest()
        return attempts.payload

    def _attempt(self, cursor: Any) -> _Attempts:
        """The request at `cursor`, paced and retried while its failures are transient; touches no provenance, so
        that it may run ahead of its turn in another thread."""
        attempts = _Attempts(started_at=utc_now())
        started = time.monotonic()
        while True:
            wait = self.policy.min_interval - (time.monotonic() - self._last_request_at)
            if wait > 0:
                time.sleep(wait)
            self._last_request_at = time.monotonic()
            try:
                attempts.payload = self.request(cursor)
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                retry = self.classify(exc)
                attempts.status = self.status_of(exc)
                if retry is None or attempts.retries >= self.policy.max_retries:
                    attempts.error = exc
                    break
                attempts.retries += 1
                attempts.retry_reasons.append(retry.reason)
                time.sleep(
                    min(
                        self.policy.max_wait,
                        retry.wait if retry.wait is not None else self.policy.backoff(attempts.retries),
                    )
                )
                continue
            break
        attempts.duration_ms = round((time.monotonic() - started) * 1000, 1)
        return attempts

    def _send_ahead(self, pool: ThreadPoolExecutor | None, cursor: Any) -> None:
        """Send the requests of the next `read_ahead` cursors `ahead` knows after `cursor`, those not sent yet."""
        if pool is None:
            return
        for following in islice(self.ahead(cursor), self.read_ahead):
            key = repr(following)
            if key not in self._sent_ahead:
                self._sent_ahead[key] = pool.submit(self._attempt, following)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record of the dataset, page by page; provenance is complete when exhausted."""
        cursor: Any = None
        seen: set[str] = set()
        page = 0
        #: call -> (page number, digest) of its last page
        last_page: dict[Hashable, tuple[int, str]] = {}
        # a paced policy keeps its requests one after another
        pool = ThreadPoolExecutor(self.read_ahead) if self.read_ahead > 1 and not self.policy.min_interval else None
        try:
            while True:
                page += 1
                scope = self.page_scope(cursor)
                self._send_ahead(pool, cursor)
                payload = self.call(cursor, page)
                # A page byte-identical to the previous page of its call is the server serving a page twice (a page
                # number or cursor it did not advance): its records would be duplicates. Identical pages without
                # records (an asynchronous job polled twice, an empty result) duplicate nothing and pass.
                previous = last_page.get(scope)
                last_page[scope] = (page, self._page_digest)
                count = 0
                for record in self.parse(payload):
                    if previous is not None and previous[1] == self._page_digest:
                        raise SourceError(
                            f"{self.source}.{self.dataset}: {self.method} {self.endpoint} page {page} repeated "
                            f"page {previous[0]} (identical payload, sha256 {previous[1][:12]}); refusing to "
                            "duplicate its records"
                        )
                    count += 1
                    yield record
                self.provenance.requests[-1].record_count = self.page_records(payload, count)
                self.provenance.record_count += count
                cursor = self.next_cursor(payload)
                if cursor is None:
                    break
                if repr(cursor) in seen:
                    raise SourceError(
                        f"{self.source}.{self.dataset}: {self.endpoint} returned cursor {cursor!r} twice "
                        f"(page {page}); refusing to loop"
                    )
                seen.add(repr(cursor))
        except Exception as exc:
            self.provenance.status = "failed"
            self.provenance.error = str(exc)
            if self.provenance.error != str(exc):
                # the message quoted a credential (a connector's own error naming its URL): raise it redacted, the
                # original not chained, since whatever logs this failure would print both
                raise SourceError(self.provenance.error) from None
            raise
        finally:
            if pool is not None:
                # a dataset that failed first: what was sent ahead is not evidence of anything; nothing awaits it
                pool.shutdown(wait=True, cancel_futures=True)
                self._sent_ahead.clear()
            self.provenance.finished_at = utc_now()
            self.provenance.payload_sha256 = self._hasher.hexdigest()
        self.provenance.status = "succeeded"


def _page_bytes(payload: Any) -> bytes:
    """A page as PayloadHasher hashes it: bytes or text as sent, anything else as canonical JSON."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, sort_keys=True, default=str).encode()


def http_retry(status: int | None, headers: dict[str, str] | None, exc: Exception) -> Retry | None:
    """The HTTP part of the policy shared by every REST connector: 429/5xx/timeouts retry."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    retry_after = headers.get("retry-after")
    wait = float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None
    if status == 429:
        return Retry(wait, f"429 rate limited (Retry-After {retry_after})")
    if status == 403 and (headers.get("x-ratelimit-remaining") == "0" or retry_after):
        reset = headers.get("x-ratelimit-reset")
        if wait is None and reset and reset.isdigit():
            wait = max(0.0, int(reset) - time.time())
        return Retry(wait, "403 rate limit exceeded")
    if status is not None and 500 <= status < 600:
        return Retry(wait, f"{status} server error")
    name = type(exc).__name__
    if status is None and any(
        t in name
        for t in (
            "ConnectionError",
            "Timeout",
            "ConnectTimeout",
            "ReadTimeout",
            "ChunkedEncodingError",
            "ProtocolError",
            "RemoteDisconnected",
            "ConnectionReset",
            "IncompleteRead",
        )
    ):
        return Retry(None, f"transport error {name}")
    return None
