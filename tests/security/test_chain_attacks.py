"""Attacks on the evidence chain that an auditor must see refused without trusting us: a bundle copied into another
day or renamed, an unsigned or edited bundle, a chain re-signed by another key, the newest bundles deleted, files
replaced by links or special files, and writers that would seal evidence unsigned.

Bundles are written with the real writer from synthetic outcomes into a fresh data folder (no pipeline run, no
browser: EVIDENCE_CHROMIUM points at a program that fails, so the PDF is stated as not produced)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from evidence_pipeline.catalogue import Catalogue, Control, load_catalogue
from evidence_pipeline.cli import main
from evidence_pipeline.evidence.chain import MANIFEST, PUBLIC_KEY, SIGNATURE, daily_bundles, sha256_file
from evidence_pipeline.evidence.signing import (
    ALLOW_UNSIGNED_ENV,
    PUBLIC_KEY_ENV,
    SIGNING_KEY_ENV,
    SigningKey,
    SigningKeyError,
    data_folder_key,
    generate_key,
    public_pem,
)
from evidence_pipeline.settings import Paths, project_file
from tests.evidence.conftest import row, write_day
from warehouse import Warehouse

START = date(2026, 3, 2)
CONTROL = "cc8_1_branch_review_rules"


@dataclass
class Home:
    paths: Paths
    warehouse: Warehouse
    control: Control
    key: SigningKey

    @property
    def evidence(self) -> Path:
        return self.paths.evidence

    def write(self, day: date, key: SigningKey | None | str = "default", status: str = "fail") -> Path:
        signer = self.key if key == "default" else key
        return write_day(
            self.warehouse, self.evidence, self.control, day, [row("repo-a", status), row("repo-b", "pass")], signer
        )


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"))  # two seconds: once per module


@pytest.fixture
def home(catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    for name in (SIGNING_KEY_ENV, PUBLIC_KEY_ENV, ALLOW_UNSIGNED_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVIDENCE_CHROMIUM", shutil.which("false") or "/bin/false")
    paths = Paths(tmp_path / "home")
    monkeypatch.setenv("EVIDENCE_HOME", str(paths.home))
    key = generate_key(tmp_path / "keys" / "owner.pem")
    monkeypatch.setenv(SIGNING_KEY_ENV, str(key.path))
    return Home(paths, Warehouse(paths.warehouse), catalogue.by_id[CONTROL], key)


def days(count: int) -> list[date]:
    return [START + timedelta(days=n) for n in range(count)]


def export_argv(first: date, last: date, *extra: str) -> list[str]:
    return ["export", "--from", first.isoformat(), "--to", last.isoformat(), *extra]


def sample_argv(first: date, last: date, *extra: str) -> list[str]:
    return [
        "sample",
        "--control",
        CONTROL,
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
        "--seed",
        "3",
        *extra,
    ]


def writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def reseal(bundle: Path, key: SigningKey | None, **changes: object) -> bytes:
    """Rewrite a bundle's manifest consistently (hashes of the files as they now are, `changes` applied) and sign it
    with `key` (None: leave it unsigned). Returns the new manifest's bytes."""
    writable(bundle)
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest.update(changes)
    for entry in manifest["files"]:
        entry["sha256"] = sha256_file(bundle / entry["path"])
        entry["size"] = (bundle / entry["path"]).stat().st_size
    if key is not None:
        (bundle / PUBLIC_KEY).write_bytes(public_pem(key.public_key))
        manifest["signature"]["key_id"] = key.key_id
        for entry in manifest["files"]:
            if entry["path"] == PUBLIC_KEY:
                entry["sha256"], entry["size"] = sha256_file(bundle / PUBLIC_KEY), (bundle / PUBLIC_KEY).stat().st_size
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (bundle / MANIFEST).write_bytes(data)
    if key is not None:
        (bundle / SIGNATURE).write_bytes(key.sign(data))
    return data


def nothing_exported(home: Home) -> bool:
    return not list((home.evidence / "exports").glob("*/v*")) and not list((home.evidence / "samples").glob("*/v*"))


# --- export and sample ------------------------------------------------------------------------------------------


def test_a_signed_bundle_copied_into_a_missing_day_is_refused_by_export_and_sample(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    d = days(5)
    written = {day: home.write(day) for day in d if day != d[2]}
    # the day without a snapshot gets a copy of another day's (genuinely signed) bundle
    forged = home.evidence / d[2].isoformat() / written[d[1]].name
    shutil.copytree(written[d[1]], forged)
    for argv in (export_argv(d[0], d[4]), sample_argv(d[0], d[4])):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"{d[2].isoformat()}/{forged.name}" in err, err
        assert f"written as {d[1].isoformat()}/{forged.name}" in err
    assert nothing_exported(home)


def test_an_unsigned_edited_bundle_is_refused_and_only_read_when_allowed_and_stated(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = days(3)
    home.write(d[0])
    home.write(d[1])
    monkeypatch.setenv(ALLOW_UNSIGNED_ENV, "1")
    unsigned = home.write(d[2], key=None)  # the newest: no later bundle's link covers it
    monkeypatch.delenv(ALLOW_UNSIGNED_ENV)
    # someone "fixes" the failing row of the unsigned day and recomputes its manifest: no key needed
    population = unsigned / "controls" / CONTROL / "population.csv"
    writable(unsigned)
    population.write_text(population.read_text().replace(",fail,", ",pass,"))
    reseal(unsigned, None)
    name = f"{d[2].isoformat()}/{unsigned.name}"

    assert main(export_argv(d[0], d[2])) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name in err and "UNSIGNED" in err, err
    assert main(sample_argv(d[0], d[2])) == 1
    assert name in capsys.readouterr().err
    assert nothing_exported(home)

    assert main(export_argv(d[0], d[2], "--allow-unsigned")) == 0
    captured = capsys.readouterr()
    assert f"built on 1 UNSIGNED daily bundle(s) (--allow-unsigned, stated in the manifest): {name}" in captured.err
    export = Path(captured.out.strip().splitlines()[-1].split(": ", 1)[1])
    manifest = json.loads((export / MANIFEST).read_text())
    assert manifest["allow_unsigned"] is True and manifest["unsigned_inputs"] == [name]
    assert manifest["signature"]["key_id"] == home.key.key_id  # the export itself is signed, and says what it read


def test_export_pins_the_configured_key_and_refuses_a_chain_signed_by_another(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = days(2)
    for day in d:
        home.write(day)
    other = generate_key(tmp_path / "keys" / "other.pem")
    monkeypatch.setenv(PUBLIC_KEY_ENV, f"{other.path}.pub")
    assert main(export_argv(d[0], d[1])) == 1
    err = capsys.readouterr().err
    assert f"signed by {home.key.key_id}, but the pinned key (--public-key) is {other.key_id}" in err
    monkeypatch.setenv(PUBLIC_KEY_ENV, f"{home.key.path}.pub")
    assert main(export_argv(d[0], d[1])) == 0
    export = Path(capsys.readouterr().out.strip().splitlines()[-1].split(": ", 1)[1])
    chain = json.loads((export / MANIFEST).read_text())["daily_chain"]
    assert chain["pinned_key"] == home.key.key_id and chain["signers"] == [home.key.key_id]
    assert chain["head"]["sequence"] == 2


# --- verify: signer changes, rotation, the chain head -----------------------------------------------------------


def _chain_of(home: Home, count: int) -> list[Path]:
    return [home.write(day) for day in days(count)]


def test_a_chain_whose_last_bundles_are_resigned_by_another_key_fails_without_a_pinned_key(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundles = _chain_of(home, 5)
    forger = generate_key(tmp_path / "keys" / "forger.pem")
    previous_sha = sha256_file(bundles[1] / MANIFEST)
    for bundle in bundles[2:]:  # re-signed in order, each relinked to the re-signed one before it
        manifest = json.loads((bundle / MANIFEST).read_text())
        link = {**manifest["previous"], "manifest_sha256": previous_sha}
        reseal(bundle, forger, previous=link, previous_manifest_sha256=previous_sha)
        previous_sha = sha256_file(bundle / MANIFEST)
    assert main(["verify", str(home.evidence)]) == 1
    err = capsys.readouterr().err
    third = bundles[2].relative_to(home.evidence).as_posix()
    assert f"{third}: signer changed" in err and "no key rotation record" in err
    assert forger.key_id in err and home.key.key_id in err


def test_a_rotation_record_signed_by_the_old_key_hands_the_chain_to_the_new_key(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = days(4)
    home.write(d[0])
    home.write(d[1])
    new = generate_key(tmp_path / "keys" / "new.pem")
    # without a record, the new key cannot continue the chain: refused before anything is written
    with pytest.raises(SigningKeyError, match="cannot continue it: no key rotation record introduces it"):
        home.write(d[2], key=new)
    assert len(daily_bundles(home.evidence)) == 2
    assert main(["rotate-key", "--new", f"{new.path}.pub"]) == 0  # signed by the current key (EVIDENCE_SIGNING_KEY)
    capsys.readouterr()
    rotated = home.write(d[2], key=new)
    home.write(d[3], key=new)
    assert json.loads((rotated / MANIFEST).read_text())["key_rotation"]["from_key_id"] == home.key.key_id
    assert main(["verify", str(home.evidence), "--public-key", f"{home.key.path}.pub"]) == 0
    out = capsys.readouterr().out
    assert f"4 bundles form one unbroken chain, signed by {home.key.key_id} -> {new.key_id}" in out
    assert "signer rotated from" in out

    # a record the new key signed itself proves nothing: the chain fails at the bundle that carries it
    forged_record = rotated / "key_rotation.json"
    writable(rotated)
    (rotated / "key_rotation.sig").write_bytes(new.sign(forged_record.read_bytes()))
    later = sorted(home.evidence.glob(f"{d[3].isoformat()}/v*"))[0]
    data = reseal(rotated, new)
    previous = json.loads((later / MANIFEST).read_text())["previous"]
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    reseal(later, new, previous={**previous, "manifest_sha256": digest}, previous_manifest_sha256=digest)
    assert main(["verify", str(home.evidence)]) == 1
    assert "key_rotation.sig: bad signature" in capsys.readouterr().err


def test_verify_prints_the_chain_head_and_an_expected_head_detects_deleted_newest_bundles(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    bundles = _chain_of(home, 5)
    assert main(["verify", str(home.evidence)]) == 0
    out = capsys.readouterr().out
    head_sha = sha256_file(bundles[-1] / MANIFEST)
    assert f"chain head: sequence 5, {bundles[-1].relative_to(home.evidence).as_posix()}" in out
    assert f"--expect-head 5:{head_sha}" in out
    assert main(["verify", str(home.evidence), "--expect-head", f"5:{head_sha}"]) == 0
    assert "the expected head is the chain's head" in capsys.readouterr().out

    for bundle in bundles[3:]:  # the two newest days are deleted
        writable(bundle)
        shutil.rmtree(bundle.parent)
    assert main(["verify", str(home.evidence), "--expect-head", f"5:{head_sha}"]) == 1
    err = capsys.readouterr().err
    assert "chain truncated" in err and "ends at sequence 3" in err and "2 newest bundle(s) removed" in err
    # the bare hash pins it as well
    assert main(["verify", str(home.evidence), "--expect-head", head_sha]) == 1
    assert "chain truncated" in capsys.readouterr().err


def test_an_unsigned_bundle_fails_verify_unless_allowed(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ALLOW_UNSIGNED_ENV, "1")
    bundle = home.write(START, key=None)
    assert main(["verify", str(bundle)]) == 1
    assert "UNSIGNED bundle" in capsys.readouterr().err
    assert main(["verify", str(home.evidence)]) == 1
    assert main(["verify", str(bundle), "--allow-unsigned"]) == 0
    captured = capsys.readouterr()
    assert "UNSIGNED (accepted by --allow-unsigned)" in captured.out and "WARNING" in captured.err


# --- the bundle's contents and place ----------------------------------------------------------------------------


def test_a_manifest_listing_a_file_twice_is_refused(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = home.write(START)
    manifest = json.loads((bundle / MANIFEST).read_text())
    population = next(e for e in manifest["files"] if e["path"].endswith("population.csv"))
    reseal(bundle, home.key, files=[*manifest["files"], dict(population)])
    assert main(["verify", str(home.evidence)]) == 1
    assert f"{population['path']} is listed twice" in capsys.readouterr().err


def test_a_listed_file_replaced_by_a_symbolic_link_is_refused(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = home.write(START)
    target = bundle / "controls" / CONTROL / "population.csv"
    outside = tmp_path / "population.csv"
    shutil.copyfile(target, outside)  # the same bytes today; whatever the link points to tomorrow
    writable(bundle)
    target.unlink()
    target.symlink_to(outside)
    assert main(["verify", str(bundle)]) == 1
    assert f"controls/{CONTROL}/population.csv: a symbolic link" in capsys.readouterr().err


def test_a_special_file_in_a_bundle_is_refused(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = home.write(START)
    writable(bundle)
    os.mkfifo(bundle / "controls" / CONTROL / "notes")
    assert main(["verify", str(home.evidence)]) == 1
    assert f"controls/{CONTROL}/notes: a special file" in capsys.readouterr().err


@pytest.mark.parametrize("rename", ["date", "version"])
def test_a_bundle_folder_renamed_to_another_date_or_version_is_refused(
    home: Home, rename: str, capsys: pytest.CaptureFixture[str]
) -> None:
    d = days(3)
    bundles = [home.write(day) for day in d]
    head = bundles[-1]
    if rename == "date":  # the newest day's folder now claims a later day
        moved = home.evidence / (d[2] + timedelta(days=5)).isoformat()
        head.parent.rename(moved)
        renamed = moved / head.name
    else:
        renamed = head.with_name("v002" + head.name[4:])
        head.rename(renamed)
    assert main(["verify", str(home.evidence)]) == 1
    err = capsys.readouterr().err
    assert (
        f"written as {head.relative_to(home.evidence).as_posix()}, but sits at "
        f"{renamed.relative_to(home.evidence).as_posix()}" in err
    )
    assert main(["verify", str(renamed)]) == 1  # on its own, in its series folder, too
    assert main(export_argv(d[0], d[2] + timedelta(days=5))) == 1
    assert nothing_exported(home)


# --- writers ----------------------------------------------------------------------------------------------------


def test_bundles_are_never_written_unsigned_unless_explicitly_allowed(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SigningKeyError, match=f"{SIGNING_KEY_ENV} is not set: refusing to write an unsigned"):
        home.write(START, key=None)
    assert not daily_bundles(home.evidence)
    assert not [p for p in (home.evidence / START.isoformat()).glob("*")]  # not even an aside folder
    home.write(START)
    monkeypatch.delenv(SIGNING_KEY_ENV)
    assert main(export_argv(START, START)) == 1  # the export would be unsigned
    assert f"{SIGNING_KEY_ENV} is not set" in capsys.readouterr().err
    assert nothing_exported(home)
    monkeypatch.setenv(ALLOW_UNSIGNED_ENV, "1")
    assert json.loads((home.write(START, key=None) / MANIFEST).read_text())["signature"] is None


def test_the_ui_signs_with_a_data_folder_key(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess

    import evidence_pipeline.ui as ui
    import sandbox.launch as launch

    monkeypatch.delenv(SIGNING_KEY_ENV)
    started: dict[str, dict[str, str]] = {}

    class Stopped:
        env: dict[str, str] = {}

        def stop(self) -> None:
            pass

    class DgDev:
        """`dg dev`, which inherits the CLI's environment: what it would start with."""

        def __init__(self, command: list[str], **_: object) -> None:
            started["env"] = dict(os.environ)

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(launch, "start_sandbox", lambda *args, **kwargs: Stopped())
    monkeypatch.setattr(ui, "prepare_dagster_home", lambda paths: paths.dagster_home)
    monkeypatch.setattr(ui, "write_workspace", lambda paths: paths.dagster_home / "workspace.yaml")
    monkeypatch.setattr(subprocess, "Popen", DgDev)
    assert main(["ui"]) == 0
    key = data_folder_key(home.paths.home)
    assert started["env"].get(SIGNING_KEY_ENV) == str(key) and key.is_file()


def _materialize_snapshot(home: Home, catalogue: Catalogue) -> dg.ExecuteInProcessResult:
    from evidence_pipeline.defs.automation import AlertResource
    from evidence_pipeline.defs.evidence import snapshot_asset
    from evidence_pipeline.defs.resources import WarehouseResource

    return dg.materialize(
        [snapshot_asset(catalogue)],
        partition_key=START.isoformat(),
        raise_on_error=False,
        resources={"warehouse": WarehouseResource(home=str(home.paths.home)), "alerts": AlertResource()},
        instance=dg.DagsterInstance.ephemeral(),
    )


def _snapshot_metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_the_daily_snapshot_signs_refuses_unsigned_and_says_when_unsigned_is_allowed(
    home: Home, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _snapshot_metadata(_materialize_snapshot(home, catalogue))["signature"] == f"signed by {home.key.key_id}"
    monkeypatch.delenv(SIGNING_KEY_ENV)
    refused = _materialize_snapshot(home, catalogue)
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_step_failure)
    assert "refusing to write an unsigned daily evidence bundle" in str(failure.step_failure_data.error.message)
    assert len(daily_bundles(home.evidence)) == 1
    monkeypatch.setenv(ALLOW_UNSIGNED_ENV, "1")
    allowed = _materialize_snapshot(home, catalogue)
    assert allowed.success
    assert _snapshot_metadata(allowed)["signature"] == f"UNSIGNED (allowed by {ALLOW_UNSIGNED_ENV})"
