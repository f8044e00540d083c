"""What the sandbox's Google Workspace plants for the cross-system access controls; sandbox/expected.py gathers every
system's file like this one, so adding a system touches no shared file."""

from __future__ import annotations

#: account system -> the active privileged accounts allowed (fewest, most), the catalogue's cc6_3 `admin_bounds`
#: (tests/test_controls.py checks they agree); outside them the system is an exception
ADMIN_BOUNDS = {"google_workspace": (2, 4)}
#: account systems whose accounts report their last use (the dormant-accounts truth): users.list's lastLoginTime
ACTIVITY_SYSTEMS = frozenset({"google_workspace"})
