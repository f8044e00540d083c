"""DuckDB schema, migrations, landing and reading (store.py), and every query over what the pipeline records
(results.py). Imports the provenance types only (`provenance`), nothing of `connectors` or `evidence_pipeline`."""

from warehouse.store import (
    Warehouse,
    extra_source_folders,
    raw_table,
    schema_connection,
    stage_records,
    view_definitions,
)

__all__ = ["Warehouse", "extra_source_folders", "raw_table", "schema_connection", "stage_records", "view_definitions"]
