"""An Entra ID Governance access review's decisions imported into a campaign: Graph's documented shapes (the zero-GUID
reviewer of an item nobody reviewed, a principal named by id only, a page smaller than $top with @odata.count),
Approve/Deny mapped, self-review rejected, a truncated list refused with nothing written."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.entra.access_reviews import NO_IDENTITY
from connectors.entra.client import EntraConfig, GraphClient
from evidence_pipeline.evidence.verify import verify_series
from evidence_pipeline.reviews.campaigns import SELF_REVIEW, CampaignError, read_campaigns, start_campaign
from evidence_pipeline.reviews.entra import RECORDS_FILE, import_entra_review
from tests.reviews.conftest import FROZEN_DAY, OWNER, START, Home, write_daily

DEFINITION = "2dca8959-b716-4b4c-a93d-a535c01eb6e0"
GRAPH = "https://graph.test"
DECISIONS = f"/v1.0/identityGovernance/accessReviews/definitions/{DEFINITION}/instances/q4/decisions"
INSTANCES = f"/v1.0/identityGovernance/accessReviews/definitions/{DEFINITION}/instances"
ACCOUNTS = ["ada", "frank", "eve", "bob"]
NOBODY = {"id": NO_IDENTITY, "displayName": "", "userPrincipalName": ""}


def user(name: str) -> dict[str, str]:
    return {"id": f"u-{name}", "displayName": name.title(), "userPrincipalName": f"{name}@corp.test"}


def decision(principal: dict[str, Any], decision: str, reviewer: dict[str, Any], **more: Any) -> dict[str, Any]:
    """An accessReviewInstanceDecisionItem as Graph's "List decisions" example shows it."""
    reviewed = decision != "NotReviewed"
    return {
        "id": f"d-{principal['id']}",
        "accessReviewId": "q4",
        "reviewedDateTime": "2026-10-06T10:00:00.1234567Z" if reviewed else None,
        "decision": decision,
        "justification": "",
        "appliedDateTime": None,
        "applyResult": "New",
        "recommendation": "Approve",
        "principalLink": f"https://graph.microsoft.com/v1.0/users/{principal['id']}",
        "resource": None,
        "reviewedBy": reviewer,
        "appliedBy": NOBODY,
        "principal": {"@odata.type": "#microsoft.graph.userIdentity", **principal},
        **more,
    }


ITEMS = [
    decision(user("ada"), "Approve", user("bob")),
    decision({"id": "u-frank"}, "Deny", {"id": "u-bob"}),  # both named by object id only
    decision(user("eve"), "Approve", user("eve")),  # Entra allowed a self-review
    decision(user("bob"), "NotReviewed", NOBODY),
    decision({"id": "u-guest", "userPrincipalName": "guest@guest.com"}, "Approve", user("bob")),  # not in the campaign
]


class FakeGraph(GraphClient):
    """Graph as documented for these two lists: $top/$skip paging, @odata.count, pages of at most `page` items."""

    def __init__(self, items: list[dict[str, Any]], announced: int | None = None, page: int = 2) -> None:
        super().__init__(EntraConfig("tenant", "client", client_secret="not-used", graph_url=GRAPH))
        self.items, self.announced, self.page = items, announced, page
        self.requests: list[str] = []

    def get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        path = urlsplit(url).path
        self.requests.append(path)
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} | dict(params or {})
        if path == INSTANCES:
            instances = [
                {"id": "q3", "startDateTime": "2026-07-01T00:00:00Z", "endDateTime": "2026-07-15T00:00:00Z"},
                {"id": "q4", "startDateTime": "2026-10-05T00:00:00Z", "endDateTime": "2026-10-19T00:00:00Z"},
            ]
            return {"@odata.count": 2, "value": [{**i, "status": "Completed"} for i in instances]}
        assert path == DECISIONS, path
        skip = int(query.get("$skip", 0))
        shown = self.items[skip : skip + min(int(query["$top"]), self.page)]
        return {"@odata.count": len(self.items) if self.announced is None else self.announced, "value": shown}


def entra_campaign(home: Home) -> None:
    rows = [
        {
            "resource_id": f"entra:{name}@corp.test",
            "resource_name": f"{name.title()} (entra)",
            "status": "pass",
            "reason": f"Global Administrator; owner {name}@corp.test (active); MFA on",
            "details": json.dumps({"system": "entra", "privileges": ["Global Administrator"]}),
        }
        for name in ACCOUNTS
    ]
    users = [{"id": f"u-{n}", "user_principal_name": f"{n}@corp.test"} for n in ACCOUNTS]
    day = FROZEN_DAY + timedelta(days=1)
    write_daily(home.paths.evidence, home.key, day, population=rows, extra_sources={("entra", "users"): users})
    start_campaign(home.paths, "2026-Q4", "privileged", None, OWNER, {}, day, now=START)


def test_an_entra_reviews_decisions_become_the_campaigns_with_their_provenance(home: Home) -> None:
    entra_campaign(home)
    graph = FakeGraph(ITEMS)
    result = import_entra_review(home.paths, "2026-Q4-privileged", DEFINITION, client=graph, now=START)
    decided = {d["account_key"]: (d["decision"], d["decided_by"], d["status"]) for d in result.accepted}
    assert decided == {
        "entra:ada@corp.test": ("keep", "bob@corp.test", "accepted"),
        "entra:frank@corp.test": ("revoke", "bob@corp.test", "accepted"),
    }
    assert [(r["account_key"], r["rejection"]) for r in result.rejected] == [("entra:eve@corp.test", SELF_REVIEW)]
    # the q3 instance is outside the quarter; five decisions in pages of two: three pages, read to the announced count
    assert graph.requests == [INSTANCES, DECISIONS, DECISIONS, DECISIONS]
    (campaign,) = read_campaigns(home.campaigns)
    frank = campaign.latest_decisions()["entra:frank@corp.test"]
    assert (frank["decided_on"], frank["reviewer"]) == ("2026-10-06", "bob@corp.test")
    assert "no justification given" in frank["comment"]
    source = campaign.imports[0]["source"]
    assert (source["definition_id"], [i["id"] for i in source["instances"]]) == (DEFINITION, ["q4"])
    kept = (result.bundle / "returned" / RECORDS_FILE).read_text().splitlines()
    assert len(kept) == len(ITEMS)
    provenance_text = (result.bundle / "returned" / "entra-access-review-provenance.json").read_text()
    assert "not-used" not in provenance_text  # the client secret stays out of the evidence
    provenance = json.loads(provenance_text)
    assert [p["dataset"] for p in provenance] == ["access_review_instances", "access_review_decisions"]
    assert provenance[1]["record_count"] == len(ITEMS) and provenance[1]["request_count"] == 3
    assert len(verify_series(home.campaigns)) == 2
    with pytest.raises(CampaignError, match="no decision changed since"):
        import_entra_review(home.paths, "2026-Q4-privileged", DEFINITION, client=FakeGraph(ITEMS), now=START)


def test_a_decision_list_shorter_than_graph_announced_is_refused_and_nothing_written(home: Home) -> None:
    entra_campaign(home)
    with pytest.raises(CampaignError, match=r"list truncated: 7 announced, 5 read"):
        import_entra_review(home.paths, "2026-Q4-privileged", DEFINITION, client=FakeGraph(ITEMS, 7), now=START)
    (campaign,) = read_campaigns(home.campaigns)
    assert campaign.imports == []
