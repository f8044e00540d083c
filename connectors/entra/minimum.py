"""The fewest requests each Entra ID dataset needs, as the connector pages them (streams.py): what the contract
tests and the bench hold the connector to. msal's token requests are a client's fixed calls, outside the counts."""

from __future__ import annotations

from connectors.entra.streams import USERS_PAGE_SIZE
from connectors.stream import pages

DATASETS = (
    "users",
    "user_registration_details",
    "role_assignments",
    "conditional_access_policies",
    "authentication_strength_policies",
    "authentication_methods_policy",
    "security_defaults",
    "password_rule_settings",
)
#: one object per tenant, one request (policies.py)
SINGLE_OBJECTS = ("authentication_methods_policy", "security_defaults")
#: collections of the server's page size, read through @odata.nextLink (policies.py); password_rule_settings
#: counts GET /settings' setting objects, not its one record
SERVER_PAGED = (
    "user_registration_details",
    "conditional_access_policies",
    "authentication_strength_policies",
    "password_rule_settings",
)


def min_requests(dataset: str, records: int, server_page_size: int) -> int:
    """Requests for `records` records of `dataset`. Users come USERS_PAGE_SIZE a page ($top); the registration
        details and role assignments come in pages of the server's choosing (`server_page_size`: Graph documents no
        $top for them), the role assignments after one request for the role definitions. The identity-policy collections
    (Conditional Access, strengths, setting objects) are server-paged too; the methods policy and security defaults are
    one object each."""
    if dataset == "users":
        return pages(records, USERS_PAGE_SIZE)
    if dataset in SERVER_PAGED:
        return pages(records, server_page_size)
    if dataset in SINGLE_OBJECTS:
        return 1
    if dataset == "role_assignments":
        return 1 + pages(records, server_page_size)
    raise KeyError(f"entra.{dataset} has no request minimum")
