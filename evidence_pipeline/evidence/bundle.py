"""Evidence bundles: one immutable directory per day and version, sealed by a signed, chained manifest.

A bundle is written aside (a hidden temporary directory) and renamed into place only once complete, so a crash
never leaves a half-written bundle that looks finished. A re-run of a day writes a new version next to the old
one; nothing here ever opens an existing bundle for writing.

Every bundle of a series (the daily snapshots under <evidence>/, the period exports under <evidence>/exports/,
the samples under <evidence>/samples/) carries a sequence number and the SHA-256 of the previous bundle's
manifest, so deleting or altering a bundle breaks the chain visibly. The manifest is signed (Ed25519) when a
key is configured (EVIDENCE_SIGNING_KEY).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from evidence_pipeline import __version__
from evidence_pipeline.evaluate import ControlOutcome, results_frame
from evidence_pipeline.evidence.signing import ALGORITHM, SigningKey, public_pem
from warehouse import Warehouse

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
#: files that describe the bundle rather than belong to it: not listed in the manifest's file list
SEAL_FILES = frozenset({MANIFEST, SIGNATURE})
BUNDLE_FORMAT = "soc2-evidence-bundle/2"
POPULATION_COLUMNS = ["resource_id", "resource_name", "resource_url", "status", "reason", "failure", "remediation",
                      "details"]
WAIVER_COLUMNS = ["control", "resource", "reason", "approver", "expires", "active_on_snapshot_date"]
DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Sealing: any series of bundles (daily snapshots, period exports, samples)
# ---------------------------------------------------------------------------------------------------------------

def series_bundles(series_root: Path) -> list[Path]:
    """Complete bundles of a series: <series_root>/<group>/v<NNN>-<stamp>/manifest.json."""
    return sorted(p.parent for p in series_root.glob(f"*/v*/{MANIFEST}") if not p.parent.parent.name.startswith("."))


def daily_bundles(evidence_root: Path) -> list[Path]:
    return [b for b in series_bundles(evidence_root) if DAY_FOLDER.match(b.parent.name)]


def _read_manifest(bundle: Path) -> dict[str, Any]:
    try:
        return json.loads((bundle / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _chain_position(bundle: Path) -> tuple[int, str, str]:
    manifest = _read_manifest(bundle)
    return int(manifest.get("sequence") or 0), str(manifest.get("created_at") or ""), bundle.as_posix()


def chain_head(bundles: list[Path]) -> Path | None:
    """The newest bundle by chain sequence (creation order), whatever day it covers."""
    return max(bundles, key=_chain_position) if bundles else None


def latest_bundle(evidence_root: Path, before: Path | None = None) -> Path | None:
    """The newest complete daily bundle (the head of the daily chain)."""
    return chain_head([b for b in daily_bundles(evidence_root) if b != before])


@contextmanager
def _series_lock(series_root: Path) -> Iterator[None]:
    """One writer per series at a time, so two bundles never claim the same predecessor (a fork)."""
    series_root.mkdir(parents=True, exist_ok=True)
    with (series_root / ".chain.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def seal_bundle(series_root: Path, group: str, write: Callable[[Path], dict[str, Any]],
                signing_key: SigningKey | None, bundles: Callable[[Path], list[Path]] = series_bundles) -> Path:
    """Write a bundle aside with `write(work) -> manifest fields`, hash, chain, sign, then rename it into place."""
    group_dir = series_root / group
    group_dir.mkdir(parents=True, exist_ok=True)
    work = group_dir / f".incomplete-{uuid.uuid4().hex}"
    work.mkdir()
    try:
        fields = write(work)
        if signing_key is not None:
            (work / PUBLIC_KEY).write_bytes(public_pem(signing_key.public_key))
        with _series_lock(series_root):
            previous = chain_head(bundles(series_root))
            manifest = _manifest(work, fields, series_root, previous, signing_key)
            manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
            (work / MANIFEST).write_bytes(manifest_bytes)
            if signing_key is not None:
                (work / SIGNATURE).write_bytes(signing_key.sign(manifest_bytes))
            for path in work.rglob("*"):
                if path.is_file():
                    path.chmod(0o444)
            final = _claim_version(group_dir)
            os.rename(work, final)  # atomic on one filesystem: the bundle appears whole or not at all
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _claim_version(group_dir: Path) -> Path:
    versions = [p for p in group_dir.iterdir() if p.is_dir() and p.name.startswith("v")]
    number = max((int(p.name[1:4]) for p in versions if p.name[1:4].isdigit()), default=0) + 1
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return group_dir / f"v{number:03d}-{stamp}"


def _manifest(work: Path, fields: dict[str, Any], series_root: Path, previous: Path | None,
              signing_key: SigningKey | None) -> dict[str, Any]:
    files = [
        {"path": path.relative_to(work).as_posix(), "sha256": sha256_file(path), "size": path.stat().st_size}
        for path in sorted(work.rglob("*")) if path.is_file() and path.relative_to(work).as_posix() not in SEAL_FILES
    ]
    previous_manifest = _read_manifest(previous) if previous else {}
    return {
        "format": BUNDLE_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": {"name": "evidence-pipeline", "version": __version__},
        **fields,
        "sequence": int(previous_manifest.get("sequence") or 0) + 1,
        # the chain: the previous bundle of the same series, by path relative to the series root and by hash
        "previous": {"bundle": previous.relative_to(series_root).as_posix(),
                     "manifest_sha256": sha256_file(previous / MANIFEST)} if previous else None,
        "previous_manifest_sha256": sha256_file(previous / MANIFEST) if previous else None,
        "signature": {"algorithm": ALGORITHM, "key_id": signing_key.key_id, "public_key_file": PUBLIC_KEY,
                      "signature_file": SIGNATURE, "signed": MANIFEST} if signing_key else None,
        "files": files,
    }


# ---------------------------------------------------------------------------------------------------------------
# The daily snapshot
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BundleInputs:
    snapshot_date: date
    run_id: str
    outcomes: list[ControlOutcome]
    #: "<source>.<dataset>" names whose raw rows and provenance go into the bundle
    datasets: list[str]
    controls_map: Path
    #: waivers.yaml when there is one (its hash goes into the manifest, its entries into waivers.csv)
    waivers_file: Path | None = None
    #: where each control's population comes from: the outcomes' own rows, or (the daily snapshot, whose outcomes are
    #: summaries) the day's stored results, copied by DuckDB so that memory does not grow with the organisation
    stored_results: bool = False


@dataclass
class DailyEvidence:
    """What the report, workbook and OSCAL renderings of one day are made from."""

    snapshot_date: date
    run_id: str
    outcomes: list[ControlOutcome]
    #: "<source>.<dataset>" -> status, provenance summary, records_in_bundle, freshness
    sources: dict[str, dict[str, Any]]
    #: control id -> structured reconciliation (see `reconcile`)
    reconciliation: dict[str, list[dict[str, Any]]]
    waivers: list[dict[str, Any]] = field(default_factory=list)
    waivers_sha256: str | None = None
    controls_map_sha256: str = ""
    signing_key_id: str | None = None


def write_bundle(warehouse: Warehouse, evidence_root: Path, inputs: BundleInputs,
                 extras: list[Callable[[Path, BundleInputs], None]] | None = None,
                 signing_key: SigningKey | None = None) -> Path:
    """Write the day's complete bundle aside, seal it and rename it into place. Returns its path."""

    def write(work: Path) -> dict[str, Any]:
        sources = _write_sources(warehouse, work / "sources", inputs)
        evidence = DailyEvidence(
            snapshot_date=inputs.snapshot_date, run_id=inputs.run_id, outcomes=inputs.outcomes, sources=sources,
            reconciliation={o.control.id: reconcile(o, sources) for o in inputs.outcomes},
            controls_map_sha256=sha256_file(inputs.controls_map),
            signing_key_id=signing_key.key_id if signing_key else None)
        _write_controls(warehouse, work / "controls", inputs, evidence.reconciliation)
        waivers = _write_waivers(work, inputs)
        evidence.waivers, evidence.waivers_sha256 = waivers["entries"], waivers["sha256"]
        renderings = _write_renderings(work, evidence)
        for extra in extras or []:
            extra(work, inputs)
        day = inputs.snapshot_date.isoformat()
        return {
            "kind": "daily_snapshot",
            "snapshot_date": day,
            "run_id": inputs.run_id,
            "controls_map_sha256": evidence.controls_map_sha256,
            "waivers": {k: v for k, v in waivers.items() if k != "entries"},
            "data_window": {"from": day, "to": day},
            "verdicts": {o.control.id: o.verdict for o in inputs.outcomes},
            "sources": {name: {"status": s["status"], "record_count": s.get("record_count"),
                               "payload_sha256": s.get("payload_sha256"),
                               "records_sha256": s.get("records_sha256")} for name, s in sources.items()},
            "renderings": renderings,
            "pseudonymization": None,
        }

    return seal_bundle(evidence_root, inputs.snapshot_date.isoformat(), write, signing_key, bundles=daily_bundles)


#: population rows from which the workbook is worth a process of its own (starting one costs about a second)
WORKBOOK_PROCESS_ROWS = 50_000


def _write_renderings(work: Path, evidence: DailyEvidence) -> dict[str, str]:
    """report.html (+ PDF), evidence.xlsx, OSCAL: views of the CSV/JSON evidence, for people and tools.

    The workbook, the slowest of them (every population row is a row of cells), is written from the population CSVs;
    for a large organisation by a process of its own, while this one writes the rest and Chromium prints the PDF."""
    from evidence_pipeline.evidence import oscal, report, workbook

    rows = sum(o.counts["population"] for o in evidence.outcomes)
    spreadsheet = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) \
        if rows >= WORKBOOK_PROCESS_ROWS else ThreadPoolExecutor(1)
    with spreadsheet, ThreadPoolExecutor(1) as printer:
        writing = spreadsheet.submit(workbook.write_daily, evidence, work / "evidence.xlsx", work / "controls")
        html = report.render_daily(evidence)
        (work / "report.html").write_text(html)
        printing = printer.submit(report.print_pdf, work / "report.html", work / "report.pdf")
        (work / "oscal").mkdir()
        (work / "oscal" / "assessment-results.json").write_text(
            json.dumps(oscal.daily_assessment_results(evidence), indent=2) + "\n")
        pdf_note = printing.result()
        writing.result()
    return {"report.html": "written", "report.pdf": pdf_note, "evidence.xlsx": "written",
            "oscal/assessment-results.json": "written"}


def _write_controls(warehouse: Warehouse, folder: Path, inputs: BundleInputs,
                    reconciliation: dict[str, list[dict[str, Any]]]) -> None:
    """Per control: query.sql, result.json, population.csv and exceptions.csv."""
    for outcome in inputs.outcomes:
        control_folder = folder / outcome.control.id
        control_folder.mkdir(parents=True)
        (control_folder / "query.sql").write_text(outcome.control.sql.strip() + "\n")
        result = {**outcome.summary(), "reconciliation": reconciliation[outcome.control.id]}
        (control_folder / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    if inputs.stored_results:
        with warehouse.connect() as con:
            for outcome in inputs.outcomes:
                # a summary without a population (not evaluated, or evaluated with other SQL) has no rows to copy
                rows = STORED_ROWS if outcome.counts["population"] else NO_ROWS
                write_population_csvs(con, rows, [inputs.snapshot_date, outcome.control.id], outcome,
                                      folder / outcome.control.id)
    else:
        with duckdb.connect() as con:
            for outcome in inputs.outcomes:
                con.register("held_rows", results_frame(outcome.rows))
                write_population_csvs(con, HELD_ROWS, [], outcome, folder / outcome.control.id)
                con.unregister("held_rows")


_RESULT_COLUMNS = "resource_id, resource_name, resource_url, status, reason, CAST(details AS JSON) AS details"
STORED_ROWS = f"SELECT {_RESULT_COLUMNS} FROM control_results WHERE snapshot_date = ? AND control_id = ?"
NO_ROWS = f"SELECT {_RESULT_COLUMNS} FROM control_results WHERE snapshot_date = ? AND control_id = ? AND false"
HELD_ROWS = f"SELECT {_RESULT_COLUMNS} FROM held_rows"


def write_population_csvs(con: duckdb.DuckDBPyConnection, rows: str, parameters: list[Any], outcome: ControlOutcome,
                          folder: Path) -> None:
    """population.csv and exceptions.csv of one control, copied by DuckDB from `rows` (a query giving the rows as
    control_results stores them) in resource order, with each exception's remediation."""
    remediation = outcome.control.remediation
    default = remediation.get("default", "")
    cases = " ".join("WHEN ? THEN ?" for kind in remediation if kind != "default")
    case_parameters = [value for kind, text in remediation.items() if kind != "default" for value in (kind, text)]
    select = (
        "SELECT resource_id, resource_name, resource_url, status, reason, details->>'failure' AS failure, "
        f"CASE WHEN status = 'pass' THEN '' ELSE CASE coalesce(details->>'failure', '') {cases} ELSE ? END END "
        "AS remediation, "
        # the failure has a column of its own; the rest of the details stay JSON
        "CAST(json_merge_patch(coalesce(details, '{}'), '{\"failure\": null}') AS VARCHAR) AS details "
        f"FROM ({rows}) AS judged")
    values = [*case_parameters, default, *parameters]
    for name, where in (("population.csv", ""), ("exceptions.csv", "WHERE status <> 'pass' ")):
        target = str(folder / name).replace("'", "''")
        copied = con.execute(f"COPY ({select} {where}ORDER BY resource_id) TO '{target}' (HEADER)",
                             values).fetchone()[0]
        if name == "population.csv" and copied != outcome.counts["population"]:
            # the CSV must be the population the verdict was judged on
            raise RuntimeError(f"{outcome.control.id}: {copied} population rows for a verdict on "
                               f"{outcome.counts['population']}")


def _write_sources(warehouse: Warehouse, folder: Path, inputs: BundleInputs) -> dict[str, dict[str, Any]]:
    """Each dataset's raw rows of the day (JSON lines) and its collection provenance. Returns a summary per dataset."""
    day = inputs.snapshot_date
    provenance: dict[str, dict[str, Any]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    with warehouse.connect() as con:
        for name in sorted(set(inputs.datasets)):
            source, dataset = name.split(".", 1)
            (folder / source).mkdir(parents=True, exist_ok=True)
            log = con.execute(
                "SELECT status, run_id, provenance, record_count, request_count, retry_count, payload_sha256, "
                "source_timestamp, started_at, finished_at, error FROM source_status WHERE source = ? "
                "AND dataset = ? AND snapshot_date = ?", [source, dataset, day]).fetchone()
            entry: dict[str, Any] = {"status": log[0] if log else "not_collected"}
            if log:
                entry.update(collection_run_id=log[1], record_count=log[3], request_count=log[4], retry_count=log[5],
                             payload_sha256=log[6], source_timestamp=log[7],
                             started_at=log[8].isoformat() if log[8] else None,
                             finished_at=log[9].isoformat() if log[9] else None, error=log[10],
                             provenance=json.loads(log[2]) if log[2] else None)
            table = f"raw_{source}_{dataset}"
            target = folder / source / f"{dataset}.jsonl"
            if log and log[0] == "succeeded":
                con.execute(
                    f"COPY (SELECT * EXCLUDE (snapshot_date, run_id) FROM {table} WHERE snapshot_date = ? "
                    f"ORDER BY ALL) TO '{target}' (FORMAT JSON)", [day])
                entry["records_file"] = target.name
                entry["records_sha256"] = sha256_file(target)
                entry["records_in_bundle"] = con.execute(
                    f"SELECT count(*) FROM {table} WHERE snapshot_date = ?", [day]).fetchone()[0]
            provenance.setdefault(source, {})[dataset] = entry
            summaries[name] = {k: v for k, v in entry.items() if k != "provenance"}
            summaries[name]["endpoints"] = sorted({r.get("endpoint", "") for r in
                                                   (entry.get("provenance") or {}).get("requests", [])})
    for source, datasets in provenance.items():
        (folder / source / "provenance.json").write_text(
            json.dumps(datasets, indent=2, sort_keys=True, default=str) + "\n")
    return summaries


def _write_waivers(work: Path, inputs: BundleInputs) -> dict[str, Any]:
    """waivers.csv and the waivers file's hash, when there is a waivers file; its absence is stated, not hidden."""
    path = inputs.waivers_file
    if path is None or not path.is_file():
        return {"file": None, "sha256": None, "count": 0, "entries": [],
                "note": "no waivers file: no exception is waived"}
    from evidence_pipeline.waivers import load_waivers

    waivers = load_waivers(path)
    entries = [{**w.model_dump(mode="json"), "active_on_snapshot_date": w.expires >= inputs.snapshot_date}
               for w in waivers.waivers]
    with (work / "waivers.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=WAIVER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(entries)
    return {"file": path.name, "sha256": sha256_file(path), "count": len(entries), "entries": entries}


# ---------------------------------------------------------------------------------------------------------------
# Reconciliation: from a source's record count to the control's population
# ---------------------------------------------------------------------------------------------------------------

_CLAUSE_END = re.compile(r"\b(GROUP\s+BY|ORDER\s+BY|HAVING|QUALIFY|WINDOW|LIMIT|UNION|EXCEPT|INTERSECT|SELECT)\b",
                         re.IGNORECASE)


def scope_filters(sql: str) -> list[str]:
    """The WHERE clauses of a control's SQL, as written: the filters that narrow the records to the population."""
    filters: list[str] = []
    for match in re.finditer(r"\bWHERE\b", sql, re.IGNORECASE):
        depth, end = 0, len(sql)
        for index in range(match.end(), len(sql)):
            char = sql[index]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    end = index
                    break
                depth -= 1
            elif depth == 0 and _CLAUSE_END.match(sql, index) and sql[index - 1] in " \n\t":
                end = index
                break
        filters.append(" ".join(sql[match.end():end].split()))
    return filters


def reconcile(outcome: ControlOutcome, sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per source: records collected -> records kept in the bundle -> population, and the filters in between."""
    population = outcome.counts["population"]
    filters = scope_filters(outcome.control.sql)
    lines = []
    for name in outcome.control.datasets:
        source = sources.get(name, {"status": "not_collected"})
        collected = source.get("record_count")
        in_bundle = source.get("records_in_bundle")
        if source["status"] != "succeeded":
            statement = (f"{name}: {source['status']}; no records to reconcile, the control is "
                         f"{outcome.verdict}")
        else:
            statement = (f"{name}: {collected} records collected, {in_bundle} landed for "
                         f"{outcome.snapshot_date}; the query's filters ({'; '.join(filters) or 'none'}) and joins "
                         f"keep {population} {outcome.control.scope} in the population")
        lines.append({"source": name, "status": source["status"], "records_collected": collected,
                      "records_in_bundle": in_bundle, "population": population,
                      "excluded_by_scope": (in_bundle - population) if isinstance(in_bundle, int) else None,
                      "scope": outcome.control.scope, "filters": filters, "statement": statement})
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------------------------

class VerificationError(Exception):
    """The bundle does not match its manifest; the message names the first thing that differs."""


@dataclass
class Verification:
    bundle: Path
    manifest: dict[str, Any]
    #: key id (sha256:<hex>) of the key that signed the manifest; None when the bundle is unsigned
    signed_by: str | None
    #: how the link to the previous bundle was checked
    chain: str

    def __getitem__(self, key: str) -> Any:  # the manifest's fields, for callers that only want those
        return self.manifest[key]


def verify_bundle(bundle: Path, public_key: bytes | None = None, require_signature: bool = False) -> Verification:
    """Recompute every hash, check the signature and the link to the previous bundle (when it is present).

    Raises VerificationError naming the first missing, extra or changed file, a bad or missing signature, a key
    other than the pinned `public_key`, or a previous bundle whose manifest no longer matches the recorded hash.
    """
    from evidence_pipeline.evidence.signing import SigningKeyError, fingerprint, load_public_key, signature_valid

    manifest_path = bundle / MANIFEST
    if not manifest_path.is_file():
        raise VerificationError(f"{bundle}: no {MANIFEST}")
    manifest_bytes = manifest_path.read_bytes()
    try:
        manifest = json.loads(manifest_bytes)
        listed = {entry["path"]: entry for entry in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"{manifest_path}: unreadable manifest: {exc}") from None

    # 1. the signature first: if the manifest itself is forged, its file hashes prove nothing
    signing = manifest.get("signature")
    signed_by = None
    try:
        pinned = load_public_key(public_key, "--public-key") if public_key is not None else None
    except SigningKeyError as exc:
        raise VerificationError(str(exc)) from None
    if signing is None:
        if (bundle / SIGNATURE).exists():
            raise VerificationError(f"{SIGNATURE}: present, but the manifest declares no signature")
        if require_signature or pinned is not None:
            raise VerificationError(f"{MANIFEST}: unsigned bundle, but a signature was required")
    else:
        key_file = bundle / signing.get("public_key_file", PUBLIC_KEY)
        sig_file = bundle / signing.get("signature_file", SIGNATURE)
        if not sig_file.is_file():
            raise VerificationError(f"{SIGNATURE}: missing (the manifest says it is signed by {signing['key_id']})")
        if not key_file.is_file():
            raise VerificationError(f"{PUBLIC_KEY}: missing (the manifest says it is signed by {signing['key_id']})")
        try:
            embedded = load_public_key(key_file.read_bytes(), str(key_file))
        except SigningKeyError as exc:
            raise VerificationError(str(exc)) from None
        if fingerprint(embedded) != signing.get("key_id"):
            raise VerificationError(f"{PUBLIC_KEY}: key {fingerprint(embedded)} is not the key the manifest names "
                                    f"({signing.get('key_id')})")
        if pinned is not None and fingerprint(pinned) != fingerprint(embedded):
            raise VerificationError(f"{SIGNATURE}: signed by key {fingerprint(embedded)}, not by the expected key "
                                    f"{fingerprint(pinned)} (--public-key)")
        if not signature_valid(pinned or embedded, sig_file.read_bytes(), manifest_bytes):
            raise VerificationError(f"{SIGNATURE}: bad signature: {MANIFEST} was changed after signing or the "
                                    f"signature is not by key {fingerprint(embedded)}")
        signed_by = fingerprint(embedded)

    # 2. every file against the manifest
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - SEAL_FILES
    problems: list[tuple[str, str]] = []
    for path in sorted(listed.keys() | present):
        if path not in present:
            problems.append((path, "missing"))
        elif path not in listed:
            problems.append((path, "extra (not in the manifest)"))
        else:
            actual = bundle / path
            entry = listed[path]
            if actual.stat().st_size != entry["size"] or sha256_file(actual) != entry["sha256"]:
                problems.append((path, "changed (SHA-256 differs from the manifest)"))
    if problems:
        path, what = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VerificationError(f"{path}: {what}{more}")

    # 3. the link to the previous bundle, when it sits where the manifest says (the series root)
    return Verification(bundle, manifest, signed_by, _check_link(bundle, manifest))


def _check_link(bundle: Path, manifest: dict[str, Any]) -> str:
    previous = manifest.get("previous")
    if not previous:
        return "first bundle of its chain" if manifest.get("sequence") in (1, None) else \
            "no previous bundle recorded"
    series_root = bundle.parent.parent
    earlier = series_root / previous["bundle"]
    if not (earlier / MANIFEST).is_file():
        return f"previous bundle {previous['bundle']} is not present here (link not checked)"
    actual = sha256_file(earlier / MANIFEST)
    if actual != previous["manifest_sha256"]:
        raise VerificationError(f"chain broken: {previous['bundle']}/{MANIFEST} has SHA-256 {actual[:16]}…, but "
                                f"this bundle recorded {previous['manifest_sha256'][:16]}…")
    return f"links to {previous['bundle']} (manifest SHA-256 matches)"


def verify_series(series_root: Path, public_key: bytes | None = None,
                  require_signature: bool = False) -> list[Verification]:
    """Verify every bundle of a series and that they form one unbroken chain (no bundle removed, none forked)."""
    bundles = series_bundles(series_root)
    if not bundles:
        raise VerificationError(f"{series_root}: no bundles (expected <group>/v<NNN>-<stamp>/{MANIFEST})")
    results = [verify_bundle(b, public_key, require_signature) for b in bundles]
    by_sequence = sorted(results, key=lambda r: int(r.manifest.get("sequence") or 0))
    seen: dict[str, Path] = {}
    for position, result in enumerate(by_sequence):
        previous = result.manifest.get("previous")
        name = result.bundle.relative_to(series_root).as_posix()
        if position == 0:
            if previous and not (series_root / previous["bundle"] / MANIFEST).is_file():
                raise VerificationError(f"chain broken: {name} follows {previous['bundle']}, which is missing here")
            continue
        expected = by_sequence[position - 1].bundle.relative_to(series_root).as_posix()
        if not previous:
            raise VerificationError(f"chain broken: {name} records no previous bundle, expected {expected}")
        if previous["bundle"] in seen:
            raise VerificationError(f"chain forked: {name} and {seen[previous['bundle']]} both follow "
                                    f"{previous['bundle']}")
        seen[previous["bundle"]] = Path(name)
        if previous["bundle"] != expected:
            raise VerificationError(f"chain broken: {name} follows {previous['bundle']}, which is missing "
                                    f"here; the chain expected {expected}")
    return results
