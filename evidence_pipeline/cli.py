"""`evidence-pipeline`: run the demo, a real day, the UI on the sandbox; sign, verify, export and sample evidence."""

from __future__ import annotations

import argparse
import csv
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

    verify = commands.add_parser("verify", help="check an evidence bundle's hashes, signature and chain (or every "
                                                "bundle of a series: the evidence folder, exports/, samples/)")
    verify.add_argument("bundle", type=Path, help="a bundle folder, or a folder of bundles to check as one chain")
    _trust_options(verify)
    verify.add_argument("--require-signature", action="store_true", help="fail on unsigned bundles")

    keygen = commands.add_parser("keygen", help="make an Ed25519 signing key for evidence bundles")
    keygen.add_argument("--out", type=Path, default=None,
                        help="private key file to create (default: <EVIDENCE_HOME>/keys/evidence-signing.pem); "
                             "never overwritten")

    export = commands.add_parser("export", help="one bundle for a period, from the verified daily bundles")
    _period_options(export)

    sample = commands.add_parser("sample", help="a reproducible audit sample of a control's population over a period")
    sample.add_argument("--control", required=True, help="control id")
    _period_options(sample)
    sample.add_argument("--size", type=int, default=None, help="sample size (default: the table by frequency and "
                                                               "population size)")
    sample.add_argument("--seed", type=int, required=True, help="seed: the same seed redraws the same sample")

    history = commands.add_parser("history", help="every control's verdict on every day of a period, as CSV: stored "
                                                  "verdicts, re-judged from raw rows where a control's SQL changed")
    history.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="first day")
    history.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day (inclusive)")
    history.add_argument("--control", action="append", default=None, help="only this control (repeatable)")

    args = parser.parse_args(argv)
    return {"demo": _demo, "run": _run, "ui": _ui, "verify": _verify, "keygen": _keygen, "export": _export,
            "sample": _sample, "history": _history}[args.command](args)


def _trust_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--public-key", type=Path, default=None,
                        help="pin the expected signing key (PEM, OpenSSH or raw): any other signer fails")


def _period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="first day")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day (inclusive)")
    parser.add_argument("--pseudonymize", action="store_true",
                        help="replace personal data (e-mails, names, logins) with keyed HMAC pseudonyms; the key "
                             "comes from EVIDENCE_PSEUDONYM_KEY or is random for this export, and is never written")
    _trust_options(parser)


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
        state = "succeeded" if outcome.success else (
            f"failed steps: {', '.join(outcome.failed_steps)}"
            + (f" (assets not materialized: {', '.join(outcome.failed_assets)})" if outcome.failed_assets else ""))
        print(f"{outcome.job}: {state} (run {outcome.run_id})")
    bundle = latest_bundle(paths.evidence)
    evaluated = outcomes[-1].success
    if bundle is None or not evaluated or bundle.parent.name != day.isoformat():
        print("no evidence bundle was written; see the failed steps above", file=sys.stderr)
        return 1
    print(f"evidence bundle: {bundle}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, ensure_data_folder_key

    paths = Paths.from_env()
    if not os.environ.get(SIGNING_KEY_ENV):
        # the demo signs with its own key in the (git-ignored) data folder, so its bundles verify as signed
        key = ensure_data_folder_key(paths.home)
        os.environ[SIGNING_KEY_ENV] = str(key.path)
        print(f"signing with the demo key {key.path} ({key.key_id})")
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


def _read_public_key(args: argparse.Namespace) -> bytes | None:
    if args.public_key is None:
        return None
    try:
        return args.public_key.read_bytes()
    except OSError as exc:
        raise SystemExit(f"FAILED: --public-key {args.public_key}: {exc.strerror}") from None


def _verify(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.bundle import MANIFEST, VerificationError, verify_bundle, verify_series

    public_key = _read_public_key(args)
    target: Path = args.bundle
    try:
        if (target / MANIFEST).is_file():
            results = [verify_bundle(target, public_key, args.require_signature)]
        elif target.is_dir():
            results = verify_series(target, public_key, args.require_signature)
        else:
            raise VerificationError(f"{target}: no such bundle or folder")
    except VerificationError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    for result in results:
        manifest = result.manifest
        what = manifest.get("snapshot_date") or (manifest.get("data_window") or {}).get("from", "?") + " to " + \
            (manifest.get("data_window") or {}).get("to", "?")
        signer = (f"signed by Ed25519 key {result.signed_by}" + (" (the pinned key)" if public_key else "")
                  if result.signed_by else "UNSIGNED (no signature; --require-signature refuses such bundles)")
        print(f"OK: {len(manifest['files'])} files match the manifest of {what} ({result.bundle}); {signer}; "
              f"chain: {result.chain}")
    if len(results) > 1:
        print(f"OK: {len(results)} bundles form one unbroken chain")
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


def _pseudonymizer(args: argparse.Namespace):
    from evidence_pipeline.evidence.pseudonymize import Pseudonymizer

    return Pseudonymizer.from_env() if args.pseudonymize else None


def _export(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.period import PeriodError, load_period, write_export
    from evidence_pipeline.evidence.signing import signing_key_from_env

    paths = Paths.from_env()
    try:
        period = load_period(paths.evidence, args.start, args.end, _read_public_key(args), _pseudonymizer(args))
    except PeriodError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    bundle = write_export(paths.evidence, period, signing_key_from_env())
    if period.missing_days:
        print(f"WARNING: {len(period.missing_days)} day(s) without an evidence snapshot: "
              f"{', '.join(d.isoformat() for d in period.missing_days)}", file=sys.stderr)
    for control in period.controls:
        stats = period.control_stats[control.id]
        rate = f"{stats['pass_rate']:.1%}" if stats["pass_rate"] is not None else "n/a"
        print(f"{control.id}: {stats['days_evaluated']} day(s) evaluated, {stats['days_fail']} failing, row pass "
              f"rate {rate}, {stats['exceptions']} exception(s), {stats['open_at_end']} open at the end")
    print(f"period export: {bundle}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from evidence_pipeline.catalogue import load_catalogue
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
    writer.writerow(["date", "control_id", "verdict", "population", "pass", "fail", "unknown", "waived", "origin",
                     "reason"])
    for verdict in verdict_history(Warehouse(Paths.from_env().warehouse), catalogue, days, waivers):
        writer.writerow([verdict.day.isoformat(), verdict.control_id, verdict.verdict,
                         *(verdict.counts.get(k, "") for k in ("population", "pass", "fail", "unknown", "waived")),
                         verdict.origin, verdict.reason])
    return 0


def _sample(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.period import PeriodError
    from evidence_pipeline.evidence.sampling import draw_sample, write_sample
    from evidence_pipeline.evidence.signing import signing_key_from_env

    paths = Paths.from_env()
    try:
        sample = draw_sample(paths.evidence, args.control, args.start, args.end, args.seed, args.size,
                             _read_public_key(args), _pseudonymizer(args))
    except PeriodError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    bundle = write_sample(paths.evidence, sample, signing_key_from_env())
    if sample.missing_days:
        print(f"WARNING: {len(sample.missing_days)} day(s) without an evidence snapshot: "
              f"{', '.join(d.isoformat() for d in sample.missing_days)}", file=sys.stderr)
    described = sample.describe()
    print(f"{sample.control_id}: {sample.size} of {len(sample.population)} occurrences ({sample.size_rule}); "
          f"seed {sample.seed}; population SHA-256 {described['population_sha256']}")
    for row in sample.selected:
        print(f"  {row['rank']:>3}. {row['snapshot_date']} {row['resource_id']} [{row['status']}]")
    print(f"sample: {bundle}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
