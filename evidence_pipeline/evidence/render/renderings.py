"""Writes a bundle's renderings (report.html + PDF, evidence.xlsx, OSCAL) and says what became of each, for the
manifest."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from evidence_pipeline.claims import TRUST_PAGE_FILE, TrustPage, read_trust_page
from evidence_pipeline.evidence.model import DailyEvidence, PeriodEvidence
from evidence_pipeline.evidence.render import oscal, report, workbook
from evidence_pipeline.organisation import read_profile

#: population rows from which the workbook is worth a process of its own (starting one costs about a second)
WORKBOOK_PROCESS_ROWS = 50_000


def write_daily(work: Path, evidence: DailyEvidence, write_tables: Callable[[], None]) -> dict[str, str]:
    """report.html (+ PDF), evidence.xlsx, OSCAL of a daily bundle.

    The report needs the summaries only, so Chromium prints the PDF while `write_tables` writes the controls'
    population CSVs; the workbook, the slowest rendering (every population row is a row of cells), is then written
    from those CSVs, for a large organisation by a process of its own.

    The report's scope and trust-page coverage are read from the bundle's own files written before it (sources/*/
    provenance.json, trust_page.yaml): the report shows what the evidence holds."""
    if evidence.profile is None:
        # owner keys are not checked against these controls: a catalogue variant with fewer owners keeps its profile
        evidence.profile = read_profile()
    if not evidence.collection_parameters:
        evidence.collection_parameters = collection_parameters([work])
    if evidence.trust_page is None:
        evidence.trust_page = bundle_trust_page(work)
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
        oscal.write(work, oscal.daily_documents(evidence))
        pdf_note = printing.result()
        writing.result()
    return _written(pdf_note)


def write_period(work: Path, period: PeriodEvidence) -> dict[str, str]:
    """report.html (+ PDF), evidence.xlsx, OSCAL of a period export."""
    if period.profile is None:
        period.profile = read_profile()
    (work / "report.html").write_text(report.render_period(period))
    pdf_note = report.print_pdf(work / "report.html", work / "report.pdf")
    workbook.write_period(period, work / "evidence.xlsx")
    oscal.write(work, oscal.period_documents(period))
    return _written(pdf_note)


def _written(pdf_note: str) -> dict[str, str]:
    """The manifest's `renderings`: the PDF may be missing (no Chromium), and says so; the others are written."""
    return {
        "report.html": "written",
        "report.pdf": pdf_note,
        "evidence.xlsx": "written",
        **dict.fromkeys(oscal.FILES, "written"),
    }


def collection_parameters(bundles: Iterable[Path]) -> dict[str, list[dict[str, Any]]]:
    """ "<source>.<dataset>" -> the parameters of each of its collections in these bundles (sources/*/provenance.json):
    which organisations, accounts, tenants and units were read, as the collection itself recorded them."""
    collected: dict[str, list[dict[str, Any]]] = {}
    for bundle in bundles:
        for provenance_file in sorted((bundle / "sources").glob("*/provenance.json")):
            for dataset, entry in sorted(json.loads(provenance_file.read_text()).items()):
                parameters = (entry.get("provenance") or {}).get("parameters") or {}
                collected.setdefault(f"{provenance_file.parent.name}.{dataset}", []).append(parameters)
    return collected


def bundle_trust_page(bundle: Path) -> TrustPage | None:
    """The trust page a bundle carries (the promises its controls were judged against), None when it has none. Its
    controls were checked against the catalogue when it was loaded; a control the bundle did not judge (a bundle of
    some controls only) shows as unknown in the coverage, never as evidence."""
    file = bundle / TRUST_PAGE_FILE
    return TrustPage.model_validate(read_trust_page(file)[1]) if file.is_file() else None
