"""The Dagster code location: every source, control, the snapshot and the automation."""

from __future__ import annotations

import dagster as dg

from evidence_pipeline.alerts import WEBHOOK_ENV
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.defs import automation, sources
from evidence_pipeline.defs.controls import control_definitions
from evidence_pipeline.defs.evidence import snapshot_asset
from evidence_pipeline.defs.resources import WarehouseResource, env_value
from evidence_pipeline.settings import STEP_PRELOAD_MODULES, project_file, use_private_umask
from warehouse import schema_connection

#: Dagster's multiprocess executor, with steps forked from a server that has imported this code
#: location once (a fresh interpreter per step costs ~2 s of CPU). The run worker starts that server
#: early (see run_worker.py). Source steps mostly wait on their APIs, so more of them run at once
#: than there are cores.
STEP_EXECUTOR = dg.multiprocess_executor.configured(
    {"max_concurrent": 4, "start_method": {"forkserver": {"preload_modules": STEP_PRELOAD_MODULES}}}
)


def build_definitions() -> dg.Definitions:
    use_private_umask()  # plain `dagster dev` too: the warehouse, staging files and bundles hold personal data
    with schema_connection() as con:  # a malformed catalogue fails here, before any run
        catalogue = load_catalogue(project_file("controls_map.yaml"), con)
    return dg.Definitions.merge(
        *(module.defs() for module in sources.systems()),
        dg.Definitions(
            assets=[*control_definitions(catalogue), snapshot_asset(catalogue)],
            jobs=[automation.collect_sources_job, automation.evaluate_controls_job, automation.daily_evidence_job],
            schedules=[automation.daily_collection_schedule],
            sensors=[
                automation.evaluate_after_collection,
                automation.evaluate_after_failed_collection,
                automation.newly_failing_controls,
            ],
            executor=STEP_EXECUTOR,
            resources={
                "warehouse": WarehouseResource(),
                "alerts": automation.AlertResource(webhook_url=env_value(WEBHOOK_ENV)),
            },
        ),
    )


defs = build_definitions()


def collect_sources_job() -> dg.JobDefinition:
    """Module-level accessors so the multiprocess executor can reconstruct the jobs."""
    return defs.resolve_job_def("collect_sources")


def evaluate_controls_job() -> dg.JobDefinition:
    return defs.resolve_job_def("evaluate_controls")


def daily_evidence_job() -> dg.JobDefinition:
    return defs.resolve_job_def("daily_evidence")
