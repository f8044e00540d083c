"""Cloudflare, the edge: zone settings (minimum TLS, TLS 1.3, always HTTPS, HSTS), the WAF's custom and managed
entrypoint rulesets, and the account's members with 2FA, over the API v4 with a read-only API token."""

from connectors.cloudflare.client import DEFAULT_API_URL, CloudflareConfig, make_session
from connectors.cloudflare.streams import PAGE_SIZE, PHASES, Members, Zones

__all__ = ["DEFAULT_API_URL", "PAGE_SIZE", "PHASES", "CloudflareConfig", "Members", "Zones", "make_session"]
