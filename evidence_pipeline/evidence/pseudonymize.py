"""Pseudonymize personal data in exports (schools under FERPA, anyone under GDPR-style minimisation).

A keyed HMAC-SHA256 maps each person identifier to a stable pseudonym: the same person gets the same pseudonym
everywhere in one export (and across exports made with the same key), and nobody without the key can reverse it
or test a guess. The key is never written anywhere: it comes from EVIDENCE_PSEUDONYM_KEY (a file) or is drawn
at random for one export.

What is personal: every e-mail address anywhere in the text; the person fields of every daily bundle's raw records
(`RAW_PERSON_FIELDS`: the HR roster's e-mails, names and managers and the local part of each e-mail, which is what
an IAM user or a login is usually named after; the accounts' logins, display names and principal names; the
identity map's aliased accounts); and the values of person fields (names, logins, owners, managers ...) of the
rows. Once learned, a value is replaced wherever it occurs inside any text (a composite label such as
"Cleo Tanaka (entra)", a resource id such as "aws:1234/cleo.tanaka", a URL, a reason), case-insensitively, the
longest value first, as a whole word: never inside a longer name, login or address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PSEUDONYM_KEY_ENV = "EVIDENCE_PSEUDONYM_KEY"
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
#: row detail keys whose values identify a person
PERSON_FIELDS = frozenset(
    {
        "email",
        "user_email",
        "primary_email",
        "owner_email",
        "manager_email",
        "display_name",
        "name",
        "full_name",
        "given_name",
        "family_name",
        "login",
        "user",
        "username",
        "user_name",
        "owner",
        "manager",
        "person",
        "approver",
        "actor",
        "author",
        "reviewer",
        "principal",
        "upn",
        "user_principal_name",
    }
)
#: the row columns pseudonymized in exports
ROW_FIELDS = ("resource_id", "resource_name", "resource_url", "reason")
MIN_LEARNED_LENGTH = 3  # shorter values ("ab") would be replaced inside unrelated words
#: per raw dataset of a daily bundle (sources/<source>/<dataset>.jsonl): the fields that name a person
#: ("reviews.author": the author of each review), each with the field saying what kind of principal it is, if any
RAW_PERSON_FIELDS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "hr/roster": (("email", None), ("name", None), ("manager", None)),
    "identity/map": (("person_email", None), ("approved_by", None)),
    "github/members": (("login", None), ("name", None), ("email", None), ("verified_domain_emails", None)),
    "github/outside_collaborators": (("login", None), ("name", None), ("email", None)),
    "github/merged_pull_requests": (
        ("author", "author_type"),
        ("merged_by", "merged_by_type"),
        ("reviews.author", "reviews.author_type"),
        ("approvers_at_merge", None),
    ),
    "entra/users": (("user_principal_name", None), ("mail", None), ("display_name", None)),
    "entra/user_registration_details": (("user_principal_name", None), ("user_display_name", None)),
    "entra/role_assignments": (
        ("principal_user_principal_name", "principal_type"),
        ("principal_display_name", "principal_type"),
    ),
    "google_workspace/users": (("primary_email", None), ("full_name", None)),
    "training/enrollments": (("email", None), ("user_name", None)),
}
#: principal kinds (GitHub's __typename, Graph's principalType) that are not people: their names stay readable
NON_PERSON_KINDS = frozenset({"bot", "organization", "serviceprincipal", "group", "application", "device"})
#: a learned value is replaced only as a whole: a run of these characters is one word (name, login, address)
_WORD = re.compile(r"[\w.@-]+")
#: what may not follow a replaced value (a full stop may: the end of a sentence)
_CONTINUES = re.compile(r"[\w@-]")


class Pseudonymizer:
    def __init__(self, key: bytes, key_origin: str) -> None:
        self._key = key
        self.key_origin = key_origin
        #: lower-cased learned value -> its pseudonym
        self._known: dict[str, str] = {}
        #: first word of learned values -> their lengths, longest first (where a replacement may start)
        self._lengths: dict[str, list[int]] = {}

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

    def learn_bundle(self, bundle: Path) -> None:
        """Learn the people a daily bundle's raw records name (`RAW_PERSON_FIELDS`), so that a name, login or
        e-mail is replaced wherever the export shows it, even where no row field says it is personal."""
        for dataset, fields in RAW_PERSON_FIELDS.items():
            records = bundle / "sources" / f"{dataset}.jsonl"
            if not records.is_file():
                continue
            with records.open() as handle:
                for line in handle:
                    record = json.loads(line)
                    for path, kind_path in fields:
                        for value, kind in _person_values(record, path.split("."), kind_path):
                            if isinstance(value, str) and str(kind or "").lower() not in NON_PERSON_KINDS:
                                self._learn(value)
                    if dataset == "hr/roster" and EMAIL.fullmatch(str(record.get("email") or "")):
                        self._learn(record["email"].split("@", 1)[0])  # "cleo.tanaka": the IAM user, the login
                    if dataset == "identity/map" and record.get("kind") == "alias":
                        # "github:octocat", "aws:1234/ada": the account is the person's, its name identifies them
                        self._learn(re.split(r"[:/]", str(record.get("account_key") or ""))[-1])

    def _learn(self, value: str) -> None:
        value = value.strip()
        key = value.lower()
        first = _WORD.match(key)
        if len(value) < MIN_LEARNED_LENGTH or key in self._known or first is None:
            return  # too short to be told from ordinary words, already known, or not starting with a word
        self._known[key] = self.pseudonym(value)
        lengths = self._lengths.setdefault(first.group().rstrip("."), [])
        if len(key) not in lengths:
            lengths.append(len(key))
            lengths.sort(reverse=True)  # longest first: "Ann Lee (entra)" before "Ann Lee", "Ann Lee" before "Ann"

    def text(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        value = EMAIL.sub(lambda m: self.pseudonym(m.group(0)), value)
        return self._replace_known(value) if self._known else value

    def _replace_known(self, text: str) -> str:
        """Every learned value inside the text, as a whole word or words; a lookup per word, not a pattern of every
        value, so the cost does not grow with the number of people."""
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters lower-case to two ("İ"): keep the positions aligned
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        pieces: list[str] = []
        done = 0
        for word in _WORD.finditer(lowered):
            start = word.start()
            if start < done:
                continue  # inside a value just replaced
            # a value may also end at a full stop inside the word ("kai.adler" in "kai.adler.old")
            text_word = word.group()
            firsts = {text_word.rstrip("."), *(text_word[:n] for n, c in enumerate(text_word) if c == ".")}
            for length in sorted({n for first in firsts for n in self._lengths.get(first, ())}, reverse=True):
                end = start + length
                pseudonym = self._known.get(lowered[start:end])
                if pseudonym is not None and not _CONTINUES.match(lowered, end):
                    pieces += [text[done:start], pseudonym]
                    done = end
                    break
        return "".join([*pieces, text[done:]]) if pieces else text

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return self.text(value)

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: self.value(v) for k, v in row.items()}

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "method": "HMAC-SHA256 over the lower-cased value, first 16 hex digits, prefixed 'person-'",
            "fields": [*ROW_FIELDS, "details (every string)", "any e-mail address"],
            "person_detail_fields": sorted(PERSON_FIELDS),
            "people_learned_from": {
                f"sources/{dataset}.jsonl": [path for path, _ in fields]
                for dataset, fields in RAW_PERSON_FIELDS.items()
            },
            "replaced": "every learned value inside any text, as whole words, longest first, case-insensitively",
            "key": self.key_origin,
            "distinct_values_pseudonymized": len(self._known),
        }


def _person_values(record: Any, path: list[str], kind_path: str | None) -> Iterable[tuple[Any, Any]]:
    """(value, kind) at a dotted path of a raw record, through lists ("reviews.author": every review's author); the
    kind is the value at `kind_path` beside it ("reviews.author_type"), None when there is none."""
    if isinstance(record, list):
        for item in record:
            yield from _person_values(item, path, kind_path)
    elif isinstance(record, dict) and path:
        value = record.get(path[0])
        if len(path) > 1:
            yield from _person_values(value, path[1:], kind_path.split(".", 1)[1] if kind_path else None)
        else:
            kind = record.get(kind_path) if kind_path else None
            for item in value if isinstance(value, list) else [value]:
                yield item, kind


def _flatten(value: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _flatten(item, key)
    else:
        yield key, value
