"""Microsoft Entra ID Governance access reviews through Microsoft Graph v1.0 (app-only, read-only), for importing a
review's decisions into an access-review campaign (`evidence-pipeline review import-entra`).

- access_review_instances: GET /identityGovernance/accessReviews/definitions/{d}/instances?$top=100
- access_review_decisions: GET /identityGovernance/accessReviews/definitions/{d}/instances/{i}/decisions?$top=100

Permission: AccessReview.Read.All (application, admin consent); Entra ID P2 or ID Governance. Both lists document a
default page of 100 and paging by `$skip`/`$top`: a page is followed by its `@odata.nextLink` when Graph sends one,
else by `$skip` while Graph's `@odata.count` says more remain (or, without a count, while a page is full), so a list
is read to its end whichever way the server pages; a list shorter than the `@odata.count` it announced fails (never
a silently shorter review). Requests: per list ⌈n/100⌉ (at least 1) with a nextLink or a count; ⌊n/100⌋ + 1
without either (the last, short or empty page says the end). Per import: instances + Σ decisions of each instance
of the campaign's quarter.

Documented shapes carried over (Graph's "List decisions" example): `reviewedBy` of an item nobody reviewed is the
zero GUID with empty name and UPN; `principal` may carry only its `id`; `reviewedDateTime` is null until reviewed;
decisions are Approve, Deny, NotReviewed or DontKnow. Multi-stage reviews' per-stage decisions
(.../stages/{s}/decisions) are not read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from connectors.entra.client import GraphClient
from connectors.entra.streams import GraphStream, parse_graph_time
from connectors.stream import SourceError

#: the documented default (and the $top asked for) of both lists
PAGE_SIZE = 100
#: Graph's "nobody" in a userIdentity (reviewedBy/appliedBy of an item not reviewed)
NO_IDENTITY = "00000000-0000-0000-0000-000000000000"
DEFINITIONS = "/identityGovernance/accessReviews/definitions"


def _identity(value: Any) -> dict[str, str | None]:
    """A userIdentity as (id, upn, name); the zero GUID and empty strings are nobody."""
    value = value if isinstance(value, dict) else {}
    identity = value.get("id") if value.get("id") not in (None, "", NO_IDENTITY) else None
    return {
        "id": identity,
        "user_principal_name": value.get("userPrincipalName") or None,
        "display_name": value.get("displayName") or None,
    }


class _ReviewList(GraphStream):
    """An access-review collection: nextLink when given, else $skip while @odata.count (or a full page) says more."""

    def __init__(self, client: GraphClient, path: str) -> None:
        self.path = path
        self._read = 0
        self._announced: int | None = None
        super().__init__(client)

    def query(self) -> dict[str, str]:
        return {"$top": str(PAGE_SIZE)}

    def params(self, cursor: Any) -> dict[str, Any]:
        if cursor is None:
            return self.query()
        kind, value = cursor
        return {**self.query(), "next_link": value} if kind == "link" else {**self.query(), "$skip": str(value)}

    def request(self, cursor: Any) -> Any:
        if cursor is None:
            return self.client.get(self.endpoint, params=self.query())
        kind, value = cursor
        if kind == "link":
            return self.client.get(value)
        return self.client.get(self.endpoint, params={**self.query(), "$skip": str(value)})

    def next_cursor(self, payload: Any) -> Any:
        count = payload.get("@odata.count")
        if isinstance(count, int):
            self._announced = count
        if payload.get("@odata.nextLink"):
            return ("link", payload["@odata.nextLink"])
        page = len(self.items(payload))
        more = self._read < self._announced if self._announced is not None else page >= PAGE_SIZE
        if more and page == 0:
            raise SourceError(
                f"entra.{self.dataset}: {self.endpoint}: list truncated: {self._announced} announced, "
                f"{self._read} read, and the next page is empty"
            )
        if not more and self._announced is not None and self._read != self._announced:
            raise SourceError(
                f"entra.{self.dataset}: {self.endpoint}: list truncated: {self._announced} announced, {self._read} read"
            )
        return ("skip", self._read) if more else None

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for item in self.items(payload):
            self._read += 1
            yield self.record(item)

    def record(self, item: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class AccessReviewInstances(_ReviewList):
    """The instances (one per recurrence) of an access review schedule definition."""

    dataset = "access_review_instances"

    def __init__(self, client: GraphClient, definition_id: str) -> None:
        self.definition_id = definition_id
        super().__init__(client, f"{DEFINITIONS}/{quote(definition_id, safe='')}/instances")

    def record(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "definition_id": self.definition_id,
            "id": item["id"],
            "start_at": parse_graph_time(item.get("startDateTime")),
            "end_at": parse_graph_time(item.get("endDateTime")),
            "status": item.get("status"),
        }


class AccessReviewDecisions(_ReviewList):
    """Every decision item of one instance: who reviewed whose access, the decision, when, and its application."""

    dataset = "access_review_decisions"

    def __init__(self, client: GraphClient, definition_id: str, instance_id: str) -> None:
        self.definition_id, self.instance_id = definition_id, instance_id
        definition, instance = quote(definition_id, safe=""), quote(instance_id, safe="")
        super().__init__(client, f"{DEFINITIONS}/{definition}/instances/{instance}/decisions")

    def record(self, item: dict[str, Any]) -> dict[str, Any]:
        principal, reviewer = _identity(item.get("principal")), _identity(item.get("reviewedBy"))
        resource = item.get("resource") if isinstance(item.get("resource"), dict) else {}
        return {
            "definition_id": self.definition_id,
            "instance_id": self.instance_id,
            "id": item["id"],
            "decision": item.get("decision"),
            "justification": item.get("justification") or None,
            "recommendation": item.get("recommendation"),
            "reviewed_at": parse_graph_time(item.get("reviewedDateTime")),
            "reviewed_by_id": reviewer["id"],
            "reviewed_by_user_principal_name": reviewer["user_principal_name"],
            "reviewed_by_display_name": reviewer["display_name"],
            "principal_id": principal["id"],
            "principal_user_principal_name": principal["user_principal_name"],
            "principal_display_name": principal["display_name"],
            "principal_type": (item.get("principal") or {}).get("@odata.type"),
            "resource_id": resource.get("id"),
            "resource_display_name": resource.get("displayName"),
            "applied_at": parse_graph_time(item.get("appliedDateTime")),
            "apply_result": item.get("applyResult"),
        }
