"""One full day on a sandbox organisation of `--size` people (or several sizes side by side with `--sizes`), served
with `--latency-ms` per request.

Prints: requests per dataset against the page-size minimum, wall time per phase (collect, evaluate, snapshot) and of
the whole day beside its floor (KnowBe4's pacing), peak memory of the step processes, the time to evaluate every
control over `--history-days` of history, the bundle's size, and the naive per-resource way (branch protection per
repository, MFA devices per IAM user, users.get per Google user) timed on a subset and extrapolated, with the ratio.
`--profile district` is a school district: 5% staff, the rest students with Google accounts in an excluded unit.
Figures are printed, never asserted: timing belongs to this command, not to unit tests.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Launched:
    run_id: str
    success: bool
    failed_steps: list[str]
    wall_s: float


def launch_day(day: date, paths: Any, collection_only: bool = False) -> Launched:
    """The one place the bench starts the pipeline's day, as `evidence-pipeline run` does (the daily job through
    `dg.execute_job`); `collection_only` materializes the source assets alone."""
    from evidence_pipeline.launch import run_day

    assets = None
    if collection_only:
        from evidence_pipeline import definitions

        graph = definitions.defs.resolve_asset_graph()
        assets = [key for key in graph.get_all_asset_keys() if key.path[0] == "sources"]
    started = time.monotonic()
    outcome = run_day(day, paths, assets)
    return Launched(outcome.run_id, outcome.success, outcome.failed_steps, time.monotonic() - started)


def minimum_requests(org: Any, day: date) -> dict[str, int]:
    """The page-size minimum of every dataset the pipeline collects on `day` (sandbox/minimum.py over the
    connectors' formulas), with the pipeline's own windows read from the settings the pipeline reads."""
    from evidence_pipeline.defs.sources.aws import aws_resource
    from evidence_pipeline.defs.sources.github import github_resource, merge_window
    from sandbox.minimum import pipeline_min_requests

    window = merge_window(day, github_resource().pull_request_days)
    return pipeline_min_requests(org, day, aws_resource().backup_job_days, window)


def directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def phase_spans(instance: Any, run_id: str) -> dict[str, float]:
    """Wall time of each phase of the daily job, first step start to last step end: the sources' `collect_*` steps,
    the controls' `judge_*` steps, and the rest (the snapshot)."""
    spans: dict[str, list[float]] = {}
    for stats in instance.get_run_step_stats(run_id):
        if not stats.start_time:
            continue
        key = stats.step_key
        phase = "collect" if key.startswith("collect_") else "evaluate" if key.startswith("judge_") else "snapshot"
        spans.setdefault(phase, []).extend([stats.start_time, stats.end_time or stats.start_time])
    return {phase: max(times) - min(times) for phase, times in spans.items()}


def step_costs(instance: Any, run_id: str, processes: dict[int, Any]) -> list[dict[str, Any]]:
    """Each step's wall time, CPU seconds and peak RSS, its process found by the pid its events carry; the costliest
    in CPU first (on two cores, CPU is what the parallel steps share)."""
    pids: dict[str, int] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.step_key and event.pid and event.pid in processes:
            pids.setdefault(event.step_key, event.pid)
    costs = []
    for stats in instance.get_run_step_stats(run_id):
        use = processes.get(pids.get(stats.step_key, -1))
        if use is None or not stats.start_time:
            continue
        wall = (stats.end_time or stats.start_time) - stats.start_time
        costs.append({"step": stats.step_key, "wall_s": wall, "cpu_s": use.cpu_s, "peak_rss": use.peak_rss})
    return sorted(costs, key=lambda cost: -cost["cpu_s"])


def evaluate_history(warehouse_file: Path, day: date, days: int) -> dict[str, Any]:
    """Copy the day's raw rows, collection log and verdicts to `days` days in a scratch copy (the history a year of
    daily runs leaves), then take every control's verdict on every day with `verdict_history`: all stored; one
    control's SQL changed (the slowest to re-judge); every control's SQL changed (everything re-judged)."""
    import duckdb

    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.history import verdict_history
    from evidence_pipeline.settings import optional_project_file, project_file
    from evidence_pipeline.waivers import load_waivers
    from warehouse import Warehouse
    from warehouse.results import load_verdict, set_verdicts_sql_sha256

    scratch = Path(tempfile.mkdtemp(prefix="bench-history-")) / "history.duckdb"
    shutil.copyfile(warehouse_file, scratch)
    started = time.monotonic()
    with duckdb.connect(str(scratch)) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, 'raw_') OR table_name IN "
                "('collection_log', 'control_verdicts')"
            ).fetchall()
        ]
        rows = 0
        for table in tables:
            con.execute(
                f"INSERT INTO {table} SELECT * EXCLUDE (d) REPLACE (snapshot_date - CAST(d AS INTEGER) "
                f"AS snapshot_date) FROM {table}, range(1, {days}) r(d) WHERE snapshot_date = ?",
                [day],
            )
            rows += con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.execute("CHECKPOINT")
    synthesised = time.monotonic() - started
    warehouse = Warehouse(scratch)
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    waivers = load_waivers(optional_project_file("waivers.yaml"), set(catalogue.by_id))
    history = [day - timedelta(days=offset) for offset in range(days)]

    def timed(changed: list[str]) -> tuple[float, list[Any]]:
        set_verdicts_sql_sha256(warehouse, changed, "an older query")
        started = time.monotonic()
        verdicts = verdict_history(warehouse, catalogue, history, waivers)
        return time.monotonic() - started, verdicts

    def on_the_day(verdicts: list[Any]) -> dict[str, tuple[str, dict[str, int]]]:
        # the synthesised days copy the day's raw rows and verdicts: only the day itself was really evaluated
        return {v.control_id: (v.verdict, v.counts) for v in verdicts if v.day == day}

    stored_s, stored = timed([])
    # the slowest control to re-judge: the one with the largest population
    slowest = max(
        catalogue.controls,
        key=lambda c: load_verdict(warehouse, day, c.id).counts["population"],
    )
    one_s, one = timed([slowest.id])
    all_s, everything = timed([c.id for c in catalogue.controls])
    shutil.rmtree(scratch.parent, ignore_errors=True)
    rejudged = on_the_day(everything)
    return {
        "rows": rows,
        "synthesised_s": synthesised,
        "evaluations": len(catalogue.controls) * days,
        "controls": len(catalogue.controls),
        "stored_s": stored_s,
        "one_changed": slowest.id,
        "one_changed_s": one_s,
        "one_rejudged": sum(v.origin == "re-judged" for v in one),
        "all_changed_s": all_s,
        "all_rejudged": sum(v.origin == "re-judged" for v in everything),
        "differ_on_the_day": sorted(c for c, stored_day in on_the_day(stored).items() if rejudged[c] != stored_day),
    }


def naive(sandbox: Any, subset: int) -> list[dict[str, Any]]:
    """The typical script: one call per resource, with the same real clients, timed on `subset` resources."""
    from connectors.aws import account_sessions
    from connectors.github import GitHubConfig, make_github
    from connectors.google_workspace import make_directory
    from sandbox.aws.serve import aws_config
    from sandbox.google.serve import google_config

    env, org, results = sandbox.env, sandbox.org, []

    def timed(label: str, items: list[Any], population: int, call: Any) -> None:
        started = time.monotonic()
        for item in items:
            # the fake may not serve the naive endpoint (404): the round trip is what is being measured
            with contextlib.suppress(Exception):
                call(item)
        spent = time.monotonic() - started
        results.append(
            {
                "what": label,
                "sampled": len(items),
                "population": population,
                "seconds_sampled": spent,
                "requests": population,
                "extrapolated_s": spent / max(len(items), 1) * population,
            }
        )

    config = aws_config(env)
    production = account_sessions(dataclasses.replace(config, role_arns=config.role_arns[:1]))[0]
    iam = production.client("iam", None)
    users = [u.name for u in org.systems["aws"].production.users]
    timed(
        "AWS iam:ListMFADevices per IAM user",
        users[:subset],
        sum(len(a.users) for a in org.systems["aws"].accounts),
        lambda name: iam.list_mfa_devices(UserName=name),
    )

    github = make_github(GitHubConfig(org=env["GITHUB_ORG"], base_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"]))
    repositories = [r.name for r in org.github.repositories]
    timed(
        "GitHub REST branch protection per repository",
        repositories[:subset],
        len(repositories),
        lambda name: github.requester.requestJsonAndCheck(
            "GET", f"/repos/{env['GITHUB_ORG']}/{name}/branches/main/protection"
        ),
    )

    directory = make_directory(google_config(env))
    emails = [u.primary_email for u in org.systems["google"].users]
    timed(
        "Google users.get per user",
        emails[:subset],
        len(emails),
        lambda email: directory.users().get(userKey=email).execute(num_retries=0),
    )
    return results


def requests_table(logged: list[dict[str, Any]], minimum: dict[str, int]) -> tuple[int, int, float]:
    """Print requests per dataset against its page-size minimum; the totals over the datasets with a minimum and
    the largest ratio."""
    print("\n| dataset | records | requests | page-size minimum | ratio | retries |")
    print("|---|---:|---:|---:|---:|---:|")
    total_requests = total_minimum = 0
    worst = 0.0
    for row in logged:
        least = minimum.get(row["name"])
        ratio = f"{row['request_count'] / least:.2f}" if least else "n/a"
        if least:
            total_requests += row["request_count"]
            total_minimum += least
            worst = max(worst, row["request_count"] / least)
        print(
            f"| {row['name']} | {row['record_count']} | {row['request_count']} | {least or 'n/a'} | {ratio} "
            f"| {row['retry_count']} |"
        )
    print(
        f"| **all with a formula** | | {total_requests} | {total_minimum} | "
        f"{total_requests / max(total_minimum, 1):.3f} | |"
    )
    return total_requests, total_minimum, worst


def print_history(history: dict[str, Any], days: int, day: date) -> None:
    print(
        f"\nhistory: {days} days x {history['controls']} controls = {history['evaluations']} "
        f"verdicts ({history['rows']} rows of raw data and verdicts synthesised in {history['synthesised_s']:.1f} s)"
    )
    print("\n| history, every control over every day | wall time | re-judged from raw rows |\n|---|---:|---:|")
    print(f"| stored results, no SQL changed (the daily case) | {history['stored_s']:.2f} s | 0 |")
    one = history["one_changed"]
    print(f"| the SQL of {one} changed | {history['one_changed_s']:.2f} s | {history['one_rejudged']} |")
    print(f"| every control's SQL changed | {history['all_changed_s']:.2f} s | {history['all_rejudged']} |")
    print(
        f"re-judged on {day} (the day really evaluated), controls whose verdict or counts differ from the "
        f"stored ones: {history['differ_on_the_day'] or 'none'}"
    )


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One size: build and serve the sandbox, run the day (or its collection, or nothing), print the figures and
    return the summary the side-by-side table shows."""
    import resource

    import dagster as dg

    from bench.memory import PeakMemory, cpu_seconds, rss_bytes, self_rss
    from connectors.knowbe4.minimum import min_seconds
    from evidence_pipeline.evidence.chain import latest_bundle
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key
    from evidence_pipeline.settings import Paths
    from sandbox.launch import start_sandbox
    from warehouse import Warehouse, results

    home = (args.home or Path(tempfile.mkdtemp(prefix="bench-"))).resolve()
    paths = Paths(home)
    day = date.today()
    started = time.monotonic()
    # each system's fakes in a process of its own, as each real API is a service of its own: sharing this
    # process's interpreter lock, they answered slower than any real API and their wait was counted as the run's
    sandbox = start_sandbox(
        home / "sandbox",
        size=args.size,
        today=day,
        latency=args.latency_ms / 1000,
        profile=args.profile,
        separate_processes=True,
    )
    fakes = sandbox.pids()
    org = sandbox.org
    enrollments = len(org.systems["knowbe4"].enrollments)
    summary: dict[str, Any] = {
        "label": f"{args.size:,}" + (f" ({args.profile})" if args.profile != "company" else ""),
        "staff": org.size,
        "students": org.students or 0,
        "build_s": time.monotonic() - started,
        "sandbox_rss": self_rss() + rss_bytes(fakes),
        # KnowBe4 paces its API at 4 requests a second: no day can collect training faster
        "floor_s": min_seconds(enrollments),
    }
    print(
        f"# bench: {args.size} people ({args.profile}: {org.size} staff, {org.students or 0} students), "
        f"{args.latency_ms:g} ms per request, day {day}, data in {home}"
    )
    print(
        f"sandbox built and served in {summary['build_s']:.1f} s; this process and the {len(fakes)} fake "
        f"systems' processes {summary['sandbox_rss'] / MIB:.0f} MiB RSS summed (pages the forks share counted in "
        "each; the sandbox's fake organisation, not the pipeline's data); "
        f"{len(org.systems['google'].users)} Google users, {len(org.systems['entra'].users)} Entra users, "
        f"{sum(len(a.users) for a in org.systems['aws'].accounts)} IAM users, {len(org.github.repositories)} "
        f"repositories, {len(org.github.members)} GitHub members, {enrollments} training enrollments"
    )
    if args.sandbox_only:
        sandbox.stop()
        return summary
    os.environ.update(sandbox.env)
    os.environ[SIGNING_KEY_ENV] = str(ensure_data_folder_key(home).path)
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        fakes_before = cpu_seconds(fakes)
        with PeakMemory(exclude=fakes) as memory:
            launched = launch_day(day, paths, collection_only=args.collect_only)
        with dg.DagsterInstance.get() as instance:
            phases = phase_spans(instance, launched.run_id)
            costs = step_costs(instance, launched.run_id, memory.processes)
        summary |= {
            "day_s": launched.wall_s,
            "phases": phases,
            "peak_process": memory.peak_process,
            "peak_total": memory.peak_total,
            # the bench process: the sandbox organisation plus the run's own coordination (execute_job runs here)
            "orchestrator_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
        what = "collection run" if args.collect_only else "daily run"
        print(f"\n{what} {launched.run_id}: success={launched.success} failed={launched.failed_steps}")
        logged = results.collection_timings(Warehouse(paths.warehouse), day)
        summary["requests"], summary["minimum"], summary["worst_ratio"] = requests_table(
            logged, minimum_requests(org, day)
        )
        print("\n| phase | wall time |\n|---|---:|")
        for phase in ("collect", "evaluate", "snapshot"):
            if phase in phases:
                print(f"| {phase} (first step start to last step end) | {phases[phase]:.1f} s |")
        print(
            f"| **{'collection' if args.collect_only else 'full day'} (the run, including Dagster's start-up)** | "
            f"**{launched.wall_s:.1f} s** (floor: {summary['floor_s']:.1f} s, KnowBe4's {enrollments} "
            "enrollments at 4 requests a second) |"
        )
        print(
            f"\npeak memory: largest step process {memory.peak_process / MIB:.0f} MiB; all pipeline processes "
            f"together {memory.peak_total / MIB:.0f} MiB; this process (sandbox + run coordination) "
            f"{summary['orchestrator_peak'] / MIB:.0f} MiB"
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(
            f"CPU during the run: the steps {sum(c['cpu_s'] for c in costs):.1f} s in all; this process (the run's "
            f"coordination) {usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime:.1f} s; the sandbox's "
            f"fakes {cpu_seconds(fakes) - fakes_before:.1f} s (on this machine's {os.cpu_count()} cores)"
        )
        print("\n| step (costliest first) | wall | CPU | peak RSS |\n|---|---:|---:|---:|")
        for cost in costs[:12]:
            print(
                f"| {cost['step']} | {cost['wall_s']:.1f} s | {cost['cpu_s']:.1f} s | "
                f"{cost['peak_rss'] / MIB:.0f} MiB |"
            )
        bundle = latest_bundle(paths.evidence)
        if bundle and not args.collect_only:
            print(
                f"bundle: {bundle.name}, {directory_size(bundle) / MIB:.1f} MiB, "
                f"{sum(1 for p in bundle.rglob('*') if p.is_file())} files"
            )
        print(f"warehouse: {paths.warehouse.stat().st_size / MIB:.1f} MiB")

        if args.history_days > 0 and not args.collect_only:
            history = evaluate_history(paths.warehouse, day, args.history_days)
            print_history(history, args.history_days, day)
            summary["history_all_changed_s"] = history["all_changed_s"]

        print(
            "\n| naive per-resource way | sampled | population | requests (time, extrapolated) | "
            "pipeline's dataset: requests (time) | fewer requests | faster |\n|---|---:|---:|---:|---:|---:|---:|"
        )
        pipeline_for = {
            "AWS": "aws.credential_report",
            "GitHub": "github.repositories",
            "Google": "google_workspace.users",
        }
        by_name = {r["name"]: r for r in logged}
        summary["naive"] = []
        for result in naive(sandbox, args.naive_subset):
            ours = by_name.get(pipeline_for[result["what"].split()[0]], {})
            requests, fetch_s = ours.get("request_count") or 1, max(ours.get("fetch_s") or 0.0, 0.001)
            fewer, faster = result["requests"] / requests, result["extrapolated_s"] / fetch_s
            summary["naive"].append({"what": result["what"], "fewer": fewer, "faster": faster})
            print(
                f"| {result['what']} | {result['sampled']} | {result['population']} | {result['requests']} "
                f"({result['extrapolated_s']:.1f} s) | {ours.get('request_count', 'n/a')} ({fetch_s:.1f} s) | "
                f"x{fewer:.0f} | x{faster:.0f} |"
            )
    finally:
        sandbox.stop()
    return summary


def side_by_side(summaries: list[dict[str, Any]]) -> None:
    """The sizes' figures in one table, so the growth shows."""

    def row(label: str, cell: Any) -> None:
        values = []
        for summary in summaries:
            try:
                values.append(cell(summary))
            except (KeyError, TypeError):
                values.append("n/a")
        if any(value != "n/a" for value in values):  # a figure no size measured (--history-days 0) is left out
            print(f"| {label} | " + " | ".join(values) + " |")

    print("\n## side by side\n")
    print("| people | " + " | ".join(s["label"] for s in summaries) + " |")
    print("|---|" + "---:|" * len(summaries))
    row("staff + students", lambda s: f"{s['staff']:,} + {s['students']:,}")
    row("sandbox built and served", lambda s: f"{s['build_s']:.1f} s")
    row("sandbox processes RSS", lambda s: f"{s['sandbox_rss'] / MIB:.0f} MiB")
    row("**the run** (including Dagster's start-up)", lambda s: f"**{s['day_s']:.1f} s**")
    row("floor: KnowBe4 at 4 requests/s", lambda s: f"{s['floor_s']:.1f} s")
    for phase in ("collect", "evaluate", "snapshot"):
        row(f"… {phase}", lambda s, phase=phase: f"{s['phases'][phase]:.1f} s")
    row("largest step process, peak RSS", lambda s: f"{s['peak_process'] / MIB:.0f} MiB")
    row("all step processes together", lambda s: f"{s['peak_total'] / MIB:.0f} MiB")
    row("bench process (sandbox + run coordination)", lambda s: f"{s['orchestrator_peak'] / MIB:.0f} MiB")
    row(
        "requests / page-size minimum (target 1.00 ×)",
        lambda s: (
            f"{s['requests'] / s['minimum']:.2f} × ({s['requests']} / {s['minimum']}; worst dataset "
            f"{s['worst_ratio']:.2f})"
        ),
    )
    for index, what in enumerate(n["what"] for n in summaries[0].get("naive", [])):
        row(
            f"naive {what}: fewer requests, faster",
            lambda s, i=index: f"×{s['naive'][i]['fewer']:.0f}, ×{s['naive'][i]['faster']:.0f}",
        )
    row("every control's SQL changed, whole history", lambda s: f"{s['history_all_changed_s']:.1f} s")


def size_entry(text: str) -> tuple[str | None, int]:
    """`20000` or `district:100000`."""
    profile, _, size = text.rpartition(":")
    return profile or None, int(size)


def main(argv: list[str] | None = None) -> int:
    from sandbox.org import PROFILES

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000, help="people in the organisation (reference 20000)")
    parser.add_argument(
        "--sizes",
        type=lambda text: [size_entry(entry) for entry in text.split(",")],
        default=None,
        help="several sizes, each measured in a process of its own, then side by side: 5000,20000,district:100000",
    )
    parser.add_argument("--profile", choices=PROFILES, default="company", help="company, or a school district")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency injected per request")
    parser.add_argument("--history-days", type=int, default=365, help="0: skip the history")
    parser.add_argument("--naive-subset", type=int, default=100, help="resources per naive call timed")
    parser.add_argument("--collect-only", action="store_true", help="run the collection only, not the whole day")
    parser.add_argument("--sandbox-only", action="store_true", help="build and serve the sandbox, run nothing")
    parser.add_argument("--home", type=Path, default=None, help="data folder (default: a temporary one)")
    parser.add_argument("--summary", type=Path, default=None, help=argparse.SUPPRESS)  # a --sizes child's figures
    args = parser.parse_args(argv)
    if args.sizes is None:
        summary = measure(args)
        if args.summary:
            args.summary.write_text(json.dumps(summary))
        return 0
    summaries = []
    with tempfile.TemporaryDirectory(prefix="bench-sizes-") as scratch:
        for n, (profile, size) in enumerate(args.sizes):
            # a process per size: moto's accounts, the Dagster instance and the memory figures start from nothing
            out = Path(scratch) / f"{n}.json"
            command = [sys.executable, "-m", "bench", "--size", str(size), "--profile", profile or args.profile]
            command += ["--latency-ms", str(args.latency_ms), "--history-days", str(args.history_days)]
            command += ["--naive-subset", str(args.naive_subset), "--summary", str(out)]
            command += ["--collect-only"] * args.collect_only + ["--sandbox-only"] * args.sandbox_only
            print(f"\n+ {' '.join(command[1:])}", flush=True)
            if subprocess.run(command, check=False).returncode != 0 or not out.exists():
                print(f"bench: size {size} failed; its figures are left out", file=sys.stderr)
                continue
            summaries.append(json.loads(out.read_text()))
    if summaries:
        side_by_side(summaries)
    return 0 if len(summaries) == len(args.sizes) else 1
