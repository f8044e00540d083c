"""evidence.xlsx opened by another spreadsheet program: LibreOffice Calc (headless) prints it to PDF, read back with
pdftotext, and saves it again as .xlsx, read back with openpyxl. Debian's `libreoffice-calc-nogui` is a test
requirement (.ci/run installs it): without it these tests fail, they do not skip."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from evidence_pipeline import __version__
from evidence_pipeline.catalogue import Control
from evidence_pipeline.evidence.csv_cells import write_csv
from evidence_pipeline.evidence.model import DailyEvidence
from evidence_pipeline.evidence.render import workbook
from tests.evidence.conftest import outcome, row

DAY = date(2026, 1, 5)
REMEDIATION = (
    "Open the repository's branch protection settings, require at least one approving review from a code owner, "
    "dismiss stale approvals when new commits are pushed, and include administrators in the rule"
)
SUMMARY_HEADERS = ["control_id", "sheet", "title", "criteria", "claim", "verdict", "reason", "population"]
SUMMARY_HEADERS += ["pass", "fail", "unknown", "waived", "snapshot_date", "sql_sha256", "parameters"]


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.fail(
            "LibreOffice is not installed (no soffice or libreoffice on PATH): the workbook tests need it; "
            "install it with `apt-get install -y --no-install-recommends libreoffice-calc-nogui` (.ci/run does)"
        )
    return found


def _convert(book: Path, target_format: str, out: Path) -> Path:
    """`book` converted by headless LibreOffice, with a user profile of its own (no state shared with a desktop)."""
    subprocess.run(
        [
            _soffice(),
            f"-env:UserInstallation=file://{out / 'profile'}",
            "--headless",
            "--convert-to",
            target_format,
            "--outdir",
            str(out),
            str(book),
        ],
        capture_output=True,
        check=True,
        timeout=180,
    )
    converted = out / f"{book.stem}.{target_format}"
    assert converted.is_file(), f"LibreOffice wrote no {converted.name}"
    return converted


@pytest.fixture
def day_workbook(catalogue_control: Control, tmp_path: Path) -> tuple[Path, list[dict]]:
    """A day's workbook of one control with 30 resources: short URLs, a long remediation on every failing row."""
    rows = [row(f"repo-{n:02d}", "fail" if n % 3 else "pass") for n in range(30)]
    for line in rows:
        line["remediation"] = REMEDIATION if line["status"] == "fail" else None
    folder = tmp_path / "controls" / catalogue_control.id
    folder.mkdir(parents=True)
    write_csv(folder / "population.csv", workbook.CONTROL_COLUMNS, rows)
    sources = {"github.repositories": {"status": "succeeded", "finished_at": "2026-01-05T06:00:01+00:00"}}
    evidence = DailyEvidence(DAY, "run-1", [outcome(catalogue_control, DAY, rows)], sources, {})
    path = tmp_path / "book" / "evidence.xlsx"
    path.parent.mkdir()
    workbook.write_daily(evidence, path, tmp_path / "controls")
    return path, rows


def test_libreoffice_prints_every_sheet_with_all_its_columns_on_each_page(
    day_workbook: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    book, rows = day_workbook
    pages = _convert(book, "pdf", tmp_path / "pdf").read_bytes()
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pages, capture_output=True, check=True).stdout
    page_texts = text.decode().split("\f")[:-1]  # pdftotext ends every page with a form feed
    # the summary's fifteen columns all on its first page (before: a page of eight, the rest on pages of their own)
    assert [h for h in SUMMARY_HEADERS if h not in page_texts[0].split()] == []
    control_pages = [p for p in page_texts if "repo-" in p]
    assert control_pages
    for page in control_pages:  # every page of the control sheet has the whole header row: no page holds a
        # continuation of columns cut off to the right, and the header is repeated at the top of each page
        assert [h for h in workbook.CONTROL_COLUMNS if h not in page.split()] == []
    words = set(" ".join(control_pages).split())
    for line in rows:  # no cell cut short by its neighbour or by the edge of the page
        assert line["resource_url"] in words
        assert line["reason"] in " ".join(" ".join(control_pages).split())
    assert set(re.findall(r"\w+", REMEDIATION)) <= set(re.findall(r"\w+", " ".join(control_pages)))
    # today's demo workbook printed on 147 pages of cut cells; this one: the summary, one sheet of 30 rows, the
    # reconciliation and provenance headers
    assert len(page_texts) <= 8


def test_libreoffice_reads_the_widths_filters_panes_links_and_properties(
    day_workbook: tuple[Path, list[dict]], catalogue_control: Control, tmp_path: Path
) -> None:
    book, rows = day_workbook
    saved = load_workbook(_convert(book, "xlsx", tmp_path / "xlsx"))  # what LibreOffice understood, saved again
    sheet = saved[catalogue_control.id[:31]]
    assert [c.value for c in sheet[1]] == workbook.CONTROL_COLUMNS
    cells = list(sheet.iter_rows(min_row=2, max_row=len(rows) + 1))
    assert [(r[0].value, r[2].value, r[3].value) for r in cells] == [
        (line["resource_id"], line["resource_url"], line["status"]) for line in rows
    ]
    assert [r[2].hyperlink.target if r[2].hyperlink else None for r in cells] == [line["resource_url"] for line in rows]
    # (not the frozen pane: headless LibreOffice has no view to keep it in, whoever wrote the file; openpyxl reads
    # it in test_xlsx.py)
    assert sheet.auto_filter.ref == f"A1:G{len(rows) + 1}"
    assert sheet.column_dimensions["G"].width > 2 * sheet.column_dimensions["D"].width  # remediation vs status
    assert sheet.page_setup.orientation == "landscape" and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert saved.properties.title == f"SOC 2 evidence — {DAY.isoformat()}"
    assert saved.properties.creator.startswith("evidence-pipeline ")


def test_the_days_workbook_has_filters_frozen_headers_links_and_properties(
    day_workbook: tuple[Path, list[dict]], catalogue_control: Control
) -> None:
    """The same workbook read by openpyxl, as written (no LibreOffice in between)."""
    book, rows = day_workbook
    written = load_workbook(book)
    assert written.sheetnames == ["Summary", catalogue_control.id[:31], "Reconciliation", "Provenance"]
    for sheet in written.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    control = written[catalogue_control.id[:31]]
    assert [c.hyperlink.target for (c,) in control.iter_rows(min_row=2, min_col=3, max_col=3)] == [
        line["resource_url"] for line in rows
    ]
    assert control.column_dimensions["A"].width >= len("resource_id") + 2
    assert control.cell(2 + 1, 7).alignment.wrap_text  # the long remediation of a failing row wraps
    properties = written.properties
    assert properties.title == "SOC 2 evidence — 2026-01-05"
    assert properties.created == datetime(2026, 1, 5, 6, 0, 1)  # when the last source finished collecting
    assert properties.creator == f"evidence-pipeline {__version__}"
    assert properties.keywords == "SOC 2, evidence, 2026-01-05, CC8.1"
    assert properties.description.startswith("Snapshot 2026-01-05 (run run-1): 1 control, 1 fail.")
