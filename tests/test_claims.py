"""The user's own trust page (evidence_pipeline/claims.py): its promises become the controls' claims when the
catalogue loads, a bad page is one line naming the file, the promise and the field, the page's file is hashed with
the catalogue and carried in each bundle, and `coverage` never calls a promise evidenced on missing evidence."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
import yaml

from evidence_pipeline.catalogue import Catalogue, CatalogueError, load_catalogue
from evidence_pipeline.claims import (
    TRUST_PAGE_ENV,
    Promise,
    TrustPage,
    TrustPageError,
    coverage,
    load_trust_page,
    trust_page_file,
)
from evidence_pipeline.settings import project_file
from warehouse import schema_connection

ROOT_MFA, ADMINS_2SV, BRANCH_RULES = (
    "cc6_1_aws_root_mfa",
    "cc6_1_workspace_admins_2sv_enforced",
    "cc8_1_branch_review_rules",
)
PAGE = {
    "company": "Acme Ltd",
    "title": "Security",
    "url": "https://acme.invalid/security",
    "promises": [
        {
            "id": "admin_mfa",
            "section": "Access control",
            "quote": "Administrators sign in with a second factor, everywhere.",
            "controls": [ROOT_MFA, ADMINS_2SV],
        },
        {
            "id": "pen_tests",
            "section": "Assurance",
            "quote": "An independent firm tests us every year.",
            "controls": [],
        },
    ],
}


@pytest.fixture(autouse=True)
def no_configured_trust_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test says which page it loads: none leaks in from the session's sandbox environment or a project file."""
    monkeypatch.delenv(TRUST_PAGE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def control_ids() -> set[str]:
    return set(_catalogue(None).by_id)


def _catalogue(trust_page: Path | None) -> Catalogue:
    with schema_connection() as con:
        return load_catalogue(project_file("controls_map.yaml"), con, trust_page=trust_page)


def _page(tmp_path: Path, document: object, text: str | None = None) -> Path:
    path = tmp_path / "trust_page.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(document, sort_keys=False))
    return path


def _refusal(path: Path, control_ids: set[str]) -> str:
    """The one line load_trust_page refuses `path` with; loading the catalogue with it gives the same line."""
    with pytest.raises(TrustPageError) as refused:
        load_trust_page(path, control_ids)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    with pytest.raises(CatalogueError) as through_catalogue:
        _catalogue(path)
    assert str(through_catalogue.value) == message
    return message


def _changed(**changes: object) -> dict:
    """PAGE with its first promise changed (a value of None removes the field)."""
    promise = {**PAGE["promises"][0], **changes}
    return {**PAGE, "promises": [{k: v for k, v in promise.items() if v is not None}, PAGE["promises"][1]]}


# -- loading ---------------------------------------------------------------------------------------------------------


def test_a_trust_page_loads_and_its_promises_become_the_controls_claims(tmp_path: Path) -> None:
    path = _page(tmp_path, PAGE)
    catalogue = _catalogue(path)
    page = catalogue.trust_page
    assert page is not None and page.name == "Acme Ltd — Security" and page.url == "https://acme.invalid/security"
    assert [p.id for p in page.promises] == ["admin_mfa", "pen_tests"] and page.promises[1].controls == []
    for control_id in (ROOT_MFA, ADMINS_2SV):
        [claim] = catalogue.by_id[control_id].claims
        assert claim.model_dump() == {
            "page": "Acme Ltd — Security",
            "section": "Access control",
            "quote": "Administrators sign in with a second factor, everywhere.",
            "promise_id": "admin_mfa",
        }
    # a control no promise names loads, with no claim
    assert catalogue.by_id[BRANCH_RULES].claims == []


def test_without_a_trust_page_the_controls_have_no_claims_and_nothing_fails() -> None:
    assert trust_page_file() is None  # no variable, no trust_page.yaml in the working folder or the project
    catalogue = _catalogue(None)
    assert catalogue.trust_page is None and catalogue.trust_page_bytes is None
    assert all(control.claims == [] for control in catalogue.controls)
    with schema_connection() as con:  # the default is the configured page: here none
        assert load_catalogue(project_file("controls_map.yaml"), con).trust_page is None


def test_the_configured_trust_page_is_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _page(tmp_path, PAGE)
    monkeypatch.setenv(TRUST_PAGE_ENV, str(path))
    assert trust_page_file() == path.resolve()
    with schema_connection() as con:
        catalogue = load_catalogue(project_file("controls_map.yaml"), con)
    assert catalogue.trust_page is not None and catalogue.by_id[ROOT_MFA].claims[0].promise_id == "admin_mfa"


def test_the_trust_page_is_one_of_the_catalogues_hashed_files(tmp_path: Path) -> None:
    path = _page(tmp_path, PAGE)
    without, catalogue = _catalogue(None), _catalogue(path)
    file, digest = list(catalogue.files.items())[-1]
    assert file == path and digest == hashlib.sha256(path.read_bytes()).hexdigest()
    # named as a bundle carries it, though it lies outside the catalogue's folder
    assert catalogue.relative_name(file) == "trust_page.yaml" and catalogue.trust_page_bytes == path.read_bytes()
    assert list(catalogue.files)[:-1] == list(without.files)
    assert catalogue.catalogue_sha256() != without.catalogue_sha256()
    reworded = _changed(quote="Administrators sign in with two factors, everywhere.")
    assert _catalogue(_page(tmp_path, reworded)).catalogue_sha256() != catalogue.catalogue_sha256()


def test_each_bundle_carries_the_trust_page_it_was_judged_by(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_pipeline.evidence import daily
    from evidence_pipeline.evidence.daily import BundleInputs, write_bundle
    from evidence_pipeline.evidence.model import ControlOutcome
    from evidence_pipeline.evidence.signing import generate_key
    from evidence_pipeline.evidence.verify import verify_bundle
    from warehouse import Warehouse

    def tables_only(work: Path, evidence: object, write_tables) -> dict[str, str]:
        write_tables()  # the renderings are other tests' business: only the bundle's own files here
        return {}

    monkeypatch.setattr(daily.renderings, "write_daily", tables_only)
    catalogue = _catalogue(_page(tmp_path, PAGE))
    day = date(2026, 11, 20)
    judged = ControlOutcome(catalogue.by_id[ROOT_MFA], day, "pass", "all pass", [], {"snapshot_date": day}, [])
    inputs = BundleInputs(day, "run-1", [judged], [], catalogue)
    key = generate_key(tmp_path / "keys" / "bundle.pem")
    bundle = write_bundle(Warehouse(tmp_path / "warehouse.duckdb"), tmp_path / "evidence", inputs, signing_key=key)
    carried = (bundle / "trust_page.yaml").read_bytes()
    assert carried == (tmp_path / "trust_page.yaml").read_bytes()
    manifest = verify_bundle(bundle).manifest
    assert manifest["catalogue_files"]["trust_page.yaml"] == hashlib.sha256(carried).hexdigest()
    assert manifest["controls_map_sha256"] == catalogue.catalogue_sha256()


# -- a bad trust page: one line naming the file, the promise and the field -------------------------------------------


def test_invalid_yaml_is_one_line(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, None, "company: Acme\npromises:\n  - id: [unclosed\n")
    assert "trust page: not valid YAML" in _refusal(path, control_ids)


def test_a_page_that_is_not_a_mapping_is_refused(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, ["admin_mfa"])
    assert (
        _refusal(path, control_ids) == f"{path}: trust page: expected a mapping with 'company', 'title' and 'promises'"
    )


def test_a_missing_field_names_the_promise_and_the_field(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, _changed(quote=None))
    assert _refusal(path, control_ids) == f"{path}: promise 'admin_mfa': field 'quote': is required but missing"


def test_a_promise_without_an_id_is_named_by_its_position(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, _changed(id=None))
    assert _refusal(path, control_ids) == f"{path}: promise '#1': field 'id': is required but missing"


def test_a_missing_page_field_names_the_field(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, {k: v for k, v in PAGE.items() if k != "company"})
    assert _refusal(path, control_ids) == f"{path}: trust page: field 'company': is required but missing"


def test_an_unknown_field_is_refused(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, _changed(seed="000_106ea5bf57f7e2e2.txt"))  # `seed` is the page's, not a promise's
    assert _refusal(path, control_ids) == f"{path}: promise 'admin_mfa': field 'seed': is not a known field"


def test_an_unknown_control_id_is_refused(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, _changed(controls=[ROOT_MFA, "cc6_1_aws_rot_mfa"]))
    assert _refusal(path, control_ids) == (
        f"{path}: promise 'admin_mfa': field 'controls': no control 'cc6_1_aws_rot_mfa' in the catalogue"
    )


def test_a_duplicate_promise_id_is_refused(tmp_path: Path, control_ids: set[str]) -> None:
    document = {**PAGE, "promises": [*PAGE["promises"], {**PAGE["promises"][0], "section": "Again"}]}
    path = _page(tmp_path, document)
    assert _refusal(path, control_ids) == f"{path}: promise 'admin_mfa': field 'id': duplicate id (first is promise #1)"


def test_a_malformed_promise_id_is_refused(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, _changed(id="Admin MFA"))
    assert _refusal(path, control_ids).startswith(f"{path}: promise 'Admin MFA': field 'id': String should match")


def test_the_variable_naming_a_missing_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "trust_page.yaml"
    monkeypatch.setenv(TRUST_PAGE_ENV, str(missing))
    with pytest.raises(CatalogueError) as refused, schema_connection() as con:
        load_catalogue(project_file("controls_map.yaml"), con)
    assert str(refused.value) == f"{missing}: trust page: no such file ({TRUST_PAGE_ENV} names it)"


def test_the_cli_reports_a_bad_trust_page_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from evidence_pipeline.cli import main

    path = _page(tmp_path, _changed(controls=["no_such_control"]))
    monkeypatch.setenv(TRUST_PAGE_ENV, str(path))
    assert main(["history", "--from", "2026-11-01", "--to", "2026-11-02"]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"error: {path}: promise 'admin_mfa': field 'controls': no control 'no_such_control' in the catalogue\n"
    )


# -- coverage --------------------------------------------------------------------------------------------------------


def _coverage(controls: list[str], verdicts: dict[str, str], reasons: dict[str, str] | None = None):
    page = TrustPage(
        company="Acme Ltd",
        title="Security",
        promises=[Promise(id="p", section="S", quote="a promise in words", controls=controls)],
    )
    [covered] = coverage(page, verdicts, reasons)
    return covered


def test_every_mapped_control_passing_evidences_the_promise() -> None:
    covered = _coverage(["a", "b"], {"a": "pass", "b": "pass", "c": "fail"})
    assert (covered.state, covered.why, covered.verdicts) == (
        "evidenced",
        "2 controls pass",
        {"a": "pass", "b": "pass"},
    )
    assert _coverage(["a"], {"a": "pass"}).why == "1 control passes"


def test_a_failing_control_makes_the_promise_failing_even_beside_an_unknown_one() -> None:
    covered = _coverage(["a", "b", "c"], {"a": "unknown", "b": "fail", "c": "pass"})
    assert (covered.state, covered.why) == ("failing", "b fails")
    assert _coverage(["a", "b"], {"a": "fail", "b": "fail"}).why == "a and b fail"


def test_an_unknown_control_leaves_the_promise_not_evidenced_with_its_reason() -> None:
    covered = _coverage(["a", "b"], {"a": "pass", "b": "unknown"}, {"b": "github.members: not configured"})
    assert (covered.state, covered.why) == ("not evidenced", "b unknown: github.members: not configured")


def test_a_control_not_judged_that_day_is_unknown_never_evidence() -> None:
    covered = _coverage(["a", "b"], {"a": "pass"})
    assert (covered.state, covered.verdicts) == ("not evidenced", {"a": "pass", "b": "unknown"})


def test_a_promise_no_control_evidences_is_not_evidenced() -> None:
    covered = _coverage([], {"a": "pass"})
    assert (covered.state, covered.why, covered.verdicts) == ("not evidenced", "no control evidences it", {})


def test_a_promise_out_of_reach_says_why_it_is_not_evidenced() -> None:
    page = TrustPage(
        company="Acme Ltd",
        title="Security",
        promises=[Promise(id="p", section="S", quote="hosts refuse passwords", out_of_reach="sshd is not read")],
    )
    [covered] = coverage(page, {})
    assert (covered.state, covered.why) == ("not evidenced", "out of reach: sshd is not read")


def test_a_promise_with_controls_cannot_also_be_out_of_reach(tmp_path: Path, control_ids: set[str]) -> None:
    path = _page(tmp_path, _changed(out_of_reach="no system shows it"))
    assert _refusal(path, control_ids) == (
        f"{path}: promise 'admin_mfa': field 'out_of_reach': a promise its controls evidence is not out of reach"
    )
