"""The fewest reads the attestations source needs: what the contract tests and the bench hold the connector to."""

from __future__ import annotations


def min_requests() -> int:
    """Each dataset is one file, read once (artefacts are read to hash them, never paged)."""
    return 1
