"""What a source declares about itself, once, beside its datasets: `SOURCE = SourceDeclaration(...)` in its folder's
`__init__.py` (evidence_pipeline/defs/sources/<system>/, or an extra source folder named by EVIDENCE_EXTRA_SOURCES).

Everything else reads these facts instead of keeping its own list of sources: the secret scan (tests/test_secrets.py),
the fault matrix (tests/faults/), the columns-vs-migrations check, identity resolution's cross-checks, and the
sandbox's fakes. Names differ between layers for historical reasons (the `google_workspace` source is served by the
sandbox's `google` fake, `training` by `knowbe4`); the mapping is written here rather than renaming asset keys or
tables, which would orphan stored evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: the errors the shared paging loop raises when a fake answers a page with the previous page of the same call again
#: (connectors/stream.py): the repeated payload, or (a connector that drops records it has seen) the repeated cursor
REPEATED_PAGE = r"page \d+ repeated page \d+ \(identical payload"
REPEATED_CURSOR = r"returned cursor .* twice"


@dataclass(frozen=True)
class FaultExpectations:
    """How the source's connector meets the faults the sandbox injects (tests/faults/test_connector_faults.py).

    Transient faults (429, 5xx, reset, timeout) must be retried and refused credentials (401, 403) must fail, for
    every source alike; what differs per source is declared here, never inferred from a run."""

    #: the sandbox fake (FakeServer name) serving the dataset pages, and the path prefix faults go to: not the token
    #: endpoints (a refused token is the 401 row of the same matrix)
    data_server: str
    path_prefix: str = ""
    #: contract cases ("<source>.<dataset>[<provider>]") whose connector retries a truncated body; the others fail
    #: on the parse error
    malformed_retried: frozenset[str] = frozenset()
    #: contract cases with a second page at org size 1000 -> the error a repeated page stops them with
    repeated_page: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountsView:
    """An `accounts_<system>` view the source's migration defines: its accounts enter identity resolution
    (warehouse/views/identity.sql) and the cross-system controls."""

    #: the view's `system` column, its name's suffix and the identity-map key prefix (`<system>:<account id>`)
    system: str
    #: every source dataset the view reads, the one its `dataset` column names first: a cross-system control lists
    #: those it relies on in `system_sources`, so that an unusable one makes only this system's rows unknown
    datasets: tuple[str, ...]
    #: what the identity-map key names after `<system>:` (the view's `account_id`; README, identity-map table)
    account_id: str


@dataclass(frozen=True)
class SourceDeclaration:
    #: asset key prefix, raw table prefix (`raw_<source>_<dataset>`) and `source` of the collection log
    source: str
    #: the Dagster resource key its step uses (`identity_map` for the `identity` source)
    resource_key: str
    #: the folder of its sandbox fake, sandbox/<sandbox_system>/ (None: no fake, e.g. a file the company keeps)
    sandbox_system: str | None
    #: environment variables whose values are credentials: never in logs, metadata, DuckDB or bundles
    secret_env: tuple[str, ...] = ()
    #: None: no HTTP API (a file export), so no network faults to meet
    faults: FaultExpectations | None = None
    accounts: tuple[AccountsView, ...] = ()

    def __post_init__(self) -> None:
        for view in self.accounts:
            foreign = [name for name in view.datasets if not name.startswith(f"{self.source}.")]
            if foreign:
                raise ValueError(f"source {self.source}: accounts_{view.system} reads another source's {foreign[0]}")
