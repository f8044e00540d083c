"""Cloudflare datasets over the API v4 (developers.cloudflare.com/api):

- cloudflare.zones: every zone of the account (`GET /zones?account.id=&page=&per_page=50`, read to its
  result_info.total_pages and its total_count checked), and per zone its settings (`GET /zones/{id}/settings`, all in
  one call) and the entrypoint rulesets of the WAF's custom and managed phases
  (`GET /zones/{id}/rulesets/phases/{phase}/entrypoint`; a 404 means no ruleset in that phase). One record a zone:
  ⌈Z/50⌉ + 3Z requests.
- cloudflare.members: the account's members (`GET /accounts/{id}/members?page=&per_page=50`) with their roles, status
  and `user.two_factor_authentication_enabled` (optional in Cloudflare's schema: absent stays NULL, unknown).
  ⌈M/50⌉ requests, at least one.
A setting a zone does not list (not on its plan) stays NULL, never a default.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Iterator
from typing import Any

import requests

from connectors.cloudflare.client import CloudflareHttpError, MalformedPage, get_envelope
from connectors.stream import Retry, SourceError, Stream, http_retry

#: the largest per_page /zones and /accounts/{id}/members take (Cloudflare's schema: 5-50 for zones)
PAGE_SIZE = 50
PHASES = ("http_request_firewall_custom", "http_request_firewall_managed")
#: the settings the controls judge, of the ~60 the all-settings call returns
SETTINGS = ("min_tls_version", "tls_1_3", "always_use_https", "security_header")
#: custom-rule actions that stop or challenge a request (log and skip protect nothing)
PROTECTIVE_ACTIONS = frozenset({"block", "challenge", "js_challenge", "managed_challenge"})


class CloudflareStream(Stream):
    source = "cloudflare"

    def __init__(self, session: requests.Session, base_url: str, account_id: str, timeout: float = 30.0) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.timeout = timeout
        super().__init__()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return get_envelope(self.session, f"{self.base_url}{path}", params, self.timeout)

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, CloudflareHttpError):
            return http_retry(exc.status, exc.headers, exc)
        if isinstance(exc, MalformedPage):
            return Retry(None, "malformed JSON page")
        return http_retry(None, None, exc)

    def next_page(self, envelope: dict[str, Any], page: int, read: int, what: str) -> int | None:
        """The next page number, or None at the end; at the end the records read must be result_info.total_count
        (a list cut short is an error, not a smaller population)."""
        info = envelope.get("result_info") or {}
        total_pages, total_count = info.get("total_pages"), info.get("total_count")
        if not isinstance(total_pages, int) or not isinstance(total_count, int):
            raise SourceError(f"cloudflare.{self.dataset}: {self.endpoint} page {page} has no result_info totals")
        if page < total_pages:
            return page + 1
        if read != total_count:
            raise SourceError(
                f"cloudflare.{self.dataset}: list truncated: {what} {read} read of total_count {total_count}"
            )
        return None


class Zones(CloudflareStream):
    """The zone list, then three calls a zone; a work queue whose cursor is (call, page or zone index)."""

    dataset = "zones"
    read_ahead = 8

    def __init__(self, session: requests.Session, base_url: str, account_id: str, timeout: float = 30.0) -> None:
        self.endpoint = f"{base_url.rstrip('/')}/zones"
        self.zones: list[dict[str, Any]] = []
        #: the current zone's settings and entrypoints, folded into its record at its last call
        self._zone_parts: dict[str, Any] = {}
        super().__init__(session, base_url, account_id, timeout)

    def parameters(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "per_page": PAGE_SIZE,
            "phases": list(PHASES),
            "settings": list(SETTINGS),
        }

    def params(self, cursor: Any) -> dict[str, Any]:
        call, index = cursor or ("zones", 1)
        if call == "zones":
            return {"account.id": self.account_id, "page": index, "per_page": PAGE_SIZE}
        return {"zone": self.zones[index]["id"], "call": call}

    def path(self, cursor: Any) -> str:
        call, index = cursor or ("zones", 1)
        if call == "zones":
            return "/zones"
        zone_id = self.zones[index]["id"]
        return (
            f"/zones/{zone_id}/settings"
            if call == "settings"
            else f"/zones/{zone_id}/rulesets/phases/{call}/entrypoint"
        )

    def call(self, cursor: Any, page: int) -> Any:
        self.endpoint = f"{self.base_url}{self.path(cursor)}"  # each request is logged under its own URL
        return super().call(cursor, page)

    def ahead(self, cursor: Any) -> Iterator[Any]:
        """Once the zones are listed, every zone's three calls follow in order: sent `read_ahead` at once."""
        call, index = cursor or ("zones", 1)
        if call == "zones":
            return
        calls = ("settings", *PHASES)
        for position in range(index * len(calls) + calls.index(call) + 1, len(self.zones) * len(calls)):
            yield (calls[position % len(calls)], position // len(calls))

    def page_scope(self, cursor: Any) -> Hashable:
        call, index = cursor or ("zones", 1)
        return "zones" if call == "zones" else (call, index)  # two zones may well have identical settings

    def request(self, cursor: Any) -> dict[str, Any]:
        call, index = cursor or ("zones", 1)
        if call == "zones":
            return {"call": call, "page": index, **self.get(self.path(cursor), self.params(cursor))}
        zone_id = self.zones[index]["id"]
        if call == "settings":
            return {"call": call, "zone": zone_id, **self.get(self.path(cursor))}
        try:
            envelope = self.get(self.path(cursor))
        except CloudflareHttpError as exc:
            if exc.status != 404:
                raise
            # documented: no entrypoint ruleset exists for the phase, i.e. no rules deployed in it
            return {"call": call, "zone": zone_id, "result": None, "entrypoint": "none"}
        return {"call": call, "zone": zone_id, "entrypoint": "present", **envelope}

    def parse(self, payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        call = payload["call"]
        if call == "zones":
            result = payload.get("result")
            if not isinstance(result, list):
                raise SourceError(f"cloudflare.zones: {self.endpoint} page {payload['page']} result is not a list")
            seen = {zone["id"] for zone in self.zones}
            for zone in result:
                if not isinstance(zone, dict) or not zone.get("id") or zone["id"] in seen:
                    raise SourceError(
                        f"cloudflare.zones: {self.endpoint} page {payload['page']} repeats or lacks a zone id "
                        f"({str(zone)[:120]}); refusing to duplicate it"
                    )
                seen.add(zone["id"])
                self.zones.append(zone)
            return []
        self._zone_parts[call] = payload
        if call != PHASES[-1]:
            return []
        zone = next(z for z in self.zones if z["id"] == payload["zone"])
        record = zone_record(zone, self._zone_parts)
        self._zone_parts = {}
        return [record]

    def next_cursor(self, payload: dict[str, Any]) -> Any:
        call = payload["call"]
        if call == "zones":
            following = self.next_page(payload, payload["page"], len(self.zones), "zones")
            if following is not None:
                return ("zones", following)
            return ("settings", 0) if self.zones else None
        index = next(i for i, z in enumerate(self.zones) if z["id"] == payload["zone"])
        if call == "settings":
            return (PHASES[0], index)
        if call == PHASES[0]:
            return (PHASES[1], index)
        return ("settings", index + 1) if index + 1 < len(self.zones) else None


def zone_record(zone: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    """The raw_cloudflare_zones row of one zone from its listing, settings and two entrypoints."""
    listed = parts["settings"].get("result")
    if not isinstance(listed, list):
        raise SourceError(f"cloudflare.zones: settings of zone {zone['id']} are not a list")
    settings = {s.get("id"): s.get("value") for s in listed if isinstance(s, dict)}
    header = settings.get("security_header")
    hsts = header.get("strict_transport_security") if isinstance(header, dict) else None
    hsts = hsts if isinstance(hsts, dict) else {}
    custom, managed = parts[PHASES[0]], parts[PHASES[1]]
    custom_rules = _rules(custom)
    managed_rules = _rules(managed)
    return {
        "zone_id": zone["id"],
        "zone_name": zone.get("name"),
        "status": zone.get("status"),
        "paused": zone.get("paused"),
        "plan": (zone.get("plan") or {}).get("name"),
        "account_id": (zone.get("account") or {}).get("id"),
        "min_tls_version": _text(settings.get("min_tls_version")),
        "tls_1_3": _text(settings.get("tls_1_3")),
        "always_use_https": _text(settings.get("always_use_https")),
        "hsts_enabled": hsts.get("enabled"),
        "hsts_max_age": hsts.get("max_age"),
        "hsts_include_subdomains": hsts.get("include_subdomains"),
        "hsts_preload": hsts.get("preload"),
        "custom_entrypoint": custom["entrypoint"],
        "custom_ruleset_id": (custom.get("result") or {}).get("id"),
        "custom_rules": len(custom_rules),
        "custom_blocking_rules": sum(1 for r in custom_rules if _enabled(r) and r.get("action") in PROTECTIVE_ACTIONS),
        "managed_entrypoint": managed["entrypoint"],
        "managed_ruleset_id": (managed.get("result") or {}).get("id"),
        "managed_rules": len(managed_rules),
        "managed_rulesets_executed": json.dumps(
            sorted(
                {
                    str((r.get("action_parameters") or {}).get("id"))
                    for r in managed_rules
                    if _enabled(r) and r.get("action") == "execute"
                }
            )
        ),
    }


def _rules(part: dict[str, Any]) -> list[dict[str, Any]]:
    result = part.get("result")
    if result is None:
        return []
    rules = result.get("rules") if isinstance(result, dict) else None
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def _enabled(rule: dict[str, Any]) -> bool:
    """`enabled` defaults to true in Cloudflare's ruleset schema; only an explicit false disables a rule."""
    return rule.get("enabled", True) is not False


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class Members(CloudflareStream):
    dataset = "members"

    def __init__(self, session: requests.Session, base_url: str, account_id: str, timeout: float = 30.0) -> None:
        self.endpoint = f"{base_url.rstrip('/')}/accounts/{account_id}/members"
        self._read = 0
        self._page = 1
        super().__init__(session, base_url, account_id, timeout)

    def parameters(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "per_page": PAGE_SIZE}

    def params(self, cursor: Any) -> dict[str, Any]:
        return {"page": cursor or 1, "per_page": PAGE_SIZE}

    def request(self, cursor: Any) -> dict[str, Any]:
        # the envelope as sent: a server serving a page twice shows it only in the payload (the shared loop's guard)
        self._page = cursor or 1
        return self.get(f"/accounts/{self.account_id}/members", self.params(cursor))

    def parse(self, payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        result = payload.get("result")
        if not isinstance(result, list):
            raise SourceError(f"cloudflare.members: {self.endpoint} page {self._page} result is not a list")
        for member in result:
            user = member.get("user") or {}
            two_factor = user.get("two_factor_authentication_enabled")
            self._read += 1
            yield {
                "member_id": member.get("id"),
                "user_id": user.get("id"),
                "email": (user.get("email") or "").lower() or None,
                "first_name": user.get("first_name"),
                "last_name": user.get("last_name"),
                "status": member.get("status"),
                # optional in the schema, and about dashboard sign-in only: absent is NULL (unknown), never false
                "two_factor_authentication_enabled": two_factor if isinstance(two_factor, bool) else None,
                "roles": json.dumps(
                    sorted(str(r.get("name")) for r in member.get("roles") or [] if isinstance(r, dict))
                ),
                "policies": len(member.get("policies") or []),
            }

    def next_cursor(self, payload: dict[str, Any]) -> Any:
        return self.next_page(payload, self._page, self._read, "members")
