"""Microsoft Entra ID: users with sign-in activity, the authentication-methods registration report and
directory role assignments, through Microsoft Graph v1.0 with an app registration (client credentials).

Least privilege: register an application, add a client secret or (better) a certificate, and grant it
these Microsoft Graph *application* permissions with admin consent — nothing else:
  User.Read.All                  GET /users (including otherMails and proxyAddresses)
  AuditLog.Read.All              signInActivity on /users, and /reports/authenticationMethods/userRegistrationDetails
  RoleManagement.Read.Directory  /roleManagement/directory/roleAssignments and roleDefinitions
  Policy.Read.All                Conditional Access, authentication strengths, the authentication-methods policy and
                                 security defaults (/identity/conditionalAccess/policies, /policies/...)
  Directory.Read.All             /settings (the Password Rule Settings: smart lockout, banned passwords)
signInActivity, the registration report and Conditional Access need a Microsoft Entra ID P1 or P2 licence in the
tenant; without it the Conditional Access rows say so and its controls are unknown.
National clouds: set ENTRA_AUTHORITY_URL (e.g. https://login.microsoftonline.us, https://login.chinacloudapi.cn)
and ENTRA_GRAPH_URL (https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date

import dagster as dg
from pydantic import PrivateAttr

from connectors.entra import EntraConfig, GraphClient, RoleAssignments, UserRegistrationDetails, Users, make_graph
from connectors.entra.client import DEFAULT_AUTHORITY_URL, DEFAULT_GRAPH_URL
from connectors.entra.policies import (
    AuthenticationMethodsPolicy,
    AuthenticationStrengthPolicies,
    ConditionalAccessPolicies,
    PasswordRuleSettings,
    SecurityDefaults,
)
from connectors.entra.streams import GraphStream
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import REPEATED_PAGE, AccountsView, FaultExpectations, SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


class EntraResource(SourceResource):
    """An app registration (tenant id, client id) with a client secret or a certificate.

    One Graph client (one msal app, one token) per source run: the source is one step whose datasets are fetched
    in threads, and each asks `graph()` for the step's client instead of building its own (which cost a token
    request per dataset)."""

    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    certificate_path: str | None = None
    certificate_thumbprint: str | None = None
    authority_url: str = DEFAULT_AUTHORITY_URL
    graph_url: str = DEFAULT_GRAPH_URL
    ca_bundle: str | None = None
    _graph: GraphClient | None = PrivateAttr(default=None)
    _graph_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def graph(self) -> GraphClient:
        """This step's Graph client, built on first use and shared by the step's threads."""
        with self._graph_lock:
            if self._graph is None:
                self._graph = make_graph(self.config())
            return self._graph

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        with self._graph_lock:
            if self._graph is not None:
                self._graph.close()
                self._graph = None

    def missing_settings(self) -> list[str]:
        missing = [
            name
            for name, value in (("ENTRA_TENANT_ID", self.tenant_id), ("ENTRA_CLIENT_ID", self.client_id))
            if not value
        ]
        if not self.client_secret and not (self.certificate_path and self.certificate_thumbprint):
            missing.append(
                "ENTRA_CLIENT_SECRET (or ENTRA_CLIENT_CERTIFICATE_PATH and ENTRA_CLIENT_CERTIFICATE_THUMBPRINT)"
            )
        return missing

    def config(self) -> EntraConfig:
        return EntraConfig(
            tenant_id=self.tenant_id or "",
            client_id=self.client_id or "",
            client_secret=self.client_secret,
            certificate_path=self.certificate_path,
            certificate_thumbprint=self.certificate_thumbprint,
            authority_url=self.authority_url,
            graph_url=self.graph_url,
            ca_bundle=self.ca_bundle,
        )


def graph_streams(kind: type[GraphStream]):
    def streams(resource: EntraResource, day: date) -> Iterable[Stream]:
        yield kind(resource.graph())

    return streams


SOURCE = SourceDeclaration(
    source="entra",
    resource_key="entra",
    sandbox_system="entra",
    secret_env=("ENTRA_CLIENT_SECRET",),
    # the token endpoint is another fake (entra-login): faults go to Graph's pages
    faults=FaultExpectations(
        data_server="entra-graph",
        path_prefix="/v1.0",
        malformed_retried=frozenset(
            {
                "entra.users",
                "entra.user_registration_details",
                "entra.role_assignments",
                "entra.conditional_access_policies",
                "entra.authentication_strength_policies",
                "entra.authentication_methods_policy",
                "entra.security_defaults",
                "entra.password_rule_settings",
            }
        ),
        repeated_page={"entra.users": REPEATED_PAGE},
    ),
    accounts=(
        AccountsView(
            "entra",
            ("entra.users", "entra.user_registration_details", "entra.role_assignments"),
            "<userPrincipalName> (the object id when none)",
        ),
    ),
)

DATASETS = [
    SourceDataset(
        source="entra",
        dataset="users",
        description="Every Microsoft Entra ID user with account status (accountEnabled), type (member/guest), "
        "creation time and sign-in activity: last interactive, non-interactive and successful sign-in "
        "(GET /v1.0/users with $select and signInActivity, 500 a request).",
        streams=graph_streams(Users),
        kinds=("azure",),
    ),
    SourceDataset(
        source="entra",
        dataset="user_registration_details",
        description="The authentication-methods registration report: per user whether they are registered for "
        "MFA, which methods (SMS, voice, Authenticator, FIDO2, Windows Hello, passkeys...) and Graph's "
        "admin flag (GET /v1.0/reports/authenticationMethods/userRegistrationDetails). The report's "
        "lastUpdatedDateTime is the source timestamp.",
        streams=graph_streams(UserRegistrationDetails),
        kinds=("azure",),
    ),
    SourceDataset(
        source="entra",
        dataset="role_assignments",
        description="Active directory role assignments with their principal (user, group or service principal) "
        "and role name (GET /v1.0/roleManagement/directory/roleAssignments?$expand=principal, named by "
        "roleDefinitions). PIM-eligible roles that are not activated are not listed.",
        streams=graph_streams(RoleAssignments),
        kinds=("azure",),
    ),
    SourceDataset(
        source="entra",
        dataset="conditional_access_policies",
        description="Every Conditional Access policy: state (enabled, disabled, report-only), the users, groups and "
        "directory roles it includes and excludes, applications, client app types, the conditions that narrow it, "
        "and its grant controls (operator, built-in controls, authentication strength; null for a session-only "
        "policy) (GET /v1.0/identity/conditionalAccess/policies, every @odata.nextLink). A tenant without Entra ID "
        "P1 is one row saying so (unreadable_reason).",
        streams=graph_streams(ConditionalAccessPolicies),
        kinds=("azure",),
    ),
    SourceDataset(
        source="entra",
        dataset="authentication_strength_policies",
        description="The built-in and custom authentication strengths and the method combinations each allows "
        "(GET /v1.0/policies/authenticationStrengthPolicies): which Conditional Access strengths are "
        "phishing-resistant.",
        streams=graph_streams(AuthenticationStrengthPolicies),
        kinds=("azure",),
    ),
    SourceDataset(
        source="entra",
        dataset="authentication_methods_policy",
        description="The authentication-methods policy, one row per method configuration (Fido2, "
        "MicrosoftAuthenticator, Sms, ...) with its state and include/exclude targets "
        "(GET /v1.0/policies/authenticationMethodsPolicy, one request).",
        streams=graph_streams(AuthenticationMethodsPolicy),
        kinds=("azure",),
    ),
    SourceDataset(
        source="entra",
        dataset="security_defaults",
        description="Whether security defaults are enabled "
        "(GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy, one request).",
        streams=graph_streams(SecurityDefaults),
        kinds=("azure",),
    ),
    SourceDataset(
        source="entra",
        dataset="password_rule_settings",
        description="The Password Rule Settings directory setting: smart lockout threshold and duration, banned "
        "password check and the list's size (GET /v1.0/settings, every page). No object means Microsoft's "
        "defaults apply (defaults_apply): 10 failed sign-ins, 60 s lockout in the public cloud.",
        streams=graph_streams(PasswordRuleSettings),
        kinds=("azure",),
    ),
]


def entra_resource() -> EntraResource:
    return EntraResource(
        tenant_id=env_value("ENTRA_TENANT_ID"),
        client_id=env_value("ENTRA_CLIENT_ID"),
        client_secret=env_value("ENTRA_CLIENT_SECRET"),
        certificate_path=env_value("ENTRA_CLIENT_CERTIFICATE_PATH"),
        certificate_thumbprint=env_value("ENTRA_CLIENT_CERTIFICATE_THUMBPRINT"),
        authority_url=env_value("ENTRA_AUTHORITY_URL") or DEFAULT_AUTHORITY_URL,
        graph_url=env_value("ENTRA_GRAPH_URL") or DEFAULT_GRAPH_URL,
        ca_bundle=env_value("ENTRA_CA_BUNDLE"),
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, entra_resource())
