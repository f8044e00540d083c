"""One full day on a sandbox organisation of `--size` people, served with `--latency-ms` per request.

Prints: requests per dataset against the page-size minimum, wall time per phase (collect, land, evaluate,
snapshot), peak memory of the step processes, the time to evaluate every control over `--history-days` of
history, the bundle's size, and the naive per-resource way (branch protection per repository, MFA devices
per IAM user, users.get per Google user) timed on a subset and extrapolated, with the ratio.
Figures are printed, never asserted: timing belongs to this command, not to unit tests.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
import types
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def minimum_requests(org: Any, day: date) -> dict[str, int]:
    """The page-size minimum of every dataset, from the connector contract's formulas (tests/connectors), for
    what the pipeline collects on `day`: the contract's fixed windows are replaced by the pipeline's own (backup
    jobs since AWS_BACKUP_JOB_DAYS before the day, pull requests merged in the GITHUB_PULL_REQUEST_DAYS before it),
    read from the same settings the pipeline reads."""
    from connectors.aws.streams import BACKUP_PAGE
    from evidence_pipeline.defs.sources.aws import aws_resource
    from evidence_pipeline.defs.sources.github import github_resource, merge_window
    from tests.connectors.cases_aws import backup_jobs_in_window
    from tests.connectors.cases_github_people import pull_request_requests
    from tests.connectors.contract import pages
    from tests.connectors.test_contract import CASES

    backup_job_days = aws_resource().backup_job_days
    windowed = {
        "aws.backup_jobs": lambda account: pages(backup_jobs_in_window(account, day, backup_job_days), BACKUP_PAGE),
        "github.merged_pull_requests": lambda org: pull_request_requests(
            org, *merge_window(day, github_resource().pull_request_days)
        ),
    }
    minimum: dict[str, int] = {}
    for case in CASES:
        name = case.name.split("[")[0]
        if case.name.endswith("[csv]"):
            continue  # the sandbox serves training through the KnowBe4 API
        if name.startswith("aws."):  # the formulas read one account; the pipeline reads every account
            total = 0
            for account in org.systems["aws"].accounts:
                if name in windowed:
                    total += windowed[name](account)
                    continue
                proxy = types.SimpleNamespace(
                    systems={"aws": types.SimpleNamespace(production=account)}, today=org.today
                )
                total += case.min_requests(proxy)
            minimum[name] = total
        else:
            minimum[name] = windowed[name](org) if name in windowed else case.min_requests(org)
    return minimum


def directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def step_spans(instance: Any, run_id: str) -> dict[str, float]:
    return {s.step_key: (s.end_time or 0) - (s.start_time or 0) for s in instance.get_run_step_stats(run_id)}


def run_span(instance: Any, run_id: str, prefix: str) -> float:
    stats = [s for s in instance.get_run_step_stats(run_id) if s.step_key.startswith(prefix) and s.start_time]
    return max(s.end_time or s.start_time for s in stats) - min(s.start_time for s in stats) if stats else 0.0


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
        with warehouse.connect() as con:
            con.execute(
                "UPDATE control_verdicts SET sql_sha256 = 'an older query' WHERE list_contains(?, control_id)",
                [changed],
            )
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
        key=lambda c: warehouse.query(
            "SELECT population FROM control_verdicts WHERE control_id = ? AND snapshot_date = ?", [c.id, day]
        )[0]["population"],
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
    from connectors.aws import AwsConfig, account_sessions
    from connectors.github import GitHubConfig, make_github
    from tests.connectors.cases_aws import aws_config
    from tests.connectors.cases_google_workspace import google_config

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
    production = account_sessions(AwsConfig(**{**config.__dict__, "role_arns": config.role_arns[:1]}))[0]
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

    from connectors.google_workspace import make_directory

    directory = make_directory(google_config(env))
    emails = [u.primary_email for u in org.systems["google"].users]
    timed(
        "Google users.get per user",
        emails[:subset],
        len(emails),
        lambda email: directory.users().get(userKey=email).execute(num_retries=0),
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000, help="people in the organisation (reference 20000)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency injected per request")
    parser.add_argument("--history-days", type=int, default=365)
    parser.add_argument("--naive-subset", type=int, default=100, help="resources per naive call timed")
    parser.add_argument("--home", type=Path, default=None, help="data folder (default: a temporary one)")
    args = parser.parse_args(argv)

    import dagster as dg

    from bench.memory import PeakMemory, self_rss
    from evidence_pipeline.evidence.chain import latest_bundle
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key
    from evidence_pipeline.runner import RunWorker, prepare_dagster_home
    from evidence_pipeline.settings import Paths
    from sandbox.launch import start_sandbox
    from warehouse import Warehouse

    home = (args.home or Path(tempfile.mkdtemp(prefix="bench-"))).resolve()
    paths = Paths(home)
    day = date.today()
    started = time.monotonic()
    sandbox = start_sandbox(home / "sandbox", size=args.size, today=day, latency=args.latency_ms / 1000)
    build_s = time.monotonic() - started
    os.environ.update(sandbox.env)
    os.environ[SIGNING_KEY_ENV] = str(ensure_data_folder_key(home).path)
    prepare_dagster_home(paths)
    org = sandbox.org
    print(f"# bench: {args.size} people, {args.latency_ms:g} ms per request, day {day}, data in {home}")
    print(
        f"sandbox built and served in {build_s:.1f} s; orchestrator process RSS {self_rss() / MIB:.0f} MiB "
        "(holds the sandbox's fake organisation, not the pipeline's data)"
    )
    try:
        with dg.DagsterInstance.get() as instance, PeakMemory() as memory:
            t0 = time.monotonic()
            # as `evidence-pipeline run` does: the evaluation's worker gets ready while collection runs
            collecting, evaluating = RunWorker("collect_sources", day), RunWorker("evaluate_controls", day)
            collect = collecting.run()
            collect_s = time.monotonic() - t0
            t0 = time.monotonic()
            evaluate = evaluating.run()
            evaluate_run_s = time.monotonic() - t0
            spans = step_spans(instance, evaluate.run_id)
            controls_s = run_span(instance, evaluate.run_id, "evaluate_controls_step")
        snapshot_s = spans.get("evidence__daily_snapshot", 0.0)
        warehouse = Warehouse(paths.warehouse)
        logged = warehouse.query(
            "SELECT source || '.' || dataset AS name, status, request_count, retry_count, record_count, "
            "epoch(logged_at) - epoch(CAST(finished_at AS TIMESTAMPTZ)) AS land_s, "
            "epoch(CAST(finished_at AS TIMESTAMPTZ)) - epoch(CAST(started_at AS TIMESTAMPTZ)) AS fetch_s "
            "FROM source_status "
            "WHERE snapshot_date = ? ORDER BY name",
            [day],
        )
        minimum = minimum_requests(org, day)
        print(
            f"\ncollect_sources: success={collect.success} failed={collect.failed_steps}; "
            f"evaluate_controls: success={evaluate.success} failed={evaluate.failed_steps}"
        )
        print("\n| dataset | records | requests | page-size minimum | ratio | retries |")
        print("|---|---:|---:|---:|---:|---:|")
        total_requests = total_minimum = 0
        for row in logged:
            least = minimum.get(row["name"])
            ratio = f"{row['request_count'] / least:.2f}" if least else "n/a"
            if least:
                total_requests += row["request_count"]
                total_minimum += least
            print(
                f"| {row['name']} | {row['record_count']} | {row['request_count']} | {least or 'n/a'} | {ratio} "
                f"| {row['retry_count']} |"
            )
        print(
            f"| **all with a formula** | | {total_requests} | {total_minimum} | "
            f"{total_requests / max(total_minimum, 1):.3f} | |"
        )
        land_s = sum(max(r["land_s"] or 0.0, 0.0) for r in logged)
        print("\n| phase | wall time |\n|---|---:|")
        print(f"| collect + land (collect_sources run) | {collect_s:.1f} s |")
        print(f"| land (sum of the landing transactions, inside collect) | {land_s:.1f} s |")
        print(f"| evaluate (control steps, first start to last end) | {controls_s:.1f} s |")
        print(f"| snapshot (bundle step) | {snapshot_s:.1f} s |")
        print(f"| evaluate_controls run incl. Dagster overhead | {evaluate_run_s:.1f} s |")
        print(f"| **full day (both runs)** | **{collect_s + evaluate_run_s:.1f} s** |")
        print(
            f"\npeak memory: largest step process {memory.peak_process / MIB:.0f} MiB; all pipeline processes "
            f"together {memory.peak_total / MIB:.0f} MiB"
        )
        bundle = latest_bundle(paths.evidence)
        if bundle:
            print(
                f"bundle: {bundle.name}, {directory_size(bundle) / MIB:.1f} MiB, "
                f"{sum(1 for p in bundle.rglob('*') if p.is_file())} files"
            )
        print(f"warehouse: {paths.warehouse.stat().st_size / MIB:.1f} MiB")

        history = evaluate_history(paths.warehouse, day, args.history_days)
        print(
            f"\nhistory: {args.history_days} days x {history['controls']} controls = {history['evaluations']} "
            f"verdicts ({history['rows']} rows of raw data and verdicts synthesised in "
            f"{history['synthesised_s']:.1f} s)"
        )
        print("\n| history, every control over every day | wall time | re-judged from raw rows |\n|---|---:|---:|")
        print(f"| stored results, no SQL changed (the daily case) | {history['stored_s']:.2f} s | 0 |")
        print(
            f"| the SQL of {history['one_changed']} changed | {history['one_changed_s']:.2f} s | "
            f"{history['one_rejudged']} |"
        )
        print(f"| every control's SQL changed | {history['all_changed_s']:.2f} s | {history['all_rejudged']} |")
        print(
            f"re-judged on {day} (the day really evaluated), controls whose verdict or counts differ from the "
            f"stored ones: {history['differ_on_the_day'] or 'none'}"
        )

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
        for result in naive(sandbox, args.naive_subset):
            ours = by_name.get(pipeline_for[result["what"].split()[0]], {})
            requests, fetch_s = ours.get("request_count") or 1, max(ours.get("fetch_s") or 0.0, 0.001)
            print(
                f"| {result['what']} | {result['sampled']} | {result['population']} | {result['requests']} "
                f"({result['extrapolated_s']:.1f} s) | {ours.get('request_count', 'n/a')} ({fetch_s:.1f} s) | "
                f"x{result['requests'] / requests:.0f} | x{result['extrapolated_s'] / fetch_s:.0f} |"
            )
    finally:
        sandbox.stop()
    return 0
