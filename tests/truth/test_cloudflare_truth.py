"""Cloudflare's documented edge cases (SOURCES-2 §5, the API v4 schema) through the real connector against the fake's
envelopes and the Cloudflare controls' SQL: only a 404 means "no ruleset in the phase", a list shorter than its
total_count is refused, a 200 with success false is an error, an omitted 2FA flag or setting is unknown (never its
default), disabled and log-only rules protect nothing, and a paused zone proves nothing."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from connectors.cloudflare import CloudflareConfig, Members, Zones, make_session
from connectors.cloudflare.streams import zone_record
from connectors.stream import SourceError
from evidence_pipeline.catalogue import Catalogue
from sandbox.cloudflare.model import CloudflareData
from sandbox.cloudflare.server import PREFIX, CloudflareApp, error
from sandbox.org import build_org
from sandbox.server import FakeServer, json_response
from tests.truth.edge_catalogue import edge_catalogue, judge

DAY = date(2026, 11, 20)
TOKEN = "cf-truth-token"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return edge_catalogue(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture
def data() -> CloudflareData:
    org = build_org(size=50)
    return copy.deepcopy(org.systems["cloudflare"])


@contextmanager
def serve(app: CloudflareApp) -> Iterator[tuple[FakeServer, CloudflareConfig]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = FakeServer("cloudflare", app).start()
    try:
        yield server, CloudflareConfig(TOKEN, app.data.account_id, f"{server.url}{PREFIX}")
    finally:
        server.stop()


def stream(kind, config: CloudflareConfig):
    return kind(make_session(config), config.base_url, config.account_id)


class RefusedRulesets(CloudflareApp):
    """A token without Zone WAF Read: the entrypoints answer 403."""

    def __call__(self, request: Request) -> Response:
        if request.path.endswith("/entrypoint"):
            return error(403, 10000, "Authentication error")
        return super().__call__(request)


class ShortList(CloudflareApp):
    """A list whose pages hold fewer members than its result_info.total_count says."""

    def paged(self, request: Request, items: list, minimum: int) -> Response:
        response = super().paged(request, items[:-1], minimum)
        body = response.get_json()
        body["result_info"]["total_count"] = len(items)
        return json_response(body)


class UnsuccessfulMembers(CloudflareApp):
    def __call__(self, request: Request) -> Response:
        if request.path.endswith("/members"):
            return json_response(
                {"success": False, "errors": [{"code": 9109, "message": "Unauthorized"}], "messages": [], "result": []}
            )
        return super().__call__(request)


def test_a_refused_ruleset_read_fails_the_dataset_it_is_never_no_rules(data: CloudflareData) -> None:
    with serve(RefusedRulesets(data, {TOKEN})) as (_, config):
        zones = stream(Zones, config)
        with pytest.raises(
            SourceError, match=r"cloudflare\.zones: .*entrypoint page \d+ failed: CloudflareHttpError: HTTP 403"
        ):
            list(zones.records())
        assert zones.provenance.status == "failed"


def test_a_list_shorter_than_its_total_count_is_refused(data: CloudflareData) -> None:
    with serve(ShortList(data, {TOKEN})) as (_, config):
        with pytest.raises(SourceError, match=r"list truncated: members \d+ read of total_count \d+"):
            list(stream(Members, config).records())
        with pytest.raises(SourceError, match=r"list truncated: zones \d+ read of total_count \d+"):
            list(stream(Zones, config).records())


def test_a_200_with_success_false_is_an_error_not_an_empty_list(data: CloudflareData) -> None:
    with (
        serve(UnsuccessfulMembers(data, {TOKEN})) as (_, config),
        pytest.raises(SourceError, match=r"9109: Unauthorized"),
    ):
        list(stream(Members, config).records())


def zone_parts(custom: list[dict] | None, managed: list[dict] | None) -> dict:
    def entry(rules):
        return (
            {"entrypoint": "none", "result": None}
            if rules is None
            else {"entrypoint": "present", "result": {"id": "r", "rules": rules}}
        )

    return {
        "settings": {"result": [{"id": "min_tls_version", "value": "1.2"}]},
        "http_request_firewall_custom": entry(custom),
        "http_request_firewall_managed": entry(managed),
    }


@pytest.mark.parametrize(
    ("custom", "managed", "blocking", "executed"),
    [
        ([{"action": "block"}], None, 1, "[]"),  # `enabled` omitted: the schema's default is true
        ([{"action": "block", "enabled": False}, {"action": "log"}, {"action": "skip"}], None, 0, "[]"),
        (None, [{"action": "execute", "action_parameters": {"id": "efb7"}}], 0, '["efb7"]'),
        (None, [{"action": "execute", "enabled": False, "action_parameters": {"id": "efb7"}}], 0, "[]"),
        (None, None, 0, "[]"),
    ],
)
def test_only_enabled_blocking_or_execute_rules_count(custom, managed, blocking, executed) -> None:
    record = zone_record({"id": "z", "name": "z.test"}, zone_parts(custom, managed))
    assert (record["custom_blocking_rules"], record["managed_rulesets_executed"]) == (blocking, executed)
    # a setting the zone does not list is NULL, not Cloudflare's default
    assert record["tls_1_3"] is None and record["hsts_max_age"] is None and record["min_tls_version"] == "1.2"


def test_an_omitted_setting_or_2fa_flag_and_a_paused_zone_are_unknown(
    data: CloudflareData, catalogue: Catalogue, tmp_path: Path
) -> None:
    zone = data.zones[0]
    zone.settings = [s for s in zone.settings if s["id"] not in ("tls_1_3", "always_use_https", "min_tls_version")]
    with serve(CloudflareApp(data, {TOKEN})) as (_, config):
        records = list(stream(Zones, config).records())
        members = list(stream(Members, config).records())
    paused = next(r for r in records if r["zone_id"] != zone.id and r["tls_1_3"] == "on")
    paused["paused"] = True
    (tmp_path / "zones").mkdir()
    rows = judge(catalogue, tmp_path / "zones", ("cloudflare", "zones"), records, DAY)
    for control in ("cc6_7_cloudflare_min_tls", "cc6_7_cloudflare_tls13", "cc6_7_cloudflare_always_https"):
        assert rows[control][zone.id]["status"] == "unknown", control
        assert "not listed" in rows[control][zone.id]["reason"]
    for control in rows:
        assert rows[control][paused["zone_id"]]["status"] == "unknown", control
    (tmp_path / "members").mkdir()
    member_rows = judge(catalogue, tmp_path / "members", ("cloudflare", "members"), members, DAY)
    by_flag = {m.id: m.two_factor for m in data.members if m.status == "accepted"}
    judged = member_rows["cc6_1_cloudflare_members_2fa"]
    assert set(judged) == set(by_flag)  # the pending invitation is not a member
    assert {i for i, r in judged.items() if r["status"] == "unknown"} == {i for i, f in by_flag.items() if f is None}
