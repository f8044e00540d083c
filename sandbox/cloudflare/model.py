"""The sandbox company's Cloudflare account: zones with their settings and WAF entrypoint rulesets, and the account's
members, in the shapes of Cloudflare's API v4 schema and examples (developers.cloudflare.com/api: zone, zone setting,
ruleset and account member objects), documented optional fields and defaults included.

Zones (4 + one per 100 people). Planted, by zone name (every other zone: minimum TLS 1.2, TLS 1.3 on, always HTTPS,
HSTS max-age one year with includeSubDomains and preload, a custom blocking rule and the Cloudflare Managed Ruleset):
- legacy-tls:      min_tls_version "1.0" (Cloudflare's default)
- tls13-off:       tls_1_3 "off"
- http-allowed:    always_use_https "off"
- hsts-default:    HSTS as the schema's default: max_age 86400, preload false
- no-waf:          no entrypoint ruleset in either phase (both 404)
- waf-log-only:    a custom rule that only logs and a managed `execute` rule that is disabled: nothing protects
- managed-only:    no custom rules (404) but the managed ruleset executes: protected
- zero-rtt:        tls_1_3 "zrt" (TLS 1.3 with 0-RTT): on
- no-hsts-setting: the settings list has no security_header (not listed for the zone): HSTS unknown
Members (one per ten people): all accepted with 2FA, except one accepted without 2FA, one accepted whose user object
omits two_factor_authentication_enabled (optional in the schema: unknown), and one pending invitation (not a member
yet, out of the population).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from sandbox.company import SandboxOrg

ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"  # Cloudflare's documentation example account id
CLOUDFLARE_MANAGED_RULESET = "efb7b8c949ac4650a09736fc376e9aee"
OWASP_RULESET = "4814384a9e5d4991b9815dcfc25d2f1f"
PLANTED_ZONES = (
    "legacy-tls",
    "tls13-off",
    "http-allowed",
    "hsts-default",
    "no-waf",
    "waf-log-only",
    "managed-only",
    "zero-rtt",
    "no-hsts-setting",
)
MODIFIED = "2026-06-01T05:20:00.12345Z"


def cf_id(*parts: object) -> str:
    """A 32-hex identifier as Cloudflare's (deterministic per sandbox object)."""
    return hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()


@dataclass
class Zone:
    id: str
    name: str
    label: str
    settings: list[dict[str, Any]]
    #: phase -> ruleset; a phase absent has no entrypoint (404)
    entrypoints: dict[str, dict[str, Any]]

    def to_api(self, account_name: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": ["bob.ns.cloudflare.com", "lola.ns.cloudflare.com"],
            "original_name_servers": None,
            "original_registrar": None,
            "original_dnshost": None,
            "created_on": "2025-01-01T05:20:00.12345Z",
            "modified_on": MODIFIED,
            "activated_on": "2025-01-02T05:20:00.12345Z",
            "meta": {"cdn_only": False, "dns_only": False, "foundation_dns": False, "page_rule_quota": 3},
            "owner": {"id": None, "type": "organization", "name": None},
            "account": {"id": ACCOUNT_ID, "name": account_name},
            "permissions": ["#zone:read"],
            "plan": {
                "id": cf_id("plan", "pro"),
                "name": "Pro Website",
                "price": 20,
                "currency": "USD",
                "frequency": "monthly",
                "is_subscribed": True,
                "can_subscribe": False,
                "legacy_id": "pro",
                "legacy_discount": False,
                "externally_managed": False,
            },
        }


@dataclass
class Member:
    id: str
    email: str
    first_name: str
    last_name: str
    status: str  # accepted | pending
    two_factor: bool | None  # None: the field is omitted
    roles: list[str]

    def to_api(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": cf_id("user", self.email),
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
        }
        if self.status == "pending":
            user["id"] = None  # an invitation has no user yet
        if self.two_factor is not None:
            user["two_factor_authentication_enabled"] = self.two_factor
        return {
            "id": self.id,
            "status": self.status,
            "user": user,
            "roles": [
                {"id": cf_id("role", r), "name": r, "description": f"{r} of the account", "permissions": {}}
                for r in self.roles
            ],
            "policies": [],
        }


@dataclass
class CloudflareData:
    account_id: str = ACCOUNT_ID
    account_name: str = "Example Corp"
    zones: list[Zone] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)


def _setting(setting_id: str, value: Any) -> dict[str, Any]:
    return {"id": setting_id, "value": value, "editable": True, "modified_on": MODIFIED}


def _hsts(max_age: int = 31536000, preload: bool = True, enabled: bool = True) -> dict[str, Any]:
    return {
        "strict_transport_security": {
            "enabled": enabled,
            "max_age": max_age,
            "include_subdomains": True,
            "preload": preload,
            "nosniff": True,
        }
    }


def _ruleset(zone_id: str, phase: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": cf_id("ruleset", zone_id, phase),
        "name": "default",
        "description": "",
        "kind": "zone",
        "phase": phase,
        "version": "3",
        "last_updated": MODIFIED,
        "rules": rules,
    }


def _rule(zone_id: str, n: int, action: str, enabled: bool = True, **parameters: Any) -> dict[str, Any]:
    rule = {
        "id": cf_id("rule", zone_id, n),
        "version": "1",
        "action": action,
        "expression": "true",
        "description": f"{action} rule",
        "last_updated": MODIFIED,
        "ref": cf_id("ref", zone_id, n),
        "enabled": enabled,
    }
    if parameters:
        rule["action_parameters"] = parameters
    return rule


def _zone(label: str, name: str) -> Zone:
    zone_id = cf_id("zone", name)
    settings = {
        "min_tls_version": "1.0" if label == "legacy-tls" else "1.2",
        "tls_1_3": {"tls13-off": "off", "zero-rtt": "zrt"}.get(label, "on"),
        "always_use_https": "off" if label == "http-allowed" else "on",
        "security_header": _hsts(86400, preload=False) if label == "hsts-default" else _hsts(),
        # settings the controls do not read, as the all-settings call lists them
        "ssl": "strict",
        "automatic_https_rewrites": "on",
        "opportunistic_encryption": "on",
        "waf": "off",  # the legacy WAF switch: managed rules now live in rulesets
    }
    if label == "no-hsts-setting":
        del settings["security_header"]
    custom = "http_request_firewall_custom"
    managed = "http_request_firewall_managed"
    entrypoints = {
        custom: _ruleset(zone_id, custom, [_rule(zone_id, 1, "block"), _rule(zone_id, 2, "skip")]),
        managed: _ruleset(
            zone_id,
            managed,
            [
                _rule(zone_id, 3, "execute", id=CLOUDFLARE_MANAGED_RULESET, version="latest"),
                _rule(zone_id, 4, "execute", enabled=False, id=OWASP_RULESET, version="latest"),
            ],
        ),
    }
    if label == "no-waf":
        entrypoints = {}
    elif label == "waf-log-only":
        entrypoints = {
            custom: _ruleset(zone_id, custom, [_rule(zone_id, 1, "log")]),
            managed: _ruleset(
                zone_id, managed, [_rule(zone_id, 3, "execute", enabled=False, id=CLOUDFLARE_MANAGED_RULESET)]
            ),
        }
    elif label == "managed-only":
        del entrypoints[custom]
    return Zone(zone_id, name, label, [_setting(k, v) for k, v in settings.items()], entrypoints)


def build(org: SandboxOrg, rng: random.Random) -> CloudflareData:
    data = CloudflareData()
    base = org.domain.split(".")[0]
    zones = [_zone(label, f"{label}.{base}.test") for label in PLANTED_ZONES]
    zones += [_zone("good", f"{base}-{i}.test") for i in range(4 + org.size // 100)]
    rng.shuffle(zones)
    data.zones = zones
    named = {z.label: z.id for z in zones}
    org.expected["cc6_7_cloudflare_min_tls"] = {named["legacy-tls"]}
    org.expected["cc6_7_cloudflare_tls13"] = {named["tls13-off"]}
    org.expected["cc6_7_cloudflare_always_https"] = {named["http-allowed"]}
    org.expected["cc6_7_cloudflare_hsts"] = {named["hsts-default"]}
    org.unknown["cc6_7_cloudflare_hsts"] = {named["no-hsts-setting"]}
    org.expected["cc6_6_cloudflare_waf_deployed"] = {named["no-waf"], named["waf-log-only"]}

    active = [p for p in org.people if p.status == "active"]
    count = len(org.people) // 10 if org.people else 0
    chosen = rng.sample(active, min(count + 3, len(active))) if active else []
    for i, person in enumerate(chosen):
        first, _, last = person.name.partition(" ")
        status, two_factor = "accepted", True
        if i == 0:
            two_factor = False
        elif i == 1:
            two_factor = None  # the optional field omitted
        elif i == 2:
            status, two_factor = "pending", None
        roles = ["Administrator"] if i % 4 == 0 else ["Administrator Read Only"]
        data.members.append(Member(cf_id("member", person.email), person.email, first, last, status, two_factor, roles))
    org.expected["cc6_1_cloudflare_members_2fa"] = {
        m.id for m in data.members if m.status == "accepted" and m.two_factor is False
    }
    org.unknown["cc6_1_cloudflare_members_2fa"] = {
        m.id for m in data.members if m.status == "accepted" and m.two_factor is None
    }
    return data
