"""The fewest requests each Entra ID dataset needs, as the connector pages them (streams.py): what the contract
tests and the bench hold the connector to. msal's token requests are a client's fixed calls, outside the counts."""

from __future__ import annotations

from connectors.entra.streams import USERS_PAGE_SIZE
from connectors.stream import pages

DATASETS = ("users", "user_registration_details", "role_assignments")


def min_requests(dataset: str, records: int, server_page_size: int) -> int:
    """Requests for `records` records of `dataset`. Users come USERS_PAGE_SIZE a page ($top); the registration
    details and role assignments come in pages of the server's choosing (`server_page_size`: Graph documents no
    $top for them), the role assignments after one request for the role definitions."""
    if dataset == "users":
        return pages(records, USERS_PAGE_SIZE)
    if dataset == "user_registration_details":
        return pages(records, server_page_size)
    if dataset == "role_assignments":
        return 1 + pages(records, server_page_size)
    raise KeyError(f"entra.{dataset} has no request minimum")
