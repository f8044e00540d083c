"""CSV cells an auditor can open in a spreadsheet without running what a source system put in them.

A resource name, PR title or HR name is text chosen by whoever controls that system. A spreadsheet opening the
bundle's CSV treats a cell that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)` leaks data,
`=cmd|...` runs a program), and a leading tab, carriage return or line feed can hide one. OWASP's CSV injection
advice (owasp.org/www-community/attacks/CSV_Injection): such a cell is prefixed with a single quote, read as text,
and every text cell is quoted so that a separator inside it (`;` in locales that split on it) cannot start a new
cell. The rule is defined once here: `neutralize_cell` for the CSVs Python writes, `sql_neutralize_cell` for the
ones DuckDB copies (one SQL expression per column: set-based, at 20,000 people), and `restore_cell` for code that
reads a bundle's CSV back (the period export, the workbook), so the prefix is never doubled or shown as data.

A cell that already starts with quotes before a trigger (`'=x`) gets one more, so `restore_cell` is exact. Only
text is prefixed: a number written as a number (a count, a rate) is a number to the spreadsheet, never a formula;
the bundle's population columns are all text (ids, names, reasons), so a text "-5" there is written `'-5`.
The workbook (xlsx.py) needs none of this: its text cells are typed strings, never formulas.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

#: a cell that starts with these (after any single quotes) is read as a formula: OWASP's list, line feed included
FORMULA_START = r"'*[=+\-@\t\r\n]"
_FORMULA_START = re.compile(FORMULA_START)


def neutralize_cell(value: Any) -> Any:
    """The value as a CSV cell: text that a spreadsheet would run gets a leading single quote; anything else as is."""
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """The text a cell written by `neutralize_cell` (or `sql_neutralize_cell`) came from."""
    return text[1:] if text.startswith("'") and _FORMULA_START.match(text, 1) else text


def sql_neutralize_cell(expression: str) -> str:
    """`neutralize_cell` as a DuckDB expression over a VARCHAR column (NULL stays NULL)."""
    pattern = "'^" + FORMULA_START.replace("'", "''") + "'"
    return f"CASE WHEN regexp_matches({expression}, {pattern}) THEN '''' || {expression} ELSE {expression} END"


#: the COPY options that quote every cell, as `write_csv` does for text
SQL_COPY_OPTIONS = "HEADER, FORCE_QUOTE *"


def write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    """rows as CSV: every text cell neutralized and quoted, numbers and booleans bare, missing values empty."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=columns, lineterminator="\n", extrasaction="ignore", quoting=csv.QUOTE_NONNUMERIC
        )
        writer.writeheader()
        writer.writerows({k: neutralize_cell(v) for k, v in row.items()} for row in rows)


def read_csv(handle: IO[str]) -> Iterator[dict[str, str]]:
    """The rows of a CSV written by `write_csv` or a COPY with `sql_neutralize_cell`, cells restored."""
    for row in csv.DictReader(handle):
        yield {k: restore_cell(v) if v else v for k, v in row.items()}
