"""Control assets: one per entry of controls_map.yaml, each with its verdict check.

The catalogue is a list of declarations; `control_definitions` turns each into a
daily-partitioned asset that runs the control's SQL and a check that carries the
verdict, severity, counts and failing rows. Nothing here talks to an API.
"""

from collections.abc import Iterator
from datetime import date

import dagster as dg
from dagster import AssetExecutionContext

from evidence_pipeline.catalogue import Catalogue, Control
from evidence_pipeline.defs.automation import DAILY_FRESHNESS
from evidence_pipeline.defs.partitions import daily_partitions, partition_date
from evidence_pipeline.defs.sources import freshness_hours
from evidence_pipeline.evaluate import ControlOutcome, evaluate_control, judging_session
from evidence_pipeline.settings import optional_project_file
from evidence_pipeline.text import escape_bidi
from evidence_pipeline.waivers import WaiverError, load_waivers
from warehouse.results import failing_since

MAX_ROWS_IN_METADATA = 50


def check_severity(outcome: ControlOutcome) -> dg.AssetCheckSeverity:
    """The verdict check's severity follows the verdict, so that Dagster's own views say it at a glance: a failing
    control is an ERROR (red), an unknown or errored one a WARN (yellow: nothing proven either way). The control's
    declared severity is in the check's metadata."""
    if outcome.verdict == "fail":
        return dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckSeverity.WARN


def control_key(control_id: str) -> dg.AssetKey:
    return dg.AssetKey(["controls", control_id])


def source_key(dataset: str) -> dg.AssetKey:
    source, name = dataset.split(".", 1)
    return dg.AssetKey(["sources", source, name])


def describe(control: Control) -> str:
    # one blockquote per claim, blank lines between: quotes joined by a single newline run into one, and each
    # attribution then shows under the wrong quote
    claims = "\n\n".join(quoted(c.quote, f"— {c.page}, {c.section}") for c in control.claims)
    fixes = "\n".join(f"- **{kind}**: {text}" for kind, text in control.remediation.items())
    return (
        f"**{control.title}** ({', '.join(control.criteria)}; {control.frequency}; severity {control.severity})"
        f"\n\n{control.description}\n\nClaim evidenced:\n\n{claims or 'none on the trust page'}"
        f"\n\nPopulation: {control.scope}.\n\n"
        f"Remediation:\n\n{fixes}\n"
    )


def quoted(text: str, attribution: str) -> str:
    """`text` as a markdown blockquote (every line of it), `attribution` its last paragraph."""
    lines = [f"> {line}".rstrip() for line in escape_bidi(text).strip().splitlines()]
    return "\n".join([*lines, ">", f"> {escape_bidi(attribution)}"])


def failing_rows_table(outcome: ControlOutcome) -> str:
    rows = outcome.exceptions
    if not rows:
        return "No failing rows."
    lines = ["| resource | status | reason | how to fix |", "|---|---|---|---|"]
    for row in rows[:MAX_ROWS_IN_METADATA]:
        name = row["resource_name"] or row["resource_id"]
        link = f"[{table_cell(name)}]({row['resource_url']})" if row["resource_url"] else table_cell(name)
        lines.append(
            f"| {link} | {row['status']} | {table_cell(row['reason'])} | {table_cell(outcome.remediation_for(row))} |"
        )
    if outcome.exception_count > MAX_ROWS_IN_METADATA:
        lines.append(f"\n{outcome.exception_count - MAX_ROWS_IN_METADATA} more in the evidence bundle's exceptions.csv")
    return "\n".join(lines)


def table_cell(text: str | None) -> str:
    """Text as one cell of a markdown table: bidi controls shown escaped, no pipe or line break to split it."""
    return escape_bidi(text or "").replace("|", "\\|").replace("\n", " ")


def outcome_metadata(outcome: ControlOutcome) -> dict[str, dg.MetadataValue | str | int]:
    counts = outcome.counts
    return {
        "verdict": outcome.verdict,
        "reason": outcome.reason,
        "declared severity": outcome.control.severity,
        "population": counts["population"],
        "passed": counts["pass"],
        "failed": counts["fail"],
        "unknown": counts["unknown"],
        "waived": counts["waived"],
        "failing rows": dg.MetadataValue.md(failing_rows_table(outcome)),
        "sql sha256": outcome.control.sql_sha256,
        "sources": dg.MetadataValue.json(outcome.sources),
        "error": outcome.error or "none",
    }


def control_spec(control: Control) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=control_key(control.id),
        deps=[source_key(d) for d in control.datasets],
        group_name=control.family,
        kinds={"duckdb", "sql"},
        owners=[control.owner if ":" in control.owner or "@" in control.owner else f"team:{control.owner}"],
        description=describe(control),
        freshness_policy=DAILY_FRESHNESS,
        tags={"evidence/layer": "control", **{f"soc2/{c}": "" for c in control.criteria}},
        metadata={"criteria": ", ".join(control.criteria), "frequency": control.frequency},
    )


def control_definitions(catalogue: Catalogue) -> list[dg.AssetsDefinition]:
    """Every control is its own asset with its own verdict check; the controls that read the same sources are
    judged in one step, which starts as soon as those sources have landed (a step per control would pay a process
    each for a fraction of a second of SQL). Judging steps take turns at DuckDB's one writer through its file lock
    (`Warehouse.connect` waits it out), like the landings: a Dagster pool would add a slot poll of a second or more
    to every turn. Materializing one
    control evaluates only that one."""
    freshness = freshness_hours()
    by_sources: dict[tuple[str, ...], list[Control]] = {}
    for control in catalogue.controls:
        by_sources.setdefault(control_sources(control), []).append(control)
    return [control_step(sources, controls, catalogue, freshness) for sources, controls in by_sources.items()]


def control_sources(control: Control) -> tuple[str, ...]:
    return tuple(sorted({dataset.split(".", 1)[0] for dataset in control.datasets}))


def control_step(
    sources: tuple[str, ...], controls: list[Control], catalogue: Catalogue, freshness: dict[str, int]
) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="judge_" + "_".join(sources),
        specs=[control_spec(control) for control in controls],
        check_specs=[
            dg.AssetCheckSpec("verdict", asset=control_key(c.id), description=f"{c.title}: the day's verdict")
            for c in controls
        ],
        partitions_def=daily_partitions(),
        can_subset=True,
        required_resource_keys={"warehouse"},
    )
    def evaluate(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        warehouse = context.resources.warehouse.get()
        try:
            waivers = load_waivers(optional_project_file("waivers.yaml"), set(catalogue.by_id))
        except WaiverError as exc:  # one line naming the file and field; nothing evaluated, earlier results stay
            raise dg.Failure(description=str(exc)) from None
        day = partition_date(context)
        failed: list[str] = []
        evaluated: list[tuple[ControlOutcome, date | None]] = []
        # one connection for the step (opening the file costs more than a control), sandboxed for control SQL
        with judging_session(warehouse):
            for control in controls:
                if control_key(control.id) not in context.selected_asset_keys:
                    continue
                try:
                    outcome = evaluate_control(
                        warehouse,
                        catalogue,
                        control,
                        day,
                        context.run.run_id,
                        waivers=waivers,
                        freshness_hours=freshness,
                        keep_rows=False,
                    )
                except Exception as exc:  # its SQL's errors are its verdict; this is the warehouse failing to store it
                    context.log.error(f"{control.id}: evaluation failed: {exc}")
                    failed.append(f"{control.id}: {exc}")
                    continue
                evaluated.append((outcome, failing_since(warehouse, control.id, day)))
        for outcome, since in evaluated:
            control, key = outcome.control, control_key(outcome.control.id)
            metadata = outcome_metadata(outcome)
            metadata["failing since"] = since.isoformat() if since else "not failing"
            if outcome.error:
                context.log.error(f"{control.id}: {outcome.verdict} — {outcome.error}")
            else:
                context.log.info(f"{control.id}: {outcome.verdict} — {outcome.reason}")
            # the step succeeds with a control's SQL error (stored as its unknown verdict, its check failing with the
            # error): a failed step would skip the day's snapshot, which must show every control, errored ones too
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
            if dg.AssetCheckKey(key, "verdict") in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name="verdict",
                    passed=outcome.verdict == "pass" and not outcome.error,
                    severity=check_severity(outcome),
                    description=outcome.error or outcome.reason,
                    metadata=metadata,
                )
        if failed:  # nothing could be stored for these: the warehouse itself failed
            raise dg.Failure(description=f"{len(failed)} control(s) could not be evaluated: " + "; ".join(failed))

    return evaluate
