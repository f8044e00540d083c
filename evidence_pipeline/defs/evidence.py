"""The daily evidence snapshot: an immutable, hashed, signed bundle of every control's result.

Signed with EVIDENCE_SIGNING_KEY; without it the snapshot fails (nothing written) unless EVIDENCE_ALLOW_UNSIGNED=1,
and then its metadata says UNSIGNED. `evidence-pipeline ui` and the demo set a data-folder key."""

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from evidence_pipeline.alerts import report_newly_failing
from evidence_pipeline.catalogue import Catalogue
from evidence_pipeline.defs.automation import DAILY_FRESHNESS
from evidence_pipeline.defs.controls import control_key, table_cell
from evidence_pipeline.defs.partitions import daily_partitions, partition_date
from evidence_pipeline.defs.resources import OWNERS
from evidence_pipeline.defs.sources import freshness_hours
from evidence_pipeline.evaluate import OPTIONAL_NOT_CONFIGURED, load_summary, source_states
from evidence_pipeline.evidence.chain import MANIFEST, remove_abandoned_bundles
from evidence_pipeline.evidence.daily import BundleInputs, write_bundle
from evidence_pipeline.evidence.model import ControlOutcome
from evidence_pipeline.evidence.signing import SigningKeyError, signing_key_for_writing, signing_note
from evidence_pipeline.settings import project_file
from warehouse.results import failing_since, record_snapshot

SNAPSHOT_KEY = dg.AssetKey(["evidence", "daily_snapshot"])
#: a source state that is not worth a mention in the verdicts table (an optional dataset left off is said elsewhere)
USABLE_SOURCE_STATES = frozenset({"succeeded", OPTIONAL_NOT_CONFIGURED})
#: the alert: run in every launch path (schedule, UI, CLI), because it is part of the run, not a sensor
NEWLY_FAILING_CHECK = "no_newly_failing_controls"


def snapshot_asset(catalogue: Catalogue) -> dg.AssetsDefinition:
    @dg.asset(
        key=SNAPSHOT_KEY,
        deps=[control_key(c.id) for c in catalogue.controls],
        group_name="evidence",
        kinds={"duckdb", "json"},
        owners=OWNERS,
        description="Writes the day's auditor-ready evidence bundle: per control the population, exceptions, query "
        "and result; per source the raw records and provenance; a manifest with the SHA-256 of every "
        "file. A re-run writes a new version beside the old one, never over it.",
        partitions_def=daily_partitions(),
        freshness_policy=DAILY_FRESHNESS,
        # the bundle is file work (PDF, workbook, hashes); its few short reads and one insert wait for DuckDB's lock
        # in `Warehouse.connect`, so a backfill's snapshots write side by side
        required_resource_keys={"warehouse", "alerts"},
        tags={"evidence/layer": "snapshot"},
        check_specs=[
            dg.AssetCheckSpec(
                NEWLY_FAILING_CHECK,
                asset=SNAPSHOT_KEY,
                description="No control fails today that did not fail on its previous evaluated day; newly failing "
                "ones are logged and posted to EVIDENCE_ALERT_WEBHOOK_URL once",
            )
        ],
    )
    def daily_snapshot(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        try:
            # first: a missing or unreadable key fails the snapshot before any work, and unsigned needs a yes
            signing_key = signing_key_for_writing("daily evidence bundle")
        except SigningKeyError as exc:
            raise dg.Failure(description=str(exc)) from None
        if signing_key is None:
            context.log.warning(f"the bundle is written {signing_note(None)}: nothing shows who wrote it")
        resource = context.resources.warehouse
        warehouse = resource.get()
        day = partition_date(context)
        datasets = sorted({d for c in catalogue.controls for d in c.datasets})
        with warehouse.session():
            outcomes = [load_summary(warehouse, control, day) for control in catalogue.controls]
            since = {control.id: failing_since(warehouse, control.id, day) for control in catalogue.controls}
            # the stale rule of the controls' evaluation (the summaries' states carry no freshness window)
            sources = {state["name"]: state for state in source_states(warehouse, datasets, day, freshness_hours())}
        inputs = BundleInputs(
            snapshot_date=day,
            run_id=context.run.run_id,
            outcomes=outcomes,
            datasets=datasets,
            catalogue=catalogue,
            waivers_file=_waivers_file(),
            stored_results=True,
        )
        # a killed writer's aside folder holds raw personal data; other snapshots may be writing now (a backfill),
        # so only folders untouched for hours go
        for aside in remove_abandoned_bundles(resource.paths.evidence, runs_in_progress=True):
            context.log.info(f"removed an abandoned bundle folder: {aside}")
        try:
            bundle = write_bundle(warehouse, resource.paths.evidence, inputs, signing_key=signing_key)
        except SigningKeyError as exc:  # e.g. a new key the chain's signer never handed over to
            raise dg.Failure(description=str(exc)) from None
        manifest_sha256 = hashlib.sha256((bundle / MANIFEST).read_bytes()).hexdigest()
        record_snapshot(warehouse, day, f"{day}/{bundle.name}", str(bundle), manifest_sha256, context.run.run_id)
        context.log.info(f"evidence bundle written: {bundle}")
        yield dg.MaterializeResult(
            metadata={
                "bundle": dg.MetadataValue.path(str(bundle)),
                "manifest sha256": manifest_sha256,
                "signature": signing_note(signing_key),
                "controls": len(outcomes),
                "passing": sum(o.verdict == "pass" for o in outcomes),
                "failing": sum(o.verdict == "fail" for o in outcomes),
                "unknown": sum(o.verdict == "unknown" for o in outcomes),
                "verdicts": dg.MetadataValue.md(verdicts_table(outcomes, since, sources)),
            }
        )
        newly = report_newly_failing(warehouse, day, context.resources.alerts.webhook_url, context.log)
        yield dg.AssetCheckResult(
            check_name=NEWLY_FAILING_CHECK,
            passed=not newly,
            severity=dg.AssetCheckSeverity.WARN,
            description="\n".join(item.line() for item in newly) or "no newly failing control",
            metadata={"newly failing": len(newly)},
        )

    return daily_snapshot


def verdicts_table(
    outcomes: list[ControlOutcome], since: dict[str, date | None], sources: dict[str, dict[str, Any]]
) -> str:
    """The day's verdicts as a markdown table: per control its criteria, verdict, row counts, the first day of its
    current run of failing days, and the sources it could not use (stale, failed, not collected)."""
    lines = [
        "| control | criteria | verdict | pass | fail | unknown | waived | failing since | stale or missing sources |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for outcome in outcomes:
        control, counts = outcome.control, outcome.counts
        unusable = [
            f"{name} ({sources[name]['status'].replace('_', ' ')})"
            for name in control.datasets
            if name in sources and sources[name]["status"] not in USABLE_SOURCE_STATES
        ]
        day = since.get(control.id)
        numbers = " | ".join(str(counts.get(status, 0)) for status in ("pass", "fail", "unknown", "waived"))
        lines.append(
            f"| {table_cell(control.id)} | {table_cell(', '.join(control.criteria))} | "
            f"{outcome.verdict if not outcome.error else 'unknown (error)'} | {numbers} | "
            f"{day.isoformat() if day else '–'} | {table_cell(', '.join(unusable)) or '–'} |"
        )
    return "\n".join(lines)


def _waivers_file() -> Path | None:
    try:
        return project_file("waivers.yaml")
    except FileNotFoundError:
        return None
