"""Type II: the period export (populations over days, pass rate per day, exceptions first seen / resolved,
missing days named), reproducible samples, and pseudonymized personal data."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from evidence_pipeline.cli import main
from evidence_pipeline.evidence.chain import MANIFEST
from evidence_pipeline.evidence.period import PeriodError, load_period, write_export
from evidence_pipeline.evidence.pseudonymize import PSEUDONYM_KEY_ENV, Pseudonymizer
from evidence_pipeline.evidence.sampling import default_size, draw_sample, population_sha256, sort_key
from evidence_pipeline.evidence.verify import verify_bundle
from evidence_pipeline.settings import Paths
from tests.conftest import PipelineDay
from tests.evidence.conftest import Series

CONTROL = "cc8_1_branch_review_rules"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_exceptions_are_followed_from_first_seen_to_resolved(synthetic_series: Series) -> None:
    d = synthetic_series.days
    period = load_period(synthetic_series.evidence, d[0], d[4])
    assert period.missing_days == [d[2]]
    episodes = {e["resource_id"]: e for e in period.exceptions[CONTROL]}
    # repo-a failed days 1-2, day 3 had no snapshot (stays open: nobody looked), passed on day 4
    assert (
        episodes["repo-a"].items()
        >= {
            "first_seen": d[0].isoformat(),
            "last_seen": d[1].isoformat(),
            "resolved_on": d[3].isoformat(),
            "resolution": "passed",
            "days_open": 3,
            "days_failing": 2,
        }.items()
    )
    assert episodes["repo-b"]["resolved_on"] is None and episodes["repo-b"]["days_open"] == 4
    assert episodes["ann@school.test"]["resolution"] == "left the population"
    daily = {x["date"]: x for x in period.daily[CONTROL]}
    assert daily[d[2].isoformat()]["verdict"] == "missing"
    assert daily[d[0].isoformat()]["pass_rate"] == pytest.approx(2 / 3)
    assert daily[d[3].isoformat()]["pass_rate"] == pytest.approx(2 / 4)
    stats = period.control_stats[CONTROL]
    assert (stats["days_evaluated"], stats["days_missing"], stats["population_rows"], stats["open_at_end"]) == (
        4,
        1,
        13,
        1,
    )


def test_export_cli_writes_a_signed_period_bundle_and_names_missing_days(
    synthetic_series: Series, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = synthetic_series.days
    monkeypatch.setenv("EVIDENCE_HOME", str(synthetic_series.evidence.parent))
    monkeypatch.setenv("EVIDENCE_SIGNING_KEY", str(synthetic_series.key.path))
    # the range starts a day before the first snapshot: that day is missing too
    assert main(["export", "--from", (d[0] - timedelta(days=1)).isoformat(), "--to", d[4].isoformat()]) == 0
    captured = capsys.readouterr()
    missing = [(d[0] - timedelta(days=1)).isoformat(), d[2].isoformat()]
    assert f"2 day(s) without an evidence snapshot: {', '.join(missing)}" in captured.err
    bundle = Path(captured.out.strip().splitlines()[-1].split(": ", 1)[1])
    assert bundle.parent.parent == synthetic_series.evidence / "exports"
    manifest = verify_bundle(bundle, require_signature=True).manifest
    assert manifest["kind"] == "period_export" and manifest["missing_days"] == missing
    assert [s["date"] for s in manifest["snapshots"]] == [x.isoformat() for x in d if x != d[2]]
    for snapshot in manifest["snapshots"]:  # each day is bound to its daily bundle by manifest hash
        daily_manifest = synthetic_series.evidence / snapshot["bundle"] / MANIFEST
        assert hashlib.sha256(daily_manifest.read_bytes()).hexdigest() == snapshot["manifest_sha256"]
    population = _csv(bundle / "controls" / CONTROL / "population.csv")
    assert len(population) == 13 and {r["snapshot_date"] for r in population} == {x.isoformat() for x in d if x != d[2]}
    exceptions = _csv(bundle / "controls" / CONTROL / "exceptions.csv")
    assert {(e["resource_id"], e["first_seen"], e["resolved_on"]) for e in exceptions} >= {
        ("repo-a", d[0].isoformat(), d[3].isoformat())
    }
    assert json.loads((bundle / "period.json").read_text())["missing_days"] == missing
    html = (bundle / "report.html").read_text()
    assert all(day in html for day in missing) and "NO SNAPSHOT" in html
    from trestle.oscal.assessment_results import Model

    results = Model.model_validate(json.loads((bundle / "oscal/assessment-results.json").read_text()))
    assert len(results.assessment_results.results) == 4


def test_export_refuses_a_period_without_snapshots_or_with_a_tampered_day(
    synthetic_series: Series, tmp_path: Path
) -> None:
    with pytest.raises(PeriodError, match="no evidence snapshot"):
        load_period(synthetic_series.evidence, date(2020, 1, 1), date(2020, 1, 3))
    with pytest.raises(PeriodError, match="before"):
        load_period(synthetic_series.evidence, date(2020, 1, 3), date(2020, 1, 1))
    day_bundle = next((synthetic_series.evidence / synthetic_series.days[0].isoformat()).glob("v*"))
    target = day_bundle / "controls" / CONTROL / "population.csv"
    target.chmod(0o644)
    target.write_text(target.read_text().replace("fail", "pass"))
    # refused, naming the bundle and the file
    with pytest.raises(
        PeriodError,
        match=rf"does not verify: {synthetic_series.days[0]}/{day_bundle.name}: "
        r"controls/cc8_1_branch_review_rules/population.csv: changed",
    ):
        load_period(synthetic_series.evidence, synthetic_series.days[0], synthetic_series.days[1])


def test_pseudonymized_export_hides_people_consistently_and_states_it(
    synthetic_series: Series, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_bytes(b"k" * 32)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, str(key_file))
    d = synthetic_series.days
    pseudonymizer = Pseudonymizer.from_env()
    period = load_period(synthetic_series.evidence, d[0], d[4], pseudonymizer=pseudonymizer)
    bundle = write_export(synthetic_series.evidence, period, synthetic_series.key)
    everything = b"".join(p.read_bytes() for p in bundle.rglob("*") if p.is_file() and p.suffix != ".pdf")
    pdf_text = bundle / "report.pdf"
    assert b"ann@school.test" not in everything and b"Ann Example" not in everything
    assert b"k" * 32 not in everything  # the key is never written
    alias = pseudonymizer.pseudonym("ann@school.test")
    population = _csv(bundle / "controls" / CONTROL / "population.csv")
    ann = [r for r in population if r["resource_id"] == alias]
    assert (
        len(ann) == 1
        and alias in ann[0]["reason"]
        and ann[0]["resource_name"] == pseudonymizer.pseudonym("Ann Example")
    )
    assert "repo-a" in {r["resource_id"] for r in population}  # non-personal evidence stays readable
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert manifest["pseudonymization"]["enabled"] and PSEUDONYM_KEY_ENV in manifest["pseudonymization"]["key"]
    assert pdf_text.is_file()
    # the same key maps the same person to the same pseudonym in another export
    again = Pseudonymizer.from_env()
    assert again.pseudonym("ANN@school.test") == alias


def test_samples_are_reproducible_and_record_seed_method_and_population(synthetic_series: Series) -> None:
    d = synthetic_series.days
    first = draw_sample(synthetic_series.evidence, CONTROL, d[0], d[4], seed=11, size=5)
    again = draw_sample(synthetic_series.evidence, CONTROL, d[0], d[4], seed=11, size=5)
    other = draw_sample(synthetic_series.evidence, CONTROL, d[0], d[4], seed=12, size=5)
    pick = [(r["snapshot_date"], r["resource_id"]) for r in first.selected]
    assert pick == [(r["snapshot_date"], r["resource_id"]) for r in again.selected]
    assert pick != [(r["snapshot_date"], r["resource_id"]) for r in other.selected]
    # the method is checkable by hand: the 5 smallest SHA-256 keys of the population
    expected = sorted(first.population, key=lambda r: sort_key(11, r))[:5]
    assert pick == [(r["snapshot_date"], r["resource_id"]) for r in expected]
    described = first.describe()
    assert described["seed"] == 11 and "SHA-256" in described["method"]
    assert described["population_size"] == 13 and described["population_sha256"] == population_sha256(first.population)
    assert described["missing_days"] == [d[2].isoformat()]


def test_default_sample_sizes_follow_the_table() -> None:
    assert default_size("annual", 1)[0] == 1
    assert default_size("quarterly", 4)[0] == 2
    assert default_size("monthly", 12)[0] == 2
    assert default_size("weekly", 100)[0] == 10
    assert default_size("daily", 365)[0] == 40
    assert default_size("continuous", 5000)[0] == 60
    size, rule = default_size("daily", 7)
    assert size == 7 and "all of it" in rule


@pytest.fixture
def real_days(pipeline_day: PipelineDay, tmp_path: Path) -> Paths:
    """A copy of the session's data folder: its two real pipeline days (the day before and the day) and the campaign
    between them. The export and the samples are written into the copy; the session's folder is left as it was."""
    paths = Paths(tmp_path / "home")
    shutil.copytree(pipeline_day.paths.home, paths.home, ignore=shutil.ignore_patterns("sandbox"))
    return paths


def test_real_pipeline_days_export_and_sample_through_the_cli(
    real_days: Paths, pipeline_day: PipelineDay, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVIDENCE_HOME", str(real_days.home))
    evidenced = [pipeline_day.day - timedelta(days=1), pipeline_day.day]
    # the range reaches a day past each end of the real days: days without a snapshot are named on either side
    first, last = evidenced[0] - timedelta(days=1), evidenced[-1] + timedelta(days=1)
    days = [first.isoformat(), *(d.isoformat() for d in evidenced), last.isoformat()]
    missing = [first.isoformat(), last.isoformat()]
    assert main(["export", "--from", first.isoformat(), "--to", last.isoformat(), "--pseudonymize"]) == 0
    captured = capsys.readouterr()
    assert f"2 day(s) without an evidence snapshot: {', '.join(missing)}" in captured.err
    export = Path(captured.out.strip().splitlines()[-1].split(": ", 1)[1])
    manifest = verify_bundle(export, require_signature=True).manifest
    assert manifest["missing_days"] == missing and manifest["pseudonymization"]["enabled"]
    assert [s["date"] for s in manifest["snapshots"]] == days[1:-1]
    period = json.loads((export / "period.json").read_text())
    for control_id, stats in period["controls"].items():
        daily = _csv(export / "controls" / control_id / "daily.csv")
        assert [x["date"] for x in daily] == days
        assert stats["population_rows"] == len(_csv(export / "controls" / control_id / "population.csv"))
    # no e-mail address of the sandbox's people survives pseudonymization
    emails = {p.email.lower().encode() for p in pipeline_day.sandbox.org.people}
    text = b"".join(p.read_bytes().lower() for p in export.rglob("*") if p.suffix in (".csv", ".json", ".html"))
    assert not [e for e in emails if e in text]

    argv = ["sample", "--control", CONTROL, "--from", first.isoformat(), "--to", last.isoformat(), "--seed", "7"]
    assert main(argv) == 0
    out1 = capsys.readouterr().out
    assert main(argv) == 0
    out2 = capsys.readouterr().out
    picks = [line for line in out1.splitlines() if line.startswith("  ")]
    assert picks and picks == [line for line in out2.splitlines() if line.startswith("  ")]
    sample_bundle = Path(out1.strip().splitlines()[-1].split(": ", 1)[1])
    described = json.loads((sample_bundle / "sample.json").read_text())
    assert described["seed"] == 7 and described["missing_days"] == missing
    assert len(described["selected"]) == len(picks) == described["size"]
    assert verify_bundle(sample_bundle).manifest["population_sha256"] == described["population_sha256"]
