"""The OSCAL assessment plan and results: they load with compliance-trestle's models, every href in them resolves
inside the bundle, each failing resource is a subject, findings target the SOC 2 criteria, and the organisation
and the control owners are parties and roles."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

from trestle.oscal.assessment_plan import AssessmentPlan
from trestle.oscal.assessment_results import AssessmentResults

from evidence_pipeline.catalogue import Control, load_catalogue
from evidence_pipeline.evidence.model import DailyEvidence
from evidence_pipeline.evidence.render import oscal
from evidence_pipeline.evidence.signing import generate_key
from evidence_pipeline.organisation import Organisation, Person, Profile, Signatory
from evidence_pipeline.settings import project_file
from tests.conftest import PipelineDay, bundles_of
from tests.evidence.conftest import outcome, row, write_day
from warehouse import Warehouse

DAY = date(2026, 1, 5)


def _profile(owner: str) -> Profile:
    organisation = Organisation(
        name="Example Corp Ltd",
        system_description="The Example Corp platform: its web service, its API and the staff who run them",
        system_boundaries="Production AWS accounts and the GitHub organisation",
        control_owners={owner: Person(name="Dana Whitfield", role="VP Engineering")},
        sign_off=[Signatory(role="Chief Executive Officer")],
    )
    return Profile(organisation, "organisation.yaml")


def _read(bundle: Path) -> tuple[AssessmentPlan, AssessmentResults]:
    plan = AssessmentPlan.oscal_read(bundle / "oscal" / "assessment-plan.json")
    results = AssessmentResults.oscal_read(bundle / "oscal" / "assessment-results.json")
    assert plan is not None and results is not None
    return plan, results


def _hrefs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [h for k, v in value.items() for h in ([v] if k == "href" else _hrefs(v))]
    if isinstance(value, list):
        return [h for v in value for h in _hrefs(v)]
    return []


def _assert_hrefs_resolve(bundle: Path, document_file: Path) -> list[str]:
    """Every href of the document resolves: `#uuid` to one of its back-matter resources, a relative href (against
    the document, as URI references are) to a file inside the bundle; web links (a resource's console) are left."""
    document = json.loads(document_file.read_text())
    resources = {r["uuid"] for r in next(iter(document.values())).get("back-matter", {}).get("resources", [])}
    local = [h for h in _hrefs(document) if not h.startswith(("https://", "http://"))]
    for href in local:
        if href.startswith("#"):
            assert href[1:] in resources, f"{document_file.name}: {href} names no back-matter resource"
        else:
            target = (document_file.parent / href).resolve()
            assert target.is_file() and target.is_relative_to(bundle.resolve()), f"{document_file.name}: {href}"
    return local


def _evidence(control: Control, rows: list[dict[str, Any]], profile: Profile | None = None) -> DailyEvidence:
    return DailyEvidence(DAY, "run", [outcome(control, DAY, rows)], {}, {}, profile=profile or _profile(control.owner))


def test_a_bundle_ships_its_plan_and_every_href_resolves(catalogue_control: Control, tmp_path: Path) -> None:
    rows = [row("repo-a", "fail"), row("repo-b", "pass"), row("repo-c", "unknown")]
    key = generate_key(tmp_path / "key.pem")
    bundle = write_day(
        Warehouse(tmp_path / "warehouse.duckdb"), tmp_path / "evidence", catalogue_control, DAY, rows, key
    )
    plan, results = _read(bundle)
    # import-ap names the plan beside the results, and the plan is the one shipped
    assert (bundle / "oscal" / results.import_ap.href).resolve() == (bundle / "oscal" / "assessment-plan.json")
    # the plan's system (there is no OSCAL SSP) is a back-matter resource whose rlink is in the bundle
    assert plan.import_ssp.href.startswith("#")
    plan_hrefs = _assert_hrefs_resolve(bundle, bundle / "oscal" / "assessment-plan.json")
    result_hrefs = _assert_hrefs_resolve(bundle, bundle / "oscal" / "assessment-results.json")
    assert plan.import_ssp.href in plan_hrefs and "assessment-plan.json" in result_hrefs
    # the population CSV is a back-matter resource, and each observation's evidence points at such resources
    rlinks = {link.href for r in results.back_matter.resources for link in r.rlinks}
    assert f"../controls/{catalogue_control.id}/population.csv" in rlinks
    assert all(e.href.startswith("#") for o in results.results[0].observations for e in o.relevant_evidence)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert {"oscal/assessment-plan.json", "oscal/assessment-results.json"} <= {f["path"] for f in manifest["files"]}


def test_every_failing_resource_is_the_subject_of_its_own_observation(catalogue_control: Control) -> None:
    rows = [row("repo-a", "fail"), row("repo-b", "pass"), row("repo-c", "unknown"), row("repo-d", "waived")]
    (result,) = oscal.daily_documents(_evidence(catalogue_control, rows)).results.results
    items = {i.props[0].value: i.uuid for i in result.local_definitions.inventory_items}
    assert set(items) == {"repo-a", "repo-c", "repo-d"}  # the passing repository is no exception
    subject_of = {o.subjects[0].subject_uuid: o for o in result.observations if o.subjects}
    assert set(subject_of) == set(items.values())
    assert subject_of[items["repo-c"]].description == "repo-c unknown"
    # the control's finding rests on its own observation and on every exception's
    (finding,) = result.findings
    assert {o.uuid for o in subject_of.values()} < {r.observation_uuid for r in finding.related_observations}


def test_a_huge_population_names_a_capped_number_of_subjects_and_says_how_many_more(
    catalogue_control: Control,
) -> None:
    left_out = 150
    rows = [row(f"repo-{n:04d}", "fail") for n in range(oscal.SUBJECTS_PER_CONTROL + left_out)]
    (result,) = oscal.daily_documents(_evidence(catalogue_control, rows)).results.results
    assert len(result.local_definitions.inventory_items) == oscal.SUBJECTS_PER_CONTROL
    assert sum(1 for o in result.observations if o.subjects) == oscal.SUBJECTS_PER_CONTROL
    (control_observation,) = [o for o in result.observations if not o.subjects]
    props = {p.name: p.value for p in control_observation.props}
    assert props["exceptions-not-listed"] == str(left_out) and props["failed"] == str(len(rows))
    assert f"{left_out} further exceptions" in control_observation.remarks


def test_findings_target_the_criteria_and_keep_the_control_id_as_a_prop() -> None:
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    control = next(c for c in catalogue.controls if len(c.criteria) >= 2)
    documents = oscal.daily_documents(_evidence(control, [row("thing-a", "fail")]))
    (result,) = documents.results.results
    expected = {c.lower() for c in control.criteria}  # CC6.1 is cc6.1, as OSCAL catalogs name controls
    assert {f.target.target_id for f in result.findings} == expected
    assert all({p.name: p.value for p in f.props}["control-id"] == control.id for f in result.findings)
    for reviewed in (result.reviewed_controls, documents.plan.reviewed_controls):
        selected = {c.control_id for s in reviewed.control_selections for c in s.include_controls}
        assert selected == expected


def test_the_organisation_and_the_control_owners_are_parties_and_roles(catalogue_control: Control) -> None:
    documents = oscal.daily_documents(_evidence(catalogue_control, [row("repo-a", "fail")]))
    role = oscal.owner_role_id(catalogue_control.owner)
    for metadata in (documents.plan.metadata, documents.results.metadata):
        parties = {p.name: p for p in metadata.parties}
        assert parties["Example Corp Ltd"].type == "organization"
        owner = parties["Dana Whitfield"]
        assert owner.type == "person" and owner.member_of_organizations == [parties["Example Corp Ltd"].uuid]
        assert [r.id for r in metadata.roles] == [role] and catalogue_control.owner in metadata.roles[0].title
        assert [(p.role_id, p.party_uuids) for p in metadata.responsible_parties] == [(role, [owner.uuid])]
    # the plan's test of the control and its task are the owner's
    (activity,) = documents.plan.local_definitions.activities
    (task,) = documents.plan.tasks
    for responsible in (activity.responsible_roles, task.responsible_roles):
        assert [(r.role_id, r.party_uuids) for r in responsible] == [(role, [parties["Dana Whitfield"].uuid])]
    # the tool is the assessment platform's component, and the actor of every control observation
    (tool,) = documents.plan.assessment_assets.components
    (result,) = documents.results.results
    assert all(o.origins[0].actors[0].actor_uuid == tool.uuid for o in result.observations if not o.subjects)


def test_without_an_organisation_profile_the_roles_stay_and_the_documents_say_why(catalogue_control: Control) -> None:
    profile = Profile(None, None, "no organisation profile: create organisation.yaml")
    documents = oscal.daily_documents(_evidence(catalogue_control, [row("repo-a", "fail")], profile))
    metadata = documents.plan.metadata
    assert metadata.parties is None and "no organisation profile" in metadata.remarks
    assert [r.id for r in metadata.roles] == [oscal.owner_role_id(catalogue_control.owner)]


def test_oscal_never_calls_an_unknown_or_waived_control_satisfied(catalogue_control: Control) -> None:
    unknown = outcome(catalogue_control, DAY, [])
    unknown.verdict, unknown.reason = "unknown", "cannot evaluate: github.repositories failed"
    waived = outcome(catalogue_control, DAY, [row("repo-a", "waived")])
    waived.verdict = "waived"
    for control_outcome in (unknown, waived):
        evidence = DailyEvidence(DAY, "run", [control_outcome], {}, {}, profile=_profile(catalogue_control.owner))
        (finding,) = oscal.daily_documents(evidence).results.results[0].findings
        assert finding.target.status.state.value == "not-satisfied"
        assert finding.target.status.reason == "other"
    (finding,) = oscal.daily_documents(DailyEvidence(DAY, "run", [unknown], {}, {})).results.results[0].findings
    assert "github.repositories failed" in finding.target.status.remarks


def test_the_sandbox_day_s_oscal_names_each_exception_and_matches_the_verdicts(pipeline_day: PipelineDay) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    _, results = _read(bundle)
    for document in ("assessment-plan.json", "assessment-results.json"):
        _assert_hrefs_resolve(bundle, bundle / "oscal" / document)
    (result,) = results.results
    items = {i.uuid: i.props[0].value for i in result.local_definitions.inventory_items}
    findings: dict[tuple[str, str], Any] = {
        ({p.name: p.value for p in f.props}["control-id"], f.target.target_id): f for f in result.findings
    }
    observations = {o.uuid: o for o in result.observations}
    failing_controls = 0
    for result_file in sorted((bundle / "controls").glob("*/result.json")):
        control = json.loads(result_file.read_text())
        with (result_file.parent / "exceptions.csv").open(newline="") as handle:
            exceptions = [r["resource_id"] for r in csv.DictReader(handle)]
        failing_controls += bool(exceptions)
        for criterion in control["criteria"]:
            finding = findings[(control["control_id"], criterion.lower())]
            state = finding.target.status.state.value
            assert state == ("satisfied" if control["verdict"] == "pass" else "not-satisfied")
            subjects = {
                items[s.subject_uuid]
                for r in finding.related_observations
                for s in observations[r.observation_uuid].subjects or []
            }
            # every exception a subject, up to the cap; the rest are counted on the control's observation
            assert subjects <= set(exceptions)
            assert len(subjects) == min(len(set(exceptions)), oscal.SUBJECTS_PER_CONTROL)
    assert failing_controls >= 1  # the sandbox plants failures: the subjects above are not vacuous
