"""Source assets: one folder per system; each declares its datasets for the shared factory (`factory.py`), its facts
(`SOURCE`, a `declaration.SourceDeclaration`) and exposes `defs()`. Every folder here is loaded, and so is every
extra source folder named by EVIDENCE_EXTRA_SOURCES (see CONTRIBUTING.md)."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from evidence_pipeline.defs.sources.declaration import SourceDeclaration
from warehouse import extra_source_folders

#: module name prefix of the extra source folders, so that one never shadows an installed package
EXTRA_MODULE_PREFIX = "evidence_extra_source_"


def systems() -> list[ModuleType]:
    """Every source's declaration module: the folders of this package, then the extra source folders."""
    found = sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name)
    built_in = [importlib.import_module(f"{__name__}.{m.name}") for m in found if m.ispkg]
    modules = [*built_in, *(_extra_source(folder) for folder in extra_source_folders())]
    seen: dict[str, str | None] = {}
    for module in modules:
        source = _declaration(module).source
        if source in seen:
            raise ValueError(f"{module.__file__}: source {source!r} is already declared by {seen[source]}")
        seen[source] = module.__file__
    return modules


@cache
def _extra_source(folder: Path) -> ModuleType:
    """An extra source folder imported as a package of its own (its modules import each other relatively)."""
    name = EXTRA_MODULE_PREFIX + folder.name
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None or not (folder / "__init__.py").is_file():
        raise ValueError(f"EVIDENCE_EXTRA_SOURCES: {folder} is not a source folder (no __init__.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _declaration(module: ModuleType) -> SourceDeclaration:
    declaration = getattr(module, "SOURCE", None)
    if not isinstance(declaration, SourceDeclaration):
        raise ValueError(f"{module.__file__}: a source module declares SOURCE = SourceDeclaration(...)")
    strays = sorted({spec.source for spec in module.DATASETS} - {declaration.source})
    if strays:
        raise ValueError(f"{module.__file__}: SOURCE is {declaration.source!r} but DATASETS declare {strays[0]!r}")
    return declaration


def declarations() -> list[SourceDeclaration]:
    """Every source's facts (secrets, faults, identity, sandbox), in `systems()` order."""
    return [_declaration(module) for module in systems()]


def freshness_hours() -> dict[str, int]:
    """'<source>.<dataset>' -> its freshness window: one declaration (SourceDataset.fresh_hours) serves
    the Dagster FreshnessPolicy and the evaluation's stale rule alike."""
    return {spec.name: spec.fresh_hours for module in systems() for spec in module.DATASETS}
