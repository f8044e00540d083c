"""The streaming .xlsx writer, read back by openpyxl (an independent reader of the format)."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from evidence_pipeline.evidence.xlsx import CELL_TEXT_LIMIT, Workbook, column_letter

FILLS = {"pass": "#C8E6C9", "fail": "#FFCDD2"}


def test_values_round_trip_as_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook(path, FILLS)
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
    book = Workbook(path, FILLS)
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
    book = Workbook(path, FILLS)
    sheet = book.sheet("Rows", ["a", "b", "c"])
    book.append(sheet, ["x"])
    book.append(sheet, [None, None, "z"])
    book.close()
    rows = list(load_workbook(path, read_only=True)["Rows"].iter_rows(values_only=True))
    assert rows == [("a", "b", "c"), ("x", None, None), (None, None, "z")]


def test_sheets_are_written_one_after_the_other(tmp_path: Path) -> None:
    book = Workbook(tmp_path / "book.xlsx", FILLS)
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
