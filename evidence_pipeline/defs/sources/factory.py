"""Turns source dataset declarations into daily-partitioned Dagster assets.

Each asset: asks its source resource for streams, stages their records to a file
without holding DuckDB (the fetch can take minutes), then lands the day in one
short transaction with the provenance. A failure fails this asset only, with the
cause, after logging it so dependent controls report *unknown*; the day's earlier
rows stay. A source that is not configured is recorded as such, not as a failure.
"""


from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from connectors.provenance import Provenance, utc_now
from connectors.stream import Stream
from evidence_pipeline.defs.partitions import daily_partitions, partition_date
from evidence_pipeline.defs.resources import OWNERS, WarehouseResource
from warehouse import stage_records


class SourceResource(dg.ConfigurableResource):
    """Base of every source's resource: says whether it is configured and what is missing."""

    def missing_settings(self) -> list[str]:
        """Environment variables a user still has to set; empty when configured."""
        raise NotImplementedError


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
    merged = Provenance(source=source, dataset=dataset,
                        parameters={"streams": [s.provenance.parameters for s in streams]})
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


def source_asset(spec: SourceDataset, resource_key: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=spec.key,
        group_name=spec.source,
        kinds={*spec.kinds, "duckdb"},
        owners=OWNERS,
        description=spec.description,
        partitions_def=daily_partitions,
        required_resource_keys={resource_key, "warehouse"},
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=spec.fresh_hours),
                                                        warn_window=timedelta(hours=max(1, spec.fresh_hours - 2))),
        tags={"evidence/layer": "source"},
        op_tags={"dagster/priority": str(spec.priority)},
    )
    def collect(context: AssetExecutionContext) -> dg.MaterializeResult:
        resource: SourceResource = getattr(context.resources, resource_key)
        warehouse = context.resources.warehouse.get()
        day = partition_date(context)
        missing = resource.missing_settings()
        if missing:
            provenance = Provenance(source=spec.source, dataset=spec.dataset, parameters={}, status="not_configured",
                                    error=f"not configured: set {', '.join(missing)}", finished_at=utc_now())
            warehouse.log_failure(day, context.run_id, provenance, status="not_configured")
            context.log.warning(f"{spec.name} is not configured (set {', '.join(missing)}); "
                                "controls that need it report unknown")
            return dg.MaterializeResult(metadata={"status": "not configured", "missing settings": ", ".join(missing)})

        streams: list[Stream] = []

        def all_records() -> Iterable[dict[str, Any]]:
            for stream in spec.streams(resource, day):
                streams.append(stream)
                yield from stream.records()

        staged = context.resources.warehouse.paths.staging / context.run_id / f"{spec.source}__{spec.dataset}.jsonl"
        try:
            stage_records(all_records(), staged)
        except Exception as exc:
            provenance = merge_provenance(spec.source, spec.dataset, streams) if streams else Provenance(
                source=spec.source, dataset=spec.dataset, parameters={}, finished_at=utc_now())
            provenance.status, provenance.error = "failed", str(exc)
            warehouse.log_failure(day, context.run_id, provenance)
            raise dg.Failure(
                description=f"{spec.name} collection failed: {exc}",
                metadata={"requests": provenance.request_count, "retries": provenance.retry_count,
                          "earlier evidence": "kept: the day's previous rows are untouched"},
            ) from exc
        provenance = merge_provenance(spec.source, spec.dataset, streams)
        landed = warehouse.land(spec.source, spec.dataset, day, context.run_id, staged, provenance)
        staged.unlink(missing_ok=True)
        return dg.MaterializeResult(metadata={
            "status": "collected",
            "records": landed,
            "requests": provenance.request_count,
            "retries": provenance.retry_count,
            "payload sha256": provenance.payload_sha256,
            "source timestamp": provenance.source_timestamp or "",
            "endpoints": ", ".join(sorted({r.endpoint for r in provenance.requests})),
        })

    return collect


def source_definitions(datasets: list[SourceDataset], resource_key: str, resource: SourceResource
                       ) -> dg.Definitions:
    return dg.Definitions(
        assets=[source_asset(spec, resource_key) for spec in datasets],
        resources={resource_key: resource},
    )


__all__ = ["SourceDataset", "SourceResource", "WarehouseResource", "source_definitions"]
