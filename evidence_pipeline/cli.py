"""`evidence-pipeline`: run the demo, a real day, the UI on the sandbox; sign, verify, export and sample evidence."""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from evidence_pipeline.settings import Paths
from evidence_pipeline.text import counted

if TYPE_CHECKING:  # the CLI imports what each command needs when it runs: `--help` stays quick
    from evidence_pipeline.catalogue import Catalogue
    from evidence_pipeline.claims import PromiseCoverage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evidence-pipeline", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, details: str = "", examples: str = "") -> argparse.ArgumentParser:
        """A subcommand whose `--help` says what it does (and shows examples)."""
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines()) if examples else None
        return commands.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}." + (f"\n\n{details}" if details else ""),
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    demo = command(
        "demo",
        "collect, evaluate and snapshot a day against the built-in sandbox organisation",
        "Serves local fakes of every system (no network, no credentials), runs the daily job on them and prints a\n"
        "line per source and per control, then a summary with the evidence bundle's path.",
        "evidence-pipeline demo\nevidence-pipeline demo --size 500 --verbose",
    )
    _sandbox_options(demo)
    demo.add_argument("--date", type=date.fromisoformat, default=date.today(), help="the day (default today)")
    _verbose_option(demo)

    run = command(
        "run",
        "collect, evaluate and snapshot a day against the configured systems",
        "Runs the daily_evidence job for one day in this process (the job the schedule and the UI launch); each\n"
        "source is configured by its environment variables (see the README).",
        "evidence-pipeline run\nevidence-pipeline run --date 2026-11-20\n"
        "evidence-pipeline run --asset sources/github/repositories",
    )
    run.add_argument("--date", type=date.fromisoformat, default=date.today(), help="the day (default today)")
    run.add_argument(
        "--asset",
        action="append",
        default=None,
        metavar="KEY",
        help="only this asset of the day (repeatable; e.g. sources/github/repositories to re-collect one dataset)",
    )
    _verbose_option(run)

    ui = command(
        "ui",
        "serve the sandbox organisation and open the Dagster UI on it",
        "Starts the sandbox's fake systems, then Dagster's webserver and daemon (dg dev); Ctrl-C stops both.",
        "evidence-pipeline ui\nevidence-pipeline ui --host 0.0.0.0 --port 3001",
    )
    _sandbox_options(ui)
    ui.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port the UI listens on (default 3000)")

    controls = command(
        "controls",
        "list every control of the catalogue",
        "Each control's id, SOC 2 criteria, title, sources, owner and severity, from controls_map.yaml\n"
        "(or EVIDENCE_CONTROLS_MAP).",
        "evidence-pipeline controls\nevidence-pipeline controls --json",
    )
    controls.add_argument("--json", action="store_true", help="print the controls as a JSON list")

    claims = command(
        "claims",
        "show each promise of your trust page with its controls and the day's verdicts",
        "Reads the trust page (EVIDENCE_TRUST_PAGE, else trust_page.yaml in the project) and the day's stored\n"
        "verdicts: each promise is evidenced (every control passes), failing (one fails) or not evidenced.",
        "evidence-pipeline claims\nevidence-pipeline claims --date 2026-11-20",
    )
    claims.add_argument("--date", type=date.fromisoformat, default=date.today(), help="the day (default today)")

    verify = command(
        "verify",
        "check an evidence bundle's hashes, signature and chain (or every bundle of a series: the evidence folder, "
        "exports/, samples/)",
        examples="evidence-pipeline verify evidence-data/evidence\n"
        "evidence-pipeline verify evidence-data/evidence/2026-11-20/v001-20261120T020000Z --public-key key.pub",
    )
    verify.add_argument("bundle", type=Path, help="a bundle folder, or a folder of bundles to check as one chain")
    _trust_options(verify)
    # signatures are required by default now; the old flag is still accepted so that scripts keep working
    verify.add_argument("--require-signature", action="store_true", help=argparse.SUPPRESS)

    keygen = command(
        "keygen", "make an Ed25519 signing key for evidence bundles", examples="evidence-pipeline keygen --out key.pem"
    )
    keygen.add_argument(
        "--out",
        type=Path,
        default=None,
        help="private key file to create (default: <EVIDENCE_HOME>/keys/evidence-signing.pem); never overwritten",
    )

    rotate = command(
        "rotate-key",
        "hand the evidence chains from the current signing key (EVIDENCE_SIGNING_KEY) to a new one",
        "Writes a rotation record signed by the current key; the next bundle of each chain carries it.",
        "EVIDENCE_SIGNING_KEY=old.pem evidence-pipeline rotate-key --new new.pem.pub",
    )
    rotate.add_argument("--new", type=Path, required=True, help="the new key: its public key (.pub) or private key")

    export = command(
        "export",
        "write one bundle for a period, from the verified daily bundles",
        examples="evidence-pipeline export --from 2026-01-01 --to 2026-03-31 --pseudonymize",
    )
    _period_options(export)

    sample = command(
        "sample",
        "draw a reproducible audit sample of a control's population over a period",
        examples="evidence-pipeline sample --control cc6_2_leavers_deprovisioned --from 2026-01-01 --to 2026-03-31 "
        "--seed 42",
    )
    sample.add_argument("--control", required=True, help="control id (see `evidence-pipeline controls`)")
    _period_options(sample)
    sample.add_argument(
        "--size", type=int, default=None, help="sample size (default: the table by frequency and population size)"
    )
    sample.add_argument("--seed", type=int, required=True, help="seed: the same seed redraws the same sample")

    history = command(
        "history",
        "print every control's verdict on every day of a period, as CSV",
        "Stored verdicts, re-judged from raw rows where a control's SQL changed since.",
        "evidence-pipeline history --from 2026-11-01 --to 2026-11-30 --control cc6_1_aws_root_mfa",
    )
    history.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="first day")
    history.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day (inclusive)")
    history.add_argument("--control", action="append", default=None, help="only this control (repeatable)")
    return parser


def _version() -> str:
    """The installed package's version (the same the bundles' manifests record)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evidence-pipeline")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from evidence_pipeline.catalogue import CatalogueError
    from evidence_pipeline.claims import TrustPageError
    from evidence_pipeline.evidence.period import PeriodError
    from evidence_pipeline.evidence.signing import SigningKeyError
    from evidence_pipeline.organisation import OrganisationError
    from evidence_pipeline.settings import SettingsError, use_private_umask
    from evidence_pipeline.waivers import WaiverError

    use_private_umask()  # the data folder holds personal data: whatever this process and its runs write is owner-only
    try:
        return {
            "demo": _demo,
            "run": _run,
            "ui": _ui,
            "controls": _controls,
            "claims": _claims,
            "verify": _verify,
            "keygen": _keygen,
            "rotate-key": _rotate_key,
            "export": _export,
            "sample": _sample,
            "history": _history,
        }[args.command](args)
    except (
        SettingsError,
        SigningKeyError,
        WaiverError,
        CatalogueError,
        PeriodError,
        TrustPageError,
        OrganisationError,
    ) as exc:
        # a user's setting or file is wrong: one line naming it, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _verbose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Dagster's full log on the console too (it is always written to <EVIDENCE_HOME>/logs/)",
    )


def _trust_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help="pin the expected signing key (PEM, OpenSSH or raw; default EVIDENCE_PUBLIC_KEY, else "
        "the chain's first signer): any other signer fails, unless a rotation record signed by "
        "it hands over to the new key",
    )
    parser.add_argument(
        "--expect-head",
        default=None,
        metavar="[SEQUENCE:]SHA256",
        help="the chain head pinned earlier (as verify prints it): fails if it is not in the chain, "
        "i.e. if the newest bundles were removed",
    )
    parser.add_argument(
        "--allow-unsigned",
        action="store_true",
        help="accept unsigned bundles (stated in the output); by default they are refused",
    )


def _period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="first day")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day (inclusive)")
    parser.add_argument(
        "--pseudonymize",
        action="store_true",
        help="replace personal data (e-mails, names, logins) with keyed HMAC pseudonyms; the key "
        "comes from EVIDENCE_PSEUDONYM_KEY or is random for this export, and is never written",
    )
    _trust_options(parser)


def _sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=50, help="people in the sandbox organisation (default 50)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sandbox organisation (default 7)")


def _start_sandbox(args: argparse.Namespace, paths: Paths, day: date):
    from sandbox import missing_modules

    if missing := missing_modules():  # the fakes are an extra, not a runtime dependency: one line, no traceback
        print(
            f"error: the sandbox is not installed (no {', '.join(missing)}): pip install 'evidence-pipeline[sandbox]'",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from sandbox.launch import start_sandbox

    print(f"starting the sandbox organisation ({counted(args.size, 'person', 'people')}, seed {args.seed})")
    sandbox = start_sandbox(paths.home / "sandbox", seed=args.seed, size=args.size, today=day)
    os.environ.update(sandbox.env)
    return sandbox


#: width of the CLI's tables when stdout is not a terminal (a file, a pipe): wide enough that no path is folded
PIPED_WIDTH = 200


def _console():
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
        console = _console()
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
            evaluation = event.event_specific_data
            if evaluation.check_name == "collected" and not evaluation.passed:
                self.not_collected[".".join(evaluation.asset_key.path[1:])] = evaluation.description or ""
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


def _run_and_report(day: date, paths: Paths, assets: list[str] | None = None, verbose: bool = False) -> int:
    import dagster as dg

    from evidence_pipeline.defs.evidence import SNAPSHOT_KEY
    from evidence_pipeline.evidence.chain import latest_bundle
    from evidence_pipeline.launch import nothing_collected, run_day
    from warehouse import Warehouse
    from warehouse.results import errored_controls

    selection = [dg.AssetKey.from_user_string(key) for key in assets] if assets else None
    print("loading the pipeline's definitions and starting the run")
    with (
        contextlib.nullcontext() if verbose else _step_processes_stderr_to(paths.home / "logs" / STEP_CONSOLE_LOG),
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
            _say_missing_renderings(bundle)
    errored = errored_controls(Warehouse(paths.warehouse), day) if paths.warehouse.exists() else {}
    for control_id, error in errored.items():  # unknown in the bundle, with the error; the exit status says it too
        print(f"error: control {control_id}: {error}", file=sys.stderr)
    nothing = nothing_collected(paths, day) if selection is None else None
    if nothing:  # the bundle says every control is unknown; the exit status must say it too
        print(f"error: {nothing}", file=sys.stderr)
    _print_summary(day, paths, outcome, bundle, progress.log_file)
    if (selection is None or SNAPSHOT_KEY in selection) and bundle is None:
        return 1
    return 1 if nothing or errored or not outcome.success else 0


#: where the step processes' own stderr goes without --verbose (under <EVIDENCE_HOME>/logs/)
STEP_CONSOLE_LOG = "step-processes.log"


@contextlib.contextmanager
def _step_processes_stderr_to(path: Path) -> Iterator[None]:
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


def _say_missing_renderings(bundle: Path) -> None:
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


def _print_summary(day: date, paths: Paths, outcome, bundle: Path | None, log_file: Path | None) -> None:
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
        covered = _promise_coverage(catalogue, paths, day)
        if covered is not None:
            table.add_row("trust page", f"{_coverage_counts(covered)} (each: evidence-pipeline claims --date {day})")
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
    _console().print(table)


def _use_data_folder_key(paths: Paths) -> None:
    """Sign with the data folder's own key unless EVIDENCE_SIGNING_KEY names one (the demo and the sandbox UI)."""
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key

    if not os.environ.get(SIGNING_KEY_ENV):
        # a key in the (git-ignored) data folder, so that the sandbox's bundles are signed and verify
        key = ensure_data_folder_key(paths.home)
        os.environ[SIGNING_KEY_ENV] = str(key.path)
        print(f"signing with the data folder's key {key.path} ({key.key_id})")


def _demo(args: argparse.Namespace) -> int:
    paths = Paths.from_env()
    _use_data_folder_key(paths)
    sandbox = _start_sandbox(args, paths, args.date)
    try:
        return _run_and_report(args.date, paths, verbose=args.verbose)
    finally:
        sandbox.stop()


def _run(args: argparse.Namespace) -> int:
    return _run_and_report(args.date, Paths.from_env(), args.asset, args.verbose)


def _ui(args: argparse.Namespace) -> int:
    from evidence_pipeline.ui import serve_ui

    paths = Paths.from_env()
    _use_data_folder_key(paths)  # `dg dev` inherits it: the UI's snapshots are signed too
    sandbox = _start_sandbox(args, paths, date.today())
    try:
        return serve_ui(paths, args.host, args.port)
    finally:
        sandbox.stop()


def _controls(args: argparse.Namespace) -> int:
    import json

    from rich.table import Table

    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.settings import project_file

    catalogue = load_catalogue(project_file("controls_map.yaml"))
    rows = [
        {
            "id": control.id,
            "criteria": control.criteria,
            "title": control.title,
            "sources": [*control.sources, *control.system_sources],
            "owner": control.owner,
            "severity": control.severity,
        }
        for control in catalogue.controls
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"{counted(len(rows), 'control')} in the catalogue", title_justify="left")
    for column in ("id", "criteria", "title", "sources", "owner", "severity"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(", ".join(v) if isinstance(v, list) else str(v) for v in row.values()))
    _console().print(table)
    return 0


def _claims(args: argparse.Namespace) -> int:
    from rich.table import Table

    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.claims import TRUST_PAGE_ENV, trust_page_file
    from evidence_pipeline.settings import project_file

    catalogue = load_catalogue(project_file("controls_map.yaml"))
    page = catalogue.trust_page
    if page is None:
        print(
            f"no trust page configured: set {TRUST_PAGE_ENV} to your security page's promises mapped to controls "
            f"(examples: examples/trust_pages/, the demo company's sandbox/trust_page.yaml)"
        )
        return 0
    covered = _promise_coverage(catalogue, Paths.from_env(), args.date) or []
    table = Table(
        title=f"{page.name} ({trust_page_file()}) on {args.date}: {_coverage_counts(covered)}", title_justify="left"
    )
    for column in ("promise", "quote", "controls", "coverage"):
        table.add_column(column, overflow="fold")
    for item in covered:
        promise = item.promise
        controls = "\n".join(f"{cid}: {verdict}" for cid, verdict in item.verdicts.items()) or "none"
        table.add_row(f"{promise.id}\n({promise.section})", f"“{promise.quote}”", controls, f"{item.state}: {item.why}")
    _console().print(table)
    return 0


def _promise_coverage(catalogue: Catalogue, paths: Paths, day: date) -> list[PromiseCoverage] | None:
    """Each promise of the catalogue's trust page with the day's stored verdicts of its controls (None without a
    trust page); a control not judged that day, or judged by other SQL than the catalogue's, is no evidence."""
    from evidence_pipeline.claims import coverage
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
        elif verdict.sql_sha256 != control.sql_sha256:  # as the snapshot reads it: another SQL's verdict is no proof
            verdicts[control.id], reasons[control.id] = "unknown", "evaluated with different SQL than the catalogue"
        else:
            verdicts[control.id], reasons[control.id] = verdict.verdict, verdict.reason
    return coverage(catalogue.trust_page, verdicts, reasons)


def _coverage_counts(covered: list[PromiseCoverage]) -> str:
    states = [item.state for item in covered]
    summary = ", ".join(f"{states.count(state)} {state}" for state in ("evidenced", "failing", "not evidenced"))
    return f"{counted(len(covered), 'promise')}: {summary}"


def _pinned_key(args: argparse.Namespace) -> bytes | None:
    """The key to trust: --public-key, else EVIDENCE_PUBLIC_KEY, else None (the chain's first signer)."""
    from evidence_pipeline.evidence.signing import SigningKeyError, pinned_public_key_from_env

    if args.public_key is None:
        try:
            return pinned_public_key_from_env()
        except SigningKeyError as exc:
            raise SystemExit(f"FAILED: {exc}") from None
    try:
        return args.public_key.read_bytes()
    except OSError as exc:
        raise SystemExit(f"FAILED: --public-key {args.public_key}: {exc.strerror}") from None


def _verify(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.chain import MANIFEST, VERSION_FOLDER
    from evidence_pipeline.evidence.verify import VerificationError, covers, verify_bundle, verify_series

    public_key = _pinned_key(args)
    target: Path = args.bundle
    require_signature = not args.allow_unsigned
    chain = None
    try:
        if (target / MANIFEST).is_file():
            if args.expect_head:
                raise VerificationError("--expect-head checks a chain: give the folder of bundles, not one bundle")
            # inside its series folder a bundle must sit where its manifest says; a bare copy is only reported
            series_root = target.parent.parent if VERSION_FOLDER.match(target.name) else None
            results = [verify_bundle(target, public_key, require_signature, series_root)]
        elif target.is_dir():
            chain = verify_series(target, public_key, require_signature, args.expect_head)
            results = list(chain)
        else:
            raise VerificationError(f"{target}: no such bundle or folder")
    except VerificationError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    for result in results:
        manifest = result.manifest
        pinned = " (the pinned key)" if public_key and chain is None else ""
        signer = (
            f"signed by Ed25519 key {result.signed_by}{pinned}"
            if result.signed_by
            else "UNSIGNED (accepted by --allow-unsigned)"
        )
        print(
            f"OK: {len(manifest['files'])} files match the manifest of {covers(manifest)} ({result.bundle}); "
            f"{signer}; chain: {result.chain}"
        )
    if chain is None:
        location = results[0].manifest.get("location")
        if location and not VERSION_FOLDER.match(target.name):
            print(f"NOTE: written as {location} of its series; not checked here (the folder is a copy)")
        if results[0].signed_by and not public_key:
            print(
                "NOTE: no key pinned: compare the key id with the one the evidence's owner published, or pass "
                "--public-key"
            )
        if not results[0].signed_by:
            print(
                "WARNING: the bundle is UNSIGNED: its hashes show only that the files match its own manifest",
                file=sys.stderr,
            )
        return 0
    lineage = " -> ".join(chain.signers) or "no key (every bundle is unsigned)"
    first = "the pinned key" if public_key else "the first bundle's signer"
    print(
        f"OK: {len(chain)} bundles form one unbroken chain, signed by {lineage}"
        + (
            f" (the first is {first}; each later one introduced by a rotation record signed by the one before)"
            if len(chain.signers) > 1
            else ""
        )
    )
    head = chain.head
    print(
        f"chain head: sequence {head.sequence}, {head.bundle} ({head.covers}), manifest SHA-256 {head.manifest_sha256}"
    )
    if chain.added_since_pin is not None:
        print(
            "OK: the expected head is the chain's head"
            if chain.added_since_pin == 0
            else f"OK: the expected head is in the chain; {chain.added_since_pin} bundle(s) were added after it"
        )
    print(
        f"pin it: --expect-head {head.pin}"
        + ("" if public_key else f" --public-key <the key {chain.signers[0]}>" if chain.signers else "")
    )
    if not public_key and chain.signers:
        print(
            f"NOTE: no key pinned: the chain's first signer {chain.signers[0]} is trusted; compare it with the key "
            f"id the evidence's owner published, or pass --public-key"
        )
    if chain.unsigned:
        print(
            f"WARNING: {len(chain.unsigned)} UNSIGNED bundle(s) accepted (--allow-unsigned): "
            f"{', '.join(chain.unsigned)}",
            file=sys.stderr,
        )
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, data_folder_key, generate_key

    path = (args.out or data_folder_key(Paths.from_env().home)).resolve()
    if path.exists():
        print(f"FAILED: {path} exists; a signing key is never overwritten", file=sys.stderr)
        return 1
    key = generate_key(path)
    print(f"private key: {path} (keep it secret; owner-only permissions)")
    print(f"public key:  {path}.pub")
    print(f"key id:      {key.key_id}")
    print(f"sign bundles with it:  export {SIGNING_KEY_ENV}={path}")
    print(f"auditors pin it with:  evidence-pipeline verify <bundle> --public-key {path}.pub")
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    """A rotation record signed by the current key, left in each series folder for the new key's first bundle."""
    from evidence_pipeline.evidence.chain import chain_signer, series_bundles, signer_of
    from evidence_pipeline.evidence.period import EXPORTS
    from evidence_pipeline.evidence.sampling import SAMPLES
    from evidence_pipeline.evidence.signing import (
        SIGNING_KEY_ENV,
        SigningKeyError,
        fingerprint,
        load_public_key,
        rotation_record,
        signing_key_from_env,
        write_pending_rotation,
    )

    evidence = Paths.from_env().evidence
    try:
        current = signing_key_from_env()
        if current is None:
            raise SigningKeyError(
                f"{SIGNING_KEY_ENV} is not set: it must name the CURRENT signing key, which signs the rotation record"
            )
        try:
            new_key = load_public_key(args.new.read_bytes(), f"--new {args.new}")
        except OSError as exc:
            raise SigningKeyError(f"--new {args.new}: {exc.strerror}") from None
    except SigningKeyError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    if fingerprint(new_key) == current.key_id:
        print(f"FAILED: --new {args.new} is the current key {current.key_id}", file=sys.stderr)
        return 1
    series = [evidence, evidence / EXPORTS, evidence / SAMPLES]
    for root in series:
        signed_last = chain_signer(series_bundles(root)) if root.is_dir() else None
        if signed_last is not None and signer_of(signed_last) != current.key_id:
            print(
                f"FAILED: {root}: the chain is signed by {signer_of(signed_last)} (up to "
                f"{signed_last.relative_to(root)}), not by {current.key_id} ({SIGNING_KEY_ENV}): only the chain's "
                f"signer can hand it over",
                file=sys.stderr,
            )
            return 1
    record, signature = rotation_record(current, new_key)
    for root in series:
        write_pending_rotation(root, record, signature, fingerprint(new_key))
    print(
        f"rotation record: {current.key_id} -> {fingerprint(new_key)}, signed by the current key, left in "
        f"{', '.join(str(root) for root in series)}"
    )
    print(
        f"now sign with the new key ({SIGNING_KEY_ENV}=<its private key>): the next bundle of each chain carries "
        f"the record, and verify accepts the new signer from that bundle on"
    )
    return 0


def _pseudonymizer(args: argparse.Namespace):
    from evidence_pipeline.evidence.pseudonymize import Pseudonymizer

    return Pseudonymizer.from_env() if args.pseudonymize else None


def _report_trust(daily_chain: dict, unsigned_inputs: list[str]) -> None:
    """What an export or a sample was built on: the daily chain's signers and head, and any unsigned day."""
    head = daily_chain["head"]
    print(
        f"built on the daily chain of {daily_chain['bundles']} bundle(s) signed by "
        f"{' -> '.join(daily_chain['signers']) or 'no key'} ({daily_chain['trusted_key']}); head sequence "
        f"{head['sequence']} ({head['bundle']}), manifest SHA-256 {head['manifest_sha256']}"
    )
    if unsigned_inputs:
        print(
            f"WARNING: built on {len(unsigned_inputs)} UNSIGNED daily bundle(s) (--allow-unsigned, stated in the "
            f"manifest): {', '.join(unsigned_inputs)}",
            file=sys.stderr,
        )


def _export(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.period import PeriodError, load_period, write_export
    from evidence_pipeline.evidence.signing import SigningKeyError, signing_key_for_writing

    paths = Paths.from_env()
    public_key = _pinned_key(args)
    try:
        signing_key = signing_key_for_writing("period export")
        period = load_period(
            paths.evidence,
            args.start,
            args.end,
            public_key,
            _pseudonymizer(args),
            require_signature=not args.allow_unsigned,
            expect_head=args.expect_head,
        )
        bundle = write_export(paths.evidence, period, signing_key)
    except (PeriodError, SigningKeyError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    _report_trust(period.daily_chain, period.unsigned_inputs)
    if period.missing_days:
        print(
            f"WARNING: {len(period.missing_days)} day(s) without an evidence snapshot: "
            f"{', '.join(d.isoformat() for d in period.missing_days)}",
            file=sys.stderr,
        )
    for control in period.controls:
        stats = period.control_stats[control.id]
        rate = f"{stats['pass_rate']:.1%}" if stats["pass_rate"] is not None else "n/a"
        print(
            f"{control.id}: {stats['days_evaluated']} day(s) evaluated, {stats['days_fail']} failing, row pass "
            f"rate {rate}, {stats['exceptions']} exception(s), {stats['open_at_end']} open at the end"
        )
    print(f"period export: {bundle}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.evidence.csv_cells import neutralize_cell
    from evidence_pipeline.evidence.period import PeriodError, period_days
    from evidence_pipeline.history import verdict_history
    from evidence_pipeline.settings import optional_project_file, project_file
    from evidence_pipeline.waivers import load_waivers
    from warehouse import Warehouse

    try:
        days = period_days(args.start, args.end)
    except PeriodError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    unknown = sorted(set(args.control or []) - set(catalogue.by_id))
    if unknown:
        print(f"FAILED: no control {', '.join(unknown)} in controls_map.yaml", file=sys.stderr)
        return 1
    if args.control:
        catalogue = catalogue.model_copy(update={"controls": [catalogue.by_id[c] for c in args.control]})
    waivers = load_waivers(optional_project_file("waivers.yaml"), set(catalogue.by_id))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["date", "control_id", "verdict", "population", "pass", "fail", "unknown", "waived", "origin", "reason"]
    )
    for verdict in verdict_history(Warehouse(Paths.from_env().warehouse), catalogue, days, waivers):
        row = [
            verdict.day.isoformat(),
            verdict.control_id,
            verdict.verdict,
            *(verdict.counts.get(k, "") for k in ("population", "pass", "fail", "unknown", "waived")),
            verdict.origin,
            verdict.reason,
        ]
        writer.writerow([neutralize_cell(value) for value in row])  # a reason may quote a source's text
    return 0


def _sample(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.period import PeriodError
    from evidence_pipeline.evidence.sampling import draw_sample, write_sample
    from evidence_pipeline.evidence.signing import SigningKeyError, signing_key_for_writing

    paths = Paths.from_env()
    public_key = _pinned_key(args)
    try:
        signing_key = signing_key_for_writing("sample")
        sample = draw_sample(
            paths.evidence,
            args.control,
            args.start,
            args.end,
            args.seed,
            args.size,
            public_key,
            _pseudonymizer(args),
            require_signature=not args.allow_unsigned,
            expect_head=args.expect_head,
        )
        bundle = write_sample(paths.evidence, sample, signing_key)
    except (PeriodError, SigningKeyError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    _report_trust(sample.trust["daily_chain"], sample.trust["unsigned_inputs"])
    if sample.missing_days:
        print(
            f"WARNING: {len(sample.missing_days)} day(s) without an evidence snapshot: "
            f"{', '.join(d.isoformat() for d in sample.missing_days)}",
            file=sys.stderr,
        )
    described = sample.describe()
    print(
        f"{sample.control_id}: {sample.size} of {len(sample.population)} occurrences ({sample.size_rule}); "
        f"seed {sample.seed}; population SHA-256 {described['population_sha256']}"
    )
    for row in sample.selected:
        print(f"  {row['rank']:>3}. {row['snapshot_date']} {row['resource_id']} [{row['status']}]")
    print(f"sample: {bundle}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
