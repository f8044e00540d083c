"""The streaming .xlsx writer, read back by openpyxl (an independent reader of the format)."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from evidence_pipeline.evidence import xlsx
from evidence_pipeline.evidence.xlsx import (
    CELL_TEXT_LIMIT,
    COLUMN_WIDTH_LIMIT,
    DocumentProperties,
    Workbook,
    column_letter,
    hyperlink_target,
)

FILLS = {"pass": "#C8E6C9", "fail": "#FFCDD2"}
PROPERTIES = DocumentProperties(
    title="SOC 2 evidence — 2026-03-01",
    subject="Daily control evidence",
    creator="evidence-pipeline 9.9.9",
    created=datetime(2026, 3, 1, 23, 59, 58, 123456, tzinfo=UTC),
    keywords=["SOC 2", "evidence", "2026-03-01"],
    description="Snapshot 2026-03-01: 1 controls, 1 fail.",
)


def test_values_round_trip_as_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    first = book.sheet("First", ["text", "number", "flag", "status", "empty", "day"])
    book.append(first, ["a & b <c> \"d\" 'e'", 42, True, "fail", None, date(2026, 3, 1)], fill_column=3)
    book.append(first, ["=1+1", 2.5, False, "pass", "", "x"], fill_column=3)
    book.append(first, ["bell\x07 and tab\tand\nnewline", -3, None, "other"], fill_column=3)
    book.append(first, ["é ✓ 漢字 😀" + "x" * (CELL_TEXT_LIMIT + 10)])
    second = book.sheet("Second ~2", ["only"])
    book.append(second, [7])
    book.close()

    workbook = load_workbook(path)
    assert workbook.sheetnames == ["First", "Second ~2"]
    sheet = workbook["First"]
    assert [c.value for c in sheet[1]] == ["text", "number", "flag", "status", "empty", "day"]
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert [c.value for c in sheet[2]] == ["a & b <c> \"d\" 'e'", 42, True, "fail", None, "2026-03-01"]
    assert sheet["A3"].value == "=1+1" and sheet["A3"].data_type == "s"  # text, never a formula
    assert sheet["B3"].value == 2.5 and sheet["C3"].value is False
    assert sheet["A4"].value == "bell and tab\tand\nnewline"  # XML cannot hold the bell; the rest is kept
    assert sheet["A5"].value.startswith("é ✓ 漢字 😀") and len(sheet["A5"].value) == CELL_TEXT_LIMIT
    assert sheet["D2"].fill.fgColor.rgb == "FFFFCDD2" and sheet["D3"].fill.fgColor.rgb == "FFC8E6C9"
    assert sheet["D4"].fill.fill_type is None  # a value without a fill
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in workbook["Second ~2"]["A"]] == ["only", 7]


def test_text_comes_back_exactly_as_text_carriage_returns_included(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    sheet = book.sheet("Text", ["text"])
    for text in ("=cmd|' /C calc'!A0", "\r=1+1", "line\r\nbreak", "@SUM(1+1)"):
        book.append(sheet, [text])
    book.close()
    cells = [c for (c,) in load_workbook(path)["Text"].iter_rows(min_row=2)]
    # typed text cells: never a formula, no prefix, and a carriage return is not turned into a line feed
    assert [(c.value, c.data_type) for c in cells] == [
        ("=cmd|' /C calc'!A0", "s"),
        ("\r=1+1", "s"),
        ("line\r\nbreak", "s"),
        ("@SUM(1+1)", "s"),
    ]
    with zipfile.ZipFile(path) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_every_row_spans_the_header_in_read_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    sheet = book.sheet("Rows", ["a", "b", "c"])
    book.append(sheet, ["x"])
    book.append(sheet, [None, None, "z"])
    book.close()
    rows = list(load_workbook(path, read_only=True)["Rows"].iter_rows(values_only=True))
    assert rows == [("a", "b", "c"), ("x", None, None), (None, None, "z")]


def test_sheets_are_written_one_after_the_other(tmp_path: Path) -> None:
    book = Workbook(tmp_path / "book.xlsx", FILLS, PROPERTIES)
    first = book.sheet("First", ["a"])
    book.sheet("Second", ["b"])
    with pytest.raises(ValueError, match="finished"):
        book.append(first, [1])
    with pytest.raises(ValueError, match="values for 1 columns"):
        book.append(book.sheet("Third", ["c"]), [1, 2])
    with pytest.raises(ValueError, match="invalid sheet name"):
        book.sheet("a/b", ["c"])
    book.close()
    with zipfile.ZipFile(tmp_path / "book.xlsx") as archive:
        assert archive.testzip() is None
        assert "xl/worksheets/sheet3.xml" in archive.namelist()


def test_column_letters() -> None:
    assert [column_letter(n) for n in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_columns_fit_their_content_up_to_a_limit_and_longer_text_wraps(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    sheet = book.sheet("Widths", ["id", "a_long_header_name", "sentence", "n"])
    book.append(sheet, ["x", "short", "word " * 60, 123456789])
    book.append(sheet, ["xy", None, "one line\nand another", 1.5])
    book.close()
    widths = load_workbook(path)["Widths"]
    dimensions = widths.column_dimensions
    assert dimensions["A"].width < dimensions["B"].width  # fitted, not one width for all
    assert dimensions["B"].width >= len("a_long_header_name") + 2  # the header and its filter button show
    assert dimensions["C"].width == COLUMN_WIDTH_LIMIT  # capped...
    assert widths["C2"].alignment.wrap_text and widths["C3"].alignment.wrap_text  # ...and the long text wraps
    assert not widths["B2"].alignment.wrap_text
    assert dimensions["D"].width >= len("123456789")
    # the wrapped row is given a height of several lines (LibreOffice keeps a row without one at a single line)
    assert widths.row_dimensions[2].height >= 5 * 15 and widths.row_dimensions[3].height == 2 * 15


def test_every_sheet_has_an_autofilter_a_frozen_header_and_prints_one_page_wide(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    first = book.sheet("First", ["a", "b", "c"])
    for n in range(4):
        book.append(first, [n, "x", "y"])
    book.sheet("It's empty", ["only"])
    book.close()
    workbook = load_workbook(path)
    for sheet, table in ((workbook["First"], "A1:C5"), (workbook["It's empty"], "A1:A1")):
        assert sheet.auto_filter.ref == table
        assert sheet.freeze_panes == "A2"
        assert sheet.print_title_rows == "$1:$1"  # the header on every printed page
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.orientation, sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (
            "landscape",
            1,
            0,  # as many pages tall as it takes
        )


def test_only_whole_http_urls_in_a_link_column_become_hyperlinks(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    sheet = book.sheet("Links", ["url", "name"], link_columns=["url"])
    values = [
        "https://github.example.test/org/repo?tab=settings&x=1",
        "http://console.example.test/",
        '=HYPERLINK("http://evil.test","click")',
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://user:secret@host.example.test/",
        "https:///no-host",
        "https://example.test/with space",
        "not a url",
    ]
    for value in values:
        book.append(sheet, [value, "https://example.test/in-a-column-without-links"])
    book.close()
    links = load_workbook(path)["Links"]
    linked = {cell.value: cell.hyperlink.target for (cell,) in links.iter_rows(min_row=2, max_col=1) if cell.hyperlink}
    assert linked == {values[0]: values[0], values[1]: values[1]}
    assert all(links.cell(row, 2).hyperlink is None for row in range(2, len(values) + 2))
    assert links["A2"].font.u == "single" and links["A4"].font.u is None
    assert [c.value for (c,) in links.iter_rows(min_row=2, max_col=1)] == values  # every value kept as text
    assert all(c.data_type == "s" for (c,) in links.iter_rows(min_row=2, max_col=1))
    with zipfile.ZipFile(path) as archive:
        relationships = archive.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        assert relationships.count('TargetMode="External"') == 2 and b"<f>" not in archive.read(
            "xl/worksheets/sheet1.xml"
        )


def test_hyperlinks_stop_at_excels_limit_per_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "HYPERLINK_LIMIT", 2)
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    for name in ("First", "Second"):
        sheet = book.sheet(name, ["url"], link_columns=["url"])
        for n in range(3):
            book.append(sheet, [f"https://example.test/{n}"])
    book.close()
    workbook = load_workbook(path)
    for name in ("First", "Second"):  # the limit is per sheet
        cells = [c for (c,) in workbook[name].iter_rows(min_row=2)]
        assert [c.hyperlink is not None for c in cells] == [True, True, False]
        assert [c.value for c in cells] == [f"https://example.test/{n}" for n in range(3)]


def test_hyperlink_targets() -> None:
    assert hyperlink_target("HTTPS://Example.test/a") == "HTTPS://Example.test/a"
    for value in (
        "https://[::1",
        "https://host:99999/",
        "mailto:a@b.test",
        "//host/path",
        7,
        None,
        "https://" + "a" * 3000,
    ):
        assert hyperlink_target(value) is None


def test_document_properties_name_the_tool_and_the_snapshot_time(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS, PROPERTIES)
    book.sheet("Only", ["a"])
    book.close()
    properties = load_workbook(path).properties
    assert (properties.title, properties.subject, properties.creator) == (
        "SOC 2 evidence — 2026-03-01",
        "Daily control evidence",
        "evidence-pipeline 9.9.9",
    )
    assert properties.keywords == "SOC 2, evidence, 2026-03-01"
    assert properties.description == "Snapshot 2026-03-01: 1 controls, 1 fail."
    assert properties.created == datetime(2026, 3, 1, 23, 59, 58)  # UTC, to the second
    assert properties.lastModifiedBy is None  # nobody's name
    with zipfile.ZipFile(path) as archive:
        assert "<Application>evidence-pipeline 9.9.9</Application>" in archive.read("docProps/app.xml").decode()
