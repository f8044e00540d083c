"""Pseudonymize personal data in exports (schools under FERPA, anyone under GDPR-style minimisation).

A keyed HMAC-SHA256 maps each person identifier to a stable pseudonym: the same person gets the same pseudonym
everywhere in one export (and across exports made with the same key), and nobody without the key can reverse it
or test a guess. The key is never written anywhere: it comes from EVIDENCE_PSEUDONYM_KEY (a file) or is drawn
at random for one export.

What is personal: every e-mail address anywhere in the text, and the values of person fields (names, logins,
owners, managers ...) of the rows; once learned, a value is replaced wherever it occurs (in the resource name,
its URL, the reason text).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PSEUDONYM_KEY_ENV = "EVIDENCE_PSEUDONYM_KEY"
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
#: row detail keys whose values identify a person
PERSON_FIELDS = frozenset({"email", "user_email", "primary_email", "owner_email", "manager_email", "display_name",
                           "name", "full_name", "given_name", "family_name", "login", "user", "username",
                           "user_name", "owner", "manager", "person", "approver", "actor", "author", "reviewer",
                           "principal", "upn", "user_principal_name"})
#: the row columns pseudonymized in exports
ROW_FIELDS = ("resource_id", "resource_name", "resource_url", "reason")
MIN_LEARNED_LENGTH = 3  # shorter values ("ab") would be replaced inside unrelated words


class Pseudonymizer:
    def __init__(self, key: bytes, key_origin: str) -> None:
        self._key = key
        self.key_origin = key_origin
        self._known: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    @classmethod
    def from_env(cls) -> Pseudonymizer:
        configured = os.environ.get(PSEUDONYM_KEY_ENV, "").strip()
        if configured:
            key = Path(configured).expanduser().read_bytes().strip()
            if len(key) < 16:
                raise ValueError(f"{PSEUDONYM_KEY_ENV}={configured}: the key must be at least 16 bytes")
            return cls(key, f"{PSEUDONYM_KEY_ENV} (a key file; not stored)")
        return cls(secrets.token_bytes(32), "random for this export, never stored (pseudonyms match within it only)")

    def pseudonym(self, value: str) -> str:
        digest = hmac.new(self._key, value.strip().lower().encode(), hashlib.sha256).hexdigest()
        return f"person-{digest[:16]}"

    def learn_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Collect the person values of rows: e-mails anywhere, person fields of the details, and the identity of
        a row that is about a person (its id is an e-mail or its details carry one)."""
        for row in rows:
            details = row.get("details") or {}
            personal_row = bool(EMAIL.fullmatch(str(row.get("resource_id") or "")))
            for key, value in _flatten(details):
                if key.lower() in PERSON_FIELDS and isinstance(value, str):
                    self._learn(value)
                    personal_row = personal_row or bool(EMAIL.search(value))
            for column in ROW_FIELDS:
                for email in EMAIL.findall(str(row.get(column) or "")):
                    self._learn(email)
            if personal_row:
                self._learn(str(row.get("resource_id") or ""))
                self._learn(str(row.get("resource_name") or ""))

    def _learn(self, value: str) -> None:
        value = value.strip()
        if len(value) >= MIN_LEARNED_LENGTH and value.lower() not in self._known:
            self._known[value.lower()] = self.pseudonym(value)
            self._pattern = None

    def text(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        value = EMAIL.sub(lambda m: self.pseudonym(m.group(0)), value)
        if self._known:
            if self._pattern is None:
                alternatives = sorted(self._known, key=len, reverse=True)  # longest first: "Ann Lee" before "Ann"
                self._pattern = re.compile(r"(?<![\w.@-])(?:" + "|".join(map(re.escape, alternatives)) +
                                           r")(?![\w@-])", re.IGNORECASE)
            value = self._pattern.sub(lambda m: self._known.get(m.group(0).lower(), m.group(0)), value)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return self.text(value)

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: self.value(v) for k, v in row.items()}

    def manifest_entry(self) -> dict[str, Any]:
        return {"enabled": True, "method": "HMAC-SHA256 over the lower-cased value, first 16 hex digits, "
                                           "prefixed 'person-'",
                "fields": [*ROW_FIELDS, "details (every string)", "any e-mail address"],
                "person_detail_fields": sorted(PERSON_FIELDS), "key": self.key_origin,
                "distinct_values_pseudonymized": len(self._known)}


def _flatten(value: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _flatten(item, key)
    else:
        yield key, value
