"""Writes a bundle's renderings (report.html + PDF, evidence.xlsx, OSCAL) and says what became of each, for the
manifest."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from evidence_pipeline.evidence.model import DailyEvidence, PeriodEvidence
from evidence_pipeline.evidence.render import oscal, report, workbook

#: population rows from which the workbook is worth a process of its own (starting one costs about a second)
WORKBOOK_PROCESS_ROWS = 50_000
OSCAL_FILE = Path("oscal") / "assessment-results.json"


def write_daily(work: Path, evidence: DailyEvidence, write_tables: Callable[[], None]) -> dict[str, str]:
    """report.html (+ PDF), evidence.xlsx, OSCAL of a daily bundle.

    The report needs the summaries only, so Chromium prints the PDF while `write_tables` writes the controls'
    population CSVs; the workbook, the slowest rendering (every population row is a row of cells), is then written
    from those CSVs, for a large organisation by a process of its own."""
    rows = sum(o.counts["population"] for o in evidence.outcomes)
    spreadsheet = (
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        if rows >= WORKBOOK_PROCESS_ROWS
        else ThreadPoolExecutor(1)
    )
    with spreadsheet, ThreadPoolExecutor(1) as printer:
        spreadsheet.submit(workbook.ready)  # its process starts (an interpreter, the imports) while the CSVs are copied
        (work / "report.html").write_text(report.render_daily(evidence))
        printing = printer.submit(report.print_pdf, work / "report.html", work / "report.pdf")
        write_tables()
        writing = spreadsheet.submit(workbook.write_daily, evidence, work / "evidence.xlsx", work / "controls")
        _write_oscal(work, oscal.daily_assessment_results(evidence))
        pdf_note = printing.result()
        writing.result()
    return _written(pdf_note)


def write_period(work: Path, period: PeriodEvidence) -> dict[str, str]:
    """report.html (+ PDF), evidence.xlsx, OSCAL of a period export."""
    (work / "report.html").write_text(report.render_period(period))
    pdf_note = report.print_pdf(work / "report.html", work / "report.pdf")
    workbook.write_period(period, work / "evidence.xlsx")
    _write_oscal(work, oscal.period_assessment_results(period))
    return _written(pdf_note)


def _write_oscal(work: Path, document: dict[str, object]) -> None:
    (work / OSCAL_FILE).parent.mkdir()
    (work / OSCAL_FILE).write_text(json.dumps(document, indent=2) + "\n")


def _written(pdf_note: str) -> dict[str, str]:
    """The manifest's `renderings`: the PDF may be missing (no Chromium), and says so; the others are written."""
    return {
        "report.html": "written",
        "report.pdf": pdf_note,
        "evidence.xlsx": "written",
        OSCAL_FILE.as_posix(): "written",
    }
