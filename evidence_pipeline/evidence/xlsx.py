"""A streaming .xlsx writer for the evidence workbooks: sheets are written one after the other, each row on disk as
it arrives, so a workbook of any size costs little memory.

Why not a general library: the daily workbook holds every control's population (180,000 rows at 20,000 people),
and a general writer's per-cell bookkeeping took ~18 s for it; here a row is one string. The subset of SpreadsheetML
(ECMA-376 Part 1, §18) written is small: inline strings (text is never a formula), numbers, booleans, a bold header
row frozen in place with an autofilter over the table, a fill per status, column widths fitted to the content (long
text wrapped), hyperlinks for http(s) URLs, a page setup that prints the columns one page wide, and the document's
core and extended properties (docProps/core.xml, docProps/app.xml).

The worksheet's column widths (`<cols>`) come before its rows in the XML but are only known after them, so a sheet's
rows go to a temporary file next to the workbook and are copied into the zip entry when the sheet ends.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

#: what XML 1.0 (and so a .xlsx cell) cannot hold
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]|[\ud800-\udfff\ufffe\uffff]")
#: an absolute http(s) URL: a host name (no user or password before it, no IPv6 literal), an optional port, then
#: a path, query or fragment without whitespace (a regular expression: `urlsplit` doubled the cost of a large sheet)
_HTTP_URL = re.compile(r"https?://[^\s/?#@:\[\]]+(?::(?P<port>\d{1,5}))?(?:[/?#]\S*)?", re.IGNORECASE)
#: Excel's limit for one cell's text (the bundle's CSV files keep the whole text)
CELL_TEXT_LIMIT = 32_767
SHEET_NAME_LIMIT = 31
MAX_COLUMNS = 64
#: a column is as wide as its longest text, in characters, up to this; longer text wraps within the column
COLUMN_WIDTH_LIMIT = 50
#: narrowest column: a short header still shows with its autofilter button
COLUMN_WIDTH_MINIMUM = 6
#: characters per wrapped line, estimated: an average letter is narrower than the digit a width counts, but a line
#: breaks between words
_WRAPPED_LINE_CHARACTERS = COLUMN_WIDTH_LIMIT - 3
#: points per line of 11 pt text, and Excel's tallest row
_LINE_HEIGHT = 15
_ROW_HEIGHT_LIMIT = 409
#: Excel's limits: hyperlinks per worksheet, characters in a hyperlink's address; past them a URL stays plain text
HYPERLINK_LIMIT = 65_530
HYPERLINK_LENGTH_LIMIT = 2_079

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_EXTENDED_PROPERTIES = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: fonts of styles.xml, in order
_PLAIN, _BOLD, _LINK = 0, 1, 2


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _plain_text(value: Any) -> str:
    """The cell's text as it will be read back: XML-illegal characters dropped, cut at Excel's limit."""
    text = value if isinstance(value, str) else value.isoformat() if isinstance(value, date | datetime) else str(value)
    if not text.isprintable():
        text = _ILLEGAL_CHARACTERS.sub("", text)
    return text[:CELL_TEXT_LIMIT] if len(text) > CELL_TEXT_LIMIT else text


def _escape(text: str) -> str:
    """Text for an XML element."""
    # a literal carriage return would be read back as a line feed (XML's line-end normalisation): a reference stays
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _text(value: Any) -> str:
    """A value as the text of an XML element or of a double-quoted attribute."""
    return _escape(_plain_text(value)).replace('"', "&quot;")


def hyperlink_target(value: Any) -> str | None:
    """`value` when it is a whole absolute http(s) URL a spreadsheet may open, else None (the cell stays text).

    Only these schemes: a `javascript:`, `file:` or `mailto:` link, or anything else a source system returns, never
    becomes clickable. A URL carrying credentials is not linked either."""
    if not isinstance(value, str) or len(value) > HYPERLINK_LENGTH_LIMIT or not value.isprintable():
        return None
    url = _HTTP_URL.fullmatch(value)
    if url is None or (url["port"] is not None and int(url["port"]) > 65_535):
        return None
    return value


@dataclass(frozen=True)
class DocumentProperties:
    """docProps/core.xml (Dublin Core) and app.xml. Nothing personal: no author's or modifier's name."""

    title: str
    subject: str
    creator: str
    #: the moment the evidence is of (dcterms:created, UTC)
    created: datetime
    keywords: list[str]
    description: str


@dataclass
class Sheet:
    name: str
    headers: list[str]
    #: columns (by index) whose http(s) URLs become hyperlinks
    link_columns: frozenset[int] = frozenset()
    rows: int = 0
    #: per column: the longest line of text written in it, in characters
    widths: list[int] = field(default_factory=list)
    #: (cell reference, URL), at most HYPERLINK_LIMIT
    hyperlinks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def columns(self) -> int:
        return len(self.headers)


class Workbook:
    """`sheet(name, headers)` starts a sheet (and ends the one before), `append(values)` adds a row to it.

    `fills` maps a cell value to a background colour (RRGGBB) for the column `append` names as `fill_column`."""

    def __init__(self, path: Path, fills: dict[str, str], properties: DocumentProperties) -> None:
        self._path = path
        self._properties = properties
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheets: list[Sheet] = []
        self._rows: IO[bytes] | None = None  # the current sheet's <row> elements, until it ends
        self._pending: list[str] = []
        # fills 0 and 1 are the two the format reserves (none, gray125); then one per status value, in order
        self._fill_of = {value: 2 + n for n, value in enumerate(fills)}
        self._fills = list(fills.values())
        # cell formats as (font, fill, wrapped) -> index in cellXfs; 0 is the default every unstyled cell has
        self._styles: dict[tuple[int, int, bool], int] = {(_PLAIN, 0, False): 0}
        self._style_attributes: dict[tuple[int, int, bool], str] = {(_PLAIN, 0, False): ""}
        self._letters = [column_letter(n) for n in range(MAX_COLUMNS)]

    def sheet(self, name: str, headers: list[str], link_columns: Collection[str] = ()) -> Sheet:
        """A new sheet with `headers` as its (bold, frozen, filtered) first row; the values in `link_columns` that
        are http(s) URLs become hyperlinks."""
        if len(name) > SHEET_NAME_LIMIT or any(c in name for c in "[]:*?/\\"):
            raise ValueError(f"invalid sheet name {name!r}")
        if len(headers) > MAX_COLUMNS:
            raise ValueError(f"sheet {name!r}: {len(headers)} columns, at most {MAX_COLUMNS}")
        if unknown := set(link_columns) - set(headers):
            raise ValueError(f"sheet {name!r}: link columns {sorted(unknown)} are not among its headers")
        self._end_sheet()
        sheet = Sheet(name, list(headers), frozenset(headers.index(c) for c in link_columns), widths=[0] * len(headers))
        self._sheets.append(sheet)
        # open from here to the sheet's end (`_end_sheet` closes it); next to the workbook, not in a small /tmp
        self._rows = tempfile.TemporaryFile(dir=self._path.parent, prefix=".sheet-")  # noqa: SIM115
        self._row(sheet, list(headers), font=_BOLD)
        # the header's autofilter button takes about two characters' room
        sheet.widths = [width + 2 for width in sheet.widths]
        return sheet

    def append(self, sheet: Sheet, values: list[Any], fill_column: int | None = None) -> None:
        if not self._sheets or sheet is not self._sheets[-1] or self._rows is None:
            raise ValueError(f"sheet {sheet.name!r} is finished: sheets are written one after the other")
        if len(values) > sheet.columns:
            raise ValueError(f"sheet {sheet.name!r}: {len(values)} values for {sheet.columns} columns")
        self._row(sheet, values, fill_column=fill_column)

    def _style(self, font: int, fill: int, wrapped: bool) -> str:
        """The cell's ` s="n"` attribute, its format registered on first use."""
        key = (font, fill, wrapped)
        attribute = self._style_attributes.get(key)
        if attribute is None:
            self._styles[key] = len(self._styles)
            attribute = self._style_attributes[key] = f' s="{self._styles[key]}"'
        return attribute

    def _row(self, sheet: Sheet, values: list[Any], font: int = _PLAIN, fill_column: int | None = None) -> None:
        sheet.rows += 1
        number = sheet.rows
        widths = sheet.widths
        cells = []
        lines = 1  # the row's height in lines of text: its tallest wrapped cell
        for column, value in enumerate([*values, *[None] * (sheet.columns - len(values))]):
            reference = f"{self._letters[column]}{number}"
            fill = self._fill_of.get(value, 0) if column == fill_column and isinstance(value, str) else 0
            if value is None or value == "":  # an empty cell still written: every row spans the header's width
                cells.append(f'<c r="{reference}"{self._style(font, fill, False)}/>')
            elif isinstance(value, bool):
                widths[column] = max(widths[column], 5)
                cells.append(f'<c r="{reference}"{self._style(font, fill, False)} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                styled = self._style(font, fill, False)
                if isinstance(value, float) and not math.isfinite(value):
                    cells.append(f'<c r="{reference}"{styled} t="e"><v>#NUM!</v></c>')
                else:
                    number_text = repr(value)
                    widths[column] = max(widths[column], len(number_text))
                    cells.append(f'<c r="{reference}"{styled}><v>{number_text}</v></c>')
            else:
                text = _plain_text(value)
                text_lines = text.split("\n") if "\n" in text else None
                longest = max(map(len, text_lines)) if text_lines else len(text)
                if longest > widths[column]:
                    widths[column] = longest
                too_wide = longest >= COLUMN_WIDTH_LIMIT  # its column, capped, is narrower than it
                wrapped = too_wide or text_lines is not None
                if text_lines is None and too_wide:
                    lines = max(lines, -(-longest // _WRAPPED_LINE_CHARACTERS))
                elif text_lines is not None:
                    per_line = _WRAPPED_LINE_CHARACTERS if too_wide else longest + 1
                    lines = max(lines, sum(max(1, -(-len(line) // per_line)) for line in text_lines))
                cell_font = font
                linked = column in sheet.link_columns and len(sheet.hyperlinks) < HYPERLINK_LIMIT
                if linked and (target := hyperlink_target(text)):
                    sheet.hyperlinks.append((reference, target))
                    cell_font = _LINK
                styled = self._style(cell_font, fill, wrapped)
                cells.append(
                    f'<c r="{reference}"{styled} t="inlineStr"><is><t xml:space="preserve">{_escape(text)}</t></is></c>'
                )
        # a wrapped row's height, estimated: LibreOffice keeps a row without one a single line tall (Excel would fit
        # it); not marked customHeight, so either fits it again once edited
        height = f' ht="{min(_ROW_HEIGHT_LIMIT, lines * _LINE_HEIGHT)}"' if lines > 1 else ""
        self._write(f'<row r="{number}"{height}>{"".join(cells)}</row>')

    def _write(self, text: str) -> None:
        self._pending.append(text)
        if len(self._pending) >= 1000:
            self._flush()

    def _flush(self) -> None:
        assert self._rows is not None
        self._rows.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def _end_sheet(self) -> None:
        """The sheet's zip entry: what precedes the rows (now that their widths are known), the rows, what follows."""
        if self._rows is None:
            return
        self._flush()
        sheet, rows = self._sheets[-1], self._rows
        self._rows = None
        number = len(self._sheets)
        table = f"A1:{self._letters[sheet.columns - 1]}{sheet.rows}"
        columns = "".join(
            f'<col min="{n}" max="{n}" width="{min(COLUMN_WIDTH_LIMIT, max(COLUMN_WIDTH_MINIMUM, width + 1))}" '
            'customWidth="1"/>'
            for n, width in enumerate(sheet.widths, start=1)
        )
        hyperlinks = "".join(
            f'<hyperlink ref="{reference}" r:id="rId{n}"/>' for n, (reference, _) in enumerate(sheet.hyperlinks, 1)
        )
        with rows, self._zip.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True) as entry:
            # the children of <worksheet> in the order the schema (CT_Worksheet) requires
            entry.write(
                (
                    f'{_XML_DECLARATION}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
                    '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
                    f'<dimension ref="{table}"/>'
                    '<sheetViews><sheetView workbookViewId="0">'
                    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
                    f'<sheetFormatPr defaultRowHeight="15"/><cols>{columns}</cols><sheetData>'
                ).encode()
            )
            rows.seek(0)
            shutil.copyfileobj(rows, entry, 1 << 20)
            entry.write(
                (
                    f'</sheetData><autoFilter ref="{table}"/>'
                    + (f"<hyperlinks>{hyperlinks}</hyperlinks>" if hyperlinks else "")
                    + '<printOptions gridLines="1"/>'
                    '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
                    # as many pages tall as it takes, one page wide: every column on each printed page
                    '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
                    "<headerFooter><oddFooter>&amp;L&amp;A&amp;RPage &amp;P of &amp;N</oddFooter></headerFooter>"
                    "</worksheet>"
                ).encode()
            )
        if sheet.hyperlinks:
            targets = "".join(
                f'<Relationship Id="rId{n}" Type="{_RELATIONSHIPS}/hyperlink" Target="{_text(target)}" '
                'TargetMode="External"/>'
                for n, (_, target) in enumerate(sheet.hyperlinks, 1)
            )
            self._zip.writestr(
                f"xl/worksheets/_rels/sheet{number}.xml.rels",
                f'{_XML_DECLARATION}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{targets}</Relationships>',
            )
        sheet.hyperlinks.clear()

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
                f"{_XML_DECLARATION}"
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/styles.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                '<Override PartName="/docProps/core.xml" '
                'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                '<Override PartName="/docProps/app.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
                f"{overrides}</Types>"
            ),
        )
        self._zip.writestr(
            "_rels/.rels",
            (
                f'{_XML_DECLARATION}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
                f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
                f'<Relationship Id="rId2" Type="{_PACKAGE_RELATIONSHIPS}/metadata/core-properties" '
                'Target="docProps/core.xml"/>'
                f'<Relationship Id="rId3" Type="{_RELATIONSHIPS}/extended-properties" Target="docProps/app.xml"/>'
                "</Relationships>"
            ),
        )
        self._zip.writestr("docProps/core.xml", self._core_properties())
        self._zip.writestr(
            "docProps/app.xml",
            (
                f'{_XML_DECLARATION}<Properties xmlns="{_EXTENDED_PROPERTIES}">'
                f"<Application>{_text(self._properties.creator)}</Application></Properties>"
            ),
        )
        listed = "".join(
            f'<sheet name="{_text(s.name)}" sheetId="{n}" r:id="rId{n}"/>' for n, s in enumerate(sheets, start=1)
        )
        self._zip.writestr(
            "xl/workbook.xml",
            (
                f'{_XML_DECLARATION}<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
                f"<bookViews><workbookView/></bookViews><sheets>{listed}</sheets>"
                f"<definedNames>{self._defined_names()}</definedNames></workbook>"
            ),
        )
        links = "".join(
            f'<Relationship Id="rId{n}" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        links += f'<Relationship Id="rId{len(sheets) + 1}" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_XML_DECLARATION}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{links}</Relationships>',
        )
        self._zip.writestr("xl/styles.xml", self._styles_part())
        self._zip.close()

    def _defined_names(self) -> str:
        """Per sheet: the autofilter's range (Excel's hidden _FilterDatabase name) and the header row repeated at
        the top of every printed page."""
        names = []
        for index, sheet in enumerate(self._sheets):
            quoted = "'" + sheet.name.replace("'", "''") + "'"
            last = self._letters[sheet.columns - 1]
            names.append(
                f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
                f"{_text(quoted)}!$A$1:${last}${sheet.rows}</definedName>"
                f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">{_text(quoted)}!$1:$1</definedName>'
            )
        return "".join(names)

    def _core_properties(self) -> str:
        properties = self._properties
        created = properties.created.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{_XML_DECLARATION}"
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{_text(properties.title)}</dc:title>"
            f"<dc:subject>{_text(properties.subject)}</dc:subject>"
            f"<dc:creator>{_text(properties.creator)}</dc:creator>"
            f"<cp:keywords>{_text(', '.join(properties.keywords))}</cp:keywords>"
            f"<dc:description>{_text(properties.description)}</dc:description>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
            "</cp:coreProperties>"
        )

    def _styles_part(self) -> str:
        fills = "".join(
            f'<fill><patternFill patternType="solid"><fgColor rgb="FF{colour.lstrip("#").upper()}"/>'
            '<bgColor indexed="64"/></patternFill></fill>'
            for colour in self._fills
        )
        # every cell at the top of its row (a wrapped neighbour makes the row tall), long text wrapped
        alignment = {False: '<alignment vertical="top"/>', True: '<alignment vertical="top" wrapText="1"/>'}
        formats = "".join(
            f'<xf numFmtId="0" fontId="{font}" fillId="{fill}" borderId="0" xfId="0" applyFont="1" applyFill="1" '
            f'applyAlignment="1">{alignment[wrapped]}</xf>'
            for font, fill, wrapped in self._styles  # in index order: a dict keeps its insertion order
        )
        # Arial, not Calibri: LibreOffice on Linux has a metric twin of it (Liberation Sans), so the widths and
        # heights estimated here hold there too
        return (
            f'{_XML_DECLARATION}<styleSheet xmlns="{_MAIN}">'
            '<fonts count="3"><font><sz val="11"/><name val="Arial"/></font>'
            '<font><b/><sz val="11"/><name val="Arial"/></font>'
            '<font><u/><sz val="11"/><color rgb="FF0563C1"/><name val="Arial"/></font></fonts>'
            f'<fills count="{2 + len(self._fills)}"><fill><patternFill patternType="none"/></fill>'
            f'<fill><patternFill patternType="gray125"/></fill>{fills}</fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" applyAlignment="1">'
            '<alignment vertical="top"/></xf></cellStyleXfs>'
            f'<cellXfs count="{len(self._styles)}">{formats}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )
