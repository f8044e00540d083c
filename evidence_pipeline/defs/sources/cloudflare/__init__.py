"""Cloudflare, the edge: each zone's settings (minimum TLS version, TLS 1.3, always use HTTPS, HSTS), the entrypoint
rulesets of the WAF's custom and managed phases, and the account's members with their 2FA, over the API v4.

Configure: CLOUDFLARE_API_TOKEN (secret), CLOUDFLARE_ACCOUNT_ID; CLOUDFLARE_API_URL for a proxy or the sandbox
(default https://api.cloudflare.com/client/v4).
Least privilege: an API token with Zone > Zone Settings Read and Zone > Zone WAF Read on the account's zones, and
Account > Account Settings Read (the members list; "Memberships Read" where offered) on the account. Nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import dagster as dg

from connectors.cloudflare import DEFAULT_API_URL, CloudflareConfig, Members, Zones, make_session
from connectors.cloudflare.streams import CloudflareStream
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import REPEATED_PAGE, FaultExpectations, SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


class CloudflareResource(SourceResource):
    api_token: str | None = None
    account_id: str | None = None
    api_url: str = DEFAULT_API_URL

    def missing_settings(self) -> list[str]:
        return [
            name
            for name, value in (("CLOUDFLARE_API_TOKEN", self.api_token), ("CLOUDFLARE_ACCOUNT_ID", self.account_id))
            if not value
        ]

    def config(self) -> CloudflareConfig:
        return CloudflareConfig(api_token=self.api_token or "", account_id=self.account_id or "", api_url=self.api_url)


def cloudflare_streams(kind: type[CloudflareStream]) -> Callable[[CloudflareResource, date], Iterable[Stream]]:
    def streams(resource: CloudflareResource, day: date) -> Iterable[Stream]:
        config = resource.config()
        yield kind(make_session(config), config.base_url, config.account_id, config.timeout)

    return streams


SOURCE = SourceDeclaration(
    source="cloudflare",
    resource_key="cloudflare",
    sandbox_system="cloudflare",
    secret_env=("CLOUDFLARE_API_TOKEN",),
    faults=FaultExpectations(
        data_server="cloudflare",
        path_prefix="/client/v4",
        malformed_retried=frozenset({"cloudflare.zones", "cloudflare.members"}),
        repeated_page={"cloudflare.members": REPEATED_PAGE},
    ),
)

DATASETS = [
    SourceDataset(
        source="cloudflare",
        dataset="zones",
        description="Every zone of the account (GET /zones, 50 a page, its total checked) with its edge settings from "
        "the all-settings call (GET /zones/{id}/settings: min_tls_version, tls_1_3, always_use_https, security_header "
        "HSTS) and the entrypoint rulesets of the WAF's custom and managed phases "
        "(GET /zones/{id}/rulesets/phases/{phase}/entrypoint; 404 = no rules in the phase).",
        streams=cloudflare_streams(Zones),
        kinds=("cloudflare",),
    ),
    SourceDataset(
        source="cloudflare",
        dataset="members",
        description="The account's members (GET /accounts/{id}/members, 50 a page, its total checked) with status, "
        "roles and user.two_factor_authentication_enabled (dashboard sign-in only; NULL when Cloudflare omits it).",
        streams=cloudflare_streams(Members),
        kinds=("cloudflare",),
    ),
]


def cloudflare_resource() -> CloudflareResource:
    return CloudflareResource(
        api_token=env_value("CLOUDFLARE_API_TOKEN"),
        account_id=env_value("CLOUDFLARE_ACCOUNT_ID"),
        api_url=env_value("CLOUDFLARE_API_URL") or DEFAULT_API_URL,
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, cloudflare_resource())
