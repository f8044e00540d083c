"""A Microsoft Entra ID Governance access review's decisions as a campaign's decisions (`review import-entra`).

The review's instances of the campaign's quarter are read through Graph (connectors/entra/access_reviews.py, read-
only), and each decision on a principal that is one of the campaign's Entra accounts becomes a decision row: Approve
is keep, Deny is revoke; NotReviewed and DontKnow leave the account undecided. A principal Graph names by object id
only is matched through the frozen day's Entra users (the daily bundle the population came from, verified again).
A decision nobody is recorded as having made (the review's default action applied) is recorded as rejected, as is
one made by the account's own person (Entra allows self-review; segregation of duties does not). The records read
and their Graph provenance (every request, page and payload hash; never the token) are kept in the bundle.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from connectors.entra.client import EntraConfig, GraphClient
from connectors.hr.roster import normalize_email
from connectors.stream import SourceError
from evidence_pipeline.evidence.signing import unsigned_allowed
from evidence_pipeline.evidence.verify import VerificationError, verify_bundle
from evidence_pipeline.reviews.campaigns import (
    SELF_REVIEW,
    CampaignError,
    CampaignRecord,
    ImportResult,
    campaigns_root,
    quarter_bounds,
    read_campaigns,
    seal_decisions,
)
from evidence_pipeline.settings import Paths

DECISIONS = {"Approve": "keep", "Deny": "revoke"}
#: the reviewer named in import.json: the decisions are many reviewers' (each row names its campaign reviewer)
ENTRA_REVIEWER = "microsoft-entra-access-review"
NO_REVIEWER = "no reviewer recorded: the review's default action, not a person's decision"
NO_REVIEW_DATE = "no reviewedDateTime: when it was decided is not recorded"
RECORDS_FILE = "entra-access-review-decisions.jsonl"
PROVENANCE_FILE = "entra-access-review-provenance.json"


def import_entra_review(
    paths: Paths,
    campaign_id: str,
    definition_id: str,
    *,
    client: GraphClient | None = None,
    imported_by: str | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Read the definition's instances of the campaign's quarter and seal their decisions on the campaign's Entra
    accounts; CampaignError (nothing written) when the campaign, the frozen day or Graph cannot be used."""
    from connectors.entra.access_reviews import AccessReviewDecisions, AccessReviewInstances

    now = now or datetime.now(UTC)
    campaign = next((c for c in read_campaigns(campaigns_root(paths)) if c.campaign_id == campaign_id), None)
    if campaign is None:
        raise CampaignError(f"--campaign {campaign_id}: no such campaign in {campaigns_root(paths)}")
    accounts = {a["account_key"]: a for a in campaign.population if a["system"] == "entra"}
    if not accounts:
        raise CampaignError(f"--campaign {campaign_id}: no Microsoft Entra ID account in its population")
    users = _frozen_entra_users(paths, campaign)
    if client is None:
        try:
            client = GraphClient(EntraConfig.from_env())
        except ValueError as exc:
            raise CampaignError(str(exc)) from None
    first, last = quarter_bounds(campaign.quarter)
    streams: list[Any] = [AccessReviewInstances(client, definition_id)]
    try:
        instances = [i for i in streams[0].records() if _overlaps(i, first, last)]
        if not instances:
            raise CampaignError(
                f"--definition {definition_id}: no instance of the access review overlaps {campaign.quarter}"
            )
        records = []
        for instance in instances:
            streams.append(AccessReviewDecisions(client, definition_id, instance["id"]))
            records += list(streams[-1].records())
    except SourceError as exc:
        raise CampaignError(f"Microsoft Graph: {exc}") from None
    finally:
        client.close()
    data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()
    earlier = next((i for i in campaign.imports if i.get("file_sha256") == hashlib.sha256(data).hexdigest()), None)
    if earlier is not None:
        raise CampaignError(f"--definition {definition_id}: no decision changed since {earlier['bundle']}")
    imported_at = now.isoformat(timespec="seconds")
    rows = [row for r in records if (row := _decision_row(r, campaign, accounts, users, imported_at))]
    if not rows:
        raise CampaignError(
            f"--definition {definition_id}: {len(records)} decision item(s), none an Approve or Deny on one of "
            f"{campaign_id}'s {len(accounts)} Entra account(s)"
        )
    provenance = json.dumps([s.provenance.to_dict() for s in streams], indent=2, sort_keys=True, default=str)
    source = {
        "system": "entra",
        "definition_id": definition_id,
        "instances": [{k: i[k] for k in ("id", "start_at", "end_at", "status")} for i in instances],
        "decision_items": len(records),
        "graph": client.graph_root,
        "provenance_file": PROVENANCE_FILE,
    }
    returned = {RECORDS_FILE: data, PROVENANCE_FILE: (provenance + "\n").encode()}
    bundle = seal_decisions(paths, campaign, ENTRA_REVIEWER, returned, rows, imported_by, imported_at, source)
    accepted = [r for r in rows if r["status"] == "accepted"]
    rejected = [{**r, "row": r["account_key"]} for r in rows if r["status"] == "rejected"]
    return ImportResult(campaign_id, ENTRA_REVIEWER, bundle, accepted, rejected, len(accounts) - len(rows))


def _frozen_entra_users(paths: Paths, campaign: CampaignRecord) -> dict[str, str]:
    """Object id -> user principal name, from the verified daily bundle the campaign froze (none when that bundle is
    no longer here: principals Graph names by object id only then match nothing)."""
    bundle = paths.evidence / campaign.frozen_bundle
    if not bundle.is_dir():
        return {}
    try:
        verified = verify_bundle(bundle, None, not unsigned_allowed(), paths.evidence)
    except VerificationError as exc:
        raise CampaignError(f"the frozen daily bundle {campaign.frozen_bundle} does not verify: {exc}") from None
    if verified.manifest_sha256 != campaign.campaign["frozen_bundle_manifest_sha256"]:
        raise CampaignError(f"the daily bundle {campaign.frozen_bundle} is not the one {campaign.campaign_id} froze")
    path = bundle / "sources" / "entra" / "users.jsonl"
    if not path.is_file():
        return {}
    users = {}
    for line in path.read_text().splitlines():
        user = json.loads(line)
        users[str(user["id"]).lower()] = str(user.get("user_principal_name") or user["id"])
    return users


def _overlaps(instance: dict[str, Any], first: date, last: date) -> bool:
    start, end = instance.get("start_at"), instance.get("end_at")
    return (start is None or start[:10] <= last.isoformat()) and (end is None or end[:10] >= first.isoformat())


def _decision_row(
    record: dict[str, Any],
    campaign: CampaignRecord,
    accounts: dict[str, dict[str, str]],
    users: dict[str, str],
    imported_at: str,
) -> dict[str, Any] | None:
    decision = DECISIONS.get(record.get("decision") or "")
    principal_id = str(record.get("principal_id") or "").lower()
    name = record.get("principal_user_principal_name") or users.get(principal_id) or principal_id
    account = accounts.get(f"entra:{name.lower()}")
    if decision is None or account is None:
        return None  # not decided, or not an account of this campaign
    reviewer_id = str(record.get("reviewed_by_id") or "").lower()
    reviewer_name = record.get("reviewed_by_user_principal_name") or users.get(reviewer_id) or ""
    decided_by = (
        normalize_email(reviewer_name) if reviewer_name else (f"entra-object:{reviewer_id}" if reviewer_id else "")
    )
    if not decided_by:
        rejection = NO_REVIEWER
    elif not record.get("reviewed_at"):
        rejection = NO_REVIEW_DATE
    elif (reviewer_id and reviewer_id == principal_id) or decided_by == account["person_email"]:
        rejection = SELF_REVIEW
    else:
        rejection = ""
    justification = record.get("justification") or ""
    comment = justification or (f"{record.get('decision')} in Microsoft Entra access review (no justification given)")
    return {
        "campaign_id": campaign.campaign_id,
        "account_key": account["account_key"],
        "reviewer": account["reviewer"],
        "decided_by": decided_by,
        "decision": decision,
        "comment": comment,
        "decided_on": (record.get("reviewed_at") or imported_at)[:10],
        "imported_at": imported_at,
        "status": "rejected" if rejection else "accepted",
        "rejection": rejection,
    }
