"""KnowBe4 training enrollments: GET /v1/training/enrollments?page=P&per_page=500.

The Reporting API answers each page with a plain JSON array and no total, so the last
page is the first one shorter than per_page: floor(N/500) + 1 requests for N enrollments
(one more than ceil(N/500) when N is a multiple of 500). Requests are paced to 4 a second,
the API's documented burst limit, through the shared policy's `min_interval`; a 429 waits
for Retry-After (or backs off) and is counted in provenance. Pages are numbered, so a server
that serves a page twice shows it only in the payload: the shared loop refuses a page identical
to the previous one rather than duplicate its enrollments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import requests

from connectors.csv_file import to_utc_iso
from connectors.knowbe4.records import compile_course_pattern, enrollment_record
from connectors.stream import RequestPolicy, Retry, SourceError, Stream, http_retry

PAGE_SIZE = 500  # the Reporting API's maximum per_page
REQUESTS_PER_SECOND = 4


class KnowBe4HttpError(Exception):
    """A non-2xx answer; carries the status and headers the shared HTTP policy classifies."""

    def __init__(self, status: int, headers: dict[str, str], message: str) -> None:
        self.status = status
        self.headers = headers
        super().__init__(f"HTTP {status}: {message[:300]}")


class MalformedPage(Exception):
    """A 200 whose body is not the JSON array the API documents (a truncated transfer)."""


class KnowBe4Enrollments(Stream):
    source = "training"
    dataset = "enrollments"
    policy = RequestPolicy(min_interval=1.0 / REQUESTS_PER_SECOND)

    def __init__(
        self, session: requests.Session, base_url: str, course_pattern: str | None = None, timeout: float = 30.0
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.endpoint = f"{self.base_url}/v1/training/enrollments"
        self.course_pattern: re.Pattern[str] = compile_course_pattern(course_pattern)
        self.timeout = timeout
        self._page = 1
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {
            "provider": "knowbe4",
            "base_url": self.base_url,
            "per_page": PAGE_SIZE,
            "requests_per_second": REQUESTS_PER_SECOND,
            "course_pattern": self.course_pattern.pattern,
        }

    def params(self, cursor: Any) -> dict[str, Any]:
        return {"page": cursor or 1, "per_page": PAGE_SIZE}

    def request(self, cursor: Any) -> list[dict[str, Any]]:
        self._page = cursor or 1
        response = self.session.get(self.endpoint, params=self.params(cursor), timeout=self.timeout)
        if response.status_code >= 400:
            raise KnowBe4HttpError(response.status_code, dict(response.headers), _message(response))
        try:
            payload = response.json()
        except ValueError as exc:
            raise MalformedPage(f"page {self._page} is not JSON: {exc}") from exc
        if not isinstance(payload, list):
            raise SourceError(
                f"training.enrollments: {self.endpoint} page {self._page} returned "
                f"{type(payload).__name__}, expected a JSON array"
            )
        return payload

    def parse(self, payload: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for item in payload:
            if not isinstance(item, dict) or item.get("enrollment_id") in (None, ""):
                # the warehouse's key: a row without it could never be found again, so the page is refused
                raise SourceError(
                    f"training.enrollments: {self.endpoint} page {self._page} has an enrollment "
                    f"without enrollment_id ({str(item)[:200]})"
                )
            user = item.get("user") or {}
            name = " ".join(part for part in (user.get("first_name"), user.get("last_name")) if part) or None
            yield enrollment_record(
                provider="knowbe4",
                enrollment_id=str(item["enrollment_id"]),
                user_id=str(user["id"]) if user.get("id") is not None else None,
                email=user.get("email"),
                user_name=name,
                course=item.get("module_name"),
                campaign=item.get("campaign_name"),
                content_type=item.get("content_type"),
                status=item.get("status"),
                enrollment_date=_timestamp(item.get("enrollment_date")),
                start_date=_timestamp(item.get("start_date")),
                completion_date=_timestamp(item.get("completion_date")),
                time_spent=item.get("time_spent"),
                course_pattern=self.course_pattern,
                raw=item,
            )

    def next_cursor(self, payload: list[dict[str, Any]]) -> Any:
        return self._page + 1 if len(payload) >= PAGE_SIZE else None

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, KnowBe4HttpError):
            return http_retry(exc.status, exc.headers, exc)
        if isinstance(exc, MalformedPage):
            return Retry(None, "malformed JSON page")
        return http_retry(None, None, exc)


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return str(body.get("message") or body.get("error") or body) if isinstance(body, dict) else str(body)


def _timestamp(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return to_utc_iso(value)
    except ValueError:
        raise SourceError(f"training.enrollments: unexpected timestamp {value!r}") from None
