"""Microsoft Entra ID datasets under the connector contract.

Request counts (provenance, Graph pages only; connectors/entra/minimum.py):
- users: ⌈N/500⌉ — $top=500 is Graph's documented maximum when signInActivity is selected.
- user_registration_details: ⌈N/REPORT_PAGE_SIZE⌉ — the API documents no $top, so the page size is
  the server's (the fake's constant); the connector can only follow @odata.nextLink.
- role_assignments: 1 (role definitions, one page) + ⌈A/ROLE_ASSIGNMENT_PAGE_SIZE⌉ (server-driven).
An empty collection still takes one request.

Fixed calls, not in provenance: each fresh client's msal GETs the tenant's OpenID configuration and
POSTs the token request once, before its first page (instance discovery is off); msal's cache serves
the token after that. tests/test_entra_sandbox.py asserts the fakes saw exactly those two plus the
pages, and that the token POST is not counted as a write.
"""

from __future__ import annotations

from connectors.entra import EntraConfig, RoleAssignments, UserRegistrationDetails, Users, make_graph
from sandbox.minimum import entra_requests
from tests.connectors.contract import ConnectorCase

SECRETS = ("ENTRA_CLIENT_SECRET",)


def _stream(kind):
    def make(sandbox):
        return kind(make_graph(EntraConfig.from_env(sandbox.env)))

    return make


def _entra(org):
    return org.systems["entra"]


CASES = [
    ConnectorCase(
        name="entra.users",
        systems=("entra",),
        make_stream=_stream(Users),
        expected_records=lambda org: len(_entra(org).users),
        min_requests=lambda org: entra_requests(org, "users"),
        secret_env=SECRETS,
    ),
    ConnectorCase(
        name="entra.user_registration_details",
        systems=("entra",),
        make_stream=_stream(UserRegistrationDetails),
        expected_records=lambda org: len(_entra(org).users),
        min_requests=lambda org: entra_requests(org, "user_registration_details"),
        secret_env=SECRETS,
    ),
    ConnectorCase(
        name="entra.role_assignments",
        systems=("entra",),
        make_stream=_stream(RoleAssignments),
        expected_records=lambda org: len(_entra(org).role_assignments),
        min_requests=lambda org: entra_requests(org, "role_assignments"),
        secret_env=SECRETS,
    ),
]
