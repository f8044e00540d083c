"""The Dagster code location: every source, control, the snapshot and the daily job."""

from __future__ import annotations

import dagster as dg

from evidence_pipeline.alerts import WEBHOOK_ENV
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.defs import automation, sources
from evidence_pipeline.defs.automation import AlertResource
from evidence_pipeline.defs.controls import control_definitions
from evidence_pipeline.defs.evidence import snapshot_asset
from evidence_pipeline.defs.resources import WarehouseResource, env_value
from evidence_pipeline.instance import STEP_PRELOAD_MODULES
from evidence_pipeline.settings import project_file, use_private_umask
from warehouse import schema_connection

#: Dagster's multiprocess executor. Source steps mostly wait on their APIs, so every source starts at once, more
#: steps than there are cores; the forkserver imports the code location and the instance's classes once for all
#: steps (a fresh interpreter per step costs ~2 s of CPU on a small machine, the instance's storage 0.6 s more).
STEP_EXECUTOR = dg.multiprocess_executor.configured(
    {
        "max_concurrent": 8,
        "start_method": {"forkserver": {"preload_modules": STEP_PRELOAD_MODULES}},
    }
)


def build_definitions() -> dg.Definitions:
    use_private_umask()  # plain `dg dev` too: the warehouse, staging files and bundles hold personal data
    with schema_connection() as con:  # a malformed catalogue fails here, before any run
        catalogue = load_catalogue(project_file("controls_map.yaml"), con)
    return dg.Definitions.merge(
        *(module.defs() for module in sources.systems()),
        dg.Definitions(
            assets=[*control_definitions(catalogue), snapshot_asset(catalogue)],
            jobs=[automation.daily_evidence_job],
            schedules=[automation.daily_schedule],
            executor=STEP_EXECUTOR,
            resources={
                "warehouse": WarehouseResource(),
                "alerts": AlertResource(webhook_url=env_value(WEBHOOK_ENV)),
            },
        ),
    )


defs = build_definitions()


def daily_evidence_job() -> dg.JobDefinition:
    """A module-level accessor, so that `dg.reconstructable` can rebuild the job in each step process."""
    return defs.resolve_job_def(automation.DAILY_JOB)
