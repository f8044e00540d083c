"""The fewest requests the Cloudflare datasets need: what the contract tests and the bench hold the connectors to."""

from __future__ import annotations

from connectors.cloudflare.streams import PAGE_SIZE, PHASES
from connectors.stream import pages

#: per zone: its settings (all in one call) and one entrypoint per WAF phase
CALLS_PER_ZONE = 1 + len(PHASES)


def zone_requests(zones: int) -> int:
    """⌈Z/50⌉ pages of /zones (one when there are none) + 3 calls a zone."""
    return pages(zones, PAGE_SIZE) + CALLS_PER_ZONE * zones


def member_requests(members: int) -> int:
    """⌈M/50⌉ pages, read to result_info.total_pages (no trailing empty page, unlike the SDK's iterator)."""
    return pages(members, PAGE_SIZE)
