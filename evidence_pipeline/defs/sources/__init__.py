"""Source assets: one folder per system; each declares its datasets for the shared factory
(`factory.py`) and exposes `defs()`. Every folder here is loaded."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType


def systems() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{m.name}") for m in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name) if m.ispkg]
