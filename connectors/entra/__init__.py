"""Microsoft Entra ID: users with sign-in activity, authentication-method registration, and directory
role assignments (Microsoft Graph v1.0 through msal + requests, app-only, read-only)."""

from connectors.entra.client import EntraConfig, GraphClient, make_graph
from connectors.entra.streams import RoleAssignments, UserRegistrationDetails, Users

__all__ = ["EntraConfig", "GraphClient", "RoleAssignments", "UserRegistrationDetails", "Users", "make_graph"]
