"""The contract every connector passes. A source adds a `cases_<system>.py` module
here defining `CASES: list[ConnectorCase]`; `test_contract.py` runs them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.stream import Stream, pages
from sandbox.company import SandboxOrg
from sandbox.launch import Sandbox


@dataclass(frozen=True)
class ConnectorCase:
    #: "<source>.<dataset>"
    name: str
    #: sandbox systems the case needs running
    systems: tuple[str, ...]
    #: a fresh stream pointed at the running sandbox (credentials from sandbox.env)
    make_stream: Callable[[Sandbox], Stream]
    #: how many records the sandbox org holds for this dataset
    expected_records: Callable[[SandboxOrg], int]
    #: the fewest requests that can fetch them, fixed calls included: the connector's formula
    #: (connectors/<system>/minimum.py) over the org's counts (sandbox/minimum.py)
    min_requests: Callable[[SandboxOrg], int]
    #: environment variables whose values are credentials
    secret_env: tuple[str, ...]
    #: a local file export (HR roster, training CSV) has no credentials to name or leak
    credentials_free: bool = False
    #: records pages returned that mark other records instead of becoming records (GitHub's members without 2FA):
    #: counted in their requests' logs, not in the dataset
    folded_records: Callable[[SandboxOrg], int] = lambda org: 0


__all__ = ["ConnectorCase", "pages"]
