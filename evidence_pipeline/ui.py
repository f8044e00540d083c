"""The Dagster UI on this data folder: `dg dev` (webserver, daemon and the code location's server) with DAGSTER_HOME
under the data folder, the code location named `evidence_pipeline`, stopped by Ctrl-C.

`evidence-pipeline ui` starts the sandbox and sets the signing key, then calls `serve_ui`."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from evidence_pipeline.launch import prepare_dagster_home
from evidence_pipeline.settings import Paths

#: the code location's name in the UI, its run records and the GraphQL API
LOCATION_NAME = "evidence_pipeline"
CODE_LOCATION_MODULE = "evidence_pipeline.definitions"
#: after Ctrl-C, how long `dg dev` has to stop its webserver, daemon and code servers before it is killed
SHUTDOWN_SECONDS = 20


def write_workspace(paths: Paths) -> Path:
    """The workspace file naming the one code location: `dg dev -m` would name it after its module, and a project
    workspace after the checkout's folder; this names it the same wherever the package is installed."""
    workspace = paths.dagster_home / "workspace.yaml"
    entry = {"module_name": CODE_LOCATION_MODULE, "location_name": LOCATION_NAME}
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": entry}]}, sort_keys=False))
    return workspace


def dg_command() -> str:
    """The `dg` of this interpreter's environment (the CLI may run without its virtual environment activated)."""
    beside = Path(sys.executable).parent / "dg"
    found = str(beside) if beside.is_file() else shutil.which("dg")
    if not found:
        raise FileNotFoundError(
            "`dg` (dagster-dg-cli) is not installed in this environment: pip install dagster-dg-cli"
        )
    return found


def serve_ui(paths: Paths, host: str, port: int) -> int:
    """Prepare the data folder's Dagster home and run `dg dev` on it until it ends or Ctrl-C; its exit code (0 when
    stopped by Ctrl-C)."""
    prepare_dagster_home(paths)  # DAGSTER_HOME and EVIDENCE_HOME in this environment, which dg dev inherits
    command = [dg_command(), "dev", "-w", str(write_workspace(paths)), "--host", host, "--port", str(port)]
    # the same process group as ours: a terminal's Ctrl-C (SIGINT to the foreground group) reaches dg dev, its
    # webserver, daemon and code servers at once, and dg dev shuts its services down in order
    process = subprocess.Popen(command)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> int:
    """After Ctrl-C: let dg dev finish its shutdown; interrupted again or past SHUTDOWN_SECONDS, it is killed."""
    try:
        process.wait(timeout=SHUTDOWN_SECONDS)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        process.send_signal(signal.SIGKILL)
        process.wait()
        return 1
    return 0
