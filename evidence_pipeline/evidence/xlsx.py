"""A streaming .xlsx writer for the evidence workbooks: sheets are written one after the other, each straight into
its zip entry as its rows arrive, so a workbook of any size costs no memory.

Why not a general library: the daily workbook holds every control's population (180,000 rows at 20,000 people),
and a general writer's per-cell bookkeeping took ~18 s for it; here a row is one string. The subset of SpreadsheetML
written is small: inline strings (text is never a formula, a link or a number), numbers, booleans, a bold header
row frozen in place, and a fill per status.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

#: what XML 1.0 (and so a .xlsx cell) cannot hold
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]|[\ud800-\udfff\ufffe\uffff]")
#: Excel's limit for one cell's text (the bundle's CSV files keep the whole text)
CELL_TEXT_LIMIT = 32_767
SHEET_NAME_LIMIT = 31
MAX_COLUMNS = 64

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else value.isoformat() if isinstance(value, date | datetime) else str(value)
    if not text.isprintable():
        text = _ILLEGAL_CHARACTERS.sub("", text)
    if len(text) > CELL_TEXT_LIMIT:
        text = text[:CELL_TEXT_LIMIT]
    # a literal carriage return would be read back as a line feed (XML's line-end normalisation): a reference stays
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


@dataclass
class Sheet:
    name: str
    columns: int
    rows: int = 0


class Workbook:
    """`sheet(name, headers)` starts a sheet (and ends the one before), `append(values)` adds a row to it.

    `fills` maps a cell value to a background colour (RRGGBB) for the column `append` names as `fill_column`."""

    def __init__(self, path: Path, fills: dict[str, str]) -> None:
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheets: list[Sheet] = []
        self._handle: IO[bytes] | None = None
        self._pending: list[str] = []
        # style 0: plain; 1: bold (headers); then one per fill, in order
        self._fill_style = {value: 2 + n for n, value in enumerate(fills)}
        self._fills = list(fills.values())
        self._letters = [column_letter(n) for n in range(MAX_COLUMNS)]

    def sheet(self, name: str, headers: list[str]) -> Sheet:
        if len(name) > SHEET_NAME_LIMIT or any(c in name for c in "[]:*?/\\"):
            raise ValueError(f"invalid sheet name {name!r}")
        if len(headers) > MAX_COLUMNS:
            raise ValueError(f"sheet {name!r}: {len(headers)} columns, at most {MAX_COLUMNS}")
        self._end_sheet()
        sheet = Sheet(name, len(headers))
        self._sheets.append(sheet)
        self._handle = self._zip.open(f"xl/worksheets/sheet{len(self._sheets)}.xml", "w", force_zip64=True)
        self._write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            "<sheetData>"
        )
        self._row(sheet, list(headers), style=1)
        return sheet

    def append(self, sheet: Sheet, values: list[Any], fill_column: int | None = None) -> None:
        if not self._sheets or sheet is not self._sheets[-1] or self._handle is None:
            raise ValueError(f"sheet {sheet.name!r} is finished: sheets are written one after the other")
        if len(values) > sheet.columns:
            raise ValueError(f"sheet {sheet.name!r}: {len(values)} values for {sheet.columns} columns")
        self._row(sheet, values, fill_column=fill_column)

    def _row(self, sheet: Sheet, values: list[Any], style: int = 0, fill_column: int | None = None) -> None:
        sheet.rows += 1
        number = sheet.rows
        cells = []
        for column, value in enumerate([*values, *[None] * (sheet.columns - len(values))]):
            cell_style = style
            if column == fill_column and isinstance(value, str):
                cell_style = self._fill_style.get(value, style)
            styled = f' s="{cell_style}"' if cell_style else ""
            reference = f"{self._letters[column]}{number}"
            if value is None or value == "":  # an empty cell still written: every row spans the header's width
                cells.append(f'<c r="{reference}"{styled}/>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{reference}"{styled} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                if isinstance(value, float) and not math.isfinite(value):
                    cells.append(f'<c r="{reference}"{styled} t="e"><v>#NUM!</v></c>')
                else:
                    cells.append(f'<c r="{reference}"{styled}><v>{value!r}</v></c>')
            else:
                cells.append(
                    f'<c r="{reference}"{styled} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'
                )
        self._write(f'<row r="{number}">{"".join(cells)}</row>')

    def _write(self, text: str) -> None:
        self._pending.append(text)
        if len(self._pending) >= 1000:
            self._flush()

    def _flush(self) -> None:
        assert self._handle is not None
        self._handle.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def _end_sheet(self) -> None:
        if self._handle is None:
            return
        self._write("</sheetData></worksheet>")
        self._flush()
        self._handle.close()
        self._handle = None

    def close(self) -> None:
        self._end_sheet()
        sheets = self._sheets
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
            for n in range(1, len(sheets) + 1)
        )
        self._zip.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/styles.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                f"{overrides}</Types>"
            ),
        )
        self._zip.writestr(
            "_rels/.rels",
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
                f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
                "</Relationships>"
            ),
        )
        listed = "".join(
            f'<sheet name="{_text(s.name)}" sheetId="{n}" r:id="rId{n}"/>' for n, s in enumerate(sheets, start=1)
        )
        self._zip.writestr(
            "xl/workbook.xml",
            (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
                f'xmlns:r="{_RELATIONSHIPS}"><bookViews><workbookView/></bookViews><sheets>{listed}</sheets></workbook>'
            ),
        )
        links = "".join(
            f'<Relationship Id="rId{n}" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        links += f'<Relationship Id="rId{len(sheets) + 1}" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
                f"{links}</Relationships>"
            ),
        )
        self._zip.writestr("xl/styles.xml", self._styles())
        self._zip.close()

    def _styles(self) -> str:
        fills = "".join(
            f'<fill><patternFill patternType="solid"><fgColor rgb="FF{colour.lstrip("#").upper()}"/>'
            '<bgColor indexed="64"/></patternFill></fill>'
            for colour in self._fills
        )
        formats = "".join(
            f'<xf numFmtId="0" fontId="0" fillId="{2 + n}" borderId="0" xfId="0" applyFill="1"/>'
            for n in range(len(self._fills))
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            f'<fills count="{2 + len(self._fills)}"><fill><patternFill patternType="none"/></fill>'
            f'<fill><patternFill patternType="gray125"/></fill>{fills}</fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{2 + len(self._fills)}">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            f'<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>{formats}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )
