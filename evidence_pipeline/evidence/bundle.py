"""Evidence bundles: one immutable directory per day and version, sealed by a signed, chained manifest.

A bundle is written aside (a hidden temporary directory) and renamed into place only once complete, so a crash
never leaves a half-written bundle that looks finished. A re-run of a day writes a new version next to the old
one; nothing here ever opens an existing bundle for writing.

Every bundle of a series (the daily snapshots under <evidence>/, the period exports under <evidence>/exports/,
the samples under <evidence>/samples/) carries a sequence number and the SHA-256 of the previous bundle's
manifest, so deleting or altering a bundle breaks the chain visibly; the manifest also records where the bundle
sits (<group>/<version>), so a bundle copied or renamed into another day or version is refused. The manifest is
signed (Ed25519) with EVIDENCE_SIGNING_KEY; nothing is written unsigned unless EVIDENCE_ALLOW_UNSIGNED=1, and a
chain changes signer only through a key rotation record signed by the previous key (see signing.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence_pipeline import __version__
from evidence_pipeline.evaluate import ControlOutcome, results_frame
from evidence_pipeline.evidence.csv_cells import SQL_COPY_OPTIONS, sql_neutralize_cell, write_csv
from evidence_pipeline.evidence.signing import (
    ALGORITHM,
    ROTATION_RECORD,
    ROTATION_SIGNATURE,
    SIGNING_KEY_ENV,
    SigningKey,
    SigningKeyError,
    check_rotation_record,
    fingerprint,
    load_public_key,
    pending_rotation,
    public_pem,
    require_signing,
    signature_valid,
)
from warehouse import Warehouse

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
#: files that describe the bundle rather than belong to it: not listed in the manifest's file list
SEAL_FILES = frozenset({MANIFEST, SIGNATURE})
#: /3 records the bundle's location (<group>/<version>) in its manifest; /2 bundles are still read
BUNDLE_FORMAT = "soc2-evidence-bundle/3"
POPULATION_COLUMNS = ["resource_id", "resource_name", "resource_url", "status", "reason", "failure", "remediation",
                      "details"]
WAIVER_COLUMNS = ["control", "resource", "reason", "approver", "expires", "active_on_snapshot_date"]
DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
VERSION_FOLDER = re.compile(r"^v\d{3}-")


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


def _signer(manifest: dict[str, Any]) -> str | None:
    return (manifest.get("signature") or {}).get("key_id")


def signer_of(bundle: Path) -> str | None:
    """The key id the bundle's manifest names as its signer (unverified)."""
    return _signer(_read_manifest(bundle))


def chain_signer(bundles: list[Path]) -> Path | None:
    """The newest signed bundle of a chain: its key signs the chain until a rotation record introduces another."""
    return chain_head([b for b in bundles if signer_of(b)])


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
    """Write a bundle aside with `write(work) -> manifest fields`, hash, chain, sign, then rename it into place.

    Refuses (SigningKeyError, before anything is written) an unsigned bundle unless EVIDENCE_ALLOW_UNSIGNED says so,
    and a key other than the chain's signer unless a rotation record signed by that signer introduces it."""
    require_signing(signing_key, f"bundle in {series_root}")
    group_dir = series_root / group
    group_dir.mkdir(parents=True, exist_ok=True)
    work = group_dir / f".incomplete-{uuid.uuid4().hex}"
    work.mkdir()
    try:
        fields = write(work)
        if signing_key is not None:
            (work / PUBLIC_KEY).write_bytes(public_pem(signing_key.public_key))
        with _series_lock(series_root):
            existing = bundles(series_root)
            previous = chain_head(existing)
            rotation = _carry_rotation(series_root, chain_signer(existing), signing_key, work)
            # the version is claimed before the manifest is written, so that the manifest can record it
            final = _claim_version(group_dir)
            manifest = _manifest(work, {**fields, "key_rotation": rotation}, series_root, previous, signing_key,
                                 final)
            manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
            (work / MANIFEST).write_bytes(manifest_bytes)
            if signing_key is not None:
                (work / SIGNATURE).write_bytes(signing_key.sign(manifest_bytes))
            for path in work.rglob("*"):
                if path.is_file():
                    path.chmod(0o400)  # read-only, and owner-only: bundles hold personal data
            os.rename(work, final)  # atomic on one filesystem: the bundle appears whole or not at all
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _carry_rotation(series_root: Path, signed_last: Path | None, signing_key: SigningKey | None,
                    work: Path) -> dict[str, Any] | None:
    """When `signing_key` is not the chain's signer, copy the rotation record introducing it into the bundle;
    without a valid one the bundle is refused (verify would fail the chain from it on)."""
    if signing_key is None or signed_last is None:
        return None
    old_id = signer_of(signed_last)
    if old_id == signing_key.key_id:
        return None
    pending = pending_rotation(series_root, signing_key.key_id)
    if pending is None:
        problem = "no key rotation record introduces it"
    else:
        old_key = load_public_key((signed_last / PUBLIC_KEY).read_bytes(), str(signed_last / PUBLIC_KEY))
        problem = check_rotation_record(*pending, old_key, signing_key.key_id)
    if problem:
        raise SigningKeyError(
            f"{series_root}: the chain is signed by {old_id} (up to {signed_last.relative_to(series_root)}); "
            f"{signing_key.key_id} cannot continue it: {problem} (run `evidence-pipeline rotate-key --new <new "
            f"public key>` with {SIGNING_KEY_ENV} set to the current key, or start a new evidence folder)")
    (work / ROTATION_RECORD).write_bytes(pending[0])
    (work / ROTATION_SIGNATURE).write_bytes(pending[1])
    return {"from_key_id": old_id, "to_key_id": signing_key.key_id, "record": ROTATION_RECORD,
            "signature": ROTATION_SIGNATURE}


#: an aside bundle folder untouched this long is abandoned whoever made it (writing a bundle takes minutes at most)
ABANDONED_AFTER_SECONDS = 6 * 3600


def remove_abandoned_bundles(evidence_root: Path, runs_in_progress: bool) -> list[Path]:
    """Remove the aside folders (`.incomplete-*`, see bundle.seal_bundle) of bundles whose writer was killed: they
    hold raw personal data and would stay for ever. A daily snapshot is written only inside a run, so with no run in
    progress its aside folders are abandoned; exports and samples (written by the CLI, outside runs) and daily
    folders while runs are under way count as abandoned only once untouched for ABANDONED_AFTER_SECONDS."""
    removed: list[Path] = []
    now = time.time()
    for aside in sorted(evidence_root.glob("*/.incomplete-*")) + sorted(evidence_root.glob("*/*/.incomplete-*")):
        if not aside.is_dir():
            continue
        daily = aside.parent.parent == evidence_root and DAY_FOLDER.match(aside.parent.name)
        try:
            touched = max(p.lstat().st_mtime for p in [aside, *aside.rglob("*")])
        except FileNotFoundError:
            continue  # sealed or cleaned up meanwhile
        if (daily and not runs_in_progress) or now - touched > ABANDONED_AFTER_SECONDS:
            shutil.rmtree(aside, ignore_errors=True)
            removed.append(aside)
    return removed


def _claim_version(group_dir: Path) -> Path:
    versions = [p for p in group_dir.iterdir() if p.is_dir() and p.name.startswith("v")]
    number = max((int(p.name[1:4]) for p in versions if p.name[1:4].isdigit()), default=0) + 1
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return group_dir / f"v{number:03d}-{stamp}"


def _manifest(work: Path, fields: dict[str, Any], series_root: Path, previous: Path | None,
              signing_key: SigningKey | None, final: Path) -> dict[str, Any]:
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
        # where the bundle sits in its series: moved or renamed, it no longer verifies as part of the series
        "location": final.relative_to(series_root).as_posix(),
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
    judged = (
        "SELECT resource_id, resource_name, resource_url, status, reason, details->>'failure' AS failure, "
        f"CASE WHEN status = 'pass' THEN '' ELSE CASE coalesce(details->>'failure', '') {cases} ELSE ? END END "
        "AS remediation, "
        # the failure has a column of its own; the rest of the details stay JSON
        "CAST(json_merge_patch(coalesce(details, '{}'), '{\"failure\": null}') AS VARCHAR) AS details "
        f"FROM ({rows}) AS judged")
    # every cell may be text from a source system: neutralized against formula injection (csv_cells), in SQL
    cells = ", ".join(f"{sql_neutralize_cell('cells.' + column)} AS {column}" for column in POPULATION_COLUMNS)
    select = f"SELECT {cells} FROM ({judged}) AS cells"
    values = [*case_parameters, default, *parameters]
    for name, where in (("population.csv", ""), ("exceptions.csv", "WHERE cells.status <> 'pass' ")):
        target = str(folder / name).replace("'", "''")
        copied = con.execute(f"COPY ({select} {where}ORDER BY cells.resource_id) TO '{target}' "
                             f"({SQL_COPY_OPTIONS})", values).fetchone()[0]
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
    write_csv(work / "waivers.csv", WAIVER_COLUMNS, entries)
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
    #: the key that signed the manifest (the bundle's public_key.pem, checked against the manifest's key id)
    signer_key: Ed25519PublicKey | None = None
    manifest_sha256: str = ""

    def __getitem__(self, key: str) -> Any:  # the manifest's fields, for callers that only want those
        return self.manifest[key]


def verify_bundle(bundle: Path, public_key: bytes | None = None, require_signature: bool = True,
                  series_root: Path | None = None, hash_files: bool = True) -> Verification:
    """Check the folder's contents, the signature, every file's hash and the link to the previous bundle.

    Raises VerificationError naming the first symbolic link or special file, duplicate, missing, extra or changed
    file, a missing or bad signature (an unsigned bundle unless `require_signature` is False), a key other than
    the pinned `public_key`, a bundle that is not where its manifest says (`series_root` given), or a previous
    bundle whose manifest no longer matches the recorded hash or whose signer differs without a rotation record.
    `hash_files=False` checks names and sizes only (a chain's bundles outside the period an export reads).
    """
    if bundle.is_symlink():
        raise VerificationError(f"{bundle}: a symbolic link, not a bundle folder")
    manifest_path = bundle / MANIFEST
    if not manifest_path.is_file():
        raise VerificationError(f"{bundle}: no {MANIFEST}")
    # 1. the folder holds regular files only: a link or a device could show other bytes than those hashed
    present, odd = _bundle_files(bundle)
    if odd:
        path, what = odd[0]
        raise VerificationError(f"{path}: {what}" + (f" (and {len(odd) - 1} more)" if len(odd) > 1 else ""))
    manifest_bytes = manifest_path.read_bytes()
    try:
        manifest = json.loads(manifest_bytes)
        listed = _listed_files(manifest["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"{manifest_path}: unreadable manifest: {exc}") from None

    # 2. the signature: if the manifest itself is forged, its file hashes prove nothing
    signed_by, signer_key = _check_signature(bundle, manifest, manifest_bytes, present, public_key, require_signature)

    # 3. where it sits: a signed bundle copied into another day's folder or renamed to another version is not
    # the evidence of that day or version
    if series_root is not None:
        _check_location(bundle, manifest, series_root)

    # 4. every file against the manifest
    problems: list[tuple[str, str]] = []
    for path in sorted(listed.keys() | present):
        if path not in present:
            problems.append((path, "missing"))
        elif path not in listed:
            problems.append((path, "extra (not in the manifest)"))
        else:
            actual = bundle / path
            entry = listed[path]
            # a rotation record is always hashed: the chain's signer depends on it
            hashed = hash_files or path in (ROTATION_RECORD, ROTATION_SIGNATURE)
            if actual.stat().st_size != entry["size"] or (hashed and sha256_file(actual) != entry["sha256"]):
                problems.append((path, "changed (SHA-256 differs from the manifest)"))
    if problems:
        path, what = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VerificationError(f"{path}: {what}{more}")

    # 5. the link to the previous bundle, when it sits where the manifest says (the series root)
    chain = _check_link(bundle, manifest, signed_by)
    return Verification(bundle, manifest, signed_by, chain, signer_key, hashlib.sha256(manifest_bytes).hexdigest())


def _bundle_files(bundle: Path) -> tuple[set[str], list[tuple[str, str]]]:
    """The regular files of the bundle (relative paths, without the seal files), and every entry that is not one."""
    files: set[str] = set()
    odd: list[tuple[str, str]] = []
    for folder, subfolders, names in os.walk(bundle):  # never follows a symbolic link
        for name in sorted(subfolders + names):
            path = Path(folder) / name
            relative = path.relative_to(bundle).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                odd.append((relative, "a symbolic link (a bundle holds regular files only)"))
            elif stat.S_ISREG(mode):
                files.add(relative)
            elif not stat.S_ISDIR(mode):
                odd.append((relative, "a special file, not a regular file (a bundle holds regular files only)"))
    return files - SEAL_FILES, odd


def _listed_files(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    listed: dict[str, dict[str, Any]] = {}
    for entry in entries:
        path = entry["path"]
        if not isinstance(path, str) or path.startswith("/") or any(p in ("", ".", "..") for p in path.split("/")):
            raise ValueError(f"{path!r} is not a path inside the bundle")
        if path in listed:
            # two entries for one file: one of them is not what the folder holds, whichever a reader believes
            raise ValueError(f"{path} is listed twice")
        listed[path] = entry
    return listed


def _check_signature(bundle: Path, manifest: dict[str, Any], manifest_bytes: bytes, present: set[str],
                     public_key: bytes | None, require_signature: bool) -> tuple[str | None, Ed25519PublicKey | None]:
    signing = manifest.get("signature")
    try:
        pinned = load_public_key(public_key, "--public-key") if public_key is not None else None
    except SigningKeyError as exc:
        raise VerificationError(str(exc)) from None
    if signing is None:
        if (bundle / SIGNATURE).exists():
            raise VerificationError(f"{SIGNATURE}: present, but the manifest declares no signature")
        if require_signature or pinned is not None:
            raise VerificationError(f"{MANIFEST}: UNSIGNED bundle: nothing shows who wrote it or that it was not "
                                    f"edited (--allow-unsigned accepts it)")
        return None, None
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
    return fingerprint(embedded), embedded


def _check_location(bundle: Path, manifest: dict[str, Any], series_root: Path) -> None:
    """The bundle sits at the <group>/<version> its manifest records (and a day's bundle covers that day)."""
    actual = bundle.relative_to(series_root).as_posix()
    recorded = manifest.get("location")
    if recorded is None and manifest.get("format") == BUNDLE_FORMAT:
        raise VerificationError(f"{MANIFEST}: records no location, found at {actual}")
    if recorded is not None and recorded != actual:
        raise VerificationError(f"{MANIFEST}: the bundle was written as {recorded}, but sits at {actual} (a bundle "
                                f"is never moved, copied or renamed)")
    day = manifest.get("snapshot_date")
    if manifest.get("kind") == "daily_snapshot" and day != bundle.parent.name:
        raise VerificationError(f"{MANIFEST}: the snapshot of {day} sits in the folder of {bundle.parent.name}")


def _rotation_problem(bundle: Path, manifest: dict[str, Any], old_key: Ed25519PublicKey,
                      new_key_id: str) -> str | None:
    """Why this bundle does not hand its chain from `old_key` to its signer `new_key_id`; None when it does."""
    listed = {entry["path"] for entry in manifest.get("files", [])}
    if not (manifest.get("key_rotation") and {ROTATION_RECORD, ROTATION_SIGNATURE} <= listed):
        return f"no key rotation record ({ROTATION_RECORD} signed by {fingerprint(old_key)}) introduces it"
    return check_rotation_record((bundle / ROTATION_RECORD).read_bytes(), (bundle / ROTATION_SIGNATURE).read_bytes(),
                                 old_key, new_key_id)


def _check_link(bundle: Path, manifest: dict[str, Any], signed_by: str | None) -> str:
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
    link = f"links to {previous['bundle']} (manifest SHA-256 matches)"
    earlier_signer = signer_of(earlier)
    if signed_by is None or earlier_signer is None or earlier_signer == signed_by:
        return link
    try:
        earlier_key = load_public_key((earlier / PUBLIC_KEY).read_bytes(), str(earlier / PUBLIC_KEY))
    except (OSError, SigningKeyError) as exc:
        raise VerificationError(f"{previous['bundle']}/{PUBLIC_KEY}: unreadable: {exc}") from None
    if fingerprint(earlier_key) != earlier_signer:
        raise VerificationError(f"{previous['bundle']}/{PUBLIC_KEY}: not the key its manifest names")
    problem = _rotation_problem(bundle, manifest, earlier_key, signed_by)
    if problem:
        raise VerificationError(f"signer changed: {previous['bundle']} is signed by {earlier_signer}, this bundle "
                                f"by {signed_by}: {problem}")
    return f"{link}; signer rotated from {earlier_signer} by {ROTATION_RECORD}"


@dataclass(frozen=True)
class ChainHead:
    """The newest bundle of a chain: pin it (sequence:sha256) to detect the newest bundles being deleted."""

    sequence: int
    bundle: str
    covers: str
    manifest_sha256: str

    @property
    def pin(self) -> str:
        return f"{self.sequence}:{self.manifest_sha256}"


@dataclass
class Chain:
    """A verified series: its bundles (in folder order), its head and the keys that signed it, in order."""

    bundles: list[Verification]
    head: ChainHead
    #: the first signer, then each key a rotation record signed by the one before introduced
    signers: list[str]
    #: bundles accepted without a signature (only with require_signature=False)
    unsigned: list[str]
    #: how many bundles were added after the head pinned with `expect_head` (0: the pinned head is the head)
    added_since_pin: int | None = None

    def __iter__(self) -> Iterator[Verification]:
        return iter(self.bundles)

    def __len__(self) -> int:
        return len(self.bundles)

    def __getitem__(self, index: int) -> Verification:
        return self.bundles[index]


def covers(manifest: dict[str, Any]) -> str:
    """What a bundle is evidence of: its day, or its data window."""
    window = manifest.get("data_window") or {}
    return manifest.get("snapshot_date") or f"{window.get('from', '?')} to {window.get('to', '?')}"


def verify_series(series_root: Path, public_key: bytes | None = None, require_signature: bool = True,
                  expect_head: str | None = None, hash_files: Callable[[Path], bool] | None = None) -> Chain:
    """Verify every bundle of a series, where it sits, and that they form one unbroken chain under one line of keys.

    The chain's signer is the pinned `public_key` (else the first bundle's signer); a bundle signed by another key
    fails unless it carries a rotation record signed by the signer so far. `expect_head` (`sha256` or
    `sequence:sha256` of the head's manifest, as printed by verify) fails a chain whose newest bundles were removed.
    `hash_files(bundle)` False checks that bundle's files by name and size only.
    """
    bundles = series_bundles(series_root)
    if not bundles:
        raise VerificationError(f"{series_root}: no bundles (expected <group>/v<NNN>-<stamp>/{MANIFEST})")
    results = []
    for bundle in bundles:
        try:
            results.append(verify_bundle(bundle, None, require_signature, series_root,
                                         hash_files is None or hash_files(bundle)))
        except VerificationError as exc:
            raise VerificationError(f"{bundle.relative_to(series_root).as_posix()}: {exc}") from None
    by_sequence = sorted(results, key=lambda r: int(r.manifest.get("sequence") or 0))
    _check_links(series_root, by_sequence)
    signers, unsigned = _check_signers(series_root, by_sequence, public_key)
    last = by_sequence[-1]
    head = ChainHead(int(last.manifest["sequence"]), last.bundle.relative_to(series_root).as_posix(),
                     covers(last.manifest), last.manifest_sha256)
    chain = Chain(results, head, signers, unsigned)
    if expect_head is not None:
        chain.added_since_pin = _check_expected_head(by_sequence, head, expect_head)
    return chain


def _check_links(series_root: Path, by_sequence: list[Verification]) -> None:
    seen: dict[str, Path] = {}
    for position, result in enumerate(by_sequence):
        previous = result.manifest.get("previous")
        name = result.bundle.relative_to(series_root).as_posix()
        if position == 0:
            if previous and not (series_root / previous["bundle"] / MANIFEST).is_file():
                raise VerificationError(f"chain broken: {name} follows {previous['bundle']}, which is missing here")
        else:
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
        if result.manifest.get("sequence") != position + 1:  # e.g. the first bundles removed, links and all
            raise VerificationError(f"chain broken: {name} has sequence {result.manifest.get('sequence')}, but is "
                                    f"bundle {position + 1} of the chain here")


def _check_signers(series_root: Path, by_sequence: list[Verification],
                   public_key: bytes | None) -> tuple[list[str], list[str]]:
    """One line of keys: the pinned key (or the first signer), then each key a rotation record hands over to."""
    try:
        current = load_public_key(public_key, "--public-key") if public_key is not None else None
    except SigningKeyError as exc:
        raise VerificationError(str(exc)) from None
    signers = [fingerprint(current)] if current is not None else []
    unsigned: list[str] = []
    for result in by_sequence:
        name = result.bundle.relative_to(series_root).as_posix()
        if result.signed_by is None:
            unsigned.append(name)
            continue
        if current is None:
            current = result.signer_key
            signers.append(result.signed_by)
            continue
        if result.signed_by == fingerprint(current):
            continue
        problem = _rotation_problem(result.bundle, result.manifest, current, result.signed_by)
        if problem:
            whose = "the pinned key (--public-key)" if len(signers) == 1 and public_key is not None else \
                "the chain's signer so far"
            raise VerificationError(f"{name}: signer changed: signed by {result.signed_by}, but {whose} is "
                                    f"{fingerprint(current)}: {problem}")
        current = result.signer_key
        signers.append(result.signed_by)
    return signers, unsigned


def _check_expected_head(by_sequence: list[Verification], head: ChainHead, expected: str) -> int:
    """How many bundles follow the pinned head; fails when the pinned head is not in the chain (truncated)."""
    sequence_text, _, digest = expected.strip().lower().rpartition(":")
    if not re.fullmatch(r"[0-9a-f]{64}", digest) or (sequence_text and not sequence_text.isdigit()):
        raise VerificationError(f"--expect-head {expected}: expected the head's manifest SHA-256, or "
                                f"SEQUENCE:SHA-256, as verify prints it")
    pinned = next((r for r in by_sequence if r.manifest_sha256 == digest), None)
    if pinned is None:
        lost = int(sequence_text) - head.sequence if sequence_text else 0
        removed = f"{lost} newest bundle(s) removed" if lost > 0 else "the newest bundles removed or replaced"
        raise VerificationError(f"chain truncated: the expected head {expected} is not in this chain, which ends at "
                                f"sequence {head.sequence} ({head.bundle}, manifest SHA-256 {head.manifest_sha256}):"
                                f" {removed}")
    sequence = int(pinned.manifest["sequence"])
    if sequence_text and int(sequence_text) != sequence:
        raise VerificationError(f"--expect-head {expected}: that manifest is sequence {sequence} of this chain")
    return head.sequence - sequence
