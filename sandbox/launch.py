"""Start every fake API of the sandbox organisation and collect the environment
variables that point the pipeline at them (the same variables a real deployment sets)."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from sandbox import expected
from sandbox.company import SandboxOrg
from sandbox.org import build_org, sandbox_systems
from sandbox.server import FakeServer


@dataclass
class Sandbox:
    org: SandboxOrg
    workdir: Path
    servers: dict[str, FakeServer] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_sandbox(
    workdir: Path,
    seed: int = 7,
    size: int = 50,
    today: date | None = None,
    latency: float = 0.0,
    systems: tuple[str, ...] | None = None,
    profile: str = "company",
) -> Sandbox:
    """`systems` defaults to every sandbox system; each one's `serve.start` runs its fakes (or writes its files).
    `profile` and `size`: see `build_org`."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    workdir.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(org=build_org(seed=seed, size=size, today=today, profile=profile), workdir=workdir)
    try:
        for system in systems if systems is not None else sandbox_systems():
            serve = importlib.import_module(f"sandbox.{system}.serve")
            servers, env = serve.start(sandbox.org, workdir, latency=latency)
            sandbox.servers.update({s.name: s for s in servers})
            sandbox.env.update(env)
        sandbox.env.update(write_company_files(sandbox.org, workdir))
    except Exception:
        sandbox.stop()
        raise
    return sandbox


#: the demo company's own trust page: its security page's promises, mapped to the controls that evidence them
TRUST_PAGE = Path(__file__).resolve().parent / "trust_page.yaml"


def write_company_files(org: SandboxOrg, workdir: Path) -> dict[str, str]:
    """The files a company keeps beside its systems: the identity map, the accepted exceptions, and (written once,
    in the package) its trust page."""
    identity, waivers = workdir / "identity_map.yaml", workdir / "waivers.yaml"
    identity.write_text(
        "# Sandbox identity map (generated)\n" + yaml.safe_dump(expected.identity_map(org), sort_keys=False)
    )
    waivers.write_text(
        "# Sandbox accepted exceptions (generated)\n"
        + yaml.safe_dump({"waivers": expected.waivers(org)}, sort_keys=False)
    )
    return {
        "EVIDENCE_IDENTITY_MAP": str(identity),
        "EVIDENCE_WAIVERS": str(waivers),
        "EVIDENCE_TRUST_PAGE": str(TRUST_PAGE),
        "EVIDENCE_ORGANISATION": str(TRUST_PAGE.parent / "organisation.yaml"),  # the demo company's profile
    }
