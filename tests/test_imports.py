"""The project's own modules import one another without a cycle, and in layers that read from the folder tree.

The graph is read from the source with `ast`, not by importing: every import statement counts, inside a function
and under `if TYPE_CHECKING:` too, so neither can hide a cycle. An edge goes to the module imported (`from a.b
import c` is a.b.c when that is a module of ours, else a.b).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("evidence_pipeline", "connectors", "warehouse", "sandbox", "provenance")
#: cycles known and being removed; each is named so the exception can go once its fix lands
KNOWN_CYCLES: set[frozenset[str]] = set()
RENDER = "evidence_pipeline.evidence.render"
#: what a renderer may import of ours: the model, the csv/xlsx helpers, the tool's version and the bidi escaping
RENDERER_MAY_IMPORT = {
    "evidence_pipeline",
    "evidence_pipeline.text",
    "evidence_pipeline.evidence.model",
    "evidence_pipeline.evidence.csv_cells",
    "evidence_pipeline.evidence.xlsx",
}


def project_modules(root: Path) -> dict[str, Path]:
    """Module name -> file, for every module of PACKAGES under `root` (a package is its __init__.py)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, anywhere in its file."""
    modules = project_modules(root)

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {found for alias in node.names if (found := ours(alias.name))}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package, `level - 1` packages up
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    if found := ours(f"{base}.{alias.name}" if base else alias.name):
                        targets.add(found)
        graph[module] = targets - {module}
    return graph


def cycles(graph: dict[str, set[str]], known: Iterable[frozenset[str]] = ()) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), less the edges inside a known cycle."""
    allowed = {(a, b) for pair in known for a in pair for b in pair if a != b}
    edges = {m: sorted(t for t in targets if (m, t) not in allowed) for m, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:  # recursive: the graph is a few hundred modules deep at most
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges.get(module, []):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT)


def imports_of(graph: dict[str, set[str]], package: str) -> dict[str, set[str]]:
    return {m: targets for m, targets in graph.items() if m == package or m.startswith(f"{package}.")}


def reaching(graph: dict[str, set[str]], package: str, forbidden: tuple[str, ...]) -> list[str]:
    """`module -> target` for each import of `package`'s modules into a `forbidden` package."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in imports_of(graph, package).items()
        for target in targets
        if any(target == f or target.startswith(f"{f}.") for f in forbidden)
    )


def test_the_graph_sees_imports_in_functions_and_under_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "evidence_pipeline"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from evidence_pipeline import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from evidence_pipeline.a import f\n"
    )
    (package / "c.py").write_text("from . import a\nfrom .b import TYPE_CHECKING\n")
    found = import_graph(tmp_path)
    assert found["evidence_pipeline.a"] == {"evidence_pipeline.b"}
    assert found["evidence_pipeline.b"] == {"evidence_pipeline.a"}
    assert found["evidence_pipeline.c"] == {"evidence_pipeline.a", "evidence_pipeline.b"}
    assert cycles(found) == [["evidence_pipeline.a", "evidence_pipeline.b"]]


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph, KNOWN_CYCLES) == []


def test_renderers_read_the_model_only(graph: dict[str, set[str]]) -> None:
    renderers = {
        m: targets
        for m, targets in imports_of(graph, RENDER).items()
        if m not in (RENDER, f"{RENDER}.renderings")  # the package's docstring, and the writer of the renderings
    }
    assert set(renderers) >= {f"{RENDER}.report", f"{RENDER}.workbook", f"{RENDER}.oscal"}
    assert {m: sorted(t - RENDERER_MAY_IMPORT) for m, t in renderers.items() if t - RENDERER_MAY_IMPORT} == {}


def test_the_model_imports_no_writer_or_renderer(graph: dict[str, set[str]]) -> None:
    assert reaching(graph, "evidence_pipeline.evidence.model", ("evidence_pipeline.evidence", "warehouse")) == []


def test_warehouse_imports_nothing_of_connectors_or_the_pipeline(graph: dict[str, set[str]]) -> None:
    assert reaching(graph, "warehouse", ("connectors", "evidence_pipeline", "sandbox")) == []


def test_connectors_import_nothing_of_the_pipeline_or_the_sandbox(graph: dict[str, set[str]]) -> None:
    assert reaching(graph, "connectors", ("evidence_pipeline", "sandbox")) == []


def test_provenance_stands_alone(graph: dict[str, set[str]]) -> None:
    assert "provenance" in graph  # a package of its own, beside connectors and warehouse
    assert reaching(graph, "provenance", ("connectors", "warehouse", "evidence_pipeline", "sandbox")) == []
