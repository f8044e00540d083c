"""Access-review campaigns: the signed chain `evidence-pipeline review` writes under
<EVIDENCE_HOME>/evidence/campaigns/, verified and read every day like the HR roster (a file source: no API, no
credentials).

The chain is verified by the campaigns' own reader (signatures against EVIDENCE_PUBLIC_KEY when set, else the chain's
first signer; every file; the links): a chain that does not verify fails the three datasets, so the campaign controls
are unknown. No folder yet means no campaign: zero records, collected. The decisions asset shows each campaign's
progress in its metadata: decided of total, by reviewer, and who is overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from connectors.access_reviews import CampaignDecisions, CampaignPopulation, Campaigns
from connectors.access_reviews.streams import CampaignStream
from connectors.stream import Stream
from evidence_pipeline.defs.sources.declaration import SourceDeclaration
from evidence_pipeline.defs.sources.factory import SourceDataset, SourceResource, source_definitions
from evidence_pipeline.evidence.signing import pinned_public_key_from_env
from evidence_pipeline.reviews.campaigns import campaigns_root, read_campaigns
from evidence_pipeline.settings import Paths
from evidence_pipeline.text import escape_bidi


class AccessReviewsResource(SourceResource):
    """The campaigns folder of the data folder (EVIDENCE_HOME): always configured, empty until a campaign starts."""

    campaigns_root: str

    def missing_settings(self) -> list[str]:
        return []


def verified_campaigns(root: Path) -> list[Any]:
    """The campaigns of the chain at `root`, verified against the pinned key when one is set."""
    return read_campaigns(root, public_key=pinned_public_key_from_env())


def _streams(kind: type[CampaignStream]):
    def streams(resource: AccessReviewsResource, day: date) -> Iterable[Stream]:
        yield kind(Path(resource.campaigns_root), verified_campaigns)

    return streams


def _cell(text: Any) -> str:
    """A markdown table cell: bidi controls shown escaped, no pipe or line break to split it."""
    return escape_bidi(str(text)).replace("|", "\\|").replace("\n", " ")


def campaign_progress(streams: list[Stream], day: date) -> dict[str, Any]:
    """Each campaign's progress on `day` as the decisions asset's metadata: decided of total, per reviewer, and the
    reviewers overdue (the due day passed with accounts undecided)."""
    campaigns = [c for s in streams if isinstance(s, CampaignStream) for c in s.campaigns]
    if not campaigns:
        return {"campaigns": "none started (evidence-pipeline review start)"}
    lines = ["| campaign | due | reviewer | decided | of | overdue |", "|---|---|---|---:|---:|---|"]
    overdue: list[str] = []
    decided_total = accounts_total = 0
    for campaign in sorted(campaigns, key=lambda c: c.campaign_id):
        progress = campaign.progress(day)
        decided = sum(p.decided for p in progress)
        total = sum(p.total for p in progress)
        decided_total, accounts_total = decided_total + decided, accounts_total + total
        lines.append(f"| **{_cell(campaign.campaign_id)}** | {campaign.due} | all reviewers | {decided} | {total} | |")
        for reviewer in progress:
            lines.append(
                f"| {_cell(campaign.campaign_id)} | {campaign.due} | {_cell(reviewer.reviewer)} | {reviewer.decided} "
                f"| {reviewer.total} | {'**overdue**' if reviewer.overdue else ''} |"
            )
            if reviewer.overdue:
                overdue.append(f"{reviewer.reviewer} ({campaign.campaign_id})")
    return {
        "campaign progress": dg.MetadataValue.md("\n".join(lines)),
        "decided": decided_total,
        "accounts": accounts_total,
        "overdue reviewers": ", ".join(overdue) or "none",
    }


#: a folder the pipeline itself writes: no credentials, no API to fault, no sandbox fake (the sandbox runs a campaign
#: through sandbox/access_reviews/scenario.py)
SOURCE = SourceDeclaration(source="access_reviews", resource_key="access_reviews", sandbox_system=None)

#: decisions are made by people over weeks: a campaign read today is current however old its last bundle
_FRESH_HOURS = 24 * 366

DATASETS = [
    SourceDataset(
        source="access_reviews",
        dataset="campaigns",
        description="Each access-review campaign (quarter, scope, due day, the daily bundle and population hash it "
        "froze, the revocation window) from the verified campaign chain.",
        streams=_streams(Campaigns),
        fresh_hours=_FRESH_HOURS,
        kinds=("json",),
    ),
    SourceDataset(
        source="access_reviews",
        dataset="population",
        description="Every account each campaign froze, with its person, approved owner, privileges and reviewer "
        "(and the rule that chose the reviewer).",
        streams=_streams(CampaignPopulation),
        fresh_hours=_FRESH_HOURS,
        kinds=("csv",),
    ),
    SourceDataset(
        source="access_reviews",
        dataset="decisions",
        description="Every decision row of every imported packet, accepted and rejected (a self-review attempt), "
        "with who decided, when, and the import bundle; the metadata shows each campaign's progress by reviewer.",
        streams=_streams(CampaignDecisions),
        fresh_hours=_FRESH_HOURS,
        kinds=("csv",),
        metadata=campaign_progress,
    ),
]


def defs() -> dg.Definitions:
    root = campaigns_root(Paths.from_env())
    return source_definitions(DATASETS, SOURCE.resource_key, AccessReviewsResource(campaigns_root=str(root)))
