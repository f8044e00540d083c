"""Source assets: one folder per system; each declares its datasets for the shared factory
(`factory.py`) and exposes `defs()`. Every folder here is loaded."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType


def systems() -> list[ModuleType]:
    found = sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name)
    return [importlib.import_module(f"{__name__}.{m.name}") for m in found if m.ispkg]


def freshness_hours() -> dict[str, int]:
    """'<source>.<dataset>' -> its freshness window: one declaration (SourceDataset.fresh_hours) serves
    the Dagster FreshnessPolicy and the evaluation's stale rule alike."""
    return {spec.name: spec.fresh_hours for module in systems() for spec in module.DATASETS}
