"""The sandbox organisation and its fake APIs: the `sandbox` extra of pyproject.toml, never a runtime need."""

from __future__ import annotations

import importlib.util

#: what the fakes import from the `sandbox` extra: moto serves AWS, werkzeug the other fakes, graphql-core
#: executes GitHub's schema
EXTRA_MODULES = ("moto", "werkzeug", "graphql")


def missing_modules() -> list[str]:
    """The modules of the `sandbox` extra that are not installed (a plain `pip install evidence-pipeline`)."""
    return [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
