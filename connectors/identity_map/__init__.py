"""The identity map: a YAML file the company keeps beside the HR roster.

It says what no API can: which account belongs to which person when the system
shows no email or another one (aliases), and which non-personal accounts are
approved to exist (service and break-glass accounts, each with an accountable
owner). It is read like a source, so its hash and contents are in the evidence.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from connectors.stream import SourceError, Stream

ACCOUNT_KEY = re.compile(r"^[a-z_]+:.+$")
KINDS = ("service", "break_glass")


class IdentityMap(Stream):
    source = "identity"
    dataset = "map"
    method = "READ"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.endpoint = f"file://{self.path.name}"
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {"file": self.path.name}

    def request(self, cursor: Any) -> bytes:
        content = self.path.read_bytes()
        stat = self.path.stat()
        self.provenance.source_timestamp = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat()
        self.provenance.parameters["sha256"] = hashlib.sha256(content).hexdigest()
        return content

    def parse(self, payload: bytes) -> Iterable[dict[str, Any]]:
        try:
            raw = yaml.safe_load(payload) or {}
        except yaml.YAMLError as exc:
            raise SourceError(f"identity.map: {self.path}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict) or set(raw) - {"aliases", "approved_accounts"}:
            raise SourceError(f"identity.map: {self.path}: expected only the keys 'aliases' and 'approved_accounts'")
        for account, email in (raw.get("aliases") or {}).items():
            self._check_key(account, "aliases")
            if not isinstance(email, str) or "@" not in email:
                raise SourceError(f"identity.map: {self.path}: aliases[{account!r}]: expected a person's email")
            yield {
                "account_key": account.lower(),
                "kind": "alias",
                "person_email": email.strip().lower(),
                "approved_by": None,
                "reason": None,
            }
        for number, entry in enumerate(raw.get("approved_accounts") or [], 1):
            where = f"approved_accounts #{number}"
            if not isinstance(entry, dict):
                raise SourceError(f"identity.map: {self.path}: {where}: expected a mapping")
            missing = [f for f in ("account", "kind", "owner", "approved_by", "reason") if not entry.get(f)]
            if missing:
                raise SourceError(f"identity.map: {self.path}: {where}: field {missing[0]!r} is required")
            self._check_key(entry["account"], where)
            if entry["kind"] not in KINDS:
                raise SourceError(f"identity.map: {self.path}: {where}: field 'kind' must be one of {KINDS}")
            yield {
                "account_key": str(entry["account"]).lower(),
                "kind": entry["kind"],
                "person_email": str(entry["owner"]).strip().lower(),
                "approved_by": str(entry["approved_by"]),
                "reason": str(entry["reason"]),
            }

    def _check_key(self, account: Any, where: str) -> None:
        if not isinstance(account, str) or not ACCOUNT_KEY.match(account):
            raise SourceError(
                f"identity.map: {self.path}: {where}: account {account!r} must be "
                "'<system>:<account id>', e.g. 'github:octocat'"
            )
