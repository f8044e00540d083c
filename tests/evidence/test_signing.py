"""Signed, chained manifests: verify names the signer, and fails clearly on a bad signature, a wrong key, an
unsigned bundle (unless explicitly allowed), and a broken chain. More attacks: tests/security/test_chain_attacks.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from evidence_pipeline.cli import main
from evidence_pipeline.evidence.chain import MANIFEST, PUBLIC_KEY, SIGNATURE, sha256_file
from evidence_pipeline.evidence.signing import SigningKey, generate_key, load_private_key, public_pem
from evidence_pipeline.evidence.verify import VerificationError, verify_bundle, verify_series
from tests.conftest import PipelineDay, bundles_of
from tests.evidence.conftest import Series, row, writable_copy, write_day


def test_pipeline_bundle_is_signed_by_the_configured_key(
    pipeline_day: PipelineDay, pipeline_key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    result = verify_bundle(bundle, public_key=public_pem(pipeline_key.public_key), require_signature=True)
    assert result.signed_by == pipeline_key.key_id
    assert result.manifest["signature"]["key_id"] == pipeline_key.key_id
    assert (bundle / PUBLIC_KEY).read_bytes() == public_pem(pipeline_key.public_key)
    assert main(["verify", str(bundle), "--public-key", str(pipeline_key.path) + ".pub"]) == 0
    out = capsys.readouterr().out
    assert f"signed by Ed25519 key {pipeline_key.key_id} (the pinned key)" in out


def test_an_auditor_can_check_the_signature_with_openssl_alone(pipeline_day: PipelineDay) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    checked = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(bundle / PUBLIC_KEY),
            "-rawin",
            "-in",
            str(bundle / MANIFEST),
            "-sigfile",
            str(bundle / SIGNATURE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and "Signature Verified Successfully" in checked.stdout


def test_manifest_records_hashes_tool_window_waivers_and_chain(pipeline_day: PipelineDay) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    manifest = json.loads((bundle / MANIFEST).read_text())
    day = pipeline_day.day.isoformat()
    assert manifest["data_window"] == {"from": day, "to": day}
    assert manifest["tool"]["name"] == "evidence-pipeline" and manifest["tool"]["version"]
    assert len(manifest["controls_map_sha256"]) == 64
    waivers = manifest["waivers"]
    # the sandbox writes a waivers file: its hash and waivers.csv are in the bundle
    assert waivers["file"] == "waivers.yaml" and len(waivers["sha256"]) == 64
    assert "waivers.csv" in {f["path"] for f in manifest["files"]}
    assert {f["path"] for f in manifest["files"]} >= {
        "report.html",
        "report.pdf",
        "evidence.xlsx",
        "oscal/assessment-results.json",
        PUBLIC_KEY,
    }
    assert SIGNATURE not in {f["path"] for f in manifest["files"]}
    assert manifest["sequence"] >= 1
    for entry in manifest["files"]:
        assert entry["size"] == (bundle / entry["path"]).stat().st_size


def test_a_changed_manifest_fails_the_signature(bundle_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((bundle_copy / MANIFEST).read_text())
    manifest["verdicts"] = {k: "pass" for k in manifest["verdicts"]}  # someone "improves" the verdicts
    (bundle_copy / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with pytest.raises(VerificationError, match="manifest.sig: bad signature"):
        verify_bundle(bundle_copy)
    assert main(["verify", str(bundle_copy)]) == 1
    assert "bad signature" in capsys.readouterr().err


def test_a_corrupted_signature_fails(bundle_copy: Path) -> None:
    signature = bytearray((bundle_copy / SIGNATURE).read_bytes())
    signature[0] ^= 0xFF
    (bundle_copy / SIGNATURE).write_bytes(bytes(signature))
    with pytest.raises(VerificationError, match="bad signature"):
        verify_bundle(bundle_copy)


def test_a_removed_signature_fails(bundle_copy: Path) -> None:
    (bundle_copy / SIGNATURE).unlink()
    with pytest.raises(VerificationError, match="manifest.sig: missing"):
        verify_bundle(bundle_copy)


def _forge(bundle: Path, forger: SigningKey) -> None:
    """Change evidence, rewrite the manifest's hashes and re-sign with another key: a consistent forgery."""
    target = bundle / "controls/cc8_1_branch_review_rules/population.csv"
    target.write_text(target.read_text().replace(",fail,", ",pass,"))
    manifest = json.loads((bundle / MANIFEST).read_text())
    (bundle / PUBLIC_KEY).write_bytes(public_pem(forger.public_key))
    for entry in manifest["files"]:
        entry["sha256"] = sha256_file(bundle / entry["path"])
        entry["size"] = (bundle / entry["path"]).stat().st_size
    manifest["signature"]["key_id"] = forger.key_id
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (bundle / MANIFEST).write_bytes(data)
    (bundle / SIGNATURE).write_bytes(forger.sign(data))


def test_a_forgery_signed_by_another_key_is_named_and_refused_with_a_pinned_key(
    bundle_copy: Path, pipeline_key: SigningKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forger = generate_key(tmp_path / "forger.pem")
    _forge(bundle_copy, forger)
    # without a pin, verify can only say who signed: the auditor sees it is not the published key
    assert verify_bundle(bundle_copy).signed_by == forger.key_id != pipeline_key.key_id
    assert main(["verify", str(bundle_copy)]) == 0
    assert forger.key_id in capsys.readouterr().out
    # with the expected key pinned, it fails and names both keys
    pinned = Path(str(pipeline_key.path) + ".pub")
    assert main(["verify", str(bundle_copy), "--public-key", str(pinned)]) == 1
    err = capsys.readouterr().err
    assert f"signed by key {forger.key_id}, not by the expected key {pipeline_key.key_id}" in err


def test_unsigned_bundles_fail_unless_explicitly_allowed(
    pipeline_day: PipelineDay,
    catalogue_control,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evidence_pipeline.evidence.signing import ALLOW_UNSIGNED_ENV
    from warehouse import Warehouse

    monkeypatch.setenv(ALLOW_UNSIGNED_ENV, "1")  # written unsigned on purpose
    bundle = write_day(
        Warehouse(pipeline_day.paths.warehouse),
        tmp_path / "evidence",
        catalogue_control,
        pipeline_day.day,
        [row("repo-a", "pass")],
        key=None,
    )
    assert not (bundle / SIGNATURE).exists() and json.loads((bundle / MANIFEST).read_text())["signature"] is None
    with pytest.raises(VerificationError, match="UNSIGNED bundle"):
        verify_bundle(bundle)
    assert verify_bundle(bundle, require_signature=False).signed_by is None
    assert main(["verify", str(bundle)]) == 1
    assert "UNSIGNED bundle" in capsys.readouterr().err
    assert main(["verify", str(bundle), "--allow-unsigned"]) == 0
    assert "UNSIGNED" in capsys.readouterr().out
    # a signature file next to an unsigned manifest is not silently ignored
    (bundle / SIGNATURE).write_bytes(b"x" * 64)
    with pytest.raises(VerificationError, match="the manifest declares no signature"):
        verify_bundle(bundle, require_signature=False)


def test_the_chain_links_each_bundle_to_the_previous_one(
    synthetic_series: Series, capsys: pytest.CaptureFixture[str]
) -> None:
    results = verify_series(synthetic_series.evidence)
    assert [r.manifest["sequence"] for r in results] == [1, 2, 3, 4]
    for earlier, later in zip(results, results[1:], strict=False):
        assert later.manifest["previous"]["manifest_sha256"] == sha256_file(earlier.bundle / MANIFEST)
        assert "links to" in later.chain
    assert main(["verify", str(synthetic_series.evidence)]) == 0
    out = capsys.readouterr().out
    assert f"4 bundles form one unbroken chain, signed by {synthetic_series.key.key_id}" in out
    head = results.head
    assert (head.sequence, head.manifest_sha256) == (4, sha256_file(results[-1].bundle / MANIFEST))
    assert f"chain head: sequence 4, {head.bundle}" in out and f"--expect-head {head.pin}" in out


def test_a_removed_bundle_breaks_the_chain(
    synthetic_series: Series, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    for bundle in sorted(synthetic_series.evidence.glob("*/v*")):
        writable_copy(bundle, copy / bundle.parent.name / bundle.name)
    removed = sorted(copy.glob("*/v*"))[1]
    shutil.rmtree(removed)
    assert main(["verify", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "chain broken" in err and f"{removed.parent.name}/{removed.name}" in err


def test_a_rewritten_earlier_bundle_breaks_the_link_from_the_next(synthetic_series: Series, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    for bundle in sorted(synthetic_series.evidence.glob("*/v*")):
        writable_copy(bundle, copy / bundle.parent.name / bundle.name)
    first, second = sorted(copy.glob("*/v*"))[:2]
    # the earlier bundle is rewritten consistently and re-signed with the real key: it verifies on its own...
    manifest = json.loads((first / MANIFEST).read_text())
    manifest["verdicts"] = {k: "pass" for k in manifest["verdicts"]}
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (first / MANIFEST).write_bytes(data)
    (first / SIGNATURE).write_bytes(synthetic_series.key.sign(data))
    assert verify_bundle(first).signed_by == synthetic_series.key.key_id
    # ...but the next bundle recorded the original manifest's hash
    with pytest.raises(VerificationError, match="chain broken"):
        verify_bundle(second)


def test_keygen_makes_a_key_and_never_overwrites_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "keys" / "signing.pem"
    assert main(["keygen", "--out", str(target)]) == 0
    key = load_private_key(target)
    assert target.stat().st_mode & 0o077 == 0  # owner-only
    assert key.key_id in capsys.readouterr().out
    before = target.read_bytes()
    assert main(["keygen", "--out", str(target)]) == 1
    assert "never overwritten" in capsys.readouterr().err and target.read_bytes() == before


def test_an_unreadable_signing_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, SigningKeyError, signing_key_from_env

    bad = tmp_path / "not-a-key.pem"
    bad.write_text("hello")
    monkeypatch.setenv(SIGNING_KEY_ENV, str(bad))
    with pytest.raises(SigningKeyError, match="not-a-key.pem: not a readable"):
        signing_key_from_env()
    monkeypatch.setenv(SIGNING_KEY_ENV, str(tmp_path / "absent.pem"))
    with pytest.raises(SigningKeyError, match="cannot read the key file"):
        signing_key_from_env()
