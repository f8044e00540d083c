"""The fewest reads the access-review datasets need: what the contract tests and the bench hold the connector to."""

from __future__ import annotations


def min_requests() -> int:
    """Each dataset is one read of the verified campaign chain (every bundle's files, however many campaigns)."""
    return 1
