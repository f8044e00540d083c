"""`evidence-pipeline`: run the demo, a real day, the UI on the sandbox; sign, verify, export and sample evidence."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from datetime import date
from pathlib import Path

from evidence_pipeline import attest as attest_commands
from evidence_pipeline import terminal
from evidence_pipeline.reviews import cli as review_commands
from evidence_pipeline.settings import Paths
from evidence_pipeline.text import counted


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
    review_commands.add_commands(command)
    attest_commands.add_commands(command)
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
    from evidence_pipeline.reviews.campaigns import CampaignError
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
            **review_commands.HANDLERS,
            **attest_commands.HANDLERS,
        }[args.command](args)
    except (
        SettingsError,
        SigningKeyError,
        WaiverError,
        CatalogueError,
        PeriodError,
        TrustPageError,
        OrganisationError,
        CampaignError,
        attest_commands.AttestError,
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
        from sandbox.access_reviews.scenario import day_before_with_campaign

        # an access review freezes a real day's evidence and its revokes show the next day: the day before runs first
        day_before_with_campaign(sandbox, paths, args.date)
        return terminal.run_and_report(args.date, paths, verbose=args.verbose)
    finally:
        sandbox.stop()


def _run(args: argparse.Namespace) -> int:
    return terminal.run_and_report(args.date, Paths.from_env(), args.asset, args.verbose)


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
    terminal.make_console().print(table)
    return 0


def _claims(args: argparse.Namespace) -> int:
    from rich.table import Table

    from evidence_pipeline.catalogue import load_catalogue
    from evidence_pipeline.claims import TRUST_PAGE_ENV, trust_page_file
    from evidence_pipeline.settings import project_file

    catalogue = load_catalogue(project_file("controls_map.yaml"))
    page = catalogue.trust_page
    if page is None:
        from importlib.util import find_spec

        sandbox = find_spec("sandbox")  # the demo sets its company's page for its own run only: say where it is
        demo = (
            f"; the demo company's: {TRUST_PAGE_ENV}={Path(sandbox.origin).parent / 'trust_page.yaml'}"
            if sandbox and sandbox.origin
            else ""
        )
        print(
            f"no trust page configured: set {TRUST_PAGE_ENV} to your security page's promises mapped to controls "
            f"(examples: examples/trust_pages/{demo})"
        )
        return 0
    covered = terminal.promise_coverage(catalogue, Paths.from_env(), args.date) or []
    table = Table(
        title=f"{page.name} ({trust_page_file()}) on {args.date}: {terminal.coverage_counts(covered)}",
        title_justify="left",
    )
    for column in ("promise", "quote", "controls", "coverage"):
        table.add_column(column, overflow="fold")
    for item in covered:
        promise = item.promise
        controls = "\n".join(f"{cid}: {verdict}" for cid, verdict in item.verdicts.items()) or "none"
        table.add_row(f"{promise.id}\n({promise.section})", f"“{promise.quote}”", controls, f"{item.state}: {item.why}")
    terminal.make_console().print(table)
    return 0


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
        f"OK: {counted(len(chain), 'bundle')} {'forms' if len(chain) == 1 else 'form'} one unbroken chain, signed by "
        f"{lineage}"
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
    from evidence_pipeline.reviews.campaigns import CAMPAIGNS_DIR

    series = [evidence, evidence / EXPORTS, evidence / SAMPLES, evidence / CAMPAIGNS_DIR]
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
