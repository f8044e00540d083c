"""The report as an auditor reads it: printed by headless Chromium, read back as page text (pdftotext -layout, page
by page) and page images (pdftoppm). Made from a DailyEvidence built here (no pipeline run): every control of the
catalogue with a verdict, the demo company's trust page and organisation profile, sources whose times carry
microseconds and offsets."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from evidence_pipeline.catalogue import Catalogue, TestProcedure, load_catalogue
from evidence_pipeline.claims import coverage
from evidence_pipeline.evidence.model import ControlOutcome, DailyEvidence, PeriodControl, PeriodEvidence
from evidence_pipeline.evidence.render import report
from evidence_pipeline.organisation import (
    ORGANISATION_ENV,
    OrganisationError,
    Profile,
    load_organisation,
    read_profile,
)
from evidence_pipeline.settings import project_file

DAY = date(2026, 12, 1)
SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"
VERDICT_CYCLE = ("fail", "pass", "unknown", "fail", "pass")
#: words of the tables' headers and verdict/status cells: each must print whole, never split across lines
VOCABULARY = (
    "Verdict",
    "Population",
    "Exceptions",
    "Waived",
    "Coverage",
    "Criteria",
    "Controls",
    "Retries",
    "Records",
    "succeeded",
    "failed",
    "evidenced",
    "failing",
    "PASS",
    "FAIL",
    "UNKNOWN",
    "WAIVED",
)
FAILING_RED = (0xC6, 0x28, 0x28)
EVIDENCED_GREEN = (0x2E, 0x7D, 0x32)


@dataclass(frozen=True)
class Printed:
    evidence: DailyEvidence
    catalogue: Catalogue
    html: str
    pages: list[str]
    #: page 1 as an image: width, height, RGB bytes
    first_page: tuple[int, int, bytes]


def _procedure(control_id: str) -> TestProcedure:
    return TestProcedure(
        inspected=f"every record read for {control_id} from its system's API on the day",
        attribute=f"the attribute {control_id} judges",
        rule=f"{control_id} passes when the attribute holds, fails when it does not, unknown when it is unreadable",
    )


def _outcome(control: Any, index: int) -> ControlOutcome:
    verdict = VERDICT_CYCLE[index % len(VERDICT_CYCLE)]
    rows = [
        {
            "resource_id": f"{control.id}-{n}",
            "resource_name": f"resource {n}",
            "resource_url": f"https://example.test/{control.id}/{n}",
            "status": status,
            # a reason quoting a source's time with microseconds and an offset: the report shows it in UTC, to the
            # second (07:15:02.345678-03:00 is 10:15:02 UTC)
            "reason": f"{status}: last seen 2026-11-30T07:15:02.345678-03:00",
            "failure": "no_review" if status == "fail" else None,
            "details": {},
        }
        for n, status in enumerate(["pass", verdict, "waived" if index % 4 == 1 else "pass"])
    ]
    return ControlOutcome(
        control.model_copy(update={"procedure": _procedure(control.id)}),
        DAY,
        verdict,
        f"{verdict} as planted",
        rows,
        {"snapshot_date": DAY},
        [],
    )


def _sources(catalogue: Catalogue) -> dict[str, dict[str, Any]]:
    names = sorted({name for control in catalogue.controls for name in control.datasets})
    return {
        name: {
            "status": "failed" if name == "training.enrollments" else "succeeded",
            "endpoints": [f"https://api.example.test/{name.replace('.', '/')}"],
            "request_count": 3,
            "retry_count": 0,
            "record_count": 12,
            "started_at": "2026-12-01T10:48:45.957123",
            "finished_at": "2026-12-01T10:48:49.081234",
            "source_timestamp": "2026-12-01T07:48:50.123456+00:00",
            "payload_sha256": "ab" * 32,
        }
        for name in names
    }


COLLECTION_PARAMETERS = {
    "aws.credential_report": [
        {"streams": [{"account_id": "100700020000", "region": "us-east-1"}, {"account_id": "200700020000"}]}
    ],
    "github.members": [{"org": "example-corp", "page_size": 100}],
    "google_workspace.users": [{"customer": "my_customer", "excluded_org_units": ["/Students"]}],
    "entra.users": [{"tenant_id": "edbd24d0-3ac6-43c5-81bd-26a53576d04d"}],
}


def _catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"), trust_page=SANDBOX / "trust_page.yaml")


def _profile() -> Profile:
    return Profile(load_organisation(SANDBOX / "organisation.yaml"), "organisation.yaml")


def _evidence(catalogue: Catalogue, profile: Profile | None) -> DailyEvidence:
    return DailyEvidence(
        DAY,
        "run-report-pages",
        [_outcome(control, index) for index, control in enumerate(catalogue.controls)],
        _sources(catalogue),
        {},
        controls_map_sha256="cd" * 32,
        trust_page=catalogue.trust_page,
        profile=profile,
        collection_parameters=COLLECTION_PARAMETERS,
    )


def _ppm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    magic, width, height, _maximum, pixels = data.split(maxsplit=4)
    assert magic == b"P6"
    return int(width), int(height), pixels


def _pixels_of(image: tuple[int, int, bytes], colour: tuple[int, int, int], tolerance: int = 24) -> int:
    pixels = image[2]
    return sum(
        1 for i in range(0, len(pixels) - 2, 3) if all(abs(pixels[i + c] - colour[c]) <= tolerance for c in range(3))
    )


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    folder = tmp_path_factory.mktemp("report-pages")
    catalogue = _catalogue()
    evidence = _evidence(catalogue, _profile())
    html = report.render_daily(evidence)
    (folder / "report.html").write_text(html)
    assert report.print_pdf(folder / "report.html", folder / "report.pdf") == "written"
    text = subprocess.run(
        ["pdftotext", "-layout", str(folder / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(folder / "report.pdf"), str(folder / "page")])
    (image,) = folder.glob("page-*.ppm")
    return Printed(evidence, catalogue, html, text.split("\f"), _ppm(image))


class _VisibleText(HTMLParser):
    """The HTML's text as a browser prints it (no <style>, no <title>)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title"):
            self._hidden += 1
        elif tag in ("br", "td", "th", "p", "li", "h1", "h2", "h3"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _words(text: str, word: str) -> int:
    return len(re.findall(rf"(?<![\w]){re.escape(word)}(?![\w])", text))


@pytest.mark.browser
def test_page_one_shows_the_totals_the_period_the_scope_and_opens_every_promise(printed: Printed) -> None:
    page_one = " ".join(printed.pages[0].split())
    verdicts = [o.verdict for o in printed.evidence.outcomes]
    for verdict in ("pass", "fail", "unknown"):
        assert re.search(rf"\b{verdicts.count(verdict)} {verdict}\b", page_one), verdict
    waived = sum(1 for o in printed.evidence.outcomes if o.counts["waived"])
    assert waived and f"{waived} waived" in page_one
    assert f"{len(verdicts)} controls" in page_one
    assert f"Audit period {DAY.isoformat()}" in page_one
    # the scope as the collections recorded it: accounts, organisations, tenants, excluded units
    for read in ("100700020000, 200700020000", "example-corp", "/Students", "edbd24d0-3ac6-43c5-81bd-26a53576d04d"):
        assert read in page_one
    assert "multi-tenant SaaS platform" in page_one  # the system description from organisation.yaml
    # every promise of the trust page, with its state, on page 1
    page = printed.catalogue.trust_page
    assert page is not None and len(page.promises) >= 10
    states = {
        c.promise.id: c.state for c in coverage(page, {o.control.id: o.verdict for o in printed.evidence.outcomes})
    }
    # a long trust page's coverage table runs on from page 1 over the next pages, before "About this evidence"
    cover_pages = next(i for i, text in enumerate(printed.pages) if "About this evidence" in text) + 1
    opening = " ".join(" ".join(text.split()) for text in printed.pages[:cover_pages])
    for promise in page.promises:
        assert promise.id in opening, promise.id
    for state in set(states.values()):
        assert _words(opening, state) >= list(states.values()).count(state)
    # the owners by name and the sign-off lines
    assert "Dana Whitfield, IT Manager" in page_one and "Sign-off" in page_one and "Signature" in page_one
    # what the page image shows: red "failing" and green "evidenced" coverage badges
    assert "failing" in states.values() and "evidenced" in states.values()
    assert _pixels_of(printed.first_page, FAILING_RED) > 20
    assert _pixels_of(printed.first_page, EVIDENCED_GREEN) > 20


def _broken_words(lines: list[str]) -> list[str]:
    """Vocabulary words split across two lines of a cell: the head ends one line and the rest starts the next line at
    the same column (pdftotext -layout keeps a cell's column), e.g. "Verdic" over "t"."""
    broken = []
    for above, below in zip(lines, lines[1:], strict=False):
        for token in re.finditer(r"\S+", above):
            for word in VOCABULARY:
                head = token.group(0)
                if head != word and word.startswith(head):
                    rest = word[len(head) :]
                    start = token.start()
                    segment = below[max(start - 2, 0) :]
                    # the rest begins a token of its own: the tail of a longer word ("…_blocked" under "fail") is not
                    begins = max(start - 2, 0) + len(segment) - len(segment.lstrip())
                    if (
                        re.match(rf"\s{{0,2}}{re.escape(rest)}(?!\w)", segment)
                        and segment.lstrip().startswith(rest)
                        and (begins == 0 or below[begins - 1].isspace())
                    ):
                        broken.append(f"{head}|{rest}")
    return broken


@pytest.mark.browser
def test_no_word_of_the_tables_is_broken_across_lines(printed: Printed) -> None:
    visible = _VisibleText()
    visible.feed(printed.html)
    shown = "".join(visible.parts)
    printed_text = "\n".join(printed.pages)
    for word in VOCABULARY:
        expected = _words(shown, word)
        assert expected, f"{word!r} is not in the report at all"
        # every one printed whole (more where a table's header repeats on the next page)
        assert _words(printed_text, word) >= expected, word
    assert _broken_words(printed_text.splitlines()) == []
    # nor a date split at its hyphens ("2026-" over "12-01")
    assert re.findall(r"(?<!\S)\d{4}-(?:\d{2}-)?(?!\S)", printed_text) == []


@pytest.mark.browser
def test_every_time_is_utc_to_the_second(printed: Printed) -> None:
    text = "\n".join(printed.pages)
    assert not re.search(r"\d{2}:\d{2}:\d{2}[.,]\d", text)
    assert not re.search(r"\d{2}:\d{2}:\d{2}[+-]\d{2}:?\d{2}", text)
    joined = " ".join(text.split())
    assert "2026-12-01 10:48:49 UTC" in joined  # the collection's finish
    assert "2026-11-30 10:15:02 UTC" in joined  # the reason's 07:15:02.345678-03:00, in UTC


@pytest.mark.browser
def test_controls_follow_the_criteria_order_each_with_its_test_procedure(printed: Printed) -> None:
    text = "\n".join(printed.pages[1:])
    categories = ["CC", "A", "C", "PI", "P"]

    def order(criterion: str) -> tuple[int, int, int]:
        category, major, minor = re.fullmatch(r"([A-Z]+)(\d+)\.(\d+)", criterion).groups()  # type: ignore[union-attr]
        return categories.index(category), int(major), int(minor)

    # each control's own section starts with "<id>: <title>" on a page of its own
    sections = [
        (text.index(f"{o.control.id}: {o.control.title[:30]}"), o.control.criteria[0])
        for o in printed.evidence.outcomes
    ]
    shown = [criterion for _, criterion in sorted(sections)]
    assert shown == sorted(shown, key=order)
    assert len({c.split(".")[0] for c in shown}) >= 3  # the order is tested across families (CC1, CC6, CC8, A1)
    joined = " ".join(text.split())
    # a written test procedure in every control's section: what was inspected, the population, the attribute, the rule
    controls = len(printed.evidence.outcomes)
    assert joined.count("What was inspected The population The attribute tested The rule") == controls
    assert joined.count("every record read") == controls


def test_without_an_organisation_profile_the_report_says_what_is_missing_and_names_nobody(monkeypatch) -> None:
    catalogue = _catalogue()
    html = report.render_daily(_evidence(catalogue, None))
    assert "System description, control owners and sign-off roles are missing" in html
    assert "not named (control_owners.it in organisation.yaml)" in html
    for invented in ("Dana Whitfield", "Example Corp runs", "Chief Executive Officer"):
        assert invented not in html
    monkeypatch.delenv(ORGANISATION_ENV, raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no organisation.yaml here nor in the repository
    profile = read_profile()
    assert profile.organisation is None and "organisation.yaml" in (profile.problem or "")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("name: X Corp\nsystem_description: short\n", "system_description"),
        (
            "name: X Corp\nsystem_description: a system of twenty characters\nsystem_boundaries: all of it here\n"
            "control_owners: {it: {}}\nsign_off: [{role: CEO}]\n",
            "control_owners.it",
        ),
        (
            "name: X Corp\nsystem_description: a system of twenty characters\nsystem_boundaries: all of it here\n"
            "control_owners: {engneering: {role: VP Engineering}}\nsign_off: [{role: CEO}]\n",
            "control_owners.engneering",
        ),
        ("name: [unclosed\n", "not valid YAML (line 2)"),
    ],
)
def test_a_bad_organisation_file_is_one_line_naming_the_file_and_field(
    tmp_path: Path, monkeypatch, content: str, field: str
) -> None:
    bad = tmp_path / "organisation.yaml"
    bad.write_text(content)
    owners = {c.owner for c in _catalogue().controls}
    with pytest.raises(OrganisationError) as raised:
        load_organisation(bad, owners)
    message = str(raised.value)
    assert "\n" not in message and str(bad) in message and field in message
    # the report is still written, and says why it names nobody
    monkeypatch.setenv(ORGANISATION_ENV, str(bad))
    profile = read_profile(owners)
    assert profile.organisation is None and profile.problem == message


def test_the_period_report_opens_with_its_period_totals_and_coverage() -> None:
    catalogue = _catalogue()
    days = [date(2026, 11, 29), date(2026, 11, 30), DAY]
    controls = [
        PeriodControl(c.id, c.title, c.criteria, c.frequency, c.scope, c.owner, _procedure(c.id).model_dump())
        for c in catalogue.controls
    ]
    plans = {c.id: ["pass", VERDICT_CYCLE[i % len(VERDICT_CYCLE)], "pass"] for i, c in enumerate(catalogue.controls)}
    stats = {
        cid: {
            "days_evaluated": 3,
            "days_pass": plan.count("pass"),
            "days_fail": plan.count("fail"),
            "days_unknown": plan.count("unknown"),
            "days_missing": 0,
            "pass_rate": None,
            "population_rows": 3,
            "exceptions": 0,
            "open_at_end": 0,
        }
        for cid, plan in plans.items()
    }
    daily = {
        cid: [
            {"date": d.isoformat(), "verdict": v, "population": 1, "pass": 1, "fail": 0, "unknown": 0, "waived": 0}
            | {"pass_rate": None}
            for d, v in zip(days, plan, strict=True)
        ]
        for cid, plan in plans.items()
    }
    period = PeriodEvidence(
        days[0],
        days[-1],
        days,
        [],
        controls,
        daily,
        {},
        {c.id: [] for c in controls},
        stats,
        [{"date": d.isoformat(), "dataset": "github.members", "status": "succeeded"} for d in days],
        [],
        trust_page=catalogue.trust_page,
        profile=_profile(),
        collection_parameters={"github.members": [{"org": "example-corp"}] * 3},
    )
    html = report.render_period(period)
    cover = html.split('<section class="after-cover">')[0]
    # over the period a control fails if it failed on any day, and passes only if it passed on every day
    expected = {
        "fail": sum(1 for plan in plans.values() if "fail" in plan),
        "pass": sum(1 for plan in plans.values() if set(plan) == {"pass"}),
    }
    assert f'<span class="n">{expected["fail"]}</span> fail' in cover
    assert f'<span class="n">{expected["pass"]}</span> pass' in cover
    visible = _VisibleText()
    visible.feed(cover)
    assert "2026-11-29 to 2026-12-01 (3 days, 3 with a snapshot)" in "".join(visible.parts)
    assert "example-corp" in cover and "Dana Whitfield" in cover
    for promise in catalogue.trust_page.promises:  # type: ignore[union-attr]
        assert promise.id in cover
