"""Provenance: what was asked of which system, when, and what came back.

Every connector request is recorded here; the record goes to the warehouse's
`collection_log` and into the evidence bundle, so an auditor can see it. A package of its own, beside `connectors`
(which write it) and `warehouse` (which stores it), so that neither depends on the other; it imports neither.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from provenance.redact import redact_value


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Redacted:
    """Every value assigned to a provenance record passes `redact_value`: a connector that names an endpoint by a
    URL with userinfo or a signed query, or fails with a message quoting one, cannot put the credential in the
    record (the collection log, the bundles and Dagster's metadata are all made from it)."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, redact_value(value))


@dataclass
class RequestLog(_Redacted):
    """One logical request (one page), including the retries it took."""

    endpoint: str
    method: str
    params: dict[str, Any]
    page: int
    started_at: str
    duration_ms: float = 0.0
    status: int | None = None
    retries: int = 0
    retry_reasons: list[str] = field(default_factory=list)
    record_count: int = 0
    error: str | None = None


@dataclass
class Provenance(_Redacted):
    """Everything an auditor needs to know about one dataset's collection."""

    source: str
    dataset: str
    parameters: dict[str, Any]
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    requests: list[RequestLog] = field(default_factory=list)
    record_count: int = 0
    payload_sha256: str = ""
    source_timestamp: str | None = None
    status: str = "running"
    error: str | None = None

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def retry_count(self) -> int:
        return sum(r.retries for r in self.requests)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["request_count"] = self.request_count
        data["retry_count"] = self.retry_count
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, default=str)


class PayloadHasher:
    """SHA-256 over every raw page in order, so the payload can be proven later."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, payload: bytes | str | Any) -> None:
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes):
            payload = json.dumps(payload, sort_keys=True, default=str).encode()
        self._hash.update(payload)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
