"""The fewest probes the endpoints need: what the contract tests and the bench hold the connector to."""

from __future__ import annotations

from connectors.endpoints.streams import PROBES


def min_requests(endpoints: int) -> int:
    """Per endpoint: a TLS 1.0 and a TLS 1.1 handshake, one verified HTTPS GET (version, certificate and HSTS in one
    connection) and one plain-HTTP GET; an empty list is still one (empty) request."""
    return max(1, len(PROBES) * endpoints)
