"""Start the fake Cloudflare API and say how the pipeline reaches it (the variables a deployment sets)."""

from __future__ import annotations

import secrets
from pathlib import Path

from sandbox.cloudflare.server import PREFIX, CloudflareApp
from sandbox.company import SandboxOrg
from sandbox.server import FakeServer


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    token = f"cf-sandbox-{secrets.token_hex(20)}"
    data = org.systems["cloudflare"]
    server = FakeServer("cloudflare", CloudflareApp(data, {token}), latency=latency).start()
    return [server], {
        "CLOUDFLARE_API_URL": f"{server.url}{PREFIX}",
        "CLOUDFLARE_API_TOKEN": token,
        "CLOUDFLARE_ACCOUNT_ID": data.account_id,
    }
