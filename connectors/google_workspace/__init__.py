"""Google Workspace: users (2-Step Verification, admin, status, OU), admin roles and role assignments."""

from connectors.google_workspace.client import GoogleWorkspaceConfig, make_directory
from connectors.google_workspace.streams import RoleAssignments, Roles, Users

__all__ = ["GoogleWorkspaceConfig", "RoleAssignments", "Roles", "Users", "make_directory"]
