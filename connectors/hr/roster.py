"""The HR roster from a CSV export: one request (a file read), every row validated.

Schema (header names are case-insensitive; extra columns are ignored):

| column     | required | rule                                                        |
|------------|----------|-------------------------------------------------------------|
| email      | yes      | an email address, unique in the file (compared lower-cased) |
| name       | yes      | not empty                                                   |
| status     | yes      | active or terminated                                        |
| start_date | yes      | YYYY-MM-DD                                                  |
| end_date   | no       | YYYY-MM-DD, required when terminated, not before start_date |
| manager    | no       | an email address                                            |
| department | no       | free text                                                   |

A file with any bad row fails the dataset with every problem listed (row, column,
problem) and loads nothing: see connectors/csv_file.py for why.
"""

from __future__ import annotations

from typing import Any

from connectors.csv_file import CsvFileStream, RowChecker, RowProblem

HR_COLUMNS = ("email", "name", "status", "start_date", "end_date", "manager", "department")
HR_STATUSES = ("active", "terminated")


class HrRoster(CsvFileStream):
    """Every person the company has or had, as the HR system exports them."""

    source = "hr"
    dataset = "roster"
    required_columns = HR_COLUMNS

    def convert(self, row: RowChecker) -> dict[str, Any]:
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
        first_row: dict[str, int] = {}
        problems = []
        for record in records:
            seen = first_row.setdefault(record["email"], record["row_number"])
            if seen != record["row_number"]:
                problems.append(RowProblem(record["row_number"], "email",
                                           f"{record['email']!r} duplicates row {seen}"))
        return problems
