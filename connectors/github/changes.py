"""GitHub changes: the pull requests merged in a time window, with their decisive reviews.

One search connection spans every repository of the organisation, so the population costs
⌈P/100⌉ requests for P merged pull requests (a repository-by-repository walk would cost at least
⌈R/100⌉ and page through every repository's whole history, because `pullRequests` cannot filter
by merge date). Search serves at most 1,000 results per query; when `issueCount` says a window
holds more, that first page is set aside and the window is halved (recursively), so:

    requests(W) = max(1, ⌈P_W/100⌉)                       if P_W ≤ 1000
                = 1 + requests(first half) + requests(second half)   otherwise
    total       = requests(whole window) + Σ_pr max(0, ⌈reviews_pr/100⌉ − 1)

(the last term: a pull request with more than 100 decisive reviews — approvals, change requests,
dismissed reviews; comments are not fetched — gets follow-up pages of them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from github import Github

from connectors.github.streams import PAGE_SIZE, QueuedGraphQLStream, Task, page_cursor, truncated
from connectors.stream import SourceError

#: GitHub search returns at most this many results for one query, whatever issueCount says.
SEARCH_LIMIT = 1000
#: Review states that decide a reviewer's position; COMMENTED and PENDING do not.
DECISIVE_STATES = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


def search_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class MergedPullRequests(QueuedGraphQLStream):
    """Every pull request merged in [merged_since, merged_until), with its decisive reviews.

    `approvers_at_merge` lists the reviewers whose latest approving / changes-requested / dismissed
    review submitted by the merge time is an approval — GitHub's own rule for who counts as having
    approved. The author is not removed from it: whether a self-approval counts is the control's call.
    """

    dataset = "merged_pull_requests"
    query_name = "merged_pull_requests"

    def __init__(self, client: Github, org: str, merged_since: datetime, merged_until: datetime) -> None:
        self.merged_since = _utc(merged_since)
        self.merged_until = _utc(merged_until)
        if self.merged_until <= self.merged_since:
            raise ValueError(f"empty merge window {merged_since} .. {merged_until}")
        self._pending: dict[tuple[str, int], dict[str, Any]] = {}
        self._seen: set[str] = set()
        self._page_pending: list[tuple[str, int]] = []
        super().__init__(client, org)

    def parameters(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "query": self.query_name,
            "page_size": PAGE_SIZE,
            "merged_since": self.merged_since.isoformat(),
            "merged_until": self.merged_until.isoformat(),
            "search_limit": SEARCH_LIMIT,
        }

    # -- the work queue ----------------------------------------------------
    def initial_tasks(self) -> tuple[Task, ...]:
        # search ranges are inclusive at both ends, to the second
        last_second = self.merged_until - timedelta(seconds=1)
        return (("search", search_timestamp(self.merged_since), search_timestamp(last_second), None),)

    def search_string(self, start: str, end: str) -> str:
        return f"org:{self.org} is:pr is:merged merged:{start}..{end} sort:created-asc"

    def task_query(self, task: Task) -> tuple[str, dict[str, Any]]:
        if task[0] == "search":
            _, start, end, after = task
            return "merged_pull_requests", {
                "query": self.search_string(start, end),
                "pageSize": PAGE_SIZE,
                "cursor": after,
            }
        _, repository, number, after = task
        owner, name = repository.split("/", 1)
        return "pull_request_reviews", {
            "owner": owner,
            "name": name,
            "number": number,
            "pageSize": PAGE_SIZE,
            "cursor": after,
        }

    def _split(self, task: Task, payload: Any) -> tuple[Task, Task] | None:
        """The two halves of an over-full window (first page only), or None."""
        if task[0] != "search" or task[3] is not None:
            return None
        if self._search(payload)["issueCount"] <= SEARCH_LIMIT:
            return None
        start, end = _parse_time(task[1]), _parse_time(task[2])
        assert start is not None and end is not None
        if end <= start:
            raise SourceError(
                f"github.{self.dataset}: more than {SEARCH_LIMIT} pull requests merged at "
                f"{task[1]}; GitHub search cannot list them all"
            )
        middle = start + (end - start) / 2
        middle = middle.replace(microsecond=0)
        return (
            ("search", task[1], search_timestamp(middle), None),
            ("search", search_timestamp(middle + timedelta(seconds=1)), task[2], None),
        )

    def task_records(self, task: Task, payload: Any) -> Iterable[dict[str, Any]]:
        if task[0] == "search":
            self._page_pending = []
            if self._split(task, payload):
                return  # this page is a sample of an over-full window; its halves are read instead
            for node in self._nodes(payload):
                if "number" not in node:  # not a pull request
                    continue
                record = self._record(node)
                if record["node_id"] in self._seen:
                    continue  # a merge during paging shifted the results; keep the first copy
                self._seen.add(record["node_id"])
                if self._next_reviews(node):
                    key = (record["repository"], record["number"])
                    self._pending[key] = record
                    self._page_pending.append(key)
                else:
                    yield finish(record)
            return
        _, repository, number, _ = task
        record = self._pending[(repository, number)]
        reviews = self._reviews_page(task, payload)
        add_reviews(record, reviews)
        if not page_cursor(reviews, f"github.{self.dataset}: {repository}#{number} reviews"):
            yield finish(self._pending.pop((repository, number)))

    def task_follow_ups(self, task: Task, payload: Any) -> list[Task]:
        halves = self._split(task, payload)
        if halves:
            return list(halves)
        if task[0] == "search":
            search = self._search(payload)
            # held-back pull requests of this page (more than 100 reviews) get their next review pages
            cursors = {
                (n["repository"]["nameWithOwner"], n["number"]): self._next_reviews(n)
                for n in self._nodes(payload)
                if "number" in n
            }
            follow_ups: list[Task] = [
                ("reviews", repo, number, cursors[(repo, number)]) for repo, number in self._page_pending
            ]
            after = page_cursor(search, f"github.{self.dataset}: search")
            if after:
                follow_ups.append(("search", task[1], task[2], after))
            return follow_ups
        after = page_cursor(self._reviews_page(task, payload), f"github.{self.dataset}: {task[1]}#{task[2]} reviews")
        return [("reviews", task[1], task[2], after)] if after else []

    # -- payload shapes ----------------------------------------------------
    def _search(self, payload: Any) -> dict[str, Any]:
        search = (payload.get("data") or {}).get("search")
        if search is None:
            raise SourceError(f"github.{self.dataset}: response has no search")
        return search

    def _nodes(self, payload: Any) -> list[dict[str, Any]]:
        """The page's search results; a null list or result would drop merged pull requests from the population."""
        nodes = self._search(payload).get("nodes")
        if nodes is None or None in nodes:
            raise SourceError(
                f"github.{self.dataset}: GitHub returned a page of search results with "
                f"{'no list' if nodes is None else 'a null result'}"
            )
        return nodes

    def _next_reviews(self, node: dict[str, Any]) -> str | None:
        reviews = node.get("reviews")
        return (
            None
            if reviews is None
            else page_cursor(
                reviews, f"github.{self.dataset}: {node['repository']['nameWithOwner']}#{node['number']} reviews"
            )
        )

    def _reviews_page(self, task: Task, payload: Any) -> dict[str, Any]:
        pull = (((payload.get("data") or {}).get("repository") or {}).get("pullRequest")) or {}
        if pull.get("reviews") is None:
            raise SourceError(f"github.{self.dataset}: {task[1]}#{task[2]} vanished while paging its reviews")
        return pull["reviews"]

    def _record(self, node: dict[str, Any]) -> dict[str, Any]:
        repository = node["repository"]["nameWithOwner"]
        author = node.get("author") or {}
        merged_by = node.get("mergedBy") or {}
        reviews = node.get("reviews")
        record = {
            "org": self.org,
            "repository": repository,
            "number": node["number"],
            "pull_request": f"{repository}#{node['number']}",
            "node_id": node.get("id"),
            "title": node.get("title"),
            "url": node.get("url"),
            "base_ref_name": node.get("baseRefName"),
            "author": author.get("login"),  # null: the account was deleted ("ghost")
            "author_type": author.get("__typename"),
            "created_at": node.get("createdAt"),
            "merged_at": node.get("mergedAt"),
            "merged_by": merged_by.get("login"),
            "merged_by_type": merged_by.get("__typename"),
            "review_decision": node.get("reviewDecision"),
            "review_count": (reviews or {}).get("totalCount"),
            "reviews": [],
            #: why the decisive reviews could not all be read (the approval cannot be judged then)
            "incomplete": [],
        }
        add_reviews(record, reviews)
        return record


def add_reviews(record: dict[str, Any], reviews: dict[str, Any] | None) -> None:
    """Add one page of decisive reviews to `record`, noting what GitHub did not show."""
    nodes = None if reviews is None else reviews.get("nodes")
    if nodes is None:
        record["incomplete"].append("GitHub did not show the pull request's reviews")
    for review in nodes or []:
        if review is None:
            record["incomplete"].append("a review GitHub did not resolve")
        else:
            record["reviews"].append(review_record(review))


def review_record(review: dict[str, Any]) -> dict[str, Any]:
    author = review.get("author") or {}
    return {
        "state": review.get("state"),
        "author": author.get("login"),
        "author_type": author.get("__typename"),
        "submitted_at": review.get("submittedAt"),
    }


def finish(record: dict[str, Any]) -> dict[str, Any]:
    """Add `approvers_at_merge`: reviewers whose latest decisive review by the merge is an approval; note a list
    GitHub cut short."""
    record["incomplete"] += truncated(record["review_count"], len(record["reviews"]), "decisive reviews")
    merged_at = _parse_time(record["merged_at"])
    latest: dict[str, tuple[datetime, str]] = {}
    for review in record["reviews"]:
        submitted = _parse_time(review["submitted_at"])
        if review["author"] is None or submitted is None or review["state"] not in DECISIVE_STATES:
            continue
        if merged_at is not None and submitted > merged_at:
            continue  # approving after the merge is not review before the merge
        if review["author"] not in latest or submitted >= latest[review["author"]][0]:
            latest[review["author"]] = (submitted, review["state"])
    record["approvers_at_merge"] = sorted(login for login, (_, state) in latest.items() if state == "APPROVED")
    return record
