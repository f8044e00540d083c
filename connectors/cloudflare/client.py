"""The Cloudflare API v4 client: plain requests with an API token, over connectors/stream.py's HTTP policy.

Why not Cloudflare's official SDK (`cloudflare` 5.x, which does take `base_url`): it has no method for the
all-settings call (`GET /zones/{id}/settings`, one request a zone instead of one a setting), its page iterator stops
only on an empty page (one extra request per list, SOURCES-2 §5), and it retries inside itself (2 retries by
default), which the shared policy would not see and provenance could not record. Used with its retries off, raw
calls and our own paging it would be a second HTTP stack doing what `requests` does here.

Every answer is Cloudflare's envelope {success, errors, messages, result, result_info}; a 200 with success false is
an error, never an empty result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

DEFAULT_API_URL = "https://api.cloudflare.com/client/v4"


@dataclass(frozen=True)
class CloudflareConfig:
    api_token: str
    account_id: str
    api_url: str = DEFAULT_API_URL
    timeout: float = 30.0

    def __repr__(self) -> str:  # the token never reaches logs
        return f"CloudflareConfig(api_url={self.api_url!r}, account_id={self.account_id!r}, api_token=[redacted])"

    @property
    def base_url(self) -> str:
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "CLOUDFLARE_API_URL: not an http(s) URL with a host (e.g. https://api.cloudflare.com/client/v4)"
            )
        return self.api_url.rstrip("/")


def make_session(config: CloudflareConfig) -> requests.Session:
    if not config.api_token:
        raise ValueError("CLOUDFLARE_API_TOKEN is empty")
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {config.api_token}",
            "Accept": "application/json",
            "User-Agent": "evidence-pipeline (read-only SOC 2 evidence collection)",
        }
    )
    return session


class CloudflareHttpError(Exception):
    """A non-2xx answer (or a 200 with success false); carries what the shared HTTP policy classifies."""

    def __init__(self, status: int, headers: dict[str, str], message: str) -> None:
        self.status = status
        self.headers = headers
        super().__init__(f"HTTP {status}: {message[:300]}")


class MalformedPage(Exception):
    """A 200 whose body is not Cloudflare's JSON envelope (a truncated transfer)."""


def get_envelope(session: requests.Session, url: str, params: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    """One GET: the envelope of a successful answer; CloudflareHttpError otherwise (the status kept for the caller:
    a ruleset entrypoint's 404 means no rules in that phase)."""
    response = session.get(url, params=params, timeout=timeout)
    if response.status_code >= 400:
        raise CloudflareHttpError(response.status_code, dict(response.headers), _errors(response))
    try:
        envelope = response.json()
    except ValueError as exc:
        raise MalformedPage(f"not JSON: {exc}") from exc
    if not isinstance(envelope, dict) or "result" not in envelope:
        raise MalformedPage(f"not a Cloudflare envelope: {str(envelope)[:200]}")
    if envelope.get("success") is False:
        raise CloudflareHttpError(response.status_code, dict(response.headers), _errors(response))
    return envelope


def _errors(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict) and body.get("errors"):
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in body["errors"] if isinstance(e, dict))
    return str(body.get("message") or body) if isinstance(body, dict) else str(body)
