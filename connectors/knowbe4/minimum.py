"""The fewest requests the KnowBe4 enrollments need: what the contract tests and the bench hold the connector to."""

from __future__ import annotations

from connectors.knowbe4.streams import PAGE_SIZE, REQUESTS_PER_SECOND


def min_requests(enrollments: int) -> int:
    """Pages are plain JSON arrays without a total: the first page shorter than PAGE_SIZE is the last, so a
    multiple of PAGE_SIZE takes one more (empty) page."""
    return enrollments // PAGE_SIZE + 1


def min_seconds(enrollments: int) -> float:
    """The floor KnowBe4's pacing puts under the dataset: REQUESTS_PER_SECOND, the first request at once."""
    return (min_requests(enrollments) - 1) / REQUESTS_PER_SECOND
