"""The HR roster has no API in the sandbox: it is a CSV export written into the workdir,
exactly what a real deployment points HR_ROSTER_PATH at."""

from __future__ import annotations

from pathlib import Path

from sandbox.company import SandboxOrg
from sandbox.hr.model import write_roster
from sandbox.server import FakeServer


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    path = write_roster(org.systems["hr"].people, workdir / "hr" / "roster.csv")
    return [], {"HR_ROSTER_PATH": str(path)}
