"""API clients, one package per source. No Dagster import: connectors fetch, they never judge."""
