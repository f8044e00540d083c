"""The period export's listing of human processes, read from the verified daily bundles' raw records: the
attestations (with their artefacts' hashes) and the access-review campaigns (population, decisions, completion,
revocations and the day each took effect).

A revocation takes effect on the first later day whose bundle no longer shows the account in the population the
campaign froze (every active account for a campaign of `all`, the privileged accounts for `privileged`): judged from
the collected data of the days, never from the reviewer's word.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from evidence_pipeline.evidence.csv_cells import write_csv
from evidence_pipeline.evidence.pseudonymize import Pseudonymizer

FOLDER = "human_processes"
#: the control whose population a campaign of each scope froze (interface of the campaign engine)
FROZEN_CONTROL = {"privileged": "cc6_3_privileged_access_review", "all": "cc6_2_accounts_have_owner"}
ATTESTATION_COLUMNS = [
    "kind",
    "subject",
    "summary",
    "performed",
    "expires",
    "valid_months",
    "performer",
    "approver",
    "artefact_name",
    "artefact_sha256",
    "artefact_bytes",
    "artefact_in_bundles",
    "first_listed",
    "last_listed",
    "days_listed",
    "note",
]
CAMPAIGN_COLUMNS = [
    "campaign_id",
    "quarter",
    "scope",
    "due",
    "started_at",
    "frozen_day",
    "frozen_bundle",
    "population_sha256",
    "population_count",
    "reviewers",
    "decided",
    "decided_by_due",
    "pending",
    "completed_on",
    "completed_by_due",
    "revocations",
    "revocations_effective",
    "revocations_on_time",
    "rejected_rows",
    "as_of",
    "bundle",
]
ACCOUNT_COLUMNS = [
    "campaign_id",
    "account_key",
    "system",
    "account_name",
    "person_email",
    "reviewer",
    "reviewer_rule",
    "privileges",
    "decision",
    "decided_by",
    "decided_on",
    "comment",
    "import_bundle",
    "effective_on",
    "effective",
]
DECISION_COLUMNS = [
    "campaign_id",
    "account_key",
    "reviewer",
    "decided_by",
    "decision",
    "comment",
    "decided_on",
    "imported_at",
    "status",
    "rejection",
    "import_bundle",
]
#: listing -> its columns, and the fields naming people (learned for pseudonymization)
LISTINGS = {
    "attestations": (ATTESTATION_COLUMNS, ("subject", "performer", "approver")),
    "campaigns": (CAMPAIGN_COLUMNS, ()),
    "campaign_accounts": (ACCOUNT_COLUMNS, ("account_name", "person_email", "reviewer", "decided_by")),
    "campaign_decisions": (DECISION_COLUMNS, ("reviewer", "decided_by")),
}


def records(bundle: Path, source: str, dataset: str) -> list[dict[str, Any]]:
    """A daily bundle's raw records of one dataset (none when it was not collected that day)."""
    path = bundle / "sources" / source / f"{dataset}.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def human_processes(
    bundles: list[tuple[date, Path, str]], populations: dict[date, dict[str, list[dict[str, Any]]]]
) -> dict[str, list[dict[str, Any]]]:
    """The listings over the period's bundles (day, bundle folder, `<date>/<version>`, in day order);
    `populations`: each day's control population rows (control id -> rows), for the revocations."""
    return {"attestations": _attestations(bundles), **_campaigns(bundles, populations)}


def pseudonymized(listings: dict[str, list[dict[str, Any]]], pseudonymizer: Pseudonymizer) -> dict[str, list]:
    """The listings with every person value replaced: the people fields are learned first, then every cell."""
    for name, (_, person_fields) in LISTINGS.items():
        pseudonymizer.learn_rows(
            {"details": {"person": row[field]}}
            for row in listings.get(name, [])
            for field in person_fields
            if row.get(field)
        )
    return {name: [pseudonymizer.row(row) for row in rows] for name, rows in listings.items()}


def write_listings(work: Path, listings: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """human_processes/<listing>.csv in the export; returns the row count of each."""
    folder = work / FOLDER
    folder.mkdir()
    for name, (columns, _) in LISTINGS.items():
        write_csv(folder / f"{name}.csv", columns, listings.get(name, []))
    return {name: len(listings.get(name, [])) for name in LISTINGS}


def _attestations(bundles: list[tuple[date, Path, str]]) -> list[dict[str, Any]]:
    """Each attestation as the bundles listed it: one row per entry and artefact hash, with the days it was listed.
    An entry whose artefact hash differs between days shows once per hash, and says so."""
    listed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for day, bundle, _ in bundles:
        artefacts = bundle / "sources" / "attestations" / "artefacts"
        for record in records(bundle, "attestations", "attestations"):
            key = tuple(record.get(c) for c in ("kind", "subject", "performed", "performer", "artefact_sha256"))
            row = listed.setdefault(
                key,
                {**{c: record.get(c) for c in ATTESTATION_COLUMNS if c in record}, "first_listed": day.isoformat()},
            )
            carried = (artefacts / f"{record['artefact_sha256']}-{record['artefact_name']}").is_file()
            row.update(
                last_listed=day.isoformat(),
                days_listed=row.get("days_listed", 0) + 1,
                artefact_in_bundles=row.get("artefact_in_bundles", 0) + carried,
            )
    hashes: dict[tuple[Any, ...], int] = {}
    for key in listed:
        hashes[key[:4]] = hashes.get(key[:4], 0) + 1
    for key, row in listed.items():
        notes = ["the artefact's SHA-256 changed during the period: one row per hash"] if hashes[key[:4]] > 1 else []
        if row["artefact_in_bundles"] < row["days_listed"]:
            notes.append("a day's bundle lacks the artefact")
        row["note"] = "; ".join(notes) or None
    return sorted(listed.values(), key=lambda r: (r["kind"], r.get("subject") or "", r["performed"], r["first_listed"]))


def _campaigns(
    bundles: list[tuple[date, Path, str]], populations: dict[date, dict[str, list[dict[str, Any]]]]
) -> dict[str, list[dict[str, Any]]]:
    """Each campaign as the newest bundle of the period showing it holds it."""
    latest: dict[str, tuple[date, Path, str, dict[str, Any]]] = {}
    for day, bundle, location in bundles:
        for campaign in records(bundle, "access_reviews", "campaigns"):
            latest[campaign["campaign_id"]] = (day, bundle, location, campaign)
    campaigns, accounts, decisions = [], [], []
    for campaign_id, (day, bundle, location, campaign) in sorted(latest.items()):
        population = [r for r in records(bundle, "access_reviews", "population") if r["campaign_id"] == campaign_id]
        rows = [r for r in records(bundle, "access_reviews", "decisions") if r["campaign_id"] == campaign_id]
        decisions += rows
        # for a given account the latest accepted decision counts
        decided = {}
        for row in sorted((r for r in rows if r["status"] == "accepted"), key=lambda r: str(r["imported_at"])):
            decided[row["account_key"]] = row
        judged, held = _presence(FROZEN_CONTROL.get(campaign["scope"], ""), populations)
        window = int(campaign.get("revocation_window_days") or 0)
        effective = on_time = 0
        for member in population:
            decision = decided.get(member["account_key"], {})
            entry = {
                **{c: member.get(c) for c in ACCOUNT_COLUMNS if c in member},
                **{c: decision.get(c) for c in ("decision", "decided_by", "decided_on", "comment", "import_bundle")},
                "privileges": _text(member.get("privileges")),
                "effective_on": None,
                "effective": None,
            }
            if decision.get("decision") in ("revoke", "change"):
                entry["effective_on"], entry["effective"] = _effect(
                    decision, campaign["scope"], judged, held.get(member["account_key"], set()), window
                )
                effective += entry["effective_on"] is not None
                on_time += entry["effective"] == "on time"
            accounts.append(entry)
        due = str(campaign.get("due") or "")
        decided_on = [str(d["decided_on"]) for d in decided.values()]
        complete = bool(population) and all(m["account_key"] in decided for m in population)
        completed_on = max(decided_on) if complete and decided_on else None
        campaigns.append(
            {
                **{c: campaign.get(c) for c in CAMPAIGN_COLUMNS if c in campaign},
                "reviewers": len({m.get("reviewer") for m in population}),
                "decided": sum(m["account_key"] in decided for m in population),
                "decided_by_due": sum(
                    m["account_key"] in decided and str(decided[m["account_key"]]["decided_on"]) <= due
                    for m in population
                ),
                "pending": sum(m["account_key"] not in decided for m in population),
                "completed_on": completed_on,
                "completed_by_due": bool(completed_on and completed_on <= due),
                "revocations": sum(d["decision"] in ("revoke", "change") for d in decided.values()),
                "revocations_effective": effective,
                "revocations_on_time": on_time,
                "rejected_rows": sum(r["status"] == "rejected" for r in rows),
                "as_of": day.isoformat(),
                "bundle": location,
            }
        )
    return {"campaigns": campaigns, "campaign_accounts": accounts, "campaign_decisions": decisions}


def _presence(
    control_id: str, populations: dict[date, dict[str, list[dict[str, Any]]]]
) -> tuple[list[date], dict[str, set[date]]]:
    """The days (in order) whose bundle judged the frozen control on every system's data, and per account key the
    days its population held the account."""
    judged = [day for day in sorted(populations) if _complete(populations[day].get(control_id))]
    held: dict[str, set[date]] = {}
    for day in judged:
        for row in populations[day][control_id]:
            held.setdefault(str(row["resource_id"]), set()).add(day)
    return judged, held


def _complete(rows: list[dict[str, Any]] | None) -> bool:
    """Whether a day's population can show an account gone: judged, not empty, and no system standing in as one
    unknown row (its accounts were not read that day, so their absence proves nothing)."""
    return bool(rows) and not any(row["resource_id"] == (row.get("details") or {}).get("dataset") for row in rows or [])


def _effect(
    decision: dict[str, Any], scope: str, judged: list[date], held: set[date], window: int
) -> tuple[str | None, str]:
    """The first day after the decision whose frozen population no longer holds the account, and whether that was
    within the campaign's revocation window."""
    if decision["decision"] == "change" and scope != "privileged":
        return None, "not judged: a change keeps the account, and the population of all accounts shows no privileges"
    decided_on = date.fromisoformat(str(decision["decided_on"])[:10])
    later = [day for day in judged if day > decided_on]
    gone = next((day for day in later if day not in held), None)
    if gone is None:
        last = f" by {later[-1]}" if later else ": no later day in the period"
        return None, f"still present{last}"
    late = (gone - decided_on).days > window
    return gone.isoformat(), f"late ({(gone - decided_on).days} days; window {window})" if late else "on time"


def _text(value: Any) -> Any:
    return ", ".join(map(str, value)) if isinstance(value, Iterable) and not isinstance(value, str) else value
