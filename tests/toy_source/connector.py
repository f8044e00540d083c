"""The toy source's connector: widgets read from a local JSON file (the toy's whole "API", its fake beside it)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from connectors.stream import SourceError, Stream


class Widgets(Stream):
    source = "toy"
    dataset = "widgets"
    method = "READ"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.endpoint = f"file://{self.path.name}"
        super().__init__()

    def request(self, cursor: Any) -> bytes:
        content = self.path.read_bytes()
        self.provenance.parameters["sha256"] = hashlib.sha256(content).hexdigest()
        return content

    def parse(self, payload: bytes) -> Iterable[dict[str, Any]]:
        widgets = json.loads(payload).get("widgets")
        if not isinstance(widgets, list):
            raise SourceError(f"toy.widgets: {self.path}: expected a list under 'widgets'")
        for widget in widgets:
            # a missing `encrypted` stays NULL: the control makes that row unknown, never pass
            yield {"widget_id": str(widget["id"]), "owner": widget.get("owner"), "encrypted": widget.get("encrypted")}

    def next_cursor(self, payload: bytes) -> None:
        return None
