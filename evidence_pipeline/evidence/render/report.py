"""report.html (and its PDF via headless Chromium): the bundle for people.

The report is a view of the CSV/JSON evidence beside it, never a source of its own: every number in it is in
result.json / population.csv / provenance.json too. Self-contained (inline CSS, no scripts, no remote assets),
so it renders the same offline, in a browser and in print.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from evidence_pipeline import __version__
from evidence_pipeline.evidence.model import EXCEPTIONS_IN_SUMMARY, ControlOutcome, DailyEvidence, PeriodEvidence
from evidence_pipeline.text import escape_bidi

#: rows of a control's exceptions shown in the report (all a summary holds); the CSV always has all of them
MAX_EXCEPTION_ROWS = EXCEPTIONS_IN_SUMMARY
CHROMIUM_ENV = "EVIDENCE_CHROMIUM"
VERDICT_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "unknown": "#6d6d6d", "waived": "#ef6c00"}

CSS = """
@page { size: A4 landscape; margin: 10mm; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5px; color: #111; margin: 18px; }
h1 { font-size: 20px; margin: 0 0 4px 0; } h2 { font-size: 15px; margin-top: 22px; border-bottom: 1px solid #999; }
h3 { font-size: 12.5px; margin: 14px 0 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px 0; }
th, td { border: 1px solid #bbb; padding: 3px 5px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #e8eaf0; }
.verdict { color: #fff; font-weight: bold; padding: 2px 6px; border-radius: 3px; white-space: nowrap; }
.meta td:first-child { width: 22%; font-weight: bold; }
pre { white-space: pre-wrap; font-size: 9px; background: #f4f4f4; padding: 6px; border: 1px solid #ddd; }
.claim { font-style: italic; } .small { font-size: 9px; color: #444; }
.control { page-break-before: always; }
.missing { color: #c62828; font-weight: bold; }
"""


def badge(verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#444")
    return (
        f'<span class="verdict verdict-{escape(verdict)}" style="background:{colour}">{escape(verdict.upper())}</span>'
    )


def _table(headers: list[str] | None, rows: list[list[str]], css_class: str = "") -> str:
    head = "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>" if headers else ""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css_class}">{head}<tbody>{body}</tbody></table>'


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def _e(value: Any) -> str:
    return escape(escape_bidi("" if value is None else str(value)))


def freshness(source: dict[str, Any]) -> str:
    """How current a source's data is: when we collected it and the source's own timestamp, when it has one."""
    if source.get("status") != "succeeded":
        return f"{source.get('status', 'not_collected')}"
    parts = [f"collected {source.get('finished_at') or '?'}"]
    if source.get("source_timestamp"):
        parts.append(f"source as of {source['source_timestamp']}")
    return "; ".join(parts)


def render_daily(evidence: DailyEvidence) -> str:
    day = evidence.snapshot_date.isoformat()
    meta = [
        ["Snapshot date", _e(day)],
        ["Run", _e(evidence.run_id)],
        ["Generated", _e(datetime.now(UTC).isoformat(timespec="seconds"))],
        ["Tool", _e(f"evidence-pipeline {__version__}")],
        ["Control catalogue SHA-256 (controls_map.yaml and its files)", _e(evidence.controls_map_sha256)],
        [
            "Waivers",
            _e(
                f"{len(evidence.waivers)} (file SHA-256 {evidence.waivers_sha256})"
                if evidence.waivers_sha256
                else "no waivers file"
            ),
        ],
        ["Signed by", _e(evidence.signing_key_id or "unsigned")],
    ]
    summary = []
    for outcome in evidence.outcomes:
        control, counts = outcome.control, outcome.counts
        claim = control.claims[0]
        sources = "<br>".join(
            f"{_e(name)}: {_e(freshness(evidence.sources.get(name, {})))}" for name in control.datasets
        )
        summary.append(
            [
                f'<a href="#{_e(control.id)}">{_e(control.id)}</a><br><span class="small">{_e(control.title)}</span>',
                _e(", ".join(control.criteria)),
                f'<span class="claim">“{_e(claim.quote)}”</span>',
                badge(outcome.verdict),
                _e(counts["population"]),
                _e(counts["fail"] + counts["unknown"]),
                _e(counts["waived"]),
                sources,
            ]
        )
    body = [
        f"<h1>SOC 2 evidence — {_e(day)}</h1>",
        _table(None, meta, "meta"),
        "<h2>Controls</h2>",
        _table(
            ["Control", "Criteria", "Claim", "Verdict", "Population", "Exceptions", "Waived", "Sources (freshness)"],
            summary,
            "summary",
        ),
        "<h2>Sources</h2>",
        _sources_table(evidence.sources),
    ]
    for outcome in evidence.outcomes:
        body.append(_control_section(outcome, evidence.reconciliation.get(outcome.control.id, [])))
    return _page(f"SOC 2 evidence {day}", "\n".join(body))


def _sources_table(sources: dict[str, dict[str, Any]]) -> str:
    rows = [
        [
            _e(name),
            _e(s.get("status")),
            _e(", ".join(s.get("endpoints") or [])),
            _e(s.get("request_count")),
            _e(s.get("retry_count")),
            _e(s.get("record_count")),
            _e(s.get("started_at")),
            _e(s.get("finished_at")),
            _e(s.get("source_timestamp")),
            f'<span class="small">{_e(s.get("payload_sha256"))}</span>',
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
    )


def _control_section(outcome: ControlOutcome, reconciliation: list[dict[str, Any]]) -> str:
    control, counts = outcome.control, outcome.counts
    claims = "".join(
        f'<p class="claim">“{_e(c.quote)}” <span class="small">({_e(c.seed)})</span></p>' for c in control.claims
    )
    params = ", ".join(f"{k} = {v}" for k, v in sorted(outcome.parameters.items())) or "none"
    meta = [
        ["Verdict", f"{badge(outcome.verdict)} {_e(outcome.reason)}"],
        ["Criteria", _e(", ".join(control.criteria))],
        ["Owner", _e(control.owner)],
        ["Frequency / severity", _e(f"{control.frequency} / {control.severity}")],
        [
            "Population",
            _e(
                f"{counts['population']} {control.scope}: {counts['pass']} pass, {counts['fail']} "
                f"fail, {counts['unknown']} unknown, {counts['waived']} waived"
            ),
        ],
        ["Parameters", _e(params)],
        ["SQL SHA-256", _e(control.sql_sha256)],
        ["Reconciliation", "<br>".join(_e(r["statement"]) for r in reconciliation) or "—"],
    ]
    shown = outcome.exceptions[:MAX_EXCEPTION_ROWS]
    rows = [
        [
            _e(r.get("resource_name") or r["resource_id"])
            + (f'<br><span class="small">{_e(r["resource_url"])}</span>' if r.get("resource_url") else ""),
            badge(r["status"]),
            _e(r.get("reason")),
            _e(r.get("failure") or ""),
        ]
        for r in shown
    ]
    more = (
        f"<p>{outcome.exception_count - len(rows)} more in controls/{_e(control.id)}/exceptions.csv</p>"
        if outcome.exception_count > len(rows)
        else ""
    )
    table = _table(["Resource", "Status", "Reason", "Failure"], rows, "exceptions") if rows else "<p>No exceptions.</p>"
    # how to fix, once per kind of failure shown (not on every row: the table stays short enough to print)
    kinds = sorted({r.get("failure") or "" for r in shown if r["status"] != "waived"})
    fixes = (
        _table(
            ["Failure", "How to fix"],
            [[_e(kind or "(other)"), _e(outcome.remediation_for({"failure": kind}))] for kind in kinds],
            "fixes",
        )
        if kinds
        else ""
    )
    return (
        f'<section class="control" id="{_e(control.id)}"><h2>{_e(control.id)}: {_e(control.title)}</h2>'
        f"{claims}<p>{_e(control.description)}</p>{_table(None, meta, 'meta')}<h3>Exceptions</h3>{fixes}{table}"
        f"{more}<h3>Query</h3><pre>{_e(control.sql.strip())}</pre></section>"
    )


def render_period(period: PeriodEvidence) -> str:
    meta = [
        ["Period", _e(f"{period.start} to {period.end} ({len(period.days)} days)")],
        ["Days with a snapshot", _e(len(period.days) - len(period.missing_days))],
        [
            "Days without a snapshot",
            f'<span class="missing">{_e(", ".join(map(str, period.missing_days)))}</span>'
            if period.missing_days
            else "none",
        ],
        ["Generated", _e(datetime.now(UTC).isoformat(timespec="seconds"))],
        ["Tool", _e(f"evidence-pipeline {__version__}")],
        ["Personal data", _e(period.pseudonymization_note)],
    ]
    summary = []
    for control in period.controls:
        stats = period.control_stats[control.id]
        summary.append(
            [
                f'<a href="#{_e(control.id)}">{_e(control.id)}</a>',
                _e(", ".join(control.criteria)),
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
        f"<h1>SOC 2 evidence — period {_e(period.start)} to {_e(period.end)}</h1>",
        _table(None, meta, "meta"),
        "<h2>Controls over the period</h2>",
        _table(
            [
                "Control",
                "Criteria",
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
        ),
    ]
    for control in period.controls:
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
        body.append(
            f'<section class="control" id="{_e(control.id)}"><h2>{_e(control.id)}: {_e(control.title)}</h2>'
            f"<h3>Per day</h3>{_table(['Date', 'Verdict', 'Population', 'Pass', 'Fail', 'Unknown', 'Waived', 'Pass rate'], daily)}"  # noqa: E501
            f"<h3>Exceptions (first seen, resolved)</h3>"
            f"{_table(['Resource', 'First seen', 'Last seen', 'Resolved on', 'Days open', 'Reason'], exceptions) if exceptions else '<p>No exceptions.</p>'}"  # noqa: E501
            f"</section>"
        )
    return _page(f"SOC 2 evidence {period.start} to {period.end}", "\n".join(body))


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
    stated there, not fatal: the HTML is the report, the PDF its printout)."""
    binary = chromium_binary()
    if binary is None:
        return f"not produced: no Chromium found (install chromium or set {CHROMIUM_ENV})"
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
