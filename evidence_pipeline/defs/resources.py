"""Resources shared by every asset: the warehouse and the data folder."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from evidence_pipeline.catalogue import Catalogue, load_catalogue
from evidence_pipeline.settings import URL_SETTINGS, Paths, project_file, url_setting, use_private_umask
from warehouse import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse under EVIDENCE_HOME, migrated on first use in each process."""

    home: str = ""

    @property
    def paths(self) -> Paths:
        return Paths(Path(self.home).resolve()) if self.home else Paths.from_env()

    def get(self) -> Warehouse:
        use_private_umask()  # the step's files (DuckDB, staging, bundles) are owner-only, however Dagster started it
        warehouse = Warehouse(self.paths.warehouse)
        warehouse.migrate()
        return warehouse

    def catalogue(self) -> Catalogue:
        return load_catalogue(project_file("controls_map.yaml"))


def env_value(name: str) -> str | dg.EnvVar | None:
    """An EnvVar when the variable is set (so Dagster never stores the value), else None = not configured. A URL
    variable that is not a URL is refused here, naming it (settings.url_setting)."""
    if name in URL_SETTINGS:
        url_setting(name)
    return dg.EnvVar(name) if os.environ.get(name) else None


OWNERS = ["team:security-engineering"]
