"""Type II: evidence over a period, built from the verified daily bundles (never from mutable tables).

The whole daily chain is verified first (every manifest, signature, link and location; the files of the bundles
read here are hashed): one chain, signed by the pinned key (--public-key or EVIDENCE_PUBLIC_KEY, else the chain's
first signer) or a key a rotation record hands over to, unsigned bundles only when explicitly allowed (and then
named in the export). The export records the chain's head and which bundle and manifest hash every day came
from. Days without a bundle are named (`missing_days`), never silently skipped. Exceptions are followed across
days: the day a resource was first seen failing, the day it was resolved (passed again or left the population)
and how long it stayed open.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from evidence_pipeline.evidence.chain import MANIFEST, daily_bundles, seal_bundle, sha256_file
from evidence_pipeline.evidence.csv_cells import read_csv, write_csv
from evidence_pipeline.evidence.human_processes import human_processes, pseudonymized, write_listings
from evidence_pipeline.evidence.model import (
    DAILY_COLUMNS,
    EXCEPTION_COLUMNS,
    POPULATION_COLUMNS,
    PeriodControl,
    PeriodEvidence,
)
from evidence_pipeline.evidence.pseudonymize import Pseudonymizer
from evidence_pipeline.evidence.render import renderings
from evidence_pipeline.evidence.signing import SigningKey, SigningKeyError, fingerprint, load_public_key
from evidence_pipeline.evidence.verify import Verification, VerificationError, verify_series

EXPORTS = "exports"


class PeriodError(ValueError):
    """The period cannot be exported (bad range, no snapshot at all, a bundle that does not verify)."""


def period_days(start: date, end: date) -> list[date]:
    if end < start:
        raise PeriodError(f"--to {end} is before --from {start}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def newest_bundle_of_day(evidence_root: Path, day: date) -> Path | None:
    versions = [b for b in daily_bundles(evidence_root) if b.parent.name == day.isoformat()]
    return max(versions, key=lambda b: b.name) if versions else None


def _read_population(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as handle:
        rows = list(read_csv(handle))
    for row in rows:
        row["details"] = json.loads(row["details"]) if row.get("details") else {}
        for column in ("resource_name", "resource_url", "failure", "reason"):
            row[column] = row.get(column) or None
    return rows


def verified_daily_chain(
    evidence_root: Path, read: set[Path], public_key: bytes | None, require_signature: bool, expect_head: str | None
) -> tuple[dict[Path, Verification], dict[str, Any]]:
    """Verify the whole daily chain (the files of the bundles in `read` hashed, the others by name and size).

    Returns each bundle's verification and a description of the chain for the manifest; refuses (PeriodError,
    naming the bundle) anything that is not one chain under the pinned key, or an unsigned bundle unless allowed."""
    try:
        chain = verify_series(evidence_root, public_key, require_signature, expect_head, lambda b: b in read)
        pinned = fingerprint(load_public_key(public_key, "--public-key")) if public_key is not None else None
    except (VerificationError, SigningKeyError) as exc:
        raise PeriodError(f"the daily evidence chain in {evidence_root} does not verify: {exc}") from None
    description = {
        "bundles": len(chain),
        "signers": chain.signers,
        "pinned_key": pinned,
        "trusted_key": "pinned" if pinned else "not pinned: the chain's first signer",
        "head": asdict(chain.head),
    }
    return {v.bundle: v for v in chain}, description


def load_period(
    evidence_root: Path,
    start: date,
    end: date,
    public_key: bytes | None = None,
    pseudonymizer: Pseudonymizer | None = None,
    require_signature: bool = True,
    expect_head: str | None = None,
) -> PeriodEvidence:
    days = period_days(start, end)
    chosen = {day: newest_bundle_of_day(evidence_root, day) for day in days}
    if not any(chosen.values()):
        raise PeriodError(f"no evidence snapshot between {start} and {end} in {evidence_root}")
    verified_bundles, daily_chain = verified_daily_chain(
        evidence_root, {b for b in chosen.values() if b}, public_key, require_signature, expect_head
    )
    snapshots, missing = [], []
    results: dict[date, dict[str, dict[str, Any]]] = {}
    rows: dict[date, dict[str, list[dict[str, Any]]]] = {}
    provenance: list[dict[str, Any]] = []
    controls: dict[str, PeriodControl] = {}
    maps: set[str] = set()
    #: the days' bundles, for the listings of attestations and access-review campaigns
    listed: list[tuple[date, Path, str]] = []
    for day in days:
        bundle = chosen[day]
        if bundle is None:
            missing.append(day)
            continue
        verified = verified_bundles[bundle]
        manifest = verified.manifest
        maps.add(manifest.get("controls_map_sha256", ""))
        snapshot = {
            "date": day.isoformat(),
            "bundle": f"{bundle.parent.name}/{bundle.name}",
            "manifest_sha256": sha256_file(bundle / MANIFEST),
            "signed_by": verified.signed_by,
        }
        snapshots.append(snapshot)
        listed.append((day, bundle, snapshot["bundle"]))
        results[day], rows[day] = {}, {}
        if pseudonymizer is not None:
            pseudonymizer.learn_bundle(bundle)  # the people of the day's raw records (HR roster, accounts)
        for result_file in sorted((bundle / "controls").glob("*/result.json")):
            result = json.loads(result_file.read_text())
            control_id = result["control_id"]
            results[day][control_id] = result
            rows[day][control_id] = _read_population(result_file.parent / "population.csv")
            controls[control_id] = PeriodControl(
                control_id,
                result.get("title", control_id),
                list(result.get("criteria") or []),
                result.get("frequency", "daily"),
                result.get("scope", ""),
                result.get("owner", ""),
                result.get("procedure"),
            )
        for provenance_file in sorted((bundle / "sources").glob("*/provenance.json")):
            for dataset, entry in sorted(json.loads(provenance_file.read_text()).items()):
                detail = entry.get("provenance") or {}
                provenance.append(
                    {
                        "date": day.isoformat(),
                        "dataset": f"{provenance_file.parent.name}.{dataset}",
                        "status": entry.get("status"),
                        "record_count": entry.get("record_count", detail.get("record_count")),
                        "request_count": entry.get("request_count", detail.get("request_count")),
                        "retry_count": entry.get("retry_count", detail.get("retry_count")),
                        "source_timestamp": entry.get("source_timestamp", detail.get("source_timestamp")),
                        "finished_at": entry.get("finished_at", detail.get("finished_at")),
                        "payload_sha256": entry.get("payload_sha256", detail.get("payload_sha256")),
                        "snapshot": snapshot["bundle"],
                        "snapshot_manifest_sha256": snapshot["manifest_sha256"],
                    }
                )
    if not snapshots:
        raise PeriodError(f"no evidence snapshot between {start} and {end} in {evidence_root}")

    listings = human_processes(listed, rows)  # before the rows are pseudonymized: it matches account keys
    if pseudonymizer is not None:
        pseudonymizer.learn_rows(
            r for by_control in rows.values() for day_rows in by_control.values() for r in day_rows
        )
        listings = pseudonymized(listings, pseudonymizer)
        rows = {
            day: {cid: [pseudonymizer.row(r) for r in day_rows] for cid, day_rows in by_control.items()}
            for day, by_control in rows.items()
        }

    ordered = sorted(controls.values(), key=lambda c: c.id)
    period = PeriodEvidence(
        start=start,
        end=end,
        days=days,
        missing_days=missing,
        controls=ordered,
        daily={},
        population={},
        exceptions={},
        control_stats={},
        provenance=provenance,
        snapshots=snapshots,
        controls_map_sha256=sorted(maps - {""}),
        daily_chain=daily_chain,
        unsigned_inputs=[s["bundle"] for s in snapshots if s["signed_by"] is None],
        allow_unsigned=not require_signature,
        # the report's scope and trust-page coverage, from the bundles' own files (the newest bundle's promises)
        trust_page=renderings.bundle_trust_page([b for b in chosen.values() if b][-1]),
        collection_parameters=renderings.collection_parameters(b for b in chosen.values() if b),
        human_processes=listings,
    )
    if pseudonymizer is not None:
        period.pseudonymization = pseudonymizer.manifest_entry()
        period.pseudonymization_note = f"pseudonymized (keyed HMAC-SHA256; key {pseudonymizer.key_origin})"
    for control in ordered:
        daily = []
        population = []
        for day in days:
            result = results.get(day, {}).get(control.id)
            if result is None:
                daily.append(
                    {
                        "date": day.isoformat(),
                        "verdict": "missing",
                        "population": None,
                        "pass": None,
                        "fail": None,
                        "unknown": None,
                        "waived": None,
                        "pass_rate": None,
                        "reason": "no snapshot for this day" if day in missing else "not in this day's snapshot",
                        "sql_sha256": None,
                    }
                )
                continue
            count = {s: result.get(s, 0) for s in ("population", "pass", "fail", "unknown", "waived")}
            daily.append(
                {
                    "date": day.isoformat(),
                    "verdict": result["verdict"],
                    **count,
                    "pass_rate": count["pass"] / count["population"] if count["population"] else None,
                    "reason": pseudonymizer.text(result.get("reason")) if pseudonymizer else result.get("reason"),
                    "sql_sha256": result.get("sql_sha256"),
                }
            )
            population += [{"snapshot_date": day.isoformat(), **r} for r in rows[day][control.id]]
        period.daily[control.id] = daily
        period.population[control.id] = population
        period.exceptions[control.id] = exception_episodes(days, missing, rows, control.id)
        evaluated = [d for d in daily if d["verdict"] != "missing"]
        total_rows = sum(d["population"] for d in evaluated)
        period.control_stats[control.id] = {
            "days_evaluated": len(evaluated),
            "days_pass": sum(d["verdict"] == "pass" for d in evaluated),
            "days_fail": sum(d["verdict"] == "fail" for d in evaluated),
            "days_unknown": sum(d["verdict"] == "unknown" for d in evaluated),
            "days_missing": len(days) - len(evaluated),
            "pass_rate": sum(d["pass"] for d in evaluated) / total_rows if total_rows else None,
            "population_rows": total_rows,
            "exceptions": len(period.exceptions[control.id]),
            "open_at_end": sum(1 for x in period.exceptions[control.id] if x["resolved_on"] is None),
        }
    return period


def exception_episodes(
    days: list[date], missing: list[date], rows: dict[date, dict[str, list[dict[str, Any]]]], control_id: str
) -> list[dict[str, Any]]:
    """Each stretch of days a resource did not pass: first seen, last seen, resolved (and how), days open.

    A day without a snapshot neither opens nor resolves anything: the exception stays open across it, because
    nobody looked. Resolved means the resource passed again or left the population on a day that was checked.
    """
    open_: dict[str, dict[str, Any]] = {}
    episodes: list[dict[str, Any]] = []
    for day in days:
        if day in missing or control_id not in rows.get(day, {}):
            continue
        today = {r["resource_id"]: r for r in rows[day][control_id]}
        for resource_id, row in today.items():
            if row["status"] == "pass":
                continue
            episode = open_.get(resource_id)
            if episode is None:
                episode = open_[resource_id] = {
                    "resource_id": resource_id,
                    "resource_name": row.get("resource_name"),
                    "first_seen": day,
                    "days_failing": 0,
                }
            episode.update(last_seen=day, last_status=row["status"], last_reason=row.get("reason"))
            episode["days_failing"] += 1
        for resource_id in list(open_):
            row = today.get(resource_id)
            if row is None or row["status"] == "pass":
                episode = open_.pop(resource_id)
                episode["resolved_on"] = day
                episode["resolution"] = "passed" if row is not None else "left the population"
                episodes.append(episode)
    end = days[-1]
    for episode in open_.values():
        episode["resolved_on"] = None
        episode["resolution"] = f"still open on {end}"
        episodes.append(episode)
    for episode in episodes:
        until = episode["resolved_on"] or end + timedelta(days=1)
        episode["days_open"] = (until - episode["first_seen"]).days
        for key in ("first_seen", "last_seen", "resolved_on"):
            episode[key] = episode[key].isoformat() if episode[key] else None
    return sorted(episodes, key=lambda e: (e["first_seen"], e["resource_id"]))


def write_export(evidence_root: Path, period: PeriodEvidence, signing_key: SigningKey | None) -> Path:
    """The period's bundle under <evidence>/exports/<from>--<to>/v<NNN>-<stamp>/ (its own chain)."""

    def write(work: Path) -> dict[str, Any]:
        for control in period.controls:
            folder = work / "controls" / control.id
            folder.mkdir(parents=True)
            write_csv(
                folder / "population.csv",
                ["snapshot_date", *POPULATION_COLUMNS[:6], "details"],
                [
                    {**r, "details": json.dumps(r.get("details") or {}, sort_keys=True, default=str)}
                    for r in period.population[control.id]
                ],
            )
            write_csv(folder / "daily.csv", DAILY_COLUMNS, period.daily[control.id])
            write_csv(folder / "exceptions.csv", EXCEPTION_COLUMNS, period.exceptions[control.id])
        (work / "sources").mkdir()
        write_csv(
            work / "sources" / "provenance.csv",
            list(period.provenance[0]) if period.provenance else ["date"],
            period.provenance,
        )
        summary = {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "days": len(period.days),
            "days_with_snapshot": len(period.snapshots),
            "missing_days": [d.isoformat() for d in period.missing_days],
            "snapshots": period.snapshots,
            "controls": {c.id: period.control_stats[c.id] for c in period.controls},
        }
        summary["human_processes"] = write_listings(work, period.human_processes)
        (work / "period.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        written = renderings.write_period(work, period)
        return {
            "kind": "period_export",
            "data_window": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "missing_days": summary["missing_days"],
            "snapshots": period.snapshots,
            "controls_map_sha256": period.controls_map_sha256,
            "renderings": written,
            "pseudonymization": period.pseudonymization,
            # what the export trusted: the daily chain's signers and head, and any unsigned day it was allowed to read
            "daily_chain": period.daily_chain,
            "allow_unsigned": period.allow_unsigned,
            "unsigned_inputs": period.unsigned_inputs,
        }

    return seal_bundle(evidence_root / EXPORTS, f"{period.start}--{period.end}", write, signing_key)
