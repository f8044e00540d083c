"""What a day's run says at the terminal: a line as each phase starts, one per source and per control, a progress bar
on a terminal, and the summary table it ends with; the trust page's coverage by the day's verdicts. Dagster's own log
goes to a file under the data folder (`--verbose` shows it too)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from evidence_pipeline.settings import Paths
from evidence_pipeline.text import counted

if TYPE_CHECKING:  # rich and the catalogue are imported when a run reports: `--help` stays quick
    from rich.console import Console

    from evidence_pipeline.catalogue import Catalogue
    from evidence_pipeline.claims import PromiseCoverage


#: width of the CLI's tables when stdout is not a terminal (a file, a pipe): wide enough that no path is folded
PIPED_WIDTH = 200


def make_console() -> Console:
    """A rich console on stdout; off a terminal, no colour, no progress bar and no folded paths."""
    from rich.console import Console

    console = Console(highlight=False, emoji=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(highlight=False, emoji=False, soft_wrap=True, width=PIPED_WIDTH, color_system=None)
    return console


class DayProgress:
    """What `run` and `demo` say while the day runs, read from the run's event log (launch.RunFollower): a line as
    each phase starts, one per source (records collected, or why not) and one per control (its verdict and counts);
    on a terminal, a progress bar over the run's planned assets. Off a terminal (a file, a pipe) only the lines."""

    def __init__(self, day: date, bar: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.day = day
        self.run_id: str | None = None
        self.log_file: Path | None = None
        self.planned: dict[str, set[str]] = {"sources": set(), "controls": set(), "evidence": set()}
        self.done = 0
        self.phases: set[str] = set()
        #: per source, per dataset: the materialization's metadata; the `collected` check's failure, by dataset
        self.datasets: dict[str, dict[str, dict[str, object]]] = {}
        self.not_collected: dict[str, str] = {}
        #: datasets already said not to be collected (the run's outcome adds only the others)
        self.reported: set[str] = set()
        console = make_console()
        self.progress = (
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            if bar and console.is_terminal
            else None
        )
        self.task = self.progress.add_task("starting the run", total=None) if self.progress else None

    def __enter__(self) -> DayProgress:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.progress:
            self.progress.stop()

    def started(self, run_id: str, log_file: Path) -> None:
        from evidence_pipeline.launch import DAILY_JOB

        self.run_id, self.log_file = run_id, log_file
        print(f"run {run_id} started: {DAILY_JOB} for {self.day}; Dagster's full log: {log_file}")

    def entry(self, entry) -> None:
        import dagster as dg

        from evidence_pipeline.defs.sources.factory import not_collected

        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            key = event.asset_key.path
            self.planned.setdefault(key[0], set()).add("/".join(key[1:]))
            self._advance(0)
        elif kind == dg.DagsterEventType.STEP_START:
            self._phase(entry.step_key or "")
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            key = event.asset_key.path
            metadata = {name: value.value for name, value in event.event_specific_data.materialization.metadata.items()}
            self._materialized(key, metadata)
            self._advance(1)
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            if missing := not_collected(event.event_specific_data):
                self.not_collected[missing[0]] = missing[1]
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            step = entry.step_key or ""
            if step.startswith("collect_"):
                self._source_done(step.removeprefix("collect_"))
            if kind == dg.DagsterEventType.STEP_FAILURE:
                error = event.step_failure_data.error
                message = (error.message if error else "").strip().splitlines()
                print(f"step {step} failed: {message[0] if message else 'see the log'}", file=sys.stderr)

    def _advance(self, steps: int) -> None:
        self.done += steps
        if self.progress:
            self.progress.update(self.task, total=sum(len(keys) for keys in self.planned.values()), completed=self.done)

    def _phase(self, step: str) -> None:
        sources = {key.split("/")[0] for key in self.planned["sources"]}
        phases = {
            "collect_": (
                "collecting",
                f"collecting {counted(len(self.planned['sources']), 'dataset')} from {counted(len(sources), 'source')}",
            ),
            "judge_": ("judging", f"judging {counted(len(self.planned['controls']), 'control')} as their sources land"),
            "evidence__": (
                "writing the bundle",
                "writing the evidence bundle: report, workbook, OSCAL, signed manifest",
            ),
        }
        for prefix, (short, line) in phases.items():
            if step.startswith(prefix):
                if self.progress:
                    self.progress.update(self.task, description=short)
                if prefix not in self.phases:
                    self.phases.add(prefix)
                    print(line)

    def _materialized(self, key: list[str], metadata: dict[str, object]) -> None:
        if key[0] == "sources":
            self.datasets.setdefault(key[1], {})[key[2]] = metadata
        elif key[0] == "controls":
            since = metadata.get("failing since")
            new = "  (newly failing)" if metadata.get("verdict") == "fail" and since == self.day.isoformat() else ""
            print(f"{metadata.get('verdict', '?'):<7} {key[1]}: {metadata.get('reason', '')}{new}")

    def _source_done(self, source: str) -> None:
        datasets = self.datasets.get(source, {})
        collected = {name: m for name, m in datasets.items() if m.get("status") == "collected"}
        optional = [
            f"{name} (set {m.get('missing settings')})"
            for name, m in datasets.items()
            if m.get("status") == "optional, not configured"
        ]
        if collected:
            records = sum(int(m.get("records") or 0) for m in collected.values())
            line = f"{source}: {counted(records, 'record')} collected from {counted(len(collected), 'dataset')}"
            if optional:
                line += f"; optional and not configured: {', '.join(optional)}"
            print(line)
        # what could not be read, by cause: one line for a source that is not configured, not one per dataset
        by_cause: dict[str, list[str]] = {}
        for dataset, why in self.not_collected.items():
            if dataset.split(".", 1)[0] == source and dataset not in self.reported:
                by_cause.setdefault(why, []).append(dataset)
        for why, names in by_cause.items():
            print(f"not collected: {', '.join(sorted(names))}: {why}", file=sys.stderr)
            self.reported.update(names)


def run_and_report(day: date, paths: Paths, assets: list[str] | None = None, verbose: bool = False) -> int:
    import dagster as dg

    from evidence_pipeline.defs.evidence import SNAPSHOT_KEY
    from evidence_pipeline.evidence.chain import latest_bundle
    from evidence_pipeline.launch import nothing_collected, run_day
    from warehouse import Warehouse
    from warehouse.results import errored_controls

    selection = [dg.AssetKey.from_user_string(key) for key in assets] if assets else None
    print("loading the pipeline's definitions and starting the run")
    with (
        contextlib.nullcontext() if verbose else step_processes_stderr_to(paths.home / "logs" / STEP_CONSOLE_LOG),
        DayProgress(day, bar=not verbose) as progress,
    ):
        outcome = run_day(day, paths, selection, verbose=verbose, on_start=progress.started, on_entry=progress.entry)
    for dataset, why in sorted(outcome.uncollected.items()):  # its controls are unknown, with this as the reason
        if dataset not in progress.reported:
            print(f"not collected: {dataset}: {why}", file=sys.stderr)
    bundle = None
    if selection is None or SNAPSHOT_KEY in selection:
        bundle = latest_bundle(paths.evidence)
        if bundle is None or not outcome.success or bundle.parent.name != day.isoformat():
            print("no evidence bundle was written; see the failed steps above", file=sys.stderr)
            bundle = None
        else:
            say_missing_renderings(bundle)
    errored = errored_controls(Warehouse(paths.warehouse), day) if paths.warehouse.exists() else {}
    for control_id, error in errored.items():  # unknown in the bundle, with the error; the exit status says it too
        print(f"error: control {control_id}: {error}", file=sys.stderr)
    nothing = nothing_collected(paths, day) if selection is None else None
    if nothing:  # the bundle says every control is unknown; the exit status must say it too
        print(f"error: {nothing}", file=sys.stderr)
    print_summary(day, paths, outcome, bundle, progress.log_file)
    if (selection is None or SNAPSHOT_KEY in selection) and bundle is None:
        return 1
    return 1 if nothing or errored or not outcome.success else 0


#: where the step processes' own stderr goes without --verbose (under <EVIDENCE_HOME>/logs/)
STEP_CONSOLE_LOG = "step-processes.log"


@contextlib.contextmanager
def step_processes_stderr_to(path: Path) -> Iterator[None]:
    """The run's step processes inherit this process's stderr, and Dagster writes a DEBUG line there as each starts
    (before the run's logger settings reach it; the line is in the run's log file too), as would a crashing worker:
    while the run lasts, the inherited stderr is `path`, and this process's own messages still reach the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal_fd = os.dup(2)
    with path.open("a") as capture:
        os.dup2(capture.fileno(), 2)
    own, sys.stderr = sys.stderr, open(os.dup(terminal_fd), "w", buffering=1)  # noqa: SIM115 closed below
    try:
        yield
    finally:
        sys.stderr.close()
        sys.stderr = own
        os.dup2(terminal_fd, 2)
        os.close(terminal_fd)


def say_missing_renderings(bundle: Path) -> None:
    """One line for each rendering the bundle's manifest says was not produced (a PDF without an engine), with the
    manifest's own note on how to get it (the renderer knows its engine; this does not probe for one)."""
    import json

    from evidence_pipeline.evidence.chain import MANIFEST

    try:
        renderings = json.loads((bundle / MANIFEST).read_text()).get("renderings") or {}
    except (OSError, ValueError):
        return
    for name, note in sorted(renderings.items()):
        if note != "written":
            print(f"{name} {note}" if str(note).startswith("not ") else f"{name}: {note}")


def print_summary(day: date, paths: Paths, outcome, bundle: Path | None, log_file: Path | None) -> None:
    """The table the run ends with: the controls' verdicts, what newly fails, the sources, where the bundle is and
    how to verify it, and where Dagster's log is."""
    from rich import box
    from rich.table import Table

    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.launch import DAILY_JOB
    from evidence_pipeline.settings import project_file
    from warehouse import Warehouse, results

    table = Table(title=f"{DAILY_JOB} {day}", title_justify="left", show_header=False, box=box.SIMPLE)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    state = "succeeded" if outcome.success else f"failed steps: {', '.join(outcome.failed_steps)}"
    table.add_row("run", f"{outcome.run_id} {state}")
    if paths.warehouse.exists():
        warehouse = Warehouse(paths.warehouse)
        stored = {cid: v for (cid, _), v in results.verdicts_between(warehouse, day, day).items()}
        verdicts = [v.verdict for v in stored.values()]
        waived = sum(v.counts.get("waived") or 0 for v in stored.values())
        table.add_row(
            "controls",
            f"{len(verdicts)}: {verdicts.count('pass')} pass, {verdicts.count('fail')} fail, "
            f"{verdicts.count('unknown')} unknown; {counted(waived, 'row')} waived"
            if verdicts
            else "none judged for this day",
        )
        failing = sorted(cid for cid, v in stored.items() if v.verdict == "fail")
        newly = [cid for cid in failing if results.failing_since(warehouse, cid, day) == day]
        earlier = {cid for cid, _ in results.verdicts_between(warehouse, date.min, day - timedelta(days=1))}
        first = " (their first evaluated day)" if newly and not earlier & set(newly) else ""
        shown = ", ".join(newly[:3]) + (f" and {len(newly) - 3} more (marked above)" if len(newly) > 3 else "")
        table.add_row("newly failing", f"{len(newly)}{first}" + (f": {shown}" if newly else ""))
        catalogue = load_catalogue(project_file("controls_map.yaml"))
        covered = promise_coverage(catalogue, paths, day)
        if covered is not None:
            table.add_row("trust page", f"{coverage_counts(covered)} (each: evidence-pipeline claims --date {day})")
        statuses = [row["status"] for row in results.source_status_of_day(warehouse, day)]
        table.add_row(
            "sources",
            f"{statuses.count('succeeded')} of {counted(len(statuses), 'dataset')} collected" if statuses else "none",
        )
    table.add_row("evidence bundle", str(bundle) if bundle else "none written")
    if bundle:
        table.add_row("verify it", f"evidence-pipeline verify {paths.evidence}")
    if log_file:
        table.add_row("Dagster's log", str(log_file))
    make_console().print(table)


def promise_coverage(catalogue: Catalogue, paths: Paths, day: date) -> list[PromiseCoverage] | None:
    """Each promise of the catalogue's trust page with the day's stored verdicts of its controls (None without a
    trust page); a control not judged that day, or judged by other SQL than the catalogue's, is no evidence."""
    from evidence_pipeline.claims import coverage
    from evidence_pipeline.evaluate import unusable_verdict
    from warehouse import Warehouse, results

    if catalogue.trust_page is None:
        return None
    stored = (
        {cid: v for (cid, _), v in results.verdicts_between(Warehouse(paths.warehouse), day, day).items()}
        if paths.warehouse.exists()
        else {}
    )
    verdicts, reasons = {}, {}
    for control in catalogue.controls:
        verdict = stored.get(control.id)
        if verdict is None:
            verdicts[control.id] = "not evaluated"
        elif unusable := unusable_verdict(verdict, control):  # as the snapshot reads it: no proof
            verdicts[control.id], reasons[control.id] = "unknown", unusable
        else:
            verdicts[control.id], reasons[control.id] = verdict.verdict, verdict.reason
    return coverage(catalogue.trust_page, verdicts, reasons)


def coverage_counts(covered: list[PromiseCoverage]) -> str:
    states = [item.state for item in covered]
    summary = ", ".join(f"{states.count(state)} {state}" for state in ("evidenced", "failing", "not evidenced"))
    return f"{counted(len(covered), 'promise')}: {summary}"
