"""Google Workspace: users (2-Step Verification, admin flags, status, organisational unit), admin roles and
role assignments, through the Admin SDK Directory API with a service account using domain-wide delegation.

Least privilege: grant the service account's client id, in the Admin console (Security > API controls >
Domain-wide delegation), only the scopes
  https://www.googleapis.com/auth/admin.directory.user.readonly
  https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly
  https://www.googleapis.com/auth/admin.directory.orgunit.readonly        (org units: the policy tree)
  https://www.googleapis.com/auth/cloud-identity.policies.readonly       (Cloud Identity Policy API)
and impersonate an admin whose role can read users and admin roles (GOOGLE_WORKSPACE_ADMIN_SUBJECT). The Policy API
answers a super administrator only (GOOGLE_WORKSPACE_POLICY_SUBJECT, default the admin subject). The last two
scopes come in a token of their own: a delegation without them fails the org_units and policies datasets alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date

import dagster as dg
from pydantic import PrivateAttr

from connectors.google_workspace import GoogleWorkspaceConfig, RoleAssignments, Roles, Users, make_directory
from connectors.google_workspace.client import (
    DEFAULT_API_ENDPOINT,
    DEFAULT_CLOUD_IDENTITY_ENDPOINT,
    POLICY_SCOPES,
    SharedCredentials,
    make_cloud_identity,
)
from connectors.google_workspace.policies import OrgUnits, Policies
from connectors.google_workspace.streams import DirectoryStream
from connectors.stream import Stream
from evidence_pipeline.defs.resources import env_value
from evidence_pipeline.defs.sources.declaration import REPEATED_PAGE, AccountsView, FaultExpectations, SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions


class GoogleWorkspaceResource(SourceResource):
    """A service-account key (a file path, or the key's JSON as a secret) and the admin it impersonates."""

    credentials_file: str | None = None
    credentials_json: str | None = None
    admin_subject: str | None = None
    customer_id: str = "my_customer"
    excluded_org_units: str = ""
    api_url: str = DEFAULT_API_ENDPOINT
    cloud_identity_url: str = DEFAULT_CLOUD_IDENTITY_ENDPOINT
    policy_subject: str | None = None
    # One OAuth token per source run: the step's datasets (threads) share this instance's credentials; the policy
    # datasets share a second one, of POLICY_SCOPES.
    _credentials: SharedCredentials | None = PrivateAttr(default=None)
    _policy_credentials: SharedCredentials | None = PrivateAttr(default=None)
    _credentials_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def missing_settings(self) -> list[str]:
        missing = (
            []
            if self.credentials_file or self.credentials_json
            else ["GOOGLE_WORKSPACE_CREDENTIALS_FILE (or GOOGLE_WORKSPACE_CREDENTIALS_JSON)"]
        )
        if not self.admin_subject:
            missing.append("GOOGLE_WORKSPACE_ADMIN_SUBJECT")
        return missing

    def config(self) -> GoogleWorkspaceConfig:
        return GoogleWorkspaceConfig.from_settings(
            admin_subject=self.admin_subject or "",
            credentials_json=self.credentials_json,
            credentials_file=self.credentials_file,
            customer_id=self.customer_id,
            api_url=self.api_url,
            excluded_org_units=self.excluded_org_units,
            cloud_identity_url=self.cloud_identity_url,
            policy_subject=self.policy_subject,
        )

    def credentials(self, config: GoogleWorkspaceConfig) -> SharedCredentials:
        """The run's service-account credentials, made on first use and shared by every dataset of the step."""
        with self._credentials_lock:
            if self._credentials is None:
                self._credentials = SharedCredentials(config)
            return self._credentials

    def policy_credentials(self, config: GoogleWorkspaceConfig) -> SharedCredentials:
        """The run's token for the org units and the Policy API (POLICY_SCOPES), shared by those two datasets."""
        with self._credentials_lock:
            if self._policy_credentials is None:
                self._policy_credentials = SharedCredentials(config, POLICY_SCOPES, config.policy_subject)
            return self._policy_credentials


def org_unit_streams(resource: GoogleWorkspaceResource, day: date) -> Iterable[Stream]:
    config = resource.config()
    yield OrgUnits(make_directory(config, credentials=resource.policy_credentials(config)), config)


def policy_streams(resource: GoogleWorkspaceResource, day: date) -> Iterable[Stream]:
    config = resource.config()
    yield Policies(make_cloud_identity(config, resource.policy_credentials(config)), config)


def directory_streams(kind: type[DirectoryStream]):
    def streams(resource: GoogleWorkspaceResource, day: date) -> Iterable[Stream]:
        config = resource.config()
        yield kind(make_directory(config, credentials=resource.credentials(config)), config)

    return streams


SOURCE = SourceDeclaration(
    source="google_workspace",
    resource_key="google_workspace",
    # the sandbox's fake is named after the vendor's API host, not the source
    sandbox_system="google",
    secret_env=("GOOGLE_WORKSPACE_CREDENTIALS_JSON",),
    faults=FaultExpectations(
        data_server="google",
        path_prefix="/admin",
        malformed_retried=frozenset(
            {
                "google_workspace.users",
                "google_workspace.role_assignments",
                "google_workspace.roles",
                "google_workspace.org_units",
                "google_workspace.policies",
            }
        ),
        repeated_page={"google_workspace.users": REPEATED_PAGE},
    ),
    accounts=(
        AccountsView(
            "google_workspace",
            ("google_workspace.users", "google_workspace.role_assignments", "google_workspace.roles"),
            "<primaryEmail>",
        ),
    ),
)

DATASETS = [
    SourceDataset(
        source="google_workspace",
        dataset="users",
        description="Every Google Workspace account with 2-Step Verification enrolment and enforcement, super and "
        "delegated admin flags, suspended/archived status, organisational unit, last sign-in and "
        "creation time (users.list, 500 a request, a `fields` mask). Accounts in "
        "GOOGLE_WORKSPACE_EXCLUDED_OUS are recorded with in_scope = false: kept as evidence, out of "
        "the staff controls and the accounts view.",
        streams=directory_streams(Users),
        kinds=("googlecloud",),
    ),
    SourceDataset(
        source="google_workspace",
        dataset="role_assignments",
        description="Every admin role assignment: which user or group holds which role, over the whole customer "
        "or one organisational unit (roleAssignments.list, 200 a request).",
        streams=directory_streams(RoleAssignments),
        kinds=("googlecloud",),
    ),
    SourceDataset(
        source="google_workspace",
        dataset="roles",
        description="Every admin role, system and custom, with its privileges; names the super admin role "
        "(roles.list, 100 a request).",
        streams=directory_streams(Roles),
        kinds=("googlecloud",),
    ),
    SourceDataset(
        source="google_workspace",
        dataset="org_units",
        description="Every organisational unit, the root included, with its id, path and parent "
        "(orgunits.list type=allIncludingParent, one request): the tree the policies' inheritance is resolved on.",
        streams=org_unit_streams,
        kinds=("googlecloud",),
    ),
    SourceDataset(
        source="google_workspace",
        dataset="policies",
        description="Every explicitly set security policy of the Cloud Identity Policy API, per organisational unit "
        "or group with its sortOrder (policies.list, filter settings/security.*, 100 a request): 2-Step "
        "Verification enforcement, password policy and the other security settings. Set values, not effective "
        "ones: an OU without a policy inherits from its parent.",
        streams=policy_streams,
        kinds=("googlecloud",),
    ),
]


def google_workspace_resource() -> GoogleWorkspaceResource:
    return GoogleWorkspaceResource(
        credentials_file=env_value("GOOGLE_WORKSPACE_CREDENTIALS_FILE"),
        credentials_json=env_value("GOOGLE_WORKSPACE_CREDENTIALS_JSON"),
        admin_subject=env_value("GOOGLE_WORKSPACE_ADMIN_SUBJECT"),
        customer_id=env_value("GOOGLE_WORKSPACE_CUSTOMER_ID") or "my_customer",
        excluded_org_units=env_value("GOOGLE_WORKSPACE_EXCLUDED_OUS") or "",
        api_url=env_value("GOOGLE_WORKSPACE_API_URL") or DEFAULT_API_ENDPOINT,
        cloud_identity_url=env_value("GOOGLE_WORKSPACE_CLOUD_IDENTITY_URL") or DEFAULT_CLOUD_IDENTITY_ENDPOINT,
        policy_subject=env_value("GOOGLE_WORKSPACE_POLICY_SUBJECT"),
    )


def defs() -> dg.Definitions:
    return source_definitions(DATASETS, SOURCE.resource_key, google_workspace_resource())
