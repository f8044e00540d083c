"""OSCAL assessment plan and assessment results (JSON): the bundle for GRC tools.

Both documents are built with compliance-trestle's OSCAL models, so what is written is valid by construction (a
field the model refuses fails the rendering, never a reader's import). They sit in the bundle's `oscal/` folder:

- `assessment-plan.json`: what is tested and how. Per control an activity (its written test procedure, the SOC 2
  criteria it evidences, its owner's role) and a task that runs it; the tool as the assessment platform's component;
  the organisation and the control owners as parties. OSCAL wants the system's security plan imported; there is
  none, so `import-ssp` names a back-matter resource describing the system (the organisation profile's words and
  the report that states the scope).
- `assessment-results.json`: what came out, one `result` per evidence day; `import-ap` is the plan beside it. Per
  control an observation (population, counts, links to the population and exceptions CSVs and the query, all
  back-matter resources) and per criterion a finding whose target is the criterion (`cc6.1`, the way OSCAL
  catalogs name controls) with the project's control id as a prop. Every failing resource is an inventory item of
  the day and the subject of its own observation, up to SUBJECTS_PER_CONTROL a control; how many more the
  exceptions CSV holds is said on the control's observation.

OSCAL has no "unknown": a control that could not be evaluated is *not satisfied* with reason `other` and says
why; only a passing control is satisfied. Hrefs are URI references resolved against the document, which is in
`oscal/`: a bundle file is `../<path>`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trestle.oscal import OSCAL_VERSION

from evidence_pipeline import __version__
from evidence_pipeline.evidence.model import EXCEPTIONS_IN_SUMMARY, DailyEvidence, PeriodEvidence, collected_at
from evidence_pipeline.text import counted

if TYPE_CHECKING:
    from trestle.oscal import assessment_plan as ap
    from trestle.oscal import assessment_results as ar
    from trestle.oscal import common

FOLDER = Path("oscal")
PLAN_FILE = "assessment-plan.json"
RESULTS_FILE = "assessment-results.json"
#: the bundle files written here, for the manifest's `renderings`
FILES = [(FOLDER / PLAN_FILE).as_posix(), (FOLDER / RESULTS_FILE).as_posix()]
#: failing resources named as subjects per control and day: as many as a summary holds (the report shows as many);
#: the exceptions CSV has every one
SUBJECTS_PER_CONTROL = EXCEPTIONS_IN_SUMMARY
#: properties we define ourselves are qualified by this namespace, as OSCAL requires for non-NIST names
NAMESPACE = "https://github.com/evidence-pipeline/evidence-pipeline/ns/oscal"
#: stable UUIDs (v5) from names, so the same control on the same day has the same identifier in every export
UUID_NAMESPACE = uuid.UUID("5f1d7c1e-3a8b-4c55-9a62-0b0d8f7f2a41")
TOOL_UUID = str(uuid.uuid5(UUID_NAMESPACE, "tool/evidence-pipeline"))
ORGANISATION_UUID = str(uuid.uuid5(UUID_NAMESPACE, "party/organisation"))
SYSTEM_UUID = str(uuid.uuid5(UUID_NAMESPACE, "resource/system"))
MEDIA_TYPES = {".csv": "text/csv", ".sql": "application/sql", ".html": "text/html", ".json": "application/json"}


def _import_models() -> None:
    """Bind trestle's OSCAL models, on first use: they take about 0.3 s to import, a tenth of loading the code
    location, which imports this module in every process (each step's), while only the snapshot renders OSCAL."""
    global ap, ar, common
    from trestle.oscal import assessment_plan as ap
    from trestle.oscal import assessment_results as ar
    from trestle.oscal import common


def stable_uuid(*parts: object) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, "/".join(str(p) for p in parts)))


def criterion_id(criterion: str) -> str:
    """The criterion as OSCAL catalogs name controls: lower case (NIST's `ac-2`; the AICPA's CC6.1 is `cc6.1`)."""
    return criterion.lower()


def owner_role_id(owner: str) -> str:
    return "control-owner-" + (re.sub(r"[^a-z0-9]+", "-", owner.lower()).strip("-") or "unnamed")


@dataclass(frozen=True)
class PlannedControl:
    """What the plan says of one control."""

    control_id: str
    title: str
    criteria: list[str]
    #: the catalogue's `owner:` key; empty when the evidence does not say (a period of older bundles)
    owner: str
    frequency: str
    scope: str
    description: str
    #: the written test procedure: inspected, attribute, rule; None when the catalogue has none
    procedure: dict[str, str] | None


@dataclass(frozen=True)
class EvidenceFile:
    path: str  # relative to the bundle's root
    description: str


@dataclass
class ControlResult:
    control_id: str
    title: str
    criteria: list[str]
    verdict: str
    reason: str
    counts: dict[str, int]
    sql_sha256: str
    #: the rows that did not pass, at most SUBJECTS_PER_CONTROL
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[EvidenceFile] = field(default_factory=list)


@dataclass
class DayResult:
    day: date
    controls: list[ControlResult]
    collected: datetime


@dataclass(frozen=True)
class Documents:
    plan: ap.AssessmentPlan
    results: ar.AssessmentResults


def _text(value: object) -> str:
    """One line of text (OSCAL's titles and prop values allow no line breaks), never empty."""
    return " ".join(str(value).split()) or "none"


def _prop(name: str, value: object) -> common.Property:
    return common.Property(name=name, ns=NAMESPACE, value=_text(value))


def _href(path: str) -> str:
    return f"../{path}"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# -- who: the organisation, the control owners, the tool --------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Who the organisation profile says owns a key's controls: a person's name, a role, or both."""

    name: str | None
    role: str | None


@dataclass(frozen=True)
class Who:
    """What the documents say of the organisation, from the profile (organisation.yaml) the evidence carries."""

    #: the organisation's name; None when there is no usable profile
    organisation: str | None
    #: the system description and boundaries, or why they are missing
    system: str
    #: owner key (a control's `owner:`) -> whoever the profile names for it
    owners: dict[str, Owner]
    #: why the organisation is not named
    problem: str | None


def _who(evidence: DailyEvidence | PeriodEvidence) -> Who:
    profile = evidence.profile
    organisation = profile.organisation if profile is not None else None
    if organisation is None:
        problem = profile.problem if profile is not None else "no organisation profile was given to the renderer"
        return Who(None, f"The system is not described: {problem}.", {}, problem)
    return Who(
        organisation=organisation.name,
        system=f"{organisation.system_description} Boundaries: {organisation.system_boundaries}",
        owners={key: Owner(person.name, person.role) for key, person in organisation.control_owners.items()},
        problem=None,
    )


def _metadata(title: str, version: str, controls: list[PlannedControl], who: Who) -> common.Metadata:
    """The organisation and its named control owners as parties; one role per owner key, held by the person the
    organisation profile names, else by the organisation itself (a role named without a person)."""
    parties: list[common.Parties] = []
    responsible: list[common.ResponsibleParty] = []
    if who.organisation is not None:
        parties.append(common.Parties(uuid=ORGANISATION_UUID, type="organization", name=_text(who.organisation)))
    roles = []
    for key in sorted({c.owner for c in controls if c.owner}):
        owner = who.owners.get(key)
        roles.append(
            common.Role(
                id=owner_role_id(key),
                title=_text(f"Control owner: {key}"),
                description=owner.role if owner and owner.role else None,
            )
        )
        holder = _owner_party(key, who)
        if owner is not None and owner.name and holder not in {p.uuid for p in parties}:
            parties.append(
                common.Parties(
                    uuid=holder,
                    type="person",
                    name=_text(owner.name),
                    member_of_organizations=[ORGANISATION_UUID],
                    props=[_prop("job-title", owner.role)] if owner.role else None,
                )
            )
        if holder is not None:
            responsible.append(common.ResponsibleParty(role_id=owner_role_id(key), party_uuids=[holder]))
    return common.Metadata(
        title=_text(title),
        last_modified=_now(),
        version=_text(version),
        oscal_version=OSCAL_VERSION,
        props=[_prop("tool", f"evidence-pipeline {__version__}")],
        roles=roles or None,
        parties=parties or None,
        responsible_parties=responsible or None,
        remarks=None if who.problem is None else f"The organisation is not named: {who.problem}.",
    )


def _owner_party(key: str, who: Who) -> str | None:
    """Who holds an owner's role: the person named, else the organisation (a role without a name), else nobody."""
    if who.organisation is None:
        return None
    owner = who.owners.get(key)
    if owner is not None and owner.name:
        return stable_uuid("party", "person", owner.name)
    return ORGANISATION_UUID


def _responsible_roles(control: PlannedControl, who: Who) -> list[common.ResponsibleRole] | None:
    if not control.owner:
        return None
    holder = _owner_party(control.owner, who)
    return [common.ResponsibleRole(role_id=owner_role_id(control.owner), party_uuids=[holder] if holder else None)]


def _tool() -> common.SystemComponent:
    return common.SystemComponent(
        uuid=TOOL_UUID,
        type="software",
        title=f"evidence-pipeline {__version__}",
        description="Collects each system's own records through its API, judges every control with the catalogue's "
        "SQL and writes the signed daily evidence bundle these documents are part of.",
        status=common.Status(state="operational"),
    )


# -- the plan ----------------------------------------------------------------------------------------------------------


def _reviewed_controls(criteria: Iterable[str], description: str | None = None) -> common.ReviewedControls:
    selected = sorted({criterion_id(c) for c in criteria})
    selections = (
        common.ControlSelections(include_controls=[common.SelectControlById(control_id=c) for c in selected])
        if selected
        else common.ControlSelectionsAll(include_all=common.IncludeAll())
    )
    return common.ReviewedControls(description=description, control_selections=[selections])


def _every_resource() -> common.AssessmentSubject:
    return common.AssessmentSubject(
        common.AssessmentSubjectAll(
            type="inventory-item",
            description="Every resource of the control's population, as its query selects it from the collected data",
            include_all=common.IncludeAll(),
        )
    )


def _activity_uuid(series: str, control_id: str) -> str:
    return stable_uuid(series, "activity", control_id)


def _task_uuid(series: str, control_id: str) -> str:
    return stable_uuid(series, "task", control_id)


def _activity(control: PlannedControl, series: str, who: Who) -> common.Activity:
    roles = _responsible_roles(control, who)
    procedure = control.procedure or {}
    steps = [
        common.Step(
            uuid=stable_uuid(series, "step", control.control_id, part), title=title, description=procedure[part]
        )
        for part, title in (("inspected", "Inspect"), ("attribute", "Test the attribute"), ("rule", "Apply the rule"))
        if procedure.get(part)
    ]
    return common.Activity(
        uuid=_activity_uuid(series, control.control_id),
        title=_text(f"Test of {control.control_id}: {control.title}"),
        description=control.description or control.title,
        props=[
            _prop("control-id", control.control_id),
            _prop("criteria", ", ".join(control.criteria)),
            _prop("frequency", control.frequency),
            _prop("population", control.scope),
        ],
        steps=steps or None,
        related_controls=_reviewed_controls(control.criteria),
        responsible_roles=roles,
        remarks=None if steps else "The catalogue gives this control no written test procedure.",
    )


def _task(control: PlannedControl, series: str, who: Who) -> common.Task:
    return common.Task(
        uuid=_task_uuid(series, control.control_id),
        type="action",
        title=_text(f"Run {control.control_id} ({control.frequency})"),
        associated_activities=[
            common.AssociatedActivity(
                activity_uuid=_activity_uuid(series, control.control_id), subjects=[_every_resource()]
            )
        ],
        responsible_roles=_responsible_roles(control, who),
    )


def _system_resource(who: Who) -> common.Resource:
    return common.Resource(
        uuid=SYSTEM_UUID,
        title="The system assessed (there is no OSCAL system security plan)",
        description=who.system,
        rlinks=[common.Rlink(href=_href("report.html"), media_type=MEDIA_TYPES[".html"])],
        remarks="The report's first page states the scope: systems, accounts, organisations and excluded units.",
    )


def assessment_plan(
    title: str, version: str, controls: list[PlannedControl], who: Who, remarks: str, series: str
) -> ap.AssessmentPlan:
    return ap.AssessmentPlan(
        uuid=stable_uuid(series, "assessment-plan", version),
        metadata=_metadata(title, version, controls, who),
        import_ssp=common.ImportSsp(href=f"#{SYSTEM_UUID}", remarks=remarks),
        local_definitions=ap.LocalDefinitions(activities=[_activity(c, series, who) for c in controls] or None),
        reviewed_controls=_reviewed_controls(
            (c for control in controls for c in control.criteria),
            "The SOC 2 Trust Services Criteria the catalogue's controls evidence.",
        ),
        assessment_subjects=[_every_resource().root],
        assessment_assets=common.AssessmentAssets(
            components=[_tool()],
            assessment_platforms=[
                common.AssessmentPlatform(
                    uuid=stable_uuid("platform", "evidence-pipeline"),
                    title="evidence-pipeline",
                    uses_components=[common.UsesComponent(component_uuid=TOOL_UUID)],
                )
            ],
        ),
        tasks=[_task(c, series, who) for c in controls] or None,
        back_matter=common.BackMatter(resources=[_system_resource(who)]),
    )


# -- the results -------------------------------------------------------------------------------------------------------


def _resource_uuid(series: str, day: date, resource_id: str) -> str:
    return stable_uuid(series, day, "resource", resource_id)


def _evidence_uuid(series: str, path: str) -> str:
    return stable_uuid(series, "file", path)


def _inventory_item(series: str, day: date, row: dict[str, Any]) -> common.InventoryItem:
    resource_id = str(row["resource_id"])
    name = row.get("resource_name") or resource_id
    url = row.get("resource_url")
    return common.InventoryItem(
        uuid=_resource_uuid(series, day, resource_id),
        description=_text(name if name == resource_id else f"{name} ({resource_id})"),
        props=[_prop("resource-id", resource_id)],
        links=[common.Link(href=str(url), rel="reference")] if url else None,
    )


def _exception_observation(
    series: str,
    day_result: DayResult,
    control: ControlResult,
    index: int,
    row: dict[str, Any],
    exceptions: EvidenceFile | None,
) -> common.Observation:
    resource_id = str(row["resource_id"])
    name = _text(row.get("resource_name") or resource_id)
    return common.Observation(
        # the row's position too: nothing makes a control's resource ids unique, and OSCAL's uuids must be
        uuid=stable_uuid(series, day_result.day, control.control_id, "exception", index, resource_id),
        title=_text(f"{control.control_id}: {name} {row['status']}"),
        description=str(row.get("reason") or row["status"]),
        methods=["TEST"],
        types=["finding"],
        props=[_prop("status", row["status"])] + ([_prop("failure", row["failure"])] if row.get("failure") else []),
        subjects=[
            common.SubjectReference(
                subject_uuid=_resource_uuid(series, day_result.day, resource_id), type="inventory-item", title=name
            )
        ],
        relevant_evidence=[
            common.RelevantEvidence(
                href=f"#{_evidence_uuid(series, exceptions.path)}", description=exceptions.description
            )
        ]
        if exceptions
        else None,
        collected=day_result.collected,
    )


def _control_observation(series: str, day_result: DayResult, control: ControlResult) -> common.Observation:
    counts = control.counts
    not_listed = counts["population"] - counts["pass"] - len(control.exceptions)
    return common.Observation(
        uuid=stable_uuid(series, day_result.day, control.control_id, "observation"),
        title=_text(f"{control.control_id} on {day_result.day}"),
        description=f"{control.title}. Verdict {control.verdict}: {control.reason}",
        methods=["TEST"],
        types=["control-objective"],
        props=[
            _prop("control-id", control.control_id),
            _prop("verdict", control.verdict),
            _prop("criteria", ", ".join(control.criteria)),
            _prop("population", counts["population"]),
            _prop("passed", counts["pass"]),
            _prop("failed", counts["fail"]),
            _prop("unknown", counts["unknown"]),
            _prop("waived", counts["waived"]),
            _prop("exceptions-not-listed", not_listed),
            _prop("sql-sha256", control.sql_sha256),
        ],
        origins=[
            common.Origin(
                actors=[common.OriginActor(type="tool", actor_uuid=TOOL_UUID)],
                related_tasks=[common.RelatedTask(task_uuid=_task_uuid(series, control.control_id))],
            )
        ],
        relevant_evidence=[
            common.RelevantEvidence(href=f"#{_evidence_uuid(series, e.path)}", description=e.description)
            for e in control.evidence
        ]
        or None,
        collected=day_result.collected,
        remarks=f"Not listed as subjects here: {counted(not_listed, 'further exception')}; the exceptions CSV has "
        "every one."
        if not_listed > 0
        else None,
    )


def _finding(series: str, day: date, control: ControlResult, criterion: str, observations: list[str]) -> common.Finding:
    unknown = control.verdict == "unknown"
    return common.Finding(
        uuid=stable_uuid(series, day, control.control_id, criterion, "finding"),
        title=_text(f"{criterion} {control.control_id}: {control.verdict}"),
        description=control.reason or control.verdict,
        props=[_prop("control-id", control.control_id), _prop("verdict", control.verdict)],
        target=common.FindingTarget(
            type="objective-id",
            target_id=criterion_id(criterion),
            title=_text(f"{criterion}: {control.title}"),
            # only a passing control is satisfied: fail, waived and unknown are not
            status=common.ObjectiveStatus(
                state="satisfied" if control.verdict == "pass" else "not-satisfied",
                reason={"pass": "pass", "fail": "fail"}.get(control.verdict, "other"),
                remarks=f"could not be evaluated: {control.reason}" if unknown else None,
            ),
        ),
        related_observations=[common.RelatedObservation(observation_uuid=u) for u in observations],
    )


def _result(day_result: DayResult, series: str) -> ar.Result:
    day = day_result.day
    observations: list[common.Observation] = []
    findings: list[common.Finding] = []
    resources: dict[str, common.InventoryItem] = {}
    for control in day_result.controls:
        exceptions_file = next((e for e in control.evidence if e.path.endswith("exceptions.csv")), None)
        control_observation = _control_observation(series, day_result, control)
        per_resource = [
            _exception_observation(series, day_result, control, index, row, exceptions_file)
            for index, row in enumerate(control.exceptions)
        ]
        for row in control.exceptions:
            resources.setdefault(str(row["resource_id"]), _inventory_item(series, day, row))
        observations += [control_observation, *per_resource]
        related = [control_observation.uuid, *(o.uuid for o in per_resource)]
        findings += [_finding(series, day, control, criterion, related) for criterion in control.criteria]
    return ar.Result(
        uuid=stable_uuid(series, day, "result"),
        title=f"SOC 2 evidence for {day}",
        description=f"Automated tests of {counted(len(day_result.controls), 'control')} against the systems' own data "
        f"collected for {day}.",
        start=datetime.combine(day, time.min, UTC),
        end=datetime.combine(day, time(23, 59, 59), UTC),
        local_definitions=ar.LocalDefinitions1(inventory_items=list(resources.values())) if resources else None,
        reviewed_controls=_reviewed_controls(c for control in day_result.controls for c in control.criteria),
        observations=observations or None,
        findings=findings or None,
    )


def assessment_results(
    title: str, version: str, days: list[DayResult], controls: list[PlannedControl], who: Who, series: str
) -> ar.AssessmentResults:
    files = {e.path: e for day in days for control in day.controls for e in control.evidence}
    return ar.AssessmentResults(
        uuid=stable_uuid(series, "assessment-results", version),
        metadata=_metadata(title, version, controls, who),
        import_ap=ar.ImportAp(href=PLAN_FILE, remarks="The assessment plan beside this file, in this bundle."),
        results=[_result(day, series) for day in days],
        back_matter=common.BackMatter(
            resources=[
                common.Resource(
                    uuid=_evidence_uuid(series, path),
                    title=path,
                    description=evidence.description,
                    rlinks=[common.Rlink(href=_href(path), media_type=MEDIA_TYPES.get(Path(path).suffix))],
                )
                for path, evidence in files.items()
            ]
        )
        if files
        else None,
    )


# -- a day, a period ---------------------------------------------------------------------------------------------------


def daily_documents(evidence: DailyEvidence) -> Documents:
    _import_models()
    who = _who(evidence)
    collected = collected_at(s.get("finished_at") for s in evidence.sources.values())
    planned = [
        PlannedControl(
            control_id=o.control.id,
            title=o.control.title,
            criteria=o.control.criteria,
            owner=o.control.owner,
            frequency=o.control.frequency,
            scope=o.control.scope,
            description=o.control.description,
            procedure=o.control.procedure.model_dump() if o.control.procedure else None,
        )
        for o in evidence.outcomes
    ]
    controls = [
        ControlResult(
            control_id=o.control.id,
            title=o.control.title,
            criteria=o.control.criteria,
            verdict=o.verdict,
            reason=o.reason,
            counts=o.counts,
            sql_sha256=o.control.sql_sha256,
            exceptions=o.exceptions[:SUBJECTS_PER_CONTROL],
            evidence=[
                EvidenceFile(f"controls/{o.control.id}/population.csv", "the population, one row per resource"),
                EvidenceFile(f"controls/{o.control.id}/exceptions.csv", "the rows that did not pass, with remediation"),
                EvidenceFile(f"controls/{o.control.id}/query.sql", "the query that produced the population"),
            ],
        )
        for o in evidence.outcomes
    ]
    day = evidence.snapshot_date.isoformat()
    return Documents(
        plan=assessment_plan(
            f"SOC 2 assessment plan: automated tests of {counted(len(planned), 'control')}",
            day,
            planned,
            who,
            f"The catalogue (SHA-256 {evidence.controls_map_sha256}) is in this bundle's manifest.",
            series="daily",
        ),
        results=assessment_results(
            f"SOC 2 evidence snapshot {day}",
            day,
            [DayResult(evidence.snapshot_date, controls, collected)],
            planned,
            who,
            series="daily",
        ),
    )


def period_documents(period: PeriodEvidence) -> Documents:
    """One OSCAL result per day that has a snapshot; days without one are named in the plan's remarks."""
    _import_models()
    who = _who(period)
    planned = [
        PlannedControl(
            control_id=c.id,
            title=c.title,
            criteria=c.criteria,
            owner=c.owner,
            frequency=c.frequency,
            scope=c.scope,
            description=c.title,
            procedure=c.procedure,
        )
        for c in period.controls
    ]
    #: control id -> day -> the rows that did not pass that day
    failing: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for control in period.controls:
        for row in period.population.get(control.id, []):
            if row["status"] != "pass":
                failing.setdefault(control.id, {}).setdefault(row["snapshot_date"], []).append(row)
    days = []
    for snapshot in period.snapshots:
        day = date.fromisoformat(snapshot["date"])
        controls = []
        for control in period.controls:
            entry = next(d for d in period.daily[control.id] if d["date"] == snapshot["date"])
            if entry["verdict"] == "missing":
                continue
            exceptions = failing.get(control.id, {}).get(snapshot["date"], [])
            controls.append(
                ControlResult(
                    control_id=control.id,
                    title=control.title,
                    criteria=control.criteria,
                    verdict=entry["verdict"],
                    reason=entry["reason"] or entry["verdict"],
                    counts={k: entry[k] for k in ("population", "pass", "fail", "unknown", "waived")},
                    sql_sha256=entry["sql_sha256"] or "unknown",
                    exceptions=exceptions[:SUBJECTS_PER_CONTROL],
                    evidence=[
                        EvidenceFile(
                            f"controls/{control.id}/population.csv",
                            "the period's population, one row per day and resource",
                        ),
                        EvidenceFile(
                            f"controls/{control.id}/exceptions.csv", "exceptions with the day first seen and resolved"
                        ),
                    ],
                )
            )
        days.append(DayResult(day, controls, datetime.combine(day, time(23, 59, 59), UTC)))
    missing = ", ".join(d.isoformat() for d in period.missing_days) or "none"
    version = f"{period.start}--{period.end}"
    return Documents(
        plan=assessment_plan(
            f"SOC 2 assessment plan: {period.start} to {period.end}",
            version,
            planned,
            who,
            f"The catalogues (SHA-256 {', '.join(period.controls_map_sha256)}) are in the daily bundles' manifests. "
            f"Days without an evidence snapshot: {missing}.",
            series="period",
        ),
        results=assessment_results(
            f"SOC 2 evidence {period.start} to {period.end}", version, days, planned, who, series="period"
        ),
    )


def write(work: Path, documents: Documents) -> None:
    """The plan and the results into the bundle's oscal/ folder, as trestle serialises them (each wrapped in its
    model's name, `assessment-plan` / `assessment-results`, as OSCAL's JSON format has it)."""
    (work / FOLDER).mkdir()
    documents.plan.oscal_write(work / FOLDER / PLAN_FILE)
    documents.results.oscal_write(work / FOLDER / RESULTS_FILE)
