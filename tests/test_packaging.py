"""The plain install is the pipeline only: the sandbox's fakes and the test tools are extras, and no module of the
pipeline, its connectors, provenance or warehouse needs them to import."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: fakes and test tools that have no business in a production install, whatever the extras say
FAKES_AND_TEST_TOOLS = {"moto", "werkzeug", "graphql-core", "pytest", "responses", "freezegun", "faker", "ruff"}
#: what the pipeline's runtime code must not import at module level
FORBIDDEN_IMPORTS = ("sandbox", "moto", "werkzeug", "graphql", "tests")
RUNTIME_PACKAGES = ("evidence_pipeline", "connectors", "provenance", "warehouse")


def distribution(requirement: str) -> str:
    """`moto[server]>=5.0` -> `moto` (PEP 503 normalised)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def test_runtime_dependencies_hold_no_fake_or_test_package() -> None:
    runtime = {distribution(r) for r in PROJECT["dependencies"]}
    extras = PROJECT["optional-dependencies"]
    not_runtime = FAKES_AND_TEST_TOOLS | {distribution(r) for name in ("sandbox", "test") for r in extras[name]}
    assert runtime & not_runtime == set()
    # the sandbox extra holds what the fakes import
    assert {"moto", "werkzeug", "graphql-core"} <= {distribution(r) for r in extras["sandbox"]}


def module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Imports executed when the module is imported: the module body, its classes and its if/try blocks, not the
    bodies of functions (a function may import the sandbox when it is called, as the CLI's `demo` does)."""
    found: list[tuple[int, str]] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
    return found


def test_no_runtime_module_imports_the_sandbox_or_tests_at_module_level() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: import {module}"
        for package in RUNTIME_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in module_level_imports(ast.parse(path.read_text(), str(path)))
        if module.split(".")[0] in FORBIDDEN_IMPORTS
    ]
    assert offending == []


def test_every_runtime_package_is_packaged() -> None:
    included = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {f"{package}*" for package in RUNTIME_PACKAGES} <= set(included)


def test_the_scan_sees_nested_module_level_imports() -> None:
    tree = ast.parse(
        "import os\ntry:\n    import moto\nexcept ImportError:\n    pass\nclass C:\n    from sandbox import org\n"
        "def f():\n    import werkzeug\n"
    )
    assert sorted(module for _, module in module_level_imports(tree)) == ["moto", "os", "sandbox"]


def test_demo_without_the_sandbox_extra_is_one_line(monkeypatch, tmp_path, capsys) -> None:
    from evidence_pipeline import cli

    monkeypatch.setenv("EVIDENCE_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "moto", None)  # as if `pip install evidence-pipeline` without [sandbox]
    with pytest.raises(SystemExit) as exited:
        cli.main(["demo"])
    assert exited.value.code == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == ["error: the sandbox is not installed (no moto): pip install 'evidence-pipeline[sandbox]'"]
