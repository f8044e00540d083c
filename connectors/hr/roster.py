"""The HR roster from a CSV export: one request (a file read), every row validated.

Schema (header names are case-insensitive; extra columns are ignored):

| column     | required | rule                                                        |
|------------|----------|-------------------------------------------------------------|
| email      | yes      | an email address, unique in the file once normalized (below) |
| name       | yes      | not empty                                                   |
| status     | yes      | active or terminated                                        |
| start_date | yes      | YYYY-MM-DD                                                  |
| end_date   | no       | YYYY-MM-DD, required when terminated, not before start_date |
| manager    | no       | an email address                                            |
| department | no       | free text                                                   |

No cell may hold a NUL byte (it cuts the value short in C-based tools). Two rows whose
emails normalize alike (lower-cased, trimmed, `+tag` removed: the identity view's
`normalize_email`) are one person twice, which identity resolution could not tell apart.

A file with any bad row fails the dataset with every problem listed (row, column,
problem) and loads nothing: see connectors/csv_file.py for why.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.csv_file import CsvFileStream, RowChecker, RowProblem

HR_COLUMNS = ("email", "name", "status", "start_date", "end_date", "manager", "department")
HR_STATUSES = ("active", "terminated")
_PLUS_TAG = re.compile(r"\+[^@]*@")


def normalize_email(address: str) -> str:
    """As warehouse/views/identity.sql's normalize_email macro: lower-cased, trimmed, the first `+tag` removed."""
    return _PLUS_TAG.sub("@", address.strip().lower(), count=1)


class HrRoster(CsvFileStream):
    """Every person the company has or had, as the HR system exports them."""

    source = "hr"
    dataset = "roster"
    required_columns = HR_COLUMNS

    def convert(self, row: RowChecker) -> dict[str, Any]:
        for column, value in row.values.items():
            if "\x00" in value:
                row.fail(column, f"holds a NUL byte at character {value.index(chr(0)) + 1}")
        if row.problems:
            return {}  # a row with a NUL byte is refused as a whole; its other checks would quote the byte
        status = row.choice("status", HR_STATUSES)
        start = row.day("start_date", required=True)
        end = row.day("end_date")
        if status == "terminated" and end is None and "end_date" not in {p.column for p in row.problems}:
            row.fail("end_date", "is empty but status is terminated")
        if start and end and end < start:
            row.fail("end_date", f"{end} is before start_date {start}")
        return {
            "email": row.email("email", required=True),
            "name": row.text("name", required=True),
            "status": status,
            "start_date": start.isoformat() if start else None,
            "end_date": end.isoformat() if end else None,
            "manager": row.email("manager"),
            "department": row.text("department"),
            "row_number": row.row,
        }

    def check_all(self, records: list[dict[str, Any]]) -> list[RowProblem]:
        first_row: dict[str, tuple[int, str]] = {}
        problems = []
        for record in records:
            key = normalize_email(record["email"])
            row, email = first_row.setdefault(key, (record["row_number"], record["email"]))
            if row != record["row_number"]:
                problems.append(RowProblem(record["row_number"], "email", f"duplicate of row {row} ({email})"))
        return problems
