"""`evidence_pipeline.ui.serve_ui` on a data folder, as `evidence-pipeline ui` runs it from a terminal: its own
process group (a terminal's foreground job), stopped the way Ctrl-C stops it, SIGINT to the whole group."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_pipeline.settings import Paths
from tests.runs import wait_for

ROOT = Path(__file__).resolve().parents[2]
#: a terminal's foreground process takes SIGINT as KeyboardInterrupt (a shell's background job would ignore it, and
#: so would every process it starts), then serves the UI as `evidence-pipeline ui` does
RUNNER = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from pathlib import Path\n"
    "from evidence_pipeline.settings import Paths\n"
    "from evidence_pipeline.ui import serve_ui\n"
    "sys.exit(serve_ui(Paths(Path(sys.argv[1])), '127.0.0.1', int(sys.argv[2])))\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServedUi:
    url: str
    paths: Paths
    process: subprocess.Popen[bytes]
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        assert "errors" not in body, body
        return body["data"]

    def loaded_locations(self) -> list[str]:
        try:
            entries = self.graphql(
                "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                "locationOrLoadError { __typename } } } } }"
            )["workspaceOrError"]["locationEntries"]
        except OSError:
            return []
        return [
            e["name"]
            for e in entries
            if e["loadStatus"] == "LOADED" and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        ]

    def processes(self) -> dict[int, str]:
        """pid -> command line of every live process of the UI's group (dg dev, webserver, daemon, code servers)."""
        self.process.poll()  # reap the runner once it has ended, so that it is not counted as a zombie
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid and fields[0] != "Z":
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
        return found

    def interrupt(self) -> None:
        """What Ctrl-C in the terminal does: SIGINT to every process of the foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def served_ui(paths: Paths) -> Iterator[ServedUi]:
    """serve_ui on `paths`, from the repository's root (where a stray dagster.yaml would be noticed), until its code
    location has loaded; stopped by SIGINT afterwards (SIGKILL if it outlives a minute)."""
    port = free_port()
    log = paths.home.parent / f"ui-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(paths.home), str(port)],
            env=dict(os.environ),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ui = ServedUi(f"http://127.0.0.1:{port}", paths, process, log)
    try:
        wait_for(f"the UI's code location (see {log})", lambda: ui.loaded_locations() or process.poll(), 240, 1.0)
        assert process.poll() is None, ui.output()[-3000:]
        yield ui
    finally:
        if ui.processes():
            ui.interrupt()
            try:
                wait_for("the UI to stop", lambda: not ui.processes(), timeout=60, every=0.2)
            except AssertionError:
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()
