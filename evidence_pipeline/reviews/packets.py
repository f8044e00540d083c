"""Review packets: one reviewer's accounts as a CSV and a workbook with a decision column, and reading either back
once the reviewer has filled it in (and perhaps re-saved it in Excel or LibreOffice).

Writing uses the project's own CSV rules (csv_cells: every text cell quoted, formula-like text neutralized) and its
streaming workbook writer (evidence/xlsx.py). Reading a re-saved workbook needs a real reader: openpyxl, imported
only when an .xlsx is returned, so an install without it still takes CSV packets (and says so for a workbook).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from evidence_pipeline.evidence.csv_cells import restore_cell, write_csv
from evidence_pipeline.evidence.xlsx import DocumentProperties, Workbook

PACKET_COLUMNS = [
    "campaign_id",
    "population_sha256",
    "reviewer",
    "account_key",
    "system",
    "account_name",
    "person_email",
    "privileges",
    "decision",
    "comment",
    "decided_by",
    "decided_on",
]
#: the columns an import reads; the others are there for the reviewer and may be edited or dropped harmlessly
REQUIRED_COLUMNS = ["campaign_id", "population_sha256", "reviewer", "account_key", "decision", "comment"]
OPTIONAL_COLUMNS = ["decided_by", "decided_on"]
PACKET_SHEET = "packet"
INSTRUCTIONS_SHEET = "instructions"
PACKET_SUFFIXES = (".csv", ".xlsx")
#: a returned packet larger than this is not a packet (a reviewer's rows are a few thousand at most)
MAX_PACKET_BYTES = 50 * 1024 * 1024


class PacketError(ValueError):
    """A returned packet cannot be read; the message names the file and, where there is one, the row."""


@dataclass(frozen=True)
class PacketRow:
    #: the row's number as a spreadsheet shows it (the header is row 1)
    number: int
    values: dict[str, str]


def packet_stem(reviewer: str) -> str:
    """The packet's file name (without suffix) for a reviewer's e-mail: only characters safe in any file system."""
    return re.sub(r"[^A-Za-z0-9@._-]", "_", reviewer)


def write_packet(folder: Path, stem: str, rows: list[dict[str, Any]], instructions: list[tuple[str, str]]) -> None:
    """`<stem>.csv` and `<stem>.xlsx` in `folder`: the rows (PACKET_COLUMNS), and a sheet of instructions."""
    write_csv(folder / f"{stem}.csv", PACKET_COLUMNS, rows)
    campaign_id = rows[0]["campaign_id"] if rows else ""
    properties = DocumentProperties(
        title=f"Access review packet {campaign_id}",
        subject=f"access review {campaign_id}: decisions of {stem}",
        creator="evidence-pipeline",
        created=datetime.now(UTC),
        keywords=["SOC 2", "CC6.2", "CC6.3", "access review"],
        description="Fill in decision (keep, revoke or change) and, for revoke and change, comment; return the file.",
    )
    book = Workbook(folder / f"{stem}.xlsx", {}, properties)
    sheet = book.sheet(PACKET_SHEET, PACKET_COLUMNS)
    for row in rows:
        book.append(sheet, [row.get(column, "") for column in PACKET_COLUMNS])
    about = book.sheet(INSTRUCTIONS_SHEET, ["field", "what to do"])
    for field, text in instructions:
        book.append(about, [field, text])
    book.close()


def read_packet(file_name: str, data: bytes) -> list[PacketRow]:
    """The filled-in rows of a returned packet (CSV or .xlsx), blank rows left out; PacketError names the problem."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in PACKET_SUFFIXES:
        raise PacketError(f"{file_name}: not a packet: expected a .csv or .xlsx file")
    if len(data) > MAX_PACKET_BYTES:
        raise PacketError(f"{file_name}: {len(data)} bytes: too large for a review packet")
    table = _csv_table(file_name, data) if suffix == ".csv" else _xlsx_table(file_name, data)
    if not table:
        raise PacketError(f"{file_name}: empty: no header row")
    header = [cell.strip().lower() for cell in table[0]]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise PacketError(
            f"{file_name}: row 1: missing column(s) {', '.join(missing)} (a packet's columns: "
            f"{', '.join(PACKET_COLUMNS)})"
        )
    repeated = sorted({column for column in header if column and header.count(column) > 1})
    if repeated:
        raise PacketError(f"{file_name}: row 1: column(s) {', '.join(repeated)} appear more than once")
    every = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    wanted = [c for c in every if c in header]
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets keep empty rows below a table
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            raise PacketError(f"{file_name}: row {number}: more cells than the header has columns")
        padded = [*cells, *[""] * (len(header) - len(cells))]
        values = {column: padded[header.index(column)].strip() for column in wanted}
        rows.append(PacketRow(number, {column: values.get(column, "") for column in every}))
    return rows


def _csv_table(file_name: str, data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")  # Excel writes a byte-order mark in front of "CSV UTF-8"
    except UnicodeDecodeError as exc:
        raise PacketError(f"{file_name}: not UTF-8 text (byte {exc.start}): save the packet as CSV UTF-8") from None
    if "\0" in text:
        raise PacketError(f"{file_name}: holds NUL bytes: not a CSV file")
    first_line = text.split("\n", 1)[0]
    # a spreadsheet in a locale whose decimal separator is the comma saves CSV with semicolons
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        table = list(reader)
    except csv.Error as exc:
        raise PacketError(f"{file_name}: line {reader.line_num}: not a well-formed CSV file: {exc}") from None
    return [[restore_cell(cell) for cell in row] for row in table]


def _xlsx_table(file_name: str, data: bytes) -> list[list[str]]:
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise PacketError(
            f"{file_name}: reading a workbook needs openpyxl, which is not installed (pip install openpyxl); "
            "or return the packet as CSV"
        ) from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a damaged package: zipfile's, openpyxl's and the XML parser's own exception types
        raise PacketError(f"{file_name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        names = book.sheetnames
        sheet = book[PACKET_SHEET] if PACKET_SHEET in names else book[names[0]]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    except Exception as exc:  # a damaged sheet part surfaces only when its rows are read
        raise PacketError(f"{file_name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """A cell as the text the reviewer sees: a date typed into the sheet (Excel makes it a date) as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
