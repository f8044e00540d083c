"""The fewest reads the HR roster needs: what the contract tests and the bench hold the connector to."""

from __future__ import annotations


def min_requests() -> int:
    """The roster is one export file, read once."""
    return 1
