"""The Dagster code location (assets, checks, schedules, sensors) and the `evidence-pipeline` CLI."""

__version__ = "0.1.0"
