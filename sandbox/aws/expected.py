"""What the sandbox's AWS plants for the cross-system access controls; sandbox/expected.py gathers every
system's file like this one, so adding a system touches no shared file."""

from __future__ import annotations

#: account system -> the active privileged accounts allowed (fewest, most), the catalogue's cc6_3 `admin_bounds`
#: (tests/test_controls.py checks they agree); outside them the system is an exception
ADMIN_BOUNDS = {"aws": (1, 5)}
#: account systems whose accounts report their last use (the dormant-accounts truth): IAM users, by their last
#: password or access-key use in the credential report; Identity Center users report no sign-in time
ACTIVITY_SYSTEMS = frozenset({"aws"})
