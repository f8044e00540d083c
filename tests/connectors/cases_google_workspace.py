"""Google Workspace datasets under the connector contract.

Request counts are the Directory API's page-size minimum at the discovery document's maxResults
maximum (users 500, roleAssignments 200, roles 100; connectors/google_workspace/minimum.py). The fixed
call of every client, the token exchange (one POST to token_uri), is not a dataset page and not in
provenance; the discovery document is the one shipped in googleapiclient, so it is not fetched.
tests/test_google_sandbox.py asserts the fake saw exactly those pages plus one token request.
"""

from __future__ import annotations

from connectors.google_workspace import RoleAssignments, Roles, Users, make_directory
from sandbox.google.serve import google_config
from sandbox.minimum import google_requests
from tests.connectors.contract import ConnectorCase

__all__ = ["CASES", "google_config"]


def _stream(kind):
    def make(sandbox):
        config = google_config(sandbox.env)
        return kind(make_directory(config), config)

    return make


CASES = [
    ConnectorCase(
        name="google_workspace.users",
        systems=("google",),
        make_stream=_stream(Users),
        expected_records=lambda org: len(org.systems["google"].users),
        min_requests=lambda org: google_requests(org, "users"),
        secret_env=("GOOGLE_WORKSPACE_CREDENTIALS_JSON",),
    ),
    ConnectorCase(
        name="google_workspace.role_assignments",
        systems=("google",),
        make_stream=_stream(RoleAssignments),
        expected_records=lambda org: len(org.systems["google"].role_assignments),
        min_requests=lambda org: google_requests(org, "role_assignments"),
        secret_env=("GOOGLE_WORKSPACE_CREDENTIALS_JSON",),
    ),
    ConnectorCase(
        name="google_workspace.roles",
        systems=("google",),
        make_stream=_stream(Roles),
        expected_records=lambda org: len(org.systems["google"].roles),
        min_requests=lambda org: google_requests(org, "roles"),
        secret_env=("GOOGLE_WORKSPACE_CREDENTIALS_JSON",),
    ),
]
