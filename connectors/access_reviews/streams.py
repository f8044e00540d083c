"""The access-review campaign chain as three datasets (campaigns, population, decisions), one read each.

`evidence-pipeline review` (evidence_pipeline/reviews/campaigns.py) writes the chain; its reader verifies it
(signatures, files, links, the frozen population's hash) before returning anything. Connectors import nothing of the
pipeline, so the reader is handed in by the source's declaration. A chain that does not verify raises: the dataset
fails and every control reading it is unknown, never judged on evidence that does not verify. No campaign folder is
no campaign yet: zero records, a success.

Empty CSV cells (a service account's person, a keep's comment) become None: the warehouse says "not there", not "".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from connectors.stream import Stream

#: the verified reader: the campaigns under a root folder (CampaignRecord objects), raising on a chain that does not
#: verify
CampaignReader = Callable[[Path], list[Any]]


def _text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _day(value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)


class CampaignStream(Stream):
    """One read of the verified chain; each dataset takes its own records from the same campaigns."""

    source = "access_reviews"
    method = "READ"

    def __init__(self, root: Path, read: CampaignReader) -> None:
        self.root = Path(root)
        self.read = read
        self.endpoint = f"file://{self.root.name}"
        #: the campaigns as the reader returned them (its objects), for the dataset's metadata once read
        self.campaigns: list[Any] = []
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {"folder": self.root.name}

    def request(self, cursor: Any) -> list[dict[str, Any]]:
        self.campaigns = list(self.read(self.root))
        campaigns = [dataclasses.asdict(c) if dataclasses.is_dataclass(c) else dict(c) for c in self.campaigns]
        self.provenance.parameters["campaigns"] = len(campaigns)
        self.provenance.parameters["bundles"] = sum(1 + len(c.get("imports") or []) for c in campaigns)
        return campaigns


class Campaigns(CampaignStream):
    dataset = "campaigns"

    def parse(self, payload: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for campaign in payload:
            yield {
                "campaign_id": campaign["campaign_id"],
                "quarter": campaign["quarter"],
                "scope": campaign["scope"],
                "due": _day(campaign["due"]),
                "started_at": _text(campaign.get("started_at")),
                "frozen_day": _day(campaign["frozen_day"]),
                "frozen_bundle": _text(campaign.get("frozen_bundle")),
                "population_sha256": campaign["population_sha256"],
                "population_count": int(campaign["population_count"]),
                "revocation_window_days": int(campaign["revocation_window_days"]),
                "bundle_manifest_sha256": campaign["bundle_manifest_sha256"],
            }


class CampaignPopulation(CampaignStream):
    dataset = "population"

    def parse(self, payload: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for campaign in payload:
            for account in campaign.get("population") or []:
                yield {
                    "campaign_id": campaign["campaign_id"],
                    "account_key": account["account_key"],
                    "system": account["system"],
                    "account_id": _text(account.get("account_id")),
                    "account_name": _text(account.get("account_name")),
                    "person_email": _text(account.get("person_email")),
                    "approved_owner": _text(account.get("approved_owner")),
                    "reviewer": account["reviewer"],
                    "reviewer_rule": _text(account.get("reviewer_rule")),
                    "privileges": _text(account.get("privileges")),
                }


class CampaignDecisions(CampaignStream):
    dataset = "decisions"

    def parse(self, payload: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for campaign in payload:
            for row in campaign.get("decisions") or []:
                yield {
                    "campaign_id": row["campaign_id"],
                    "account_key": row["account_key"],
                    "reviewer": row["reviewer"],
                    "decided_by": _text(row.get("decided_by")),
                    "decision": _text(row.get("decision")),
                    "comment": _text(row.get("comment")),
                    "decided_on": _day(row.get("decided_on")),
                    "imported_at": _text(row.get("imported_at")),
                    "status": row["status"],
                    "rejection": _text(row.get("rejection")),
                    "import_bundle": row["import_bundle"],
                }
