"""Google Workspace identity-policy datasets under the connector contract (connectors/google_workspace/policies.py).

Request counts (connectors/google_workspace/minimum.py): org_units 1 (orgunits.list is one response, the root
included with type=allIncludingParent); policies ⌈P/100⌉ over the P security policies the filter
`setting.type.matches('^settings/security\\..*$')` selects (the fake holds others, which must not be read). Both
datasets authenticate with their own token (POLICY_SCOPES, the super admin GOOGLE_WORKSPACE_POLICY_SUBJECT); its
exchange is a fixed call outside the counts, as for the Directory datasets.
"""

from __future__ import annotations

from connectors.google_workspace.client import POLICY_SCOPES, SharedCredentials, make_cloud_identity, make_directory
from connectors.google_workspace.minimum import min_requests
from connectors.google_workspace.policies import OrgUnits, Policies
from sandbox.google.serve import google_config
from tests.connectors.contract import ConnectorCase

SECRETS = ("GOOGLE_WORKSPACE_CREDENTIALS_JSON",)


def _credentials(config):
    return SharedCredentials(config, POLICY_SCOPES, config.policy_subject)


def _org_units(sandbox):
    config = google_config(sandbox.env)
    return OrgUnits(make_directory(config, credentials=_credentials(config)), config)


def _policies(sandbox):
    config = google_config(sandbox.env)
    return Policies(make_cloud_identity(config, _credentials(config)), config)


def security_policies(org) -> int:
    return sum(p["setting"]["type"].startswith("settings/security.") for p in org.systems["google"].policy.policies)


CASES = [
    ConnectorCase(
        name="google_workspace.org_units",
        systems=("google",),
        make_stream=_org_units,
        expected_records=lambda org: len(org.systems["google"].policy.org_units),
        min_requests=lambda org: min_requests("org_units", len(org.systems["google"].policy.org_units)),
        secret_env=SECRETS,
    ),
    ConnectorCase(
        name="google_workspace.policies",
        systems=("google",),
        make_stream=_policies,
        expected_records=security_policies,
        min_requests=lambda org: min_requests("policies", security_policies(org)),
        secret_env=SECRETS,
    ),
]
