"""Start the fake KnowBe4 Reporting API and say how the pipeline reaches it.

`write_training_csv` writes the same enrollments in the training CSV roster format, for
the CSV alternative (TRAINING_CSV_PATH); `start` does not set that variable, because a
deployment uses one provider or the other.
"""

from __future__ import annotations

import csv
import secrets
from pathlib import Path

from sandbox.company import SandboxOrg
from sandbox.knowbe4.model import KnowBe4Data
from sandbox.knowbe4.server import KnowBe4App
from sandbox.server import FakeServer

CSV_HEADER = ("email", "course", "campaign", "status", "enrollment_date", "completion_date")


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    api_key = f"kb4-sandbox-{secrets.token_hex(16)}"
    server = FakeServer("knowbe4", KnowBe4App(org.systems["knowbe4"], {api_key}), latency=latency).start()
    return [server], {"KNOWBE4_API_URL": server.url, "KNOWBE4_API_KEY": api_key}


def write_training_csv(data: KnowBe4Data, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_HEADER)
        writer.writeheader()
        writer.writerows(e.to_csv() for e in data.enrollments)
    return path
