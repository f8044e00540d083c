"""A local CSV export (HR roster, training roster) read as a one-request stream.

The payload is the file's bytes, so the provenance `payload_sha256` is exactly the
file's SHA-256 (`sha256sum roster.csv` gives the same value) and `source_timestamp`
is its modification time. Every row is validated before any record is returned: one
bad row fails the whole dataset, and the error lists every problem as
"row N, column C: problem". Why fail instead of quarantining: these files define
populations (who must be trained, who is a leaver). A silently dropped row removes a
person from a population, which can turn a failing control into a passing one; a
failed source makes its controls *unknown* instead, which is never mistaken for pass.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from connectors.stream import Retry, SourceError, Stream

#: The most problems quoted in one error message (the count of the rest follows).
MAX_PROBLEMS_QUOTED = 50
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


@dataclass(frozen=True)
class RowProblem:
    #: the row as a spreadsheet numbers it: the header is row 1, the first record row 2
    row: int
    column: str
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}: {self.problem}"


class CsvValidationError(SourceError):
    """The file has rows that break its schema; nothing from it is loaded."""

    def __init__(self, name: str, problems: list[RowProblem]) -> None:
        self.problems = problems
        quoted = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_QUOTED])
        more = f"; and {len(problems) - MAX_PROBLEMS_QUOTED} more" if len(problems) > MAX_PROBLEMS_QUOTED else ""
        rows = len({p.row for p in problems})
        super().__init__(f"{name}: {len(problems)} problem(s) in {rows} row(s), nothing loaded: {quoted}{more}")


class RowChecker:
    """Collects the problems of one row while converting its values."""

    def __init__(self, row: int, values: dict[str, str]) -> None:
        self.row = row
        self.values = values
        self.problems: list[RowProblem] = []

    def fail(self, column: str, problem: str) -> None:
        self.problems.append(RowProblem(self.row, column, problem))

    def text(self, column: str, required: bool = False) -> str | None:
        value = (self.values.get(column) or "").strip()
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        return value

    def email(self, column: str, required: bool = False) -> str | None:
        value = self.text(column, required)
        if value is None:
            return None
        if not EMAIL.match(value):
            self.fail(column, f"{value!r} is not an email address")
            return None
        return value.lower()

    def day(self, column: str, required: bool = False) -> date | None:
        """An ISO date (2026-01-31); an ISO timestamp is accepted and cut to its date."""
        value = self.text(column, required)
        if value is None:
            return None
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()
        except ValueError:
            self.fail(column, f"{value!r} is not a date (expected YYYY-MM-DD)")
            return None

    def timestamp(self, column: str, required: bool = False) -> str | None:
        """An ISO date or timestamp as a UTC ISO timestamp without offset (what the warehouse stores)."""
        value = self.text(column, required)
        if value is None:
            return None
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), datetime.min.time()).isoformat()
            return to_utc_iso(value)
        except ValueError:
            self.fail(column, f"{value!r} is not a date or timestamp (expected YYYY-MM-DD or ISO 8601)")
            return None

    def choice(self, column: str, allowed: Iterable[str]) -> str | None:
        value = self.text(column, required=True)
        if value is None:
            return None
        allowed = tuple(allowed)
        if value.lower() not in allowed:
            self.fail(column, f"{value!r} is not one of {', '.join(allowed)}")
            return None
        return value.lower()


def to_utc_iso(value: str) -> str:
    """'2019-04-02T15:02:38.000Z' -> '2019-04-02T15:02:38' (UTC, no offset), for TIMESTAMP columns."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat()


class CsvFileStream(Stream):
    """One local CSV file in one read. Subclasses name the columns and convert one row."""

    method = "READ"
    required_columns: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = ()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.endpoint = self.path.resolve().as_uri()
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {
            "file": str(self.path.resolve()),
            "columns": list(self.required_columns + self.optional_columns),
            "invalid_rows": "fail the dataset",
        }

    def params(self, cursor: Any) -> dict[str, Any]:
        return {"file": self.path.name}

    def request(self, cursor: Any) -> bytes:
        try:
            payload = self.path.read_bytes()
            modified = self.path.stat().st_mtime
        except OSError as exc:
            raise SourceError(f"{self.source}.{self.dataset}: cannot read {self.path}: {exc.strerror or exc}") from exc
        self.provenance.source_timestamp = (
            datetime.fromtimestamp(modified, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
        return payload

    def classify(self, exc: Exception) -> Retry | None:
        return None  # a local file does not get better by waiting

    def parse(self, payload: bytes) -> Iterator[dict[str, Any]]:
        name = f"{self.source}.{self.dataset} ({self.path.name})"
        try:
            text = payload.decode("utf-8-sig")  # Excel writes a byte-order mark
        except UnicodeDecodeError as exc:
            raise CsvValidationError(
                name, [RowProblem(0, "*", f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})")]
            ) from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            raise CsvValidationError(name, [RowProblem(1, "*", "the file is empty (no header row)")])
        columns = [c.strip().lower() for c in header]
        missing = [c for c in self.required_columns if c not in columns]
        if missing:
            raise CsvValidationError(name, [RowProblem(1, c, "column missing from the header") for c in missing])
        records: list[dict[str, Any]] = []
        problems: list[RowProblem] = []
        for index, cells in enumerate(reader):
            row_number = index + 2
            if not any(cell.strip() for cell in cells):
                continue  # a blank line is not a record
            if len(cells) != len(columns):
                problems.append(RowProblem(row_number, "*", f"has {len(cells)} cells, the header has {len(columns)}"))
                continue
            checker = RowChecker(row_number, dict(zip(columns, cells, strict=True)))
            record = self.convert(checker)
            problems.extend(checker.problems)
            if not checker.problems:
                records.append(record)
        problems.extend(self.check_all(records))
        if problems:
            raise CsvValidationError(name, sorted(problems, key=lambda p: p.row))
        yield from records

    def convert(self, row: RowChecker) -> dict[str, Any]:
        """One row's record; problems go to `row.fail`."""
        raise NotImplementedError

    def check_all(self, records: list[dict[str, Any]]) -> list[RowProblem]:
        """Problems that span rows (duplicates)."""
        return []
