"""Credentials inside URLs (userinfo, signed or keyed query strings) never reach provenance, the warehouse, Dagster's
event log or a log line: every URL a record takes passes provenance/redact.py. The session's pipeline day covers
the whole data folder with a GitHub URL carrying credentials (tests/test_secrets.py); these cover the shared stream
loop and one source's Dagster step end to end."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.stream import SourceError, Stream
from provenance.redact import redact_text
from tests.test_training_hr import API_KEY, knowbe4_1000, materialize  # noqa: F401 - knowbe4_1000: fixture

CANARY = "canary-url-secret-4e8d21"


@pytest.mark.parametrize(
    "url",
    [
        f"https://x-access-token:{CANARY}@ghe.example.com/api/v3",
        f"https://{CANARY}@github.com/org/repo.git",
        f"https://api.example.com/v1/users?page=2&api_key={CANARY}",
        f"https://api.example.com/v1/users?access_token={CANARY}&page=2",
        f"https://bucket.s3.amazonaws.com/report.csv?X-Amz-Credential={CANARY}&X-Amz-Signature={CANARY}",
        f"https://store.blob.core.windows.net/c/f?sv=2024-01-01&sig={CANARY}",
        f"https://login.example.com/token?client_id=app&client_secret={CANARY}",
        f"https://db.example.com/?user=ada&password={CANARY}",
        f"https://hooks.example.com/in?token={CANARY}",
        f"https://app.example.com/cb#access_token={CANARY}&state=1",
    ],
)
def test_credentials_are_removed_from_urls_and_the_rest_kept(url: str) -> None:
    redacted = redact_text(f"GET {url} failed: 401")
    assert CANARY not in redacted
    assert "[redacted]" in redacted and redacted.startswith("GET https://") and redacted.endswith(" failed: 401")


def test_paging_cursors_named_like_tokens_are_kept() -> None:
    """Graph's $skiptoken, Google's pageToken, AWS's NextToken page; they are not credentials, and the auditor
    follows the paging by them."""
    url = "https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=RFNwdAIAAQAAAD&pageToken=abc&NextToken=n1"
    assert redact_text(url) == url


class LeakyStream(Stream):
    """A connector whose endpoint carries credentials, whose cursor is a pre-signed URL and whose client fails with
    a message quoting the URL (as requests' HTTPError does: '401 Client Error: Unauthorized for url: ...')."""

    source, dataset = "leaky", "items"
    endpoint = f"https://ci-bot:{CANARY}@api.example.com/v1/items?api_key={CANARY}"

    def parameters(self) -> dict[str, Any]:
        return {"base_url": self.endpoint, "page_size": 100}

    def params(self, cursor: Any) -> dict[str, Any]:
        return {"next": f"https://api.example.com/v1/items?page=2&X-Amz-Signature={CANARY}", "client_secret": CANARY}

    def request(self, cursor: Any) -> Any:
        raise RuntimeError(f"401 Client Error: Unauthorized for url: {self.endpoint}&page=1")

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        return []


def test_a_failing_stream_records_and_raises_no_url_credential() -> None:
    stream = LeakyStream()
    with pytest.raises(SourceError) as failure:
        list(stream.records())
    chain: list[BaseException] = []
    error: BaseException | None = failure.value
    while error is not None:  # whatever logs the failure prints its causes too
        chain.append(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert all(CANARY not in str(e) for e in chain), [str(e) for e in chain]
    recorded = stream.provenance.to_json()
    assert CANARY not in recorded, recorded
    request = stream.provenance.requests[0]
    assert request.endpoint == "https://[redacted]@api.example.com/v1/items?api_key=[redacted]"
    assert request.params["client_secret"] == "[redacted]" and "page=2" in request.params["next"]
    assert stream.provenance.parameters == {"base_url": request.endpoint, "page_size": 100}
    assert "401 Client Error" in str(failure.value) and "api.example.com" in str(failure.value)


def test_knowbe4_url_credentials_reach_no_record_of_its_step(
    knowbe4_1000,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """KNOWBE4_API_URL with userinfo and an api_key query, through the real connector and its Dagster step: requests
    sends the userinfo as Basic auth instead of the key, so the API refuses it and the step fails; neither the
    collection log, nor the step's events and metadata, nor a log line carries the URL's credentials."""
    from evidence_pipeline.defs.sources import training

    _, server = knowbe4_1000
    scheme, address = server.url.split("://", 1)
    url = f"{scheme}://reporter:{CANARY}@{address}/?api_key={CANARY}"
    caplog.set_level(logging.INFO)  # what a deployment logs (urllib3's DEBUG lines quote every query)
    result = materialize(
        training.DATASETS[0],
        "training",
        training.TrainingResource(api_key=API_KEY, api_url=url, course_pattern="security awareness"),
        tmp_path,
    )
    # the request went out with the credentials in its URL (and was refused): the dataset's check fails
    [check] = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert check.check_name == "collected" and not check.passed and "collection failed" in check.description
    events = [str(event) for event in result.all_events]
    assert any("collection failed" in e for e in events)
    assert all(CANARY not in e for e in events)
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]  # werkzeug: the fake vendor's own log
    assert ours and all(CANARY not in r.getMessage() for r in ours)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        logged = con.execute("SELECT status, error, provenance FROM collection_log").fetchall()
    finally:
        con.close()
    assert [row[0] for row in logged] == ["failed"]
    assert CANARY not in str(logged) and "[redacted]@" in str(logged)
