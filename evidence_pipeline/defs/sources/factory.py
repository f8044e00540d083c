"""Turns source dataset declarations into daily-partitioned Dagster assets: one asset per dataset, one step
per source.

Each dataset: asks its source resource for streams, stages their records to a file
without holding DuckDB (the fetch can take minutes), then lands the day in one
short transaction with the provenance. A failure is recorded as data (the day's
source status, with the cause) and fails the dataset's non-blocking `collected`
check; the asset still materializes, so its controls run in the same run and report
*unknown*. The source's other datasets land, and the day's earlier rows stay.
A source that is not configured is recorded as such, not as a failure.
"""

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
from dagster import AssetExecutionContext

from connectors.stream import Stream
from evidence_pipeline.defs.partitions import daily_partitions, partition_date
from evidence_pipeline.defs.resources import OWNERS, WarehouseResource
from evidence_pipeline.evaluate import OPTIONAL_NOT_CONFIGURED, source_age_hours
from provenance import Provenance, utc_now
from provenance.redact import redact_text
from warehouse import Warehouse, stage_records


class SourceResource(dg.ConfigurableResource):
    """Base of every source's resource: says whether it is configured and what is missing."""

    #: datasets of the source fetched at once: enough to overlap their APIs' latency, few enough to stay polite
    datasets_at_once: ClassVar[int] = 4

    def missing_settings(self) -> list[str]:
        """Environment variables a user still has to set; empty when configured."""
        raise NotImplementedError

    def missing_dataset_settings(self, dataset: str) -> list[str]:
        """The unset switch of an optional dataset of this configured source (empty: collect it). Such a dataset is
        recorded as OPTIONAL_NOT_CONFIGURED, and cross-system controls leave its system out of scope."""
        return []


@dataclass(frozen=True)
class SourceDataset:
    source: str
    dataset: str
    description: str
    #: builds the streams to read for a day (several for multi-account sources)
    streams: Callable[[Any, date], Iterable[Stream]]
    #: evidence older than this is stale (the source's FreshnessPolicy)
    fresh_hours: int = 26
    #: Dagster kinds shown in the UI beside "duckdb"
    kinds: tuple[str, ...] = ()
    #: steps start highest first: a dataset paced by its API's rate limit goes first, or the day waits on it at the end
    priority: int = 0
    #: extra asset metadata from the dataset's streams once read, for the day (an access-review campaign's progress)
    metadata: Callable[[list[Stream], date], dict[str, Any]] | None = None

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(["sources", self.source, self.dataset])

    @property
    def name(self) -> str:
        return f"{self.source}.{self.dataset}"


def merge_provenance(source: str, dataset: str, streams: list[Stream]) -> Provenance:
    """One dataset read through several streams (accounts, regions) is one provenance record."""
    if len(streams) == 1:
        return streams[0].provenance
    merged = Provenance(
        source=source, dataset=dataset, parameters={"streams": [s.provenance.parameters for s in streams]}
    )
    merged.started_at = min((s.provenance.started_at for s in streams), default=utc_now())
    merged.finished_at = max((s.provenance.finished_at or "" for s in streams), default=utc_now())
    merged.requests = [r for s in streams for r in s.provenance.requests]
    merged.record_count = sum(s.provenance.record_count for s in streams)
    merged.payload_sha256 = _combined_hash([s.provenance.payload_sha256 for s in streams])
    stamps = [s.provenance.source_timestamp for s in streams if s.provenance.source_timestamp]
    merged.source_timestamp = min(stamps) if stamps else None
    failed = [s.provenance for s in streams if s.provenance.status == "failed"]
    merged.status = "failed" if failed else "succeeded"
    merged.error = "; ".join(p.error or "" for p in failed) or None
    return merged


def _combined_hash(hashes: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


COLLECTED_CHECK = "collected"


def collected_check_spec(spec: SourceDataset) -> dg.AssetCheckSpec:
    # non-blocking: a failed source must not skip its controls, which then say *unknown* with the cause
    return dg.AssetCheckSpec(
        COLLECTED_CHECK,
        asset=spec.key,
        blocking=False,
        description=f"{spec.name}: the day's data was read from the system to the end",
    )


def collected_check(
    spec: SourceDataset, passed: bool, description: str, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=spec.key, check_name=COLLECTED_CHECK, passed=passed, severity=severity, description=description
    )


def not_collected(evaluation: dg.AssetCheckEvaluation) -> tuple[str, str] | None:
    """The dataset ("<source>.<dataset>") and why, when a check evaluation is a failed `collected` check: how the
    CLI's progress and a run's outcome read, from the event log, what a run could not collect."""
    if evaluation.check_name != COLLECTED_CHECK or evaluation.passed:
        return None
    return ".".join(evaluation.asset_key.path[1:]), evaluation.description or ""


FRESH_CHECK = "fresh"


def fresh_check_spec(spec: SourceDataset) -> dg.AssetCheckSpec:
    # the asset's FreshnessPolicy measures when it was last collected; this, how old the system's own data was then
    # (a credential report generated a day ago is collected now, and is stale): the controls reading it are unknown
    return dg.AssetCheckSpec(
        FRESH_CHECK,
        asset=spec.key,
        blocking=False,
        description=f"{spec.name}: the system's own data was at most {spec.fresh_hours} h old when collected",
    )


def fresh_check(spec: SourceDataset, source_timestamp: str | None, collected_at: datetime) -> dg.AssetCheckResult:
    """A WARN when the system's own timestamp was older than the dataset's freshness window at collection."""
    age = source_age_hours(source_timestamp, collected_at)
    if age is None:
        passed, description = True, "the system gives no timestamp of its own: collected now"
    else:
        passed = age <= spec.fresh_hours
        description = (
            f"the system's data was {age:.1f} h old when collected (its timestamp {source_timestamp}); "
            f"the window is {spec.fresh_hours} h" + ("" if passed else ": stale, its controls are unknown")
        )
    return dg.AssetCheckResult(
        asset_key=spec.key,
        check_name=FRESH_CHECK,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"age hours": round(age, 1) if age is not None else "no timestamp"},
    )


def dataset_spec(spec: SourceDataset) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=spec.key,
        group_name=spec.source,
        kinds={*spec.kinds, "duckdb"},
        owners=OWNERS,
        description=spec.description,
        partitions_def=daily_partitions(),
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=spec.fresh_hours), warn_window=timedelta(hours=max(1, spec.fresh_hours - 2))
        ),
        tags={"evidence/layer": "source"},
    )


@dataclass(frozen=True)
class Collected:
    """What collecting one dataset came to: its asset's metadata, and the failure that fails its `collected` check."""

    spec: SourceDataset
    metadata: dict[str, Any]
    failure: str | None = None


def collect_dataset(
    spec: SourceDataset,
    resource: SourceResource,
    warehouse: Warehouse,
    staging: Path,
    day: date,
    run_id: str,
    landing: threading.Lock,
) -> Collected:
    """Fetch one dataset to a staged file (no DuckDB held), then land it in one short transaction. Failures are
    logged against the day (so dependent controls say *unknown*) and returned, never raised: the source's other
    datasets go on."""
    streams: list[Stream] = []

    def all_records() -> Iterable[dict[str, Any]]:
        for stream in spec.streams(resource, day):
            streams.append(stream)
            yield from stream.records()

    staged = staging / f"{spec.source}__{spec.dataset}.jsonl"
    try:
        stage_records(all_records(), staged)
        provenance = merge_provenance(spec.source, spec.dataset, streams)
        with landing:  # one writer per step: the landings are short, the fetches above run side by side
            landed = warehouse.land(spec.source, spec.dataset, day, run_id, staged, provenance)
    except Exception as exc:  # fetching or landing: the landing transaction rolled back, earlier rows stay
        provenance = (
            merge_provenance(spec.source, spec.dataset, streams)
            if streams
            else Provenance(source=spec.source, dataset=spec.dataset, parameters={}, finished_at=utc_now())
        )
        # a client's or the warehouse's message may quote a URL with its credentials
        error = redact_text(str(exc))
        provenance.status, provenance.error = "failed", error
        with landing:
            warehouse.log_failure(day, run_id, provenance)
        return Collected(
            spec,
            {
                "status": "failed",
                "error": error,
                "requests": provenance.request_count,
                "retries": provenance.retry_count,
                "earlier evidence": "kept: the day's previous rows are untouched",
            },
            failure=f"{spec.name} collection failed: {error}",
        )
    finally:
        staged.unlink(missing_ok=True)
    return Collected(
        spec,
        {
            "status": "collected",
            "records": landed,
            "requests": provenance.request_count,
            "retries": provenance.retry_count,
            "payload sha256": provenance.payload_sha256,
            "source timestamp": provenance.source_timestamp or "",
            "endpoints": ", ".join(sorted({r.endpoint for r in provenance.requests})),
            **(spec.metadata(streams, day) if spec.metadata else {}),
        },
    )


def log_optional_not_configured(
    spec: SourceDataset, resource: SourceResource, warehouse: Warehouse, day: date, run_id: str
) -> str | None:
    """An optional dataset whose switch is unset is logged as OPTIONAL_NOT_CONFIGURED, not collected: returns the
    settings to set (None: collect it)."""
    missing = resource.missing_dataset_settings(spec.dataset)
    if not missing:
        return None
    unset = ", ".join(missing)
    warehouse.log_failure(
        day,
        run_id,
        Provenance(
            source=spec.source,
            dataset=spec.dataset,
            parameters={},
            status=OPTIONAL_NOT_CONFIGURED,
            finished_at=utc_now(),
            error=f"optional, not configured: set {unset} to collect it",
        ),
        status=OPTIONAL_NOT_CONFIGURED,
    )
    return unset


def source_step(datasets: list[SourceDataset], resource_key: str) -> dg.AssetsDefinition:
    """One step per source, one asset per dataset: the datasets are fetched side by side in threads (they wait on
    the API, not the CPU), and a step costs a process start, which on a small machine outweighs a small dataset."""
    source = datasets[0].source
    by_key = {spec.key: spec for spec in datasets}

    @dg.multi_asset(
        name=f"collect_{source}",
        specs=[dataset_spec(spec) for spec in datasets],
        check_specs=[check for spec in datasets for check in (collected_check_spec(spec), fresh_check_spec(spec))],
        partitions_def=daily_partitions(),
        can_subset=True,
        required_resource_keys={resource_key, "warehouse"},
        op_tags={"dagster/priority": str(max(spec.priority for spec in datasets))},
    )
    def collect(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        resource: SourceResource = getattr(context.resources, resource_key)
        warehouse = context.resources.warehouse.get()
        day, run_id = partition_date(context), context.run.run_id
        selected = sorted(
            (by_key[key] for key in context.selected_asset_keys if key in by_key), key=lambda spec: -spec.priority
        )
        missing = resource.missing_settings()
        if missing:
            for spec in selected:
                provenance = Provenance(
                    source=spec.source,
                    dataset=spec.dataset,
                    parameters={},
                    status="not_configured",
                    error=f"not configured: set {', '.join(missing)}",
                    finished_at=utc_now(),
                )
                warehouse.log_failure(day, run_id, provenance, status="not_configured")
                yield dg.MaterializeResult(
                    asset_key=spec.key, metadata={"status": "not configured", "missing settings": ", ".join(missing)}
                )
                yield collected_check(
                    spec, False, f"not configured: set {', '.join(missing)}", dg.AssetCheckSeverity.WARN
                )
            context.log.warning(
                f"{source} is not configured (set {', '.join(missing)}); controls that need it report unknown"
            )
            return
        for spec in list(selected):
            unset = log_optional_not_configured(spec, resource, warehouse, day, run_id)
            if unset:
                selected.remove(spec)
                yield dg.MaterializeResult(
                    asset_key=spec.key, metadata={"status": "optional, not configured", "missing settings": unset}
                )
                yield collected_check(spec, True, f"optional, not configured: set {unset} to collect it")
        staging = context.resources.warehouse.paths.staging / run_id
        landing = threading.Lock()
        with ThreadPoolExecutor(max(1, min(len(selected), resource.datasets_at_once))) as pool:
            running = [
                pool.submit(collect_dataset, spec, resource, warehouse, staging, day, run_id, landing)
                for spec in selected
            ]
            for done in as_completed(running):
                collected = done.result()
                if collected.failure:
                    context.log.error(collected.failure)
                yield dg.MaterializeResult(asset_key=collected.spec.key, metadata=collected.metadata)
                yield collected_check(
                    collected.spec,
                    collected.failure is None,
                    collected.failure or f"{collected.metadata['records']} records collected",
                )
                if collected.failure is None:  # a dataset not collected has no age: its `collected` check says why
                    yield fresh_check(collected.spec, collected.metadata["source timestamp"] or None, datetime.now(UTC))

    return collect


def source_definitions(datasets: list[SourceDataset], resource_key: str, resource: SourceResource) -> dg.Definitions:
    return dg.Definitions(
        assets=[source_step(datasets, resource_key)],
        resources={resource_key: resource},
    )


__all__ = ["SourceDataset", "SourceResource", "WarehouseResource", "source_definitions"]
