"""Microsoft Entra ID identity-policy datasets under the connector contract (connectors/entra/policies.py).

Request counts (Graph pages only; connectors/entra/minimum.py), with the fake's server page POLICY_PAGE_SIZE:
- conditional_access_policies: ⌈P/page⌉ (server-driven, @odata.nextLink)
- authentication_strength_policies: ⌈S/page⌉
- authentication_methods_policy, security_defaults: 1 each (one object)
- password_rule_settings: ⌈O/page⌉ over GET /settings' O setting objects; one record per tenant
The policy set does not grow with the organisation (a tenant has tens of policies): the three org sizes check the
paging and the empty tenant, not growth.
"""

from __future__ import annotations

from connectors.entra import EntraConfig, make_graph
from connectors.entra.minimum import min_requests
from connectors.entra.policies import (
    AuthenticationMethodsPolicy,
    AuthenticationStrengthPolicies,
    ConditionalAccessPolicies,
    PasswordRuleSettings,
    SecurityDefaults,
)
from sandbox.entra.server import POLICY_PAGE_SIZE
from tests.connectors.contract import ConnectorCase

SECRETS = ("ENTRA_CLIENT_SECRET",)


def _stream(kind):
    def make(sandbox):
        return kind(make_graph(EntraConfig.from_env(sandbox.env)))

    return make


def _policy(org):
    return org.systems["entra"].policy


CASES = [
    ConnectorCase(
        name="entra.conditional_access_policies",
        systems=("entra",),
        make_stream=_stream(ConditionalAccessPolicies),
        expected_records=lambda org: len(_policy(org).ca_policies),
        min_requests=lambda org: min_requests(
            "conditional_access_policies", len(_policy(org).ca_policies), POLICY_PAGE_SIZE
        ),
        secret_env=SECRETS,
    ),
    ConnectorCase(
        name="entra.authentication_strength_policies",
        systems=("entra",),
        make_stream=_stream(AuthenticationStrengthPolicies),
        expected_records=lambda org: len(_policy(org).strengths),
        min_requests=lambda org: min_requests(
            "authentication_strength_policies", len(_policy(org).strengths), POLICY_PAGE_SIZE
        ),
        secret_env=SECRETS,
    ),
    ConnectorCase(
        name="entra.authentication_methods_policy",
        systems=("entra",),
        make_stream=_stream(AuthenticationMethodsPolicy),
        expected_records=lambda org: len(_policy(org).methods_policy["authenticationMethodConfigurations"]),
        min_requests=lambda org: min_requests("authentication_methods_policy", 1, POLICY_PAGE_SIZE),
        secret_env=SECRETS,
    ),
    ConnectorCase(
        name="entra.security_defaults",
        systems=("entra",),
        make_stream=_stream(SecurityDefaults),
        expected_records=lambda org: 1,
        min_requests=lambda org: min_requests("security_defaults", 1, POLICY_PAGE_SIZE),
        secret_env=SECRETS,
    ),
    ConnectorCase(
        name="entra.password_rule_settings",
        systems=("entra",),
        make_stream=_stream(PasswordRuleSettings),
        expected_records=lambda org: 1,
        min_requests=lambda org: min_requests("password_rule_settings", len(_policy(org).settings), POLICY_PAGE_SIZE),
        secret_env=SECRETS,
    ),
]
