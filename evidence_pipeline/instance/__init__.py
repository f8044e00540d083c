"""The Dagster instance's settings template, shipped inside the package: `prepare_dagster_home` copies it into
DAGSTER_HOME under the data folder. It lives here, not at the repository root, so that no `dagster.yaml` sits in
the working directory of `dg dev` (which warns that one there is not DAGSTER_HOME's) and so that a plain install
has it too."""

from __future__ import annotations

import os
from pathlib import Path

#: what the step executor's forkserver imports before it forks any step: the code location, and the instance's
#: classes (preload.py); Dagster puts its executor module first
STEP_PRELOAD_MODULES = ["evidence_pipeline.definitions", "evidence_pipeline.instance.preload"]
#: another instance's settings, e.g. deploy/dagster.yaml (PostgreSQL storage)
INSTANCE_SETTINGS_ENV = "EVIDENCE_DAGSTER_YAML"
TEMPLATE = Path(__file__).resolve().parent / "dagster.yaml"


def instance_settings_file() -> Path:
    """EVIDENCE_DAGSTER_YAML's file, else the package's template."""
    override = os.environ.get(INSTANCE_SETTINGS_ENV)
    return Path(override).resolve() if override else TEMPLATE
