"""The fewest requests each GitHub dataset needs, as the connector pages them (the formulas in the streams'
docstrings): what the contract tests and the bench hold the connector to. Each function takes the counts the
dataset's pages depend on."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from connectors.github.changes import SEARCH_LIMIT
from connectors.github.streams import PAGE_SIZE
from connectors.stream import pages

#: what the repositories query reads of each default branch's rules and of each ruleset's bypass actors
FIRST_RULES, FIRST_BYPASS_ACTORS = 25, 10
#: what the first page of a pull request's reviews and of a repository's outside collaborators holds
FIRST_REVIEWS = FIRST_COLLABORATORS = 100
ORGANIZATION_REQUESTS = 1
#: the organisation-level alert lists: one walk each, every state
ALERT_DATASETS = ("dependabot_alerts", "code_scanning_alerts", "secret_scanning_alerts")
DATASETS = (
    "organization",
    "members",
    "outside_collaborators",
    "repositories",
    "merged_pull_requests",
    *ALERT_DATASETS,
    "repository_security",
    "environments",
    "code_scanning_setup",
)


def follow_up_pages(count: int, first_page: int) -> int:
    """Pages of PAGE_SIZE after a first page that held `first_page` of `count` items."""
    return max(0, math.ceil((count - first_page) / PAGE_SIZE))


def repository_requests(
    repositories: int, rules_per_branch: Iterable[int], bypass_actors_per_active_ruleset: Iterable[int]
) -> int:
    """max(1, ⌈R/100⌉) + Σ_branch follow-ups of its rules beyond 25 + Σ_active ruleset with rules, follow-ups of
    its bypass actors beyond 10 (a branch: a non-empty repository's default branch)."""
    return (
        pages(repositories, PAGE_SIZE)
        + sum(follow_up_pages(rules, FIRST_RULES) for rules in rules_per_branch)
        + sum(follow_up_pages(actors, FIRST_BYPASS_ACTORS) for actors in bypass_actors_per_active_ruleset)
    )


def member_requests(members: int, without_two_factor: int) -> int:
    """The REST list of members without 2FA, then the members over GraphQL."""
    return pages(without_two_factor, PAGE_SIZE) + pages(members, PAGE_SIZE)


def outside_collaborator_requests(repositories: int, collaborators_per_repository: Iterable[int]) -> int:
    """The repositories with their first 100 outside collaborators, then follow-up pages of the longer lists."""
    return pages(repositories, PAGE_SIZE) + sum(
        follow_up_pages(count, FIRST_COLLABORATORS) for count in collaborators_per_repository
    )


def search_requests(merged_at: Sequence[datetime], start: datetime, end: datetime, limit: int = SEARCH_LIMIT) -> int:
    """Search requests listing the pull requests merged in [start, end] (whole seconds, both inclusive): ⌈P/100⌉
    when search can serve them all (`limit` results a query), else the over-full first page plus both halves."""
    count = sum(start <= moment <= end for moment in merged_at)
    if count <= limit:
        return pages(count, PAGE_SIZE)
    middle = (start + (end - start) / 2).replace(microsecond=0)
    return (
        1
        + search_requests(merged_at, start, middle, limit)
        + search_requests(merged_at, middle + timedelta(seconds=1), end, limit)
    )


def merged_pull_request_requests(
    merged_at: Sequence[datetime], since: datetime, until: datetime, decisive_reviews: Iterable[int]
) -> int:
    """The search over [since, until) plus follow-up pages of each pull request's decisive reviews beyond 100
    (`decisive_reviews`: per pull request merged in the window, its reviews in changes.DECISIVE_STATES)."""
    return search_requests(merged_at, since, until - timedelta(seconds=1)) + sum(
        follow_up_pages(count, FIRST_REVIEWS) for count in decisive_reviews
    )


def alert_requests(alerts: int) -> int:
    """max(1, ⌈A/100⌉): the organisation's alerts of one kind, every state (one request when GitHub answers that the
    feature is not enabled or licensed)."""
    return pages(alerts, PAGE_SIZE)


def repository_security_requests(repositories: int) -> int:
    """max(1, ⌈R/100⌉) GraphQL (Dependabot alerts on or off) + max(1, ⌈R/100⌉) REST GET /orgs/{org}/repos."""
    return 2 * pages(repositories, PAGE_SIZE)


def environment_requests(repositories: int, environments_per_active_repository: Iterable[int]) -> int:
    """max(1, ⌈R/100⌉) GraphQL + Σ over non-archived repositories with environments of max(1, ⌈E_r/100⌉) REST."""
    return pages(repositories, PAGE_SIZE) + sum(
        pages(count, PAGE_SIZE) for count in environments_per_active_repository if count > 0
    )


def code_scanning_setup_requests(
    configurations: int, attachments_per_configuration: Iterable[int], repositories: int, default_setup_calls: int
) -> int:
    """max(1, ⌈C/100⌉) configurations + Σ_c max(1, ⌈A_c/100⌉) attachments of each (every status) + max(1, ⌈R/100⌉)
    REST GET /orgs/{org}/repos + F default-setup calls (`default_setup_calls`: the active repositories no `attached`
    or `enforced` attachment to a configuration stating default setup proves; an `enabled` one only where Code
    Security is shown licensed)."""
    return (
        pages(configurations, PAGE_SIZE)
        + sum(pages(count, PAGE_SIZE) for count in attachments_per_configuration)
        + pages(repositories, PAGE_SIZE)
        + default_setup_calls
    )
