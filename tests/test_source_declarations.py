"""Each source's identity traits are declared once (SourceDeclaration.accounts) and checked here against what reads
them: the `accounts_<system>` views of the migrations (identity resolution, warehouse/views/identity.sql) and the
cross-system controls' `system_sources`."""

from __future__ import annotations

import re

from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.defs.sources import declarations
from evidence_pipeline.settings import project_file
from warehouse import raw_table, schema_connection

#: the literal a view's `dataset` column is made of, as DuckDB stores the view: `'aws.users' AS dataset`,
#: `'aws.users'::VARCHAR AS dataset` or `CAST('aws.users' AS VARCHAR) AS dataset`
DATASET_COLUMN = re.compile(r"'([a-z_]+\.[a-z_]+)'(?:::VARCHAR| AS VARCHAR\))? AS dataset\b", re.IGNORECASE)


def account_views() -> dict[str, str]:
    with schema_connection() as con:
        return dict(
            con.execute(
                "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND starts_with(view_name, 'accounts_')"
            ).fetchall()
        )


def test_every_accounts_view_is_declared_by_its_source_with_the_datasets_it_reads() -> None:
    views = account_views()
    declared = {f"accounts_{view.system}": view for source in declarations() for view in source.accounts}
    assert views and set(views) == set(declared), (set(views) - set(declared), set(declared) - set(views))
    for name, sql in views.items():
        view = declared[name]
        reads = set(re.findall(r"\braw_[a-z0-9_]+", sql))
        assert reads == {raw_table(*dataset.split(".")) for dataset in view.datasets}, (name, reads)
        # the first declared dataset is the one the view names its rows after (an unusable one: its rows unknown)
        assert set(DATASET_COLUMN.findall(sql)) == {view.datasets[0]}, name


def test_cross_system_controls_read_only_declared_identity_datasets() -> None:
    identity = {dataset for source in declarations() for view in source.accounts for dataset in view.datasets}
    cross_system = [c for c in load_catalogue(project_file("controls_map.yaml")).controls if c.system_sources]
    assert cross_system
    for control in cross_system:
        undeclared = set(control.system_sources) - identity
        assert not undeclared, f"{control.id}: system_sources {sorted(undeclared)} feed no declared accounts view"
        # a system is in a control's scope through the dataset its rows are named after
        named = {view.datasets[0] for source in declarations() for view in source.accounts}
        assert set(control.system_sources) & named, control.id


def test_a_declared_accounts_view_reads_only_its_own_source() -> None:
    from evidence_pipeline.defs.sources.declaration import AccountsView, SourceDeclaration

    try:
        SourceDeclaration("okta", "okta", None, accounts=(AccountsView("okta", ("hr.roster",), "<login>"),))
    except ValueError as exc:
        assert "accounts_okta reads another source's hr.roster" in str(exc)
    else:
        raise AssertionError("a view declared over another source's dataset was accepted")
