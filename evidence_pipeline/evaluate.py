"""Evaluate one control for one day. Checking code: reads the warehouse, never an API.

The control's SQL returns one row per in-scope resource with `status` and `reason`.
A source that failed, was not configured or was not collected that day makes the
control *unknown* (never pass), and the verdict says which source and why. A control
whose SQL fails on the day's data is *unknown* with the error (stored, so the bundle
and history show it), and a row the SQL returns without a valid status or a reason is
an unknown row naming what it returned: the other rows and controls are still judged.
The SQL runs in `judging_session`, which can reach no file, network or setting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from evidence_pipeline.catalogue import Catalogue, Control
from evidence_pipeline.evidence.model import EXCEPTIONS_IN_SUMMARY, STATUSES, ControlOutcome
from evidence_pipeline.text import counted, plural
from evidence_pipeline.waivers import Waivers, apply_waivers
from warehouse import Warehouse, results

ROW_COLUMNS = ("resource_id", "resource_name", "resource_url", "status", "reason", "failure")


#: DuckDB settings of the connection control SQL runs on: no file, no network (read_csv, COPY, ATTACH, httpfs), and
#: no `SET` to turn that back on. They are settings of the whole database instance, and DuckDB shares one instance
#: per file among a process's connections, so the judging session is a connection of its own (refused while another
#: is open on the file) and its instance ends when it closes: landing's read_json works again afterwards.
JUDGING_SETTINGS = {"enable_external_access": False, "lock_configuration": True}
#: problem rows of a control named in its error (every one is in its population, unknown)
PROBLEM_ROWS_NAMED = 3


@contextmanager
def judging_session(warehouse: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse's session on a connection with JUDGING_SETTINGS; every `warehouse.connect()` inside reuses it."""
    with warehouse.session(config=JUDGING_SETTINGS) as con:
        sandboxed = con.execute(
            "SELECT NOT current_setting('enable_external_access') AND current_setting('lock_configuration')"
        ).fetchone()[0]
        if not sandboxed:
            raise RuntimeError(
                f"{warehouse.path}: control SQL is judged only on a session of its own; a session "
                "without the judging settings is open"
            )
        yield con


def sql_error(exc: BaseException) -> str:
    """An error as one line (DuckDB's messages go on with the query's text and a caret)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def source_states(
    warehouse: Warehouse, datasets: list[str], snapshot_date: date, freshness_hours: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """The latest collection attempt of each dataset that day (or 'not_collected'), marked 'stale' when
    the source's own timestamp was older than the dataset's freshness window when it was collected."""
    latest = {r["name"]: r for r in results.source_status_of_day(warehouse, snapshot_date)}
    states = []
    for name in datasets:
        row = dict(
            latest.get(name)
            or {
                "name": name,
                "status": "not_collected",
                "error": None,
                "record_count": None,
                "finished_at": None,
                "source_timestamp": None,
            }
        )
        window = (freshness_hours or {}).get(name)
        age = source_age_hours(row["source_timestamp"], row["finished_at"])
        if row["status"] == "succeeded" and window is not None and age is not None and age > window:
            row["status"] = "stale"
            row["error"] = (
                f"the source's data was {age:.0f} h old when collected (timestamp "
                f"{row['source_timestamp']}); the freshness window is {window} h"
            )
        row["age_hours"] = None if age is None else round(age, 1)
        row["fresh_hours"] = window
        states.append({**row, "finished_at": str(row["finished_at"]) if row["finished_at"] else None})
    return states


def source_age_hours(source_timestamp: str | None, finished_at: datetime | None) -> float | None:
    """How old the source's own data (its timestamp) was when it was collected, None when it gives no timestamp."""
    if not source_timestamp or finished_at is None:
        return None
    try:
        stamp = datetime.fromisoformat(str(source_timestamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    finished = finished_at if finished_at.tzinfo else finished_at.replace(tzinfo=UTC)
    return (finished - stamp).total_seconds() / 3600


#: rows judged and stored at a time: a day's evaluation holds one batch, whatever the population
BATCH_ROWS = 10_000
#: the collection status of an optional dataset whose switch is unset on a configured source (AWS's Identity Center
#: without AWS_IDENTITY_STORE_ID): as a required source it makes the control unknown; as a system source its system
#: is out of the control's scope, said in the reconciliation, and stands in no unknown row
OPTIONAL_NOT_CONFIGURED = "optional_not_configured"


def evaluate_control(
    warehouse: Warehouse,
    catalogue: Catalogue,
    control: Control,
    snapshot_date: date,
    run_id: str,
    waivers: Waivers | None = None,
    freshness_hours: dict[str, int] | None = None,
    keep_rows: bool = True,
) -> ControlOutcome:
    """Run the control's SQL on the day's data and store the result. Required sources that cannot be trusted make
    the control unknown; an untrusted system source makes only that system's rows unknown; SQL that fails makes the
    control unknown with the error (`ControlOutcome.error`), stored in place of whatever the day had.

    The rows are judged and stored a batch at a time, in resource order. `keep_rows=False` (the daily step) keeps
    none of them in the outcome beyond its first exceptions, so memory does not grow with the population."""
    parameters = control.sql_parameters(snapshot_date, catalogue.defaults)
    with judging_session(warehouse) as con:
        sources = source_states(warehouse, control.datasets, snapshot_date, freshness_hours)
        unusable = {s["name"]: s for s in sources if s["status"] != "succeeded"}
        blocking = [s for name, s in unusable.items() if name in control.sources]
        if blocking:
            why = "; ".join(_why_unusable(s) for s in blocking)
            return _store_day(
                warehouse,
                control,
                snapshot_date,
                run_id,
                lambda: ControlOutcome(
                    control, snapshot_date, "unknown", f"cannot evaluate: {why}", [], parameters, sources
                ),
            )

        def judged() -> ControlOutcome:
            tally: Counter[str] = Counter()
            kept: list[dict[str, Any]] = []
            exceptions: list[dict[str, Any]] = []
            problems: list[str] = []
            waived = waivers.for_control(control.id) if waivers is not None else None
            for rows in _judged_batches(con, control, parameters, unusable, problems):
                if waived is not None:
                    apply_waivers(rows, waived, snapshot_date)
                tally.update(r["status"] for r in rows)
                room = EXCEPTIONS_IN_SUMMARY - len(exceptions)
                exceptions += [r for r in rows if r["status"] != "pass"][:room]
                if keep_rows:
                    kept += rows
                results.insert_rows(warehouse, snapshot_date, control.id, run_id, rows)
            counts = {"population": sum(tally.values()), **{status: tally[status] for status in STATUSES}}
            # with the rows held, the outcome finds every exception among them
            outcome = ControlOutcome(
                control,
                snapshot_date,
                *verdict_from_counts(control, tally),
                kept,
                parameters,
                sources,
                counts=counts,
                exceptions=[] if keep_rows else exceptions,
            )
            if problems:
                outcome.error = (
                    f"{counted(len(problems), 'row')} returned by the SQL could not be judged and "
                    f"{plural(len(problems), 'is', 'are')} unknown: " + "; ".join(problems[:PROBLEM_ROWS_NAMED])
                )
            return outcome

        try:
            return _store_day(warehouse, control, snapshot_date, run_id, judged)
        except Exception as exc:  # the SQL failed on this day's data: this control is unknown, the others go on
            error = f"the control's SQL failed: {sql_error(exc)}"
        return _store_day(
            warehouse,
            control,
            snapshot_date,
            run_id,
            lambda: ControlOutcome(control, snapshot_date, "unknown", error, [], parameters, sources, error=error),
        )


def _store_day(
    warehouse: Warehouse,
    control: Control,
    snapshot_date: date,
    run_id: str,
    judge: Callable[[], ControlOutcome],
) -> ControlOutcome:
    """In one transaction: the day's earlier results of the control go, `judge()` stores its rows, then its verdict."""
    with results.replacing_day(warehouse, snapshot_date, control.id):
        outcome = judge()
        outcome.reconciliation = _reconciliation(outcome)
        results.insert_verdict(
            warehouse,
            snapshot_date,
            control.id,
            run_id,
            results.StoredVerdict(
                outcome.verdict,
                outcome.reason,
                outcome.counts,
                control.sql_sha256,
                outcome.parameters,
                outcome.error,
            ),
        )
    return outcome


class DuplicateResource(ValueError):
    """The control's SQL returned a resource twice (one per region, say): its counts and samples would be wrong."""


def _judged_batches(
    con: duckdb.DuckDBPyConnection,
    control: Control,
    parameters: dict[str, Any],
    unusable: dict[str, dict[str, Any]],
    problems: list[str],
) -> Iterator[list[dict[str, Any]]]:
    """The control's rows, normalised, in resource order, a batch at a time; an untrusted system's rows are unknown,
    and each untrusted system stands in as one unknown row of its own. Rows the SQL returned without a valid status
    or a reason are unknown, and `problems` gains a line naming each."""
    standing_in = sorted(
        (_system_not_evaluated(control, s) for s in unusable.values() if s["status"] != OPTIONAL_NOT_CONFIGURED),
        key=lambda r: r["resource_id"],
    )
    reader = con.cursor()  # its own result: the caller inserts on `con` between batches
    try:
        reader.execute(
            f"SELECT * FROM (\n{control.sql.strip().rstrip(';')}\n) AS judged ORDER BY CAST(resource_id AS VARCHAR)",
            parameters,
        )
        names = [d[0] for d in reader.description]
        previous: str | None = None
        while batch := reader.fetchmany(BATCH_ROWS):
            rows = [
                _unknown_if_untrusted(_normalise(dict(zip(names, row, strict=True)), problems), unusable)
                for row in batch
            ]
            for row in rows:  # in resource order, a repeat follows its twin
                if row["resource_id"] == previous:
                    raise DuplicateResource(
                        f"resource_id {previous!r} returned more than once: a population names "
                        "each resource once (counts and samples key on it)"
                    )
                previous = row["resource_id"]
            # the stand-in rows take their place in resource order
            while standing_in and standing_in[0]["resource_id"] <= rows[-1]["resource_id"]:
                rows.append(standing_in.pop(0))
            rows.sort(key=lambda r: r["resource_id"])
            yield rows
    finally:
        reader.close()
    if standing_in:
        yield standing_in


def _unknown_if_untrusted(row: dict[str, Any], unusable: dict[str, dict[str, Any]]) -> dict[str, Any]:
    state = unusable.get(row["details"].get("dataset") or "")
    if state is not None:
        row.update(status="unknown", reason=f"not evaluated: {_why_unusable(state)}", failure=None)
    return row


def _system_not_evaluated(control: Control, state: dict[str, Any]) -> dict[str, Any]:
    """A system whose data cannot be trusted stands in the population as one unknown row, so its
    accounts are never silently missing from a cross-system control."""
    return {
        "resource_id": state["name"],
        "resource_name": f"every account in {state['name']}",
        "resource_url": None,
        "status": "unknown",
        "reason": f"not evaluated: {_why_unusable(state)}",
        "failure": None,
        "details": {"dataset": state["name"]},
    }


def _why_unusable(state: dict[str, Any]) -> str:
    if state["status"] == OPTIONAL_NOT_CONFIGURED:
        return f"{state['name']} is optional and not configured ({state['error'] or 'no setting recorded'})"
    match state["status"]:
        case "not_configured":
            return f"{state['name']} is not configured"
        case "not_collected":
            return f"{state['name']} was not collected for this day"
        case "stale":
            return f"{state['name']} is stale: {state['error']}"
        case _:
            return f"{state['name']} {state['status']}: {state['error'] or 'no error recorded'}"


def _normalise(row: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """A row as stored; one with no valid status or no reason is unknown (never pass), saying what the SQL returned.
    A row with no resource_id names nothing to judge: the SQL is wrong, and the control fails as a whole."""
    if row.get("resource_id") is None:
        raise ValueError(
            f"the SQL returned a row without a resource_id (status {row.get('status')!r}, reason {row.get('reason')!r})"
        )
    clean = {c: (None if row.get(c) is None else str(row[c])) for c in ROW_COLUMNS}
    clean["details"] = {k: v for k, v in row.items() if k not in ROW_COLUMNS}
    status = str(row["status"]).lower() if row.get("status") is not None else None
    if status not in STATUSES or clean["reason"] is None:
        returned = f"status {row.get('status')!r} and reason {row.get('reason')!r}"
        problems.append(f"{clean['resource_id']}: {returned}")
        clean.update(
            status="unknown",
            failure=None,
            reason=f"not judged: the control's SQL returned {returned} (a status must be one of "
            f"{', '.join(STATUSES)}, with a reason)",
        )
        return clean
    clean["status"] = status
    return clean


def verdict_from_counts(control: Control, counts: Mapping[str, int]) -> tuple[str, str]:
    """The control's verdict and its reason from its population's count per status: any fail fails, then any
    unknown is unknown; an empty population passes only where the control says so. The reason reads right for any
    count: the control's `scope` is quoted as the population's description, never made to agree with a number
    ("1 of 2 fails; population: every AWS account read")."""
    population = sum(counts.values())
    failed, unknown, waived = counts.get("fail", 0), counts.get("unknown", 0), counts.get("waived", 0)
    scope = f"population: {control.scope}"
    not_evaluated = f"{unknown} could not be evaluated"
    if failed:
        also = f", {not_evaluated}" if unknown else ""
        return "fail", f"{failed} of {population} {plural(failed, 'fails', 'fail')}{also}; {scope}"
    if unknown:
        return "unknown", f"{unknown} of {population} could not be evaluated; {scope}"
    if not population:
        if control.empty_population == "pass":
            return "pass", f"nothing in scope, which this control accepts; {scope}"
        return "unknown", f"nothing found, and empty evidence is not proof; {scope}"
    passed = counts.get("pass", 0)
    exempt = f", {waived} waived" if waived else ""
    return "pass", f"{passed} of {population} {plural(passed, 'passes', 'pass')}{exempt}; {scope}"


def unusable_verdict(stored: results.StoredVerdict | None, control: Control) -> str | None:
    """Why a day's stored verdict is no evidence for the control as the catalogue now holds it (never evaluated, or
    evaluated by other SQL), None when it is."""
    if stored is None:
        return "not evaluated for this day"
    if stored.sql_sha256 != control.sql_sha256:
        return "evaluated with different SQL than the catalogue now holds; re-materialize the control"
    return None


def load_summary(warehouse: Warehouse, control: Control, snapshot_date: date) -> ControlOutcome:
    """The stored result of a day's evaluation without its population: verdict, counts and the first exceptions
    (the snapshot re-reads, it never re-evaluates; the bundle copies the population from `control_results`)."""
    stored = results.load_verdict(warehouse, snapshot_date, control.id)
    sources = source_states(warehouse, control.datasets, snapshot_date)
    if (unusable := unusable_verdict(stored, control)) is not None:
        return ControlOutcome(control, snapshot_date, "unknown", unusable, [], {}, sources)
    outcome = ControlOutcome(
        control,
        snapshot_date,
        stored.verdict,
        stored.reason,
        [],
        stored.parameters,
        sources,
        counts=stored.counts,
        exceptions=results.load_exceptions(warehouse, snapshot_date, control.id, EXCEPTIONS_IN_SUMMARY),
        error=stored.error,
    )
    outcome.reconciliation = _reconciliation(outcome)
    return outcome


def _reconciliation(outcome: ControlOutcome) -> list[str]:
    return [
        f"{s['name']}: optional and not configured: its system is out of scope, none of its accounts judged"
        if s["status"] == OPTIONAL_NOT_CONFIGURED and s["name"] in outcome.control.system_sources
        else f"{s['name']}: {s['record_count'] if s['record_count'] is not None else 'no'} records collected -> "
        f"{outcome.counts['population']} in the population ({outcome.control.scope})"
        for s in outcome.sources
    ]
