"""The bundle's renderings: report.html printed by headless Chromium and read back as page images and text,
evidence.xlsx read back with openpyxl (the OSCAL documents are test_oscal.py's)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from evidence_pipeline.evidence.csv_cells import read_csv
from evidence_pipeline.evidence.render import report
from evidence_pipeline.evidence.signing import generate_key
from tests.conftest import PipelineDay, bundles_of
from tests.evidence.conftest import row, write_day
from warehouse import Warehouse

FAIL_RED = (0xC6, 0x28, 0x28)
PASS_GREEN = (0x2E, 0x7D, 0x32)


def _results(bundle: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((bundle / "controls").glob("*/result.json"))]


def _ppm_pixels(path: Path) -> tuple[int, int, bytes]:
    """Parse a binary PPM (P6) as written by pdftoppm."""
    data = path.read_bytes()
    fields, position = [], 0
    while len(fields) < 4:
        while data[position : position + 1].isspace():
            position += 1
        end = position
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P6"
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[position + 1 :]


def _count_colour(pixels: bytes, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    count = 0
    for index in range(0, len(pixels) - 2, 3):
        if all(abs(pixels[index + c] - colour[c]) <= tolerance for c in range(3)):
            count += 1
    return count


@pytest.mark.browser
def test_report_renders_in_chromium_and_the_pages_show_the_verdicts(pipeline_day: PipelineDay, tmp_path: Path) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    results = _results(bundle)
    # the bundle's own PDF exists, and Chromium renders the bundle's HTML again here
    assert json.loads((bundle / "manifest.json").read_text())["renderings"]["report.pdf"] == "written"
    pdf = tmp_path / "report.pdf"
    assert report.print_pdf(bundle / "report.html", pdf) == "written"
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    assert pages >= 1 + len(results)  # the summary, then one section per control on its own page
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert f"SOC 2 evidence — {pipeline_day.day.isoformat()}" in text
    for result in results:
        assert result["control_id"] in text
    subprocess.run(["pdftoppm", "-r", "30", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.ppm"))
    assert len(images) == pages
    width, height, first_page = _ppm_pixels(images[0])
    assert width > height  # landscape
    verdicts = {r["verdict"] for r in results}
    assert sum(value < 0x60 for value in first_page) > 1000  # page 1 is not blank: dark text
    # what the pages show: a red FAIL badge exactly when some control fails, a green PASS badge exactly when
    # some control passes (exception rows are fail red, unknown grey or waived orange: never green)
    pixels = [_ppm_pixels(image)[2] for image in images]
    assert (sum(_count_colour(p, FAIL_RED) for p in pixels) > 10) == ("fail" in verdicts)
    assert (sum(_count_colour(p, PASS_GREEN) for p in pixels) > 10) == ("pass" in verdicts)


def test_report_html_has_the_summary_table_and_a_section_per_control(pipeline_day: PipelineDay) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    html = (bundle / "report.html").read_text()
    for header in (
        "Control",
        "Criteria",
        "Claim",
        "Verdict",
        "Population",
        "Exceptions",
        "Waived",
        "Sources (freshness)",
    ):
        assert f"<th>{header}</th>" in html
    for result in _results(bundle):
        assert f'<section class="control" id="{result["control_id"]}">' in html
        assert result["sql_sha256"] in html
        assert f"verdict-{result['verdict']}" in html
    assert "<script" not in html and "http://" not in html.split("<h2>Sources</h2>")[0].split("</table>")[0]


def test_workbook_reads_back_summary_populations_and_provenance(pipeline_day: PipelineDay) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    book = load_workbook(bundle / "evidence.xlsx", read_only=True)
    summary = list(book["Summary"].iter_rows(values_only=True))
    header, rows = summary[0], summary[1:]
    by_control = {r[header.index("control_id")]: dict(zip(header, r, strict=True)) for r in rows}
    results = _results(bundle)
    assert set(by_control) == {r["control_id"] for r in results}
    for result in results:
        line = by_control[result["control_id"]]
        assert (line["verdict"], line["population"], line["fail"], line["waived"]) == (
            result["verdict"],
            result["population"],
            result["fail"],
            result["waived"],
        )
        sheet = list(book[line["sheet"]].iter_rows(values_only=True))
        with (bundle / "controls" / result["control_id"] / "population.csv").open(newline="") as handle:
            population = list(read_csv(handle))  # the cells as the sources gave them (no formula-guard prefix)
        assert [(r[0], r[3], r[4]) for r in sheet[1:]] == [
            (p["resource_id"], p["status"], p["reason"] or None) for p in population
        ]
    provenance = list(book["Provenance"].iter_rows(values_only=True))
    datasets = {r[0]: dict(zip(provenance[0], r, strict=True)) for r in provenance[1:]}
    for source_file in (bundle / "sources").glob("*/provenance.json"):
        for dataset, entry in json.loads(source_file.read_text()).items():
            name = f"{source_file.parent.name}.{dataset}"
            assert datasets[name]["status"] == entry["status"]
            assert datasets[name]["record_count"] == entry.get("record_count")


def test_workbook_never_turns_source_text_into_formulas(catalogue_control, tmp_path: Path) -> None:
    day = date(2026, 1, 5)
    hostile = row("repo-x", "fail", reason='=HYPERLINK("http://evil.test","click")', name="=1+1")
    written = write_day(
        Warehouse(tmp_path / "warehouse.duckdb"),
        tmp_path / "evidence",
        catalogue_control,
        day,
        [hostile],
        key=generate_key(tmp_path / "key.pem"),
    )
    sheet = load_workbook(written / "evidence.xlsx")[catalogue_control.id[:31]]
    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"
    assert sheet["E2"].value.startswith("=HYPERLINK") and sheet["E2"].data_type == "s"


def test_a_large_population_has_its_workbook_written_by_a_process_of_its_own(
    catalogue_control, tmp_path: Path, monkeypatch
) -> None:
    from evidence_pipeline.evidence.render import renderings

    monkeypatch.setattr(renderings, "WORKBOOK_PROCESS_ROWS", 1)  # a 50-person sandbox is far below the real threshold
    day = date(2026, 1, 6)
    rows = [row(f"repo-{n:02d}", "fail" if n % 3 else "pass") for n in range(12)]
    written = write_day(
        Warehouse(tmp_path / "warehouse.duckdb"),
        tmp_path / "evidence",
        catalogue_control,
        day,
        rows,
        key=generate_key(tmp_path / "key.pem"),
    )
    sheet = list(
        load_workbook(written / "evidence.xlsx", read_only=True)[catalogue_control.id[:31]].iter_rows(values_only=True)
    )
    assert [(r[0], r[3]) for r in sheet[1:]] == [(r["resource_id"], r["status"]) for r in rows]
