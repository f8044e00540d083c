"""Evidence bundles: verify accepts a fresh one, names the first difference, and never rewrites one."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from evidence_pipeline.cli import main
from evidence_pipeline.evidence.verify import VerificationError, verify_bundle
from tests.conftest import PipelineDay, bundles_of
from tests.runs import run_daily_job


@pytest.fixture
def bundle_copy(pipeline_day: PipelineDay, tmp_path: Path) -> Path:
    original = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    copy = tmp_path / original.parent.name / original.name  # laid out as in the evidence folder: <date>/<version>
    shutil.copytree(original, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy


def test_verify_accepts_a_fresh_bundle(pipeline_day: PipelineDay, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    manifest = verify_bundle(bundle).manifest
    listed = {f["path"] for f in manifest["files"]}
    assert {
        "controls/cc8_1_branch_review_rules/population.csv",
        "controls/cc8_1_branch_review_rules/exceptions.csv",
        "controls/cc8_1_branch_review_rules/query.sql",
        "controls/cc8_1_branch_review_rules/result.json",
        "sources/github/repositories.jsonl",
        "sources/github/provenance.json",
    } <= listed
    assert main(["verify", str(bundle)]) == 0
    assert "OK" in capsys.readouterr().out


def test_verify_rejects_a_flipped_byte(bundle_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = bundle_copy / "controls/cc8_1_branch_review_rules/population.csv"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match="population.csv: changed"):
        verify_bundle(bundle_copy)
    assert main(["verify", str(bundle_copy)]) == 1
    assert "controls/cc8_1_branch_review_rules/population.csv" in capsys.readouterr().err


def test_verify_rejects_a_removed_file(bundle_copy: Path) -> None:
    (bundle_copy / "sources/github/repositories.jsonl").unlink()
    with pytest.raises(VerificationError, match="sources/github/repositories.jsonl: missing"):
        verify_bundle(bundle_copy)


def test_verify_rejects_an_added_file(bundle_copy: Path) -> None:
    (bundle_copy / "controls/cc8_1_branch_review_rules/extra.csv").write_text("resource_id\nx\n")
    with pytest.raises(VerificationError, match="extra.csv: extra"):
        verify_bundle(bundle_copy)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_rerunning_a_day_adds_a_version_and_keeps_the_first_byte_identical(pipeline_day: PipelineDay) -> None:
    first = bundles_of(pipeline_day.paths, pipeline_day.day)[0]
    before = _tree_digest(first)
    assert run_daily_job(pipeline_day.day, pipeline_day.paths, ["evidence/daily_snapshot"]).outcome.success
    versions = bundles_of(pipeline_day.paths, pipeline_day.day)
    assert len(versions) >= 2 and versions[0] == first
    assert _tree_digest(first) == before
    assert verify_bundle(versions[-1])["snapshot_date"] == pipeline_day.day.isoformat()
    assert not list((pipeline_day.paths.evidence / pipeline_day.day.isoformat()).glob(".incomplete-*"))
