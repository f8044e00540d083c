"""Start the fake GitHub and say how the pipeline reaches it."""

from __future__ import annotations

from pathlib import Path

from sandbox.company import SandboxOrg
from sandbox.github.server import GitHubApp
from sandbox.server import FakeServer

SANDBOX_TOKEN = "sandbox-github-token"


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    server = FakeServer("github", GitHubApp(org, {SANDBOX_TOKEN}), latency=latency).start()
    env = {"GITHUB_ORG": org.org_login, "GITHUB_API_URL": server.url, "GITHUB_TOKEN": SANDBOX_TOKEN}
    return [server], env
