"""Start every fake API of the sandbox organisation and collect the environment
variables that point the pipeline at them (the same variables a real deployment sets)."""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import multiprocessing
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml

from sandbox import expected
from sandbox.company import SandboxOrg
from sandbox.org import build_org, sandbox_systems
from sandbox.server import FakeServer


@dataclass
class SystemProcess:
    """One system's fakes served from a process of its own (`start_sandbox(separate_processes=True)`)."""

    system: str
    process: Any  # multiprocessing's fork-context Process
    pipe: Connection

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


@dataclass
class Sandbox:
    org: SandboxOrg
    workdir: Path
    #: the fakes served in this process; empty for the systems served from their own processes
    servers: dict[str, FakeServer] = field(default_factory=dict)
    processes: list[SystemProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def pids(self) -> set[int]:
        """The processes serving fakes apart from this one."""
        return {p.process.pid for p in self.processes if p.process.pid is not None}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        for process in self.processes:
            process.stop()

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
    separate_processes: bool = False,
) -> Sandbox:
    """`systems` defaults to every sandbox system; each one's `serve.start` runs its fakes (or writes its files).
    `profile` and `size`: see `build_org`. `separate_processes` serves each system from a process of its own, forked
    once the organisation is built (the bench: fakes sharing one interpreter's lock answer slower than any real API,
    and would be measured as the pipeline's time); tests keep them here, to read their request logs."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    workdir.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(org=build_org(seed=seed, size=size, today=today, profile=profile), workdir=workdir)
    chosen = systems if systems is not None else sandbox_systems()
    try:
        if separate_processes:
            _fork_systems(sandbox, chosen, latency)
        else:
            for system in chosen:
                servers, env = _serve(system, sandbox.org, workdir, latency)
                sandbox.servers.update({s.name: s for s in servers})
                sandbox.env.update(env)
        sandbox.env.update(write_company_files(sandbox.org, workdir))
    except Exception:
        sandbox.stop()
        raise
    return sandbox


def _serve(system: str, org: SandboxOrg, workdir: Path, latency: float) -> tuple[list[FakeServer], dict[str, str]]:
    serve = importlib.import_module(f"sandbox.{system}.serve")
    return serve.start(org, workdir, latency=latency)


def _fork_systems(sandbox: Sandbox, systems: tuple[str, ...], latency: float) -> None:
    """Fork a process per system, all at once (their seeding runs side by side), and take each one's environment."""
    # the children share the organisation's pages until written: the collector is kept from touching (and so
    # copying) every object header in each of them
    gc.freeze()
    fork = multiprocessing.get_context("fork")
    for system in systems:
        ours, theirs = fork.Pipe()
        process = fork.Process(
            target=_serve_until_stopped,
            args=(system, sandbox.org, sandbox.workdir, latency, theirs),
            name=f"sandbox-{system}",
            daemon=True,
        )
        process.start()
        theirs.close()
        sandbox.processes.append(SystemProcess(system, process, ours))
    gc.unfreeze()  # this process collects as before; the children keep theirs frozen
    for child in sandbox.processes:
        try:
            outcome, value = child.pipe.recv()
        except EOFError:
            outcome, value = "error", f"exited with code {child.process.exitcode}"
        if outcome != "ok":
            raise RuntimeError(f"the sandbox's {child.system} fakes did not start: {value}")
        sandbox.env.update(value)


def _serve_until_stopped(system: str, org: SandboxOrg, workdir: Path, latency: float, pipe: Connection) -> None:
    """A system's process: serve its fakes, send the environment that reaches them, serve until told to stop (or
    until the parent is gone, which closes the pipe)."""
    try:
        servers, env = _serve(system, org, workdir, latency)
    except Exception as error:  # the parent raises it, naming the system
        pipe.send(("error", f"{type(error).__name__}: {error}"))
        return
    pipe.send(("ok", env))
    if not servers:  # a system of files only (attestations, the HR roster) has nothing to serve
        return
    with contextlib.suppress(EOFError, OSError):
        pipe.recv()
    for server in servers:
        server.stop()


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
