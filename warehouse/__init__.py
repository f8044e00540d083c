"""DuckDB schema, migrations, landing and reading. Imports connectors' provenance types only."""

from warehouse.store import Warehouse, raw_table, schema_connection, stage_records

__all__ = ["Warehouse", "raw_table", "schema_connection", "stage_records"]
