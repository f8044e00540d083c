"""Where generated data lives. One folder, one environment variable: EVIDENCE_HOME."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "evidence-data"
#: what every Dagster step process needs imported, preloaded once by the forkserver the steps fork from
#: (definitions.STEP_EXECUTOR; run_worker.py starts that server early)
STEP_PRELOAD_MODULES = ["dagster._core.executor.multiprocess", "evidence_pipeline.definitions"]


@dataclass(frozen=True)
class Paths:
    home: Path

    @classmethod
    def from_env(cls) -> Paths:
        return cls(Path(os.environ.get("EVIDENCE_HOME", DEFAULT_HOME)).resolve())

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def staging(self) -> Path:
        return self.home / "staging"

    @property
    def evidence(self) -> Path:
        return self.home / "evidence"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def optional_project_file(name: str) -> Path | None:
    """Like `project_file` for files a deployment may go without (waivers.yaml, identity_map.yaml)."""
    try:
        return project_file(name)
    except FileNotFoundError:
        return None


def project_file(name: str) -> Path:
    """A file of the repository (controls_map.yaml, waivers.yaml), overridable by environment."""
    env = {"controls_map.yaml": "EVIDENCE_CONTROLS_MAP", "waivers.yaml": "EVIDENCE_WAIVERS",
           "identity_map.yaml": "EVIDENCE_IDENTITY_MAP"}.get(name)
    if env and os.environ.get(env):
        return Path(os.environ[env]).resolve()
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} not found in {Path.cwd()}; set {env} to its path")
