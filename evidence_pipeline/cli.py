"""`evidence-pipeline`: run the demo, a real day, the UI on the sandbox, and verify bundles."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from evidence_pipeline.settings import Paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evidence-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="collect, evaluate and snapshot a day against the built-in sandbox org")
    _sandbox_options(demo)
    demo.add_argument("--date", type=date.fromisoformat, default=date.today(), help="partition (default today)")

    run = commands.add_parser("run", help="collect, evaluate and snapshot a day against the configured systems")
    run.add_argument("--date", type=date.fromisoformat, default=date.today(), help="partition (default today)")

    ui = commands.add_parser("ui", help="start the sandbox and open the Dagster UI on it (dagster dev)")
    _sandbox_options(ui)
    ui.add_argument("--port", type=int, default=3000)

    verify = commands.add_parser("verify", help="recompute every hash of an evidence bundle")
    verify.add_argument("bundle", type=Path)

    args = parser.parse_args(argv)
    return {"demo": _demo, "run": _run, "ui": _ui, "verify": _verify}[args.command](args)


def _sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=50, help="people in the sandbox organisation")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sandbox organisation")


def _start_sandbox(args: argparse.Namespace, paths: Paths, day: date):
    from sandbox.launch import start_sandbox

    sandbox = start_sandbox(paths.home / "sandbox", seed=args.seed, size=args.size, today=day)
    os.environ.update(sandbox.env)
    return sandbox


def _run_and_report(day: date, paths: Paths) -> int:
    from evidence_pipeline.evidence.bundle import latest_bundle
    from evidence_pipeline.runner import run_day

    outcomes = run_day(day, paths)
    for outcome in outcomes:
        state = "succeeded" if outcome.success else f"failed steps: {', '.join(outcome.failed_steps)}"
        print(f"{outcome.job}: {state} (run {outcome.run_id})")
    bundle = latest_bundle(paths.evidence)
    evaluated = outcomes[-1].success
    if bundle is None or not evaluated or bundle.parent.name != day.isoformat():
        print("no evidence bundle was written; see the failed steps above", file=sys.stderr)
        return 1
    print(f"evidence bundle: {bundle}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    paths = Paths.from_env()
    sandbox = _start_sandbox(args, paths, args.date)
    try:
        return _run_and_report(args.date, paths)
    finally:
        sandbox.stop()


def _run(args: argparse.Namespace) -> int:
    return _run_and_report(args.date, Paths.from_env())


def _ui(args: argparse.Namespace) -> int:
    from evidence_pipeline.runner import prepare_dagster_home

    paths = Paths.from_env()
    sandbox = _start_sandbox(args, paths, date.today())
    prepare_dagster_home(paths)
    print(f"sandbox organisation served; Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C stops both)")
    process = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-m", "evidence_pipeline.definitions",
                                "-p", str(args.port)], env=os.environ.copy())
    try:
        while process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        process.terminate()
        process.wait(30)
    finally:
        sandbox.stop()
    return process.returncode or 0


def _verify(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.bundle import VerificationError, verify_bundle

    try:
        manifest = verify_bundle(args.bundle)
    except VerificationError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"OK: {len(manifest['files'])} files match the manifest of {manifest['snapshot_date']} ({args.bundle})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
