"""Cloudflare zones (settings and WAF entrypoints per zone) and account members against the fake API v4."""

from connectors.cloudflare import CloudflareConfig, Members, Zones, make_session
from connectors.cloudflare import minimum as cloudflare
from connectors.cloudflare.streams import CloudflareStream
from tests.connectors.contract import ConnectorCase


def stream_of(kind: type[CloudflareStream]):
    def make(sandbox) -> CloudflareStream:
        env = sandbox.env
        config = CloudflareConfig(
            api_token=env["CLOUDFLARE_API_TOKEN"],
            account_id=env["CLOUDFLARE_ACCOUNT_ID"],
            api_url=env["CLOUDFLARE_API_URL"],
        )
        return kind(make_session(config), config.base_url, config.account_id)

    return make


CASES = [
    ConnectorCase(
        name="cloudflare.zones",
        systems=("cloudflare",),
        make_stream=stream_of(Zones),
        expected_records=lambda org: len(org.systems["cloudflare"].zones),
        min_requests=lambda org: cloudflare.zone_requests(len(org.systems["cloudflare"].zones)),
        secret_env=("CLOUDFLARE_API_TOKEN",),
    ),
    ConnectorCase(
        name="cloudflare.members",
        systems=("cloudflare",),
        make_stream=stream_of(Members),
        expected_records=lambda org: len(org.systems["cloudflare"].members),
        min_requests=lambda org: cloudflare.member_requests(len(org.systems["cloudflare"].members)),
        secret_env=("CLOUDFLARE_API_TOKEN",),
    ),
]
