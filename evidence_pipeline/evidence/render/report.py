"""report.html (and its PDF via headless Chromium): the bundle for people.

The report is a view of the CSV/JSON evidence beside it, never a source of its own: every number in it is in
result.json / population.csv / provenance.json too. Self-contained (inline CSS, no scripts, no remote assets),
so it renders the same offline, in a browser and in print.

Page 1 is what an auditor signs off: the totals, the audit period, the scope read from the collections' own
parameters, the organisation's system description (organisation.yaml), the trust page's coverage, the control owners
and the sign-off block. The controls follow grouped by SOC 2 criterion, each with its written test procedure.
Every time is UTC to the second.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, TypeVar

from evidence_pipeline import __version__
from evidence_pipeline.evidence.model import (
    EXCEPTIONS_IN_SUMMARY,
    ControlOutcome,
    DailyEvidence,
    PeriodEvidence,
    Profile,
    PromiseCoverage,
    TrustPage,
)
from evidence_pipeline.text import escape_bidi

#: rows of a control's exceptions shown in the report (all a summary holds); the CSV always has all of them
MAX_EXCEPTION_ROWS = EXCEPTIONS_IN_SUMMARY
CHROMIUM_ENV = "EVIDENCE_CHROMIUM"
Item = TypeVar("Item")
VERDICT_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "unknown": "#6d6d6d", "waived": "#ef6c00"}
COVERAGE_COLOURS = {"evidenced": "#2e7d32", "failing": "#c62828", "not evidenced": "#6d6d6d"}
#: the Trust Services Criteria's own order of the categories: common criteria, then availability, confidentiality,
#: processing integrity, privacy
CRITERIA_CATEGORIES = ("CC", "A", "C", "PI", "P")
CRITERION = re.compile(r"([A-Z]+)(\d+)\.(\d+)")
#: an ISO 8601 timestamp anywhere in a text (the sources' own, the warehouse's, a reason's): shown in UTC to the second
TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
#: a date, or a time as `utc_second` prints it: kept on one line
DATE_OR_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2} UTC)?\b")
#: each source's name as people call it
SYSTEM_NAMES = {
    "github": "GitHub",
    "aws": "AWS",
    "google_workspace": "Google Workspace",
    "entra": "Microsoft Entra ID",
    "training": "Security-awareness training",
    "hr": "HR roster",
    "identity": "Identity map",
}
#: collection parameters (provenance.json `parameters`, at any depth) that say what was read: the report's scope
SCOPE_PARAMETERS = {
    "org": "organisations",
    "account_id": "accounts read",
    "region": "regions",
    "identity_store_id": "IAM Identity Center stores",
    "tenant_id": "tenants",
    "customer": "customers",
    "excluded_org_units": "excluded units (collected, out of scope of staff controls; admins are still judged)",
    "provider": "provider",
    "course_pattern": "courses matched",
    "file": "file",
}

CSS = """
@page { size: A4 landscape; margin: 8mm; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10px; color: #111; margin: 0; hyphens: none; }
h1 { font-size: 17px; margin: 0; } h2 { font-size: 14px; margin: 14px 0 4px 0; border-bottom: 1px solid #999; }
h3 { font-size: 12px; margin: 12px 0 4px 0; }
.cover { font-size: 8px; line-height: 1.2; } .cover .small { font-size: 7px; }
.cover h2 { font-size: 11px; margin: 5px 0 2px 0; } .cover p { margin: 2px 0; } .cover ul { margin: 2px 0; }
.cover td, .cover th { padding: 1px 3px; }
table.layout { margin: 0; } table.layout > tbody > tr > td { border: none; padding: 0 5px 0 0; }
.promise-id { font-weight: bold; }
.subtitle { font-size: 11px; margin: 0 0 3px 0; color: #333; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px 0; table-layout: fixed; }
/* words wrap only between words: never "Verdic t"; long ids, URLs and hashes (.token) may break anywhere */
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top;
         overflow-wrap: normal; word-break: normal; hyphens: none; }
th { background: #e8eaf0; }
.token { overflow-wrap: anywhere; word-break: break-all; }
.nowrap { white-space: nowrap; }
.verdict { color: #fff; font-weight: bold; padding: 1px 5px; border-radius: 3px; white-space: nowrap; }
.meta td:first-child { width: 22%; font-weight: bold; }
.cover .totals td { font-size: 11px; text-align: center; } .totals .n { font-size: 15px; font-weight: bold; }
.group td { background: #f1f3f7; font-weight: bold; }
.signoff td { height: 20px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 8.5px; background: #f4f4f4; padding: 6px;
      border: 1px solid #ddd; }
.claim { font-style: italic; } .small { font-size: 8.5px; color: #444; }
.control, .after-cover { break-before: page; page-break-before: always; }
.missing { color: #c62828; font-weight: bold; }
"""


def badge(verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#444")
    return (
        f'<span class="verdict verdict-{escape(verdict)}" style="background:{colour}">{escape(verdict.upper())}</span>'
    )


def _coverage_badge(state: str) -> str:
    colour = COVERAGE_COLOURS.get(state, "#444")
    return f'<span class="verdict coverage-{escape(state.replace(" ", "-"))}" style="background:{colour}">{escape(state)}</span>'  # noqa: E501


def _table(
    headers: list[str] | None, rows: Sequence[list[str] | str], css_class: str = "", widths: Sequence[int] | None = None
) -> str:
    """A fixed-layout table: `widths` (percent per column) decide the columns, never the longest word's length. A
    row is its cells, or a whole `<tr>` (`_group_row`)."""
    columns = "<colgroup>" + "".join(f'<col style="width:{w}%">' for w in widths) + "</colgroup>" if widths else ""
    head = "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>" if headers else ""
    body = "".join(
        row if isinstance(row, str) else "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<table class="{css_class}">{columns}{head}<tbody>{body}</tbody></table>'


def _group_row(label: str, columns: int) -> str:
    """A row spanning every column: a criterion's heading among the controls."""
    return f'<tr class="group"><td colspan="{columns}">{label}</td></tr>'


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def utc_second(value: datetime | str) -> str:
    """A time as the report prints it: UTC, to the second ("2026-12-01 10:48:37 UTC"). A time without an offset is
    the warehouse's, which stores UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _utc_text(text: str) -> str:
    def shown(match: re.Match[str]) -> str:
        try:
            printed = utc_second(match.group(0))
        except ValueError:
            return match.group(0)
        # "… 10:48:37 UTC" already says UTC: do not say it twice
        return printed.removesuffix(" UTC") if match.string[match.end() :].lstrip().startswith("UTC") else printed

    return TIMESTAMP.sub(shown, text)


def _e(value: Any) -> str:
    """Text of the evidence, escaped, its timestamps in UTC to the second; a date or time never wraps at its hyphens."""
    text = escape(escape_bidi(_utc_text("" if value is None else str(value))))
    return DATE_OR_TIME.sub(r'<span class="nowrap">\g<0></span>', text)


def _token(value: Any) -> str:
    """An id, URL or hash: the one kind of text that may break anywhere to fit its column."""
    return f'<span class="token">{_e(value)}</span>'


def freshness(source: dict[str, Any]) -> str:
    """How current a source's data is: when we collected it and the source's own timestamp, when it has one."""
    if source.get("status") != "succeeded":
        return f"{source.get('status', 'not_collected')}"
    parts = [f"collected {source.get('finished_at') or '?'}"]
    if source.get("source_timestamp"):
        parts.append(f"source as of {source['source_timestamp']}")
    return "; ".join(parts)


# -- ordering by criterion -----------------------------------------------------------------------------------------


def criterion_key(criterion: str) -> tuple[int, int, int, str]:
    """CC1.1 < CC1.4 < CC6.1 < CC6.10 < CC8.1 < A1.2 < C1.1 < PI1.1 < P1.1 (the Trust Services Criteria's order)."""
    match = CRITERION.fullmatch(criterion)
    if not match or match.group(1) not in CRITERIA_CATEGORIES:
        return (len(CRITERIA_CATEGORIES), 0, 0, criterion)
    return (CRITERIA_CATEGORIES.index(match.group(1)), int(match.group(2)), int(match.group(3)), criterion)


def by_criterion(items: Iterable[Item], criteria_of: Callable[[Item], list[str]]) -> list[tuple[str, list[Item]]]:
    """Items grouped under their first (primary) criterion, the groups in criterion order, the items in the order
    given within a group."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(criteria_of(item)[0], []).append(item)
    return sorted(groups.items(), key=lambda group: criterion_key(group[0]))


# -- page 1 --------------------------------------------------------------------------------------------------------


def scope_of(parameters: Mapping[str, list[dict[str, Any]]], statuses: Mapping[str, str]) -> list[list[str]]:
    """The scope table's rows, one per system: its datasets collected, and what was read (accounts, organisations,
    tenants, excluded units ...), from the collections' own recorded parameters, never from configuration."""
    systems = sorted({name.split(".", 1)[0] for name in [*statuses, *parameters]})
    rows = []
    for system in systems:
        datasets = sorted(name for name in statuses if name.split(".", 1)[0] == system)
        collected = [name for name in datasets if statuses[name] == "succeeded"]
        not_collected = [f"{name.split('.', 1)[1]} ({statuses[name]})" for name in datasets if name not in collected]
        read: dict[str, set[str]] = {}
        for name, collections in parameters.items():
            if name.split(".", 1)[0] == system:
                for collection in collections:
                    _scope_values(collection, read)
        described = "; ".join(f"{SCOPE_PARAMETERS[key]}: {', '.join(sorted(read[key]))}" for key in read) or "—"
        rows.append(
            [
                _e(SYSTEM_NAMES.get(system, system)),
                _e(f"{len(collected)} of {len(datasets)}")
                + (
                    f'<br><span class="missing">not collected: {_e(", ".join(not_collected))}</span>'
                    if not_collected
                    else ""
                ),
                _e(described),
            ]
        )
    return rows


def _scope_values(parameters: Any, read: dict[str, set[str]]) -> None:
    if isinstance(parameters, dict):
        for key, value in parameters.items():
            if key in SCOPE_PARAMETERS and isinstance(value, (str, int, list)) and value not in ("", []):
                values = value if isinstance(value, list) else [value]
                # a file is named, not located: its folder says nothing about scope
                read.setdefault(key, set()).update(Path(str(v)).name if key == "file" else str(v) for v in values)
            elif isinstance(value, (dict, list)):
                _scope_values(value, read)
    elif isinstance(parameters, list):
        for item in parameters:
            _scope_values(item, read)


def _totals(verdicts: Mapping[str, str], waived: set[str]) -> str:
    counted = {v: sum(1 for x in verdicts.values() if x == v) for v in ("pass", "fail", "unknown")}
    cells = [f'<span class="n">{counted[v]}</span> {v}' for v in counted]
    cells.append(f'<span class="n">{len(waived)}</span> waived')
    cells.append(f'<span class="n">{len(verdicts)}</span> controls')
    note = (
        '<p class="small">waived: controls with accepted exceptions (waivers.yaml) among their rows; a waived row is '
        "never a pass, and the control's verdict is that of its other rows</p>"
    )
    return _table(None, [cells], "totals") + note


def _organisation_block(profile: Profile | None) -> str:
    if profile is None or profile.organisation is None:
        problem = profile.problem if profile is not None else "no organisation profile was given to the report"
        return (
            f'<p class="missing">System description, control owners and sign-off roles are missing: {_e(problem)}</p>'
        )
    organisation = profile.organisation
    notes = "".join(f"<li>{_e(note)}</li>" for note in organisation.scope_notes)
    return (
        f"<p><b>The system.</b> {_e(organisation.system_description)}</p>"
        f"<p><b>Its boundaries.</b> {_e(organisation.system_boundaries)}</p>"
        + (f"<p><b>Scope notes.</b></p><ul>{notes}</ul>" if notes else "")
        + f'<p class="small">From {_e(profile.file)}: the organisation\'s own statement, not collected evidence.</p>'
    )


def _coverage_table(page: TrustPage | None, covered: list[PromiseCoverage]) -> str:
    if page is None:
        return (
            '<p class="missing">No trust page configured (trust_page.yaml or EVIDENCE_TRUST_PAGE): no promise is '
            "mapped to the controls.</p>"
        )
    rows = []
    for promise_coverage in covered:
        promise = promise_coverage.promise
        controls = "<br>".join(
            f"{_token(control)} <span class='nowrap'>{_e(verdict)}</span>"
            for control, verdict in promise_coverage.verdicts.items()
        )
        rows.append(
            [
                f'<span class="token promise-id">{_e(promise.id)}</span> <span class="small">({_e(promise.section)})'
                f'</span><br><span class="claim">“{_e(promise.quote)}”</span>',
                _coverage_badge(promise_coverage.state),
                controls or "—",
            ]
        )
    states = [c.state for c in covered]
    counted = ", ".join(f"{states.count(s)} {s}" for s in ("evidenced", "failing", "not evidenced"))
    return f"<p>{_e(page.name)}: {len(states)} promises — {_e(counted)}.</p>" + _table(
        ["Promise", "Coverage", "Controls (verdict)"], rows, "coverage", (54, 14, 32)
    )


def _owner(key: str, profile: Profile | None) -> str:
    """An owner key and who it is, as organisation.yaml names them ("it: Dana Whitfield, IT Manager")."""
    person = profile.organisation.owner_of(key) if profile and profile.organisation else None
    return _e(f"{key}: {person}") if person else f'{_e(key)} <span class="missing">(owner not named)</span>'


def _owners_table(owners: Mapping[str, list[str]], profile: Profile | None) -> str:
    """Each owner key of the controls and who it is (each control's owner key is in the controls' tables)."""
    organisation = profile.organisation if profile else None
    rows = []
    for key, control_ids in sorted(owners.items()):
        person = organisation.owner_of(key) if organisation else None
        named = (
            _e(str(person))
            if person
            else f'<span class="missing">not named (control_owners.{_e(key)} in organisation.yaml)</span>'
        )
        rows.append([_e(key), named, _e(len(control_ids))])
    return _table(["Owner key", "Owner", "Controls"], rows, "owners", (24, 60, 16))


def _signoff(profile: Profile | None) -> str:
    organisation = profile.organisation if profile else None
    headers, widths = ["Name", "Role", "Signature", "Date"], (27, 27, 28, 18)
    if organisation is None:
        return '<p class="missing">No sign-off roles configured (sign_off in organisation.yaml).</p>' + _table(
            headers, [["", "", "", ""]], "signoff", widths
        )
    rows = [[_e(s.name or ""), _e(s.role), "", ""] for s in organisation.sign_off]
    return f"<p>Reviewed and signed off for {_e(organisation.name)}:</p>" + _table(headers, rows, "signoff", widths)


def _cover(
    title: str,
    subtitle: str,
    audit_period: str,
    verdicts: Mapping[str, str],
    waived: set[str],
    scope: list[list[str]],
    profile: Profile | None,
    page: TrustPage | None,
    covered: list[PromiseCoverage],
    owners: Mapping[str, list[str]],
) -> str:
    """Page 1: the totals across the page, then two columns: the period, scope, system, owners and sign-off on the
    left, the trust page's coverage on the right (so that every promise is on page 1 too)."""
    left = (
        f"{_table(None, [['Audit period', _e(audit_period)]], 'meta')}"
        f"<h2>Scope</h2>{_table(['System', 'Datasets', 'What was read'], scope, 'scope', (23, 14, 63))}"
        f"<h2>System description</h2>{_organisation_block(profile)}"
        f"<h2>Control owners</h2>{_owners_table(owners, profile)}"
        f"<h2>Sign-off</h2>{_signoff(profile)}"
    )
    right = f"<h2>Trust page coverage</h2>{_coverage_table(page, covered)}"
    return (
        f'<section class="cover"><h1>{_e(title)}</h1><p class="subtitle">{subtitle}</p>'
        f"{_totals(verdicts, waived)}"
        f'<table class="layout"><colgroup><col style="width:43%"><col style="width:57%"></colgroup>'
        f'<tr><td class="left">{left}</td><td class="right">{right}</td></tr></table></section>'
    )


def _organisation_name(profile: Profile | None) -> str:
    if profile is not None and profile.organisation is not None:
        return _e(profile.organisation.name)
    return '<span class="missing">organisation not named (no organisation profile)</span>'


def _procedure(procedure: Mapping[str, str] | None, population: str) -> str:
    if not procedure:
        return '<p class="missing">No written test procedure in the catalogue for this control.</p>'
    return _table(
        ["What was inspected", "The population", "The attribute tested", "The rule"],
        [[_e(procedure["inspected"]), _e(population), _e(procedure["attribute"]), _e(procedure["rule"])]],
        "procedure",
        (27, 18, 22, 33),
    )


# -- the daily report ----------------------------------------------------------------------------------------------


def render_daily(evidence: DailyEvidence) -> str:
    day = evidence.snapshot_date.isoformat()
    owners: dict[str, list[str]] = {}
    for o in evidence.outcomes:
        owners.setdefault(o.control.owner, []).append(o.control.id)
    cover = _cover(
        f"SOC 2 evidence — {day}",
        _organisation_name(evidence.profile),
        f"{day} (one day: the systems as collected on that day, UTC)",
        evidence.verdicts(),
        {o.control.id for o in evidence.outcomes if o.counts["waived"]},
        scope_of(evidence.collection_parameters, {n: s.get("status", "") for n, s in evidence.sources.items()}),
        evidence.profile,
        evidence.trust_page,
        evidence.promise_coverage(),
        owners,
    )
    meta = [
        ["Snapshot date", _e(day)],
        ["Run", _token(evidence.run_id)],
        ["Generated", _e(utc_second(datetime.now(UTC)))],
        ["Tool", _e(f"evidence-pipeline {__version__}")],
        ["Control catalogue SHA-256 (controls_map.yaml and its files)", _token(evidence.controls_map_sha256)],
        [
            "Waivers",
            _e(
                f"{len(evidence.waivers)} (file SHA-256 {evidence.waivers_sha256})"
                if evidence.waivers_sha256
                else "no waivers file"
            ),
        ],
        ["Signed by", _token(evidence.signing_key_id or "unsigned")],
    ]
    grouped = by_criterion(evidence.outcomes, lambda o: o.control.criteria)
    summary: list[list[str] | str] = []
    for criterion, members in grouped:
        summary.append(_group_row(_e(criterion), 8))
        for outcome in members:
            control, counts = outcome.control, outcome.counts
            claims = "<br>".join(f'<span class="claim">“{_e(c.quote)}”</span>' for c in control.claims) or "—"
            sources = "<br>".join(
                f"{_token(name)}: {_e(freshness(evidence.sources.get(name, {})))}" for name in control.datasets
            )
            summary.append(
                [
                    f'<a href="#{_e(control.id)}">{_token(control.id)}</a><br>'
                    f'<span class="small">{_e(control.title)}</span>',
                    _e(", ".join(control.criteria)),
                    claims,
                    f'{badge(outcome.verdict)}<br><span class="small">{_e(outcome.reason)}</span>',
                    _e(counts["population"]),
                    _e(counts["fail"] + counts["unknown"]),
                    _e(counts["waived"]),
                    sources,
                ]
            )
    body = [
        cover,
        '<section class="after-cover"><h2>About this evidence</h2>',
        _table(None, meta, "meta"),
        "<h2>Controls by criterion</h2>",
        _table(
            ["Control", "Criteria", "Claim", "Verdict", "Population", "Exceptions", "Waived", "Sources (freshness)"],
            summary,
            "summary",
            (18, 7, 21, 15, 8, 8, 6, 17),
        ),
        "<h2>Sources</h2>",
        _sources_table(evidence.sources),
        "</section>",
    ]
    for _criterion, members in grouped:
        for outcome in members:
            body.append(
                _control_section(outcome, evidence.reconciliation.get(outcome.control.id, []), evidence.profile)
            )
    return _page(f"SOC 2 evidence {day}", "\n".join(body))


def _sources_table(sources: dict[str, dict[str, Any]]) -> str:
    rows = [
        [
            _token(name),
            _e(s.get("status")),
            _token(", ".join(s.get("endpoints") or [])),
            _e(s.get("request_count")),
            _e(s.get("retry_count")),
            _e(s.get("record_count")),
            _e(s.get("started_at")),
            _e(s.get("finished_at")),
            _e(s.get("source_timestamp")),
            f'<span class="small token">{_e(s.get("payload_sha256"))}</span>',
        ]
        for name, s in sorted(sources.items())
    ]
    return _table(
        [
            "Dataset",
            "Status",
            "Endpoints",
            "Requests",
            "Retries",
            "Records",
            "Started",
            "Finished",
            "Source timestamp",
            "Payload SHA-256",
        ],
        rows,
        "sources",
        (13, 9, 19, 7, 6, 7, 9, 9, 9, 12),
    )


def _control_section(outcome: ControlOutcome, reconciliation: list[dict[str, Any]], profile: Profile | None) -> str:
    control, counts = outcome.control, outcome.counts
    claims = "".join(
        f'<p class="claim">“{_e(c.quote)}” <span class="small">({_e(c.page)}, {_e(c.section)})</span></p>'
        for c in control.claims
    )
    params = ", ".join(f"{k} = {v}" for k, v in sorted(outcome.parameters.items())) or "none"
    population = (
        f"{counts['population']} {control.scope}: {counts['pass']} pass, {counts['fail']} "
        f"fail, {counts['unknown']} unknown, {counts['waived']} waived"
    )
    meta = [
        ["Verdict", f"{badge(outcome.verdict)} {_e(outcome.reason)}"],
        ["Criteria", _e(", ".join(control.criteria))],
        ["Owner", _owner(control.owner, profile)],
        ["Frequency / severity", _e(f"{control.frequency} / {control.severity}")],
        ["Population", _e(population)],
        ["Parameters", _e(params)],
        ["SQL SHA-256", _token(control.sql_sha256)],
        ["Reconciliation", "<br>".join(_e(r["statement"]) for r in reconciliation) or "—"],
    ]
    shown = outcome.exceptions[:MAX_EXCEPTION_ROWS]
    rows = [
        [
            _e(r.get("resource_name") or r["resource_id"])
            + (f'<br><span class="small token">{_e(r["resource_url"])}</span>' if r.get("resource_url") else ""),
            badge(r["status"]),
            _e(r.get("reason")),
            _token(r.get("failure") or ""),
        ]
        for r in shown
    ]
    more = (
        f"<p>{outcome.exception_count - len(rows)} more in controls/{_e(control.id)}/exceptions.csv</p>"
        if outcome.exception_count > len(rows)
        else ""
    )
    table = (
        _table(["Resource", "Status", "Reason", "Failure"], rows, "exceptions", (28, 10, 47, 15))
        if rows
        else "<p>No exceptions.</p>"
    )
    # how to fix, once per kind of failure shown (not on every row: the table stays short enough to print)
    kinds = sorted({r.get("failure") or "" for r in shown if r["status"] != "waived"})
    fixes = (
        _table(
            ["Failure", "How to fix"],
            [[_token(kind or "(other)"), _e(outcome.remediation_for({"failure": kind}))] for kind in kinds],
            "fixes",
            (20, 80),
        )
        if kinds
        else ""
    )
    procedure = control.procedure.model_dump() if control.procedure else None
    return (
        f'<section class="control" id="{_e(control.id)}"><h2>{_e(control.id)}: {_e(control.title)}</h2>'
        f"{claims}<p>{_e(control.description)}</p>{_table(None, meta, 'meta')}"
        f"<h3>Test procedure</h3>{_procedure(procedure, population)}"
        f"<h3>Exceptions</h3>{fixes}{table}"
        f"{more}<h3>Query</h3><pre>{escape(control.sql.strip())}</pre></section>"
    )


# -- the period report ---------------------------------------------------------------------------------------------


def render_period(period: PeriodEvidence) -> str:
    verdicts = period.verdicts()
    owners: dict[str, list[str]] = {}
    for control in period.controls:
        owners.setdefault(control.owner or "(not stated)", []).append(control.id)
    with_snapshot = len(period.days) - len(period.missing_days)
    cover = _cover(
        f"SOC 2 evidence — period {period.start} to {period.end}",
        _organisation_name(period.profile),
        f"{period.start} to {period.end} ({len(period.days)} days, {with_snapshot} with a snapshot)",
        verdicts,
        {c.id for c in period.controls if any(d.get("waived") for d in period.daily[c.id])},
        scope_of(period.collection_parameters, _period_statuses(period)),
        period.profile,
        period.trust_page,
        period.promise_coverage(),
        owners,
    )
    meta = [
        ["Period", _e(f"{period.start} to {period.end} ({len(period.days)} days)")],
        ["Days with a snapshot", _e(with_snapshot)],
        [
            "Days without a snapshot",
            f'<span class="missing">{_e(", ".join(map(str, period.missing_days)))}</span>'
            if period.missing_days
            else "none",
        ],
        ["Generated", _e(utc_second(datetime.now(UTC)))],
        ["Tool", _e(f"evidence-pipeline {__version__}")],
        ["Personal data", _e(period.pseudonymization_note)],
    ]
    grouped = by_criterion(period.controls, lambda c: c.criteria or ["(no criterion)"])
    summary: list[list[str] | str] = []
    for criterion, members in grouped:
        summary.append(_group_row(_e(criterion), 11))
        for control in members:
            stats = period.control_stats[control.id]
            summary.append(
                [
                    f'<a href="#{_e(control.id)}">{_token(control.id)}</a>',
                    _e(", ".join(control.criteria)),
                    badge(verdicts[control.id]),
                    _e(stats["days_evaluated"]),
                    _e(stats["days_pass"]),
                    _e(stats["days_fail"]),
                    _e(stats["days_unknown"]),
                    _e(f"{stats['pass_rate']:.1%}" if stats["pass_rate"] is not None else "—"),
                    _e(stats["population_rows"]),
                    _e(stats["exceptions"]),
                    _e(stats["open_at_end"]),
                ]
            )
    body = [
        cover,
        '<section class="after-cover"><h2>About this evidence</h2>',
        _table(None, meta, "meta"),
        "<h2>Controls over the period, by criterion</h2>",
        _table(
            [
                "Control",
                "Criteria",
                "Period",
                "Days evaluated",
                "Days pass",
                "Days fail",
                "Days unknown",
                "Row pass rate",
                "Population (rows)",
                "Exceptions",
                "Open at end",
            ],
            summary,
            "summary",
            (22, 8, 8, 8, 7, 7, 8, 8, 9, 8, 7),
        ),
        "</section>",
    ]
    for _criterion, members in grouped:
        for control in members:
            body.append(_period_section(period, control.id))
    return _page(f"SOC 2 evidence {period.start} to {period.end}", "\n".join(body))


def _period_statuses(period: PeriodEvidence) -> dict[str, str]:
    """Each dataset's collection over the period: "succeeded" when it succeeded on every day it was read."""
    days: dict[str, list[str]] = {}
    for entry in period.provenance:
        days.setdefault(entry["dataset"], []).append(entry["status"])
    return {
        name: "succeeded"
        if all(s == "succeeded" for s in statuses)
        else f"not collected on {sum(s != 'succeeded' for s in statuses)} of {len(statuses)} days"
        for name, statuses in days.items()
    }


def _period_section(period: PeriodEvidence, control_id: str) -> str:
    control = next(c for c in period.controls if c.id == control_id)
    daily = [
        [
            _e(d["date"]),
            badge(d["verdict"]) if d["verdict"] != "missing" else '<span class="missing">NO SNAPSHOT</span>',
            _e(d["population"]),
            _e(d["pass"]),
            _e(d["fail"]),
            _e(d["unknown"]),
            _e(d["waived"]),
            _e(f"{d['pass_rate']:.1%}" if d["pass_rate"] is not None else "—"),
        ]
        for d in period.daily[control.id]
    ]
    exceptions = [
        [
            _e(x["resource_name"] or x["resource_id"]),
            _e(x["first_seen"]),
            _e(x["last_seen"]),
            _e(x["resolved_on"] or "open"),
            _e(x["days_open"]),
            _e(x["last_reason"]),
        ]
        for x in period.exceptions[control.id][:MAX_EXCEPTION_ROWS]
    ]
    daily_table = _table(
        ["Date", "Verdict", "Population", "Pass", "Fail", "Unknown", "Waived", "Pass rate"],
        daily,
        "daily",
        (16, 14, 12, 10, 10, 12, 12, 14),
    )
    exceptions_table = (
        _table(
            ["Resource", "First seen", "Last seen", "Resolved on", "Days open", "Reason"],
            exceptions,
            "exceptions",
            (24, 11, 11, 11, 8, 35),
        )
        if exceptions
        else "<p>No exceptions.</p>"
    )
    return (
        f'<section class="control" id="{_e(control.id)}"><h2>{_e(control.id)}: {_e(control.title)}</h2>'
        f"<p>Owner: {_owner(control.owner or 'not stated', period.profile)}; "
        f"criteria {_e(', '.join(control.criteria))}</p>"
        f"<h3>Test procedure</h3>{_procedure(control.procedure, control.scope)}"
        f"<h3>Per day</h3>{daily_table}<h3>Exceptions (first seen, resolved)</h3>{exceptions_table}</section>"
    )


# -- printing ------------------------------------------------------------------------------------------------------


def chromium_binary() -> str | None:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured
    return next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome", "chrome")
            if (found := shutil.which(name))
        ),
        None,
    )


def print_pdf(html: Path, pdf: Path, timeout: float = 120.0) -> str:
    """Print the report with headless Chromium. Returns what happened, for the manifest (a missing browser is
    stated there, not fatal: the HTML is the report, the PDF its printout; the CLI prints the note).

    Chromium rather than WeasyPrint (pip-installable, needs Pango): on this report Chromium prints in about 2.7 s to
    WeasyPrint's 7-8 s, the two lay it out alike, and CI needs Chromium for the browser tests anyway; WeasyPrint
    would save the image about 290 MB of Chromium but add about 80 MB of Python packages."""
    binary = chromium_binary()
    if binary is None:
        return (
            f"not produced: no PDF engine found: install Chromium (Debian: apt-get install chromium) or set "
            f"{CHROMIUM_ENV} to a Chromium or Chrome binary"
        )
    with tempfile.TemporaryDirectory(prefix="evidence-chromium-") as profile:
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if completed.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        pdf.unlink(missing_ok=True)
        tail = (completed.stderr or "").strip().splitlines()[-1:] or ["no output"]
        # the HTML stays the report; a failed printout is stated in the manifest rather than losing the day's bundle
        return f"not produced: Chromium exited {completed.returncode}: {tail[0][:300]}"
    return "written"
