"""A malformed catalogue fails before any run, naming the file, the control and the field. The catalogue is
controls_map.yaml (defaults, families, dataset groups) and the files it includes (controls/<family>.yaml, each
control's SQL in controls/<family>/<id>.sql); a one-file catalogue stays valid."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from evidence_pipeline.catalogue import SQL_PARAMETER, CatalogueError, catalogue_document, load_catalogue
from evidence_pipeline.claims import TRUST_PAGE_ENV
from evidence_pipeline.settings import project_file
from warehouse import schema_connection

LEAVERS = "cc6_2_leavers_deprovisioned"
#: the per-system account datasets each cross-system control judged when every control listed them itself
ACCOUNTS = [
    "google_workspace.users",
    "entra.users",
    "aws.authorization_details",
    "aws.credential_report",
    "github.members",
    "aws.identity_center_users",
]
ROLES = ["google_workspace.role_assignments", "google_workspace.roles", "entra.role_assignments"]
PRIVILEGED = [*ACCOUNTS[:1], *ROLES[:2], ACCOUNTS[1], ROLES[2], *ACCOUNTS[2:5]]


@pytest.fixture(autouse=True)
def no_trust_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue's own files only: the session's sandbox page (tests/test_claims.py covers the page) stays out."""
    monkeypatch.delenv(TRUST_PAGE_ENV, raising=False)


def _variant(tmp_path: Path, change) -> Path:
    """A one-file catalogue: the shipped one with its first control changed."""
    data = catalogue_document(project_file("controls_map.yaml"))
    change(data["controls"][0])
    path = tmp_path / "controls_map.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _copied(tmp_path: Path) -> Path:
    """The shipped catalogue's files, copied as they are (entry point and controls/)."""
    entry = project_file("controls_map.yaml")
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(entry, tmp_path / entry.name)
    shutil.copytree(entry.parent / "controls", tmp_path / "controls")
    return tmp_path / entry.name


def _edit(file: Path, old: str, new: str) -> None:
    """Replace the first `old` in `file` (the first control's, in a family file)."""
    text = file.read_text()
    assert old in text, old
    file.write_text(text.replace(old, new, 1))


def _load(path: Path):
    with schema_connection() as con:
        return load_catalogue(path, con)


def _refusal(path: Path) -> str:
    with pytest.raises(CatalogueError) as refused:
        _load(path)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_the_shipped_catalogue_is_valid() -> None:
    catalogue = _load(project_file("controls_map.yaml"))
    assert "cc8_1_branch_review_rules" in catalogue.by_id


def test_missing_field_names_control_and_field(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda c: c.pop("severity"))
    with pytest.raises(CatalogueError, match=r"control 'cc8_1_branch_review_rules': field 'severity': is required"):
        _load(path)


def test_unknown_criterion_names_control_and_field(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda c: c.update(criteria=["CC8.1", "CC42.7"]))
    with pytest.raises(CatalogueError, match=r"'cc8_1_branch_review_rules': field 'criteria'.*CC42\.7"):
        _load(path)


def test_sql_that_fails_names_control_and_field(tmp_path: Path) -> None:
    bad_sql = "SELECT no_such_column AS resource_id FROM raw_github_repositories"
    path = _variant(tmp_path, lambda c: c.update(sql=bad_sql))
    with pytest.raises(
        CatalogueError, match=r"'cc8_1_branch_review_rules': field 'sql': does not run: .*no_such_column"
    ):
        _load(path)


def test_sql_without_required_columns_is_rejected(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda c: c.update(sql="SELECT full_name AS resource_id FROM raw_github_repositories"))
    with pytest.raises(CatalogueError, match=r"field 'sql': must return columns .*missing status, reason"):
        _load(path)


def test_unknown_source_dataset_is_rejected(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda c: c.update(sources=["github.nothing_here"]))
    with pytest.raises(CatalogueError, match=r"field 'sources': unknown dataset 'github.nothing_here'"):
        _load(path)


def test_undefined_sql_parameter_is_rejected(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda c: c.update(sql=c["sql"].replace("$min_approving_reviews", "$min_reviewz", 1)))
    with pytest.raises(CatalogueError, match=r"field 'sql': parameter \$min_reviewz is not defined"):
        _load(path)


def test_a_malformed_catalogue_stops_the_code_location_from_loading(tmp_path: Path, monkeypatch) -> None:
    from evidence_pipeline.definitions import build_definitions

    path = _variant(tmp_path, lambda c: c.pop("sql"))
    monkeypatch.setenv("EVIDENCE_CONTROLS_MAP", str(path))

    with pytest.raises(CatalogueError, match=r"field 'sql': is required"):
        build_definitions()


# -- one file per family --------------------------------------------------------------------------------------------


def test_the_one_file_form_compiles_to_the_same_controls(tmp_path: Path) -> None:
    split = _load(project_file("controls_map.yaml"))
    one_file = _load(_variant(tmp_path, lambda c: None))
    assert [c.model_dump() for c in one_file.controls] == [c.model_dump() for c in split.controls]
    assert [c.family for c in one_file.controls] == [c.family for c in split.controls]
    assert list(one_file.files) == [tmp_path / "controls_map.yaml"]


def test_a_bad_field_in_a_family_file_names_that_file_the_control_and_the_field(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    family_file = tmp_path / "controls" / "logical_access.yaml"
    _edit(
        family_file,
        "    severity: WARN\n    sources: [google_workspace.users]\n",
        "    severity: LOUD\n    sources: [google_workspace.users]\n",
    )
    assert _refusal(entry).startswith(f"{family_file}: control 'cc6_1_workspace_2sv_enrolled': field 'severity': ")


def test_a_control_in_another_familys_file_is_refused(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    family_file = tmp_path / "controls" / "availability.yaml"
    _edit(family_file, "    criteria: [A1.2]\n", "    criteria: [CC6.1]\n")
    message = _refusal(entry)
    assert message.startswith(f"{family_file}: control 'a1_2_backups_within_rpo': field 'criteria': ")
    assert "logical_access.yaml, not availability.yaml" in message


def test_the_include_glob_picks_up_a_new_file_of_controls(tmp_path: Path) -> None:
    """A new source brings its controls in a file of its own; no shared file changes."""
    entry = _copied(tmp_path)
    before = _load(entry)
    new = catalogue_document(entry)["controls"][0] | {"id": "cc8_1_new_source_reviews", "sql_file": "new/q.sql"}
    sql = new.pop("sql")
    (tmp_path / "controls" / "new").mkdir()
    (tmp_path / "controls" / "new" / "q.sql").write_text(sql)
    (tmp_path / "controls" / "new_source.yaml").write_text(yaml.safe_dump({"controls": [new]}, sort_keys=False))
    after = _load(entry)
    # not named in `order`: it follows the ordered ones
    assert [c.id for c in after.controls] == [*(c.id for c in before.controls), "cc8_1_new_source_reviews"]
    added = after.by_id["cc8_1_new_source_reviews"]
    assert added.family == "change_management" and added.sql == sql
    assert [after.relative_name(f) for f in after.files][-2:] == ["controls/new_source.yaml", "controls/new/q.sql"]
    assert after.catalogue_sha256() != before.catalogue_sha256()


def test_the_shared_accounts_group_expands_to_each_controls_datasets() -> None:
    entry = project_file("controls_map.yaml")
    document = catalogue_document(entry)
    referencing = [c["id"] for c in document["controls"] if isinstance(c.get("system_sources"), dict)]
    cross_system = [c["id"] for c in document["controls"] if c.get("system_sources")]
    assert referencing == cross_system and len(referencing) >= 5  # no control lists the accounts itself
    assert {c["system_sources"]["group"] for c in document["controls"] if c["id"] in referencing} == {"accounts"}
    controls = _load(entry).by_id
    assert controls[LEAVERS].system_sources == ACCOUNTS
    assert controls["cc6_2_accounts_have_owner"].system_sources == ACCOUNTS
    assert controls["cc6_2_dormant_accounts"].system_sources == ACCOUNTS[:5]
    assert controls["cc6_3_admin_count_within_bounds"].system_sources == PRIVILEGED
    assert controls["cc6_3_privileged_access_review"].system_sources == PRIVILEGED


def test_a_dataset_added_to_the_group_reaches_every_control_that_names_it(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    _edit(entry, "    - aws.identity_center_users\n", "    - aws.identity_center_users\n    - training.enrollments\n")
    controls = _load(entry).by_id
    for control_id in (LEAVERS, "cc6_2_dormant_accounts", "cc6_3_privileged_access_review"):
        assert controls[control_id].system_sources[-1] == "training.enrollments", control_id


def test_an_unknown_dataset_group_is_refused(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    family_file = tmp_path / "controls" / "logical_access.yaml"
    _edit(family_file, "      group: accounts\n", "      group: acounts\n")
    assert _refusal(entry) == (
        f"{family_file}: control '{LEAVERS}': field 'system_sources': unknown dataset group 'acounts' "
        "(controls_map.yaml 'dataset_groups': accounts)"
    )


def test_excepting_a_dataset_the_group_lacks_is_refused(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    family_file = tmp_path / "controls" / "logical_access.yaml"
    _edit(family_file, "      except: [aws.identity_center_users]\n", "      except: [aws.identity_centre_users]\n")
    message = _refusal(entry)
    assert message.startswith(f"{family_file}: control 'cc6_3_admin_count_within_bounds': field 'system_sources': ")
    assert "'aws.identity_centre_users', which is not in dataset group 'accounts'" in message


def test_a_missing_sql_file_is_named(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    sql_file = tmp_path / "controls" / "availability" / "a1_2_restore_tested.sql"
    sql_file.unlink()
    assert _refusal(entry) == (
        f"{tmp_path / 'controls' / 'availability.yaml'}: control 'a1_2_restore_tested': field 'sql_file': "
        f"{sql_file} does not exist"
    )


def test_a_sql_file_outside_the_catalogue_is_refused(tmp_path: Path) -> None:
    entry = _copied(tmp_path / "catalogue")
    (tmp_path / "secret.sql").write_text("SELECT 1\n")
    family_file = tmp_path / "catalogue" / "controls" / "availability.yaml"
    _edit(family_file, "sql_file: availability/a1_2_restore_tested.sql", "sql_file: ../../secret.sql")
    message = _refusal(entry)
    assert message.startswith(f"{family_file}: control 'a1_2_restore_tested': field 'sql_file': ")
    assert "is outside the catalogue's folder" in message


def test_sql_both_inline_and_in_a_file_is_refused(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    family_file = tmp_path / "controls" / "availability.yaml"
    _edit(
        family_file,
        "    sql_file: availability/a1_2_restore_tested.sql\n",
        "    sql_file: availability/a1_2_restore_tested.sql\n    sql: SELECT 1 AS resource_id\n",
    )
    assert "field 'sql_file': give the SQL inline ('sql') or in a file ('sql_file'), not both" in _refusal(entry)


def test_a_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    entry = _copied(tmp_path)
    _edit(
        tmp_path / "controls" / "availability.yaml",
        "  - id: a1_2_restore_tested\n",
        "  - id: cc6_1_aws_root_mfa\n",
    )
    _edit(entry, "  - a1_2_restore_tested\n", "")
    assert _refusal(entry) == (
        f"{tmp_path / 'controls' / 'logical_access.yaml'}: control 'cc6_1_aws_root_mfa': field 'id': duplicate id "
        f"(first in {tmp_path / 'controls' / 'availability.yaml'})"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  - controls/*.yaml\n", "  - controls/*.yml\n", "field 'include': 'controls/*.yml' matches no file in "),
        ("  - controls/*.yaml\n", "  - controls/*.yaml\n  - controls/people.yaml\n", "people.yaml does not exist"),
        ("  - controls/*.yaml\n", "  - controls/*.yaml\n  - ../elsewhere.yaml\n", "elsewhere.yaml does not exist"),
        (
            "  - cc6_1_aws_root_mfa\n",
            "  - cc6_1_aws_root_mfa\n  - cc6_1_aws_rot_mfa\n",
            "no control 'cc6_1_aws_rot_mfa'",
        ),
        (
            "  - cc6_1_aws_root_mfa\n",
            "  - cc6_1_aws_root_mfa\n  - cc6_1_aws_root_mfa\n",
            "'cc6_1_aws_root_mfa' is named twice",
        ),
        ("  CC6: logical_access\n", "", "field 'criteria': no family for CC6 in controls_map.yaml 'families'"),
    ],
)
def test_the_entry_points_own_fields_are_checked(tmp_path: Path, old: str, new: str, expected: str) -> None:
    entry = _copied(tmp_path)
    _edit(entry, old, new)
    message = _refusal(entry)
    assert message.startswith(f"{tmp_path}") and expected in message


def test_an_overridden_entry_point_reads_its_includes_beside_it(tmp_path: Path, monkeypatch) -> None:
    """EVIDENCE_CONTROLS_MAP names another catalogue: its includes resolve against its folder, not the working one."""
    entry = _copied(tmp_path / "catalogue")
    _edit(
        tmp_path / "catalogue" / "controls" / "change_management.yaml",
        "      period_days: 1\n",
        "      period_days: 7\n",
    )
    monkeypatch.setenv("EVIDENCE_CONTROLS_MAP", str(entry))
    monkeypatch.chdir(project_file("controls_map.yaml").parent / "controls")
    catalogue = _load(project_file("controls_map.yaml"))
    assert catalogue.by_id["cc8_1_pull_requests_peer_approved"].parameters["period_days"] == 7
    assert all(file.is_relative_to(tmp_path / "catalogue") for file in catalogue.files)


def test_the_catalogue_lists_and_hashes_every_file_it_was_read_from() -> None:
    catalogue = _load(project_file("controls_map.yaml"))
    names = [catalogue.relative_name(file) for file in catalogue.files]
    assert names[0] == "controls_map.yaml"
    root = project_file("controls_map.yaml").parent
    on_disk = {"controls_map.yaml", *(p.relative_to(root).as_posix() for p in (root / "controls").rglob("*.*"))}
    assert sorted(names) == sorted(on_disk)  # no file under controls/ is left out, none read twice
    for file, digest in catalogue.files.items():
        assert hashlib.sha256(file.read_bytes()).hexdigest() == digest
    listing = "".join(f"{digest}  {name}\n" for name, digest in zip(names, catalogue.files.values(), strict=True))
    assert catalogue.catalogue_sha256() == hashlib.sha256(listing.encode()).hexdigest()


# -- the written test procedure; claims are the trust page's, not the catalogue's -----------------------------------


def test_a_control_without_a_written_test_procedure_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda c: c.pop("procedure"))
    assert _refusal(path) == f"{path}: control 'cc8_1_branch_review_rules': field 'procedure': is required but missing"


def test_a_procedure_without_its_rule_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda c: c["procedure"].pop("rule"))
    assert _refusal(path) == (
        f"{path}: control 'cc8_1_branch_review_rules': field 'procedure.rule': is required but missing"
    )


def test_claims_written_in_a_control_are_refused(tmp_path: Path) -> None:
    """Claims moved to the user's trust page: the old field is not silently ignored."""
    claims = [{"seed": "000_106ea5bf57f7e2e2.txt", "quote": "peer review before merge; full history"}]
    path = _variant(tmp_path, lambda c: c.update(claims=claims))
    assert _refusal(path) == f"{path}: control 'cc8_1_branch_review_rules': field 'claims': is not a known field"


def test_every_procedure_names_its_controls_failure_kinds_and_parameters() -> None:
    """The written rule is the SQL's in words: each failure kind the control remedies and each parameter its SQL reads
    (the thresholds an auditor re-performs the test with) is named in the procedure."""
    for control in _load(project_file("controls_map.yaml")).controls:
        procedure = control.procedure
        written = f"{procedure.inspected} {procedure.attribute} {procedure.rule}".lower()
        kinds = [kind for kind in control.remediation if kind != "default"]
        unnamed = [kind for kind in kinds if kind not in written]
        assert not unnamed, (control.id, unnamed)
        parameters = set(SQL_PARAMETER.findall(control.sql)) - {"snapshot_date"}
        assert not [name for name in parameters if name not in written], (control.id, parameters)
        for part in ("pass", "fail", "unknown"):
            assert part in procedure.rule.lower(), (control.id, part)


def test_a_controls_sql_hash_covers_the_views_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A control reading a warehouse view (warehouse/views/) depends on that view's SQL too: its hash changes with the
    view's text, so stored verdicts judged with the old view are re-judged, and the bundle shows the view."""
    from evidence_pipeline import catalogue as catalogue_module
    from warehouse import view_definitions

    def loaded() -> dict[str, object]:
        with schema_connection() as con:
            return load_catalogue(project_file("controls_map.yaml"), con).by_id

    controls = loaded()
    rds, leavers, plain = controls["cc6_6_aws_rds_not_public"], controls[LEAVERS], controls["cc6_1_aws_root_mfa"]
    views = view_definitions()
    assert rds.views_sql == views["aws_rds_databases"]
    assert leavers.views_sql == views["resolved_accounts"] == views["people"]  # one file, counted once
    assert plain.views_sql == "" and plain.sql_sha256 == hashlib.sha256(plain.sql.encode()).hexdigest()
    assert rds.sql_sha256 == hashlib.sha256((rds.sql + rds.views_sql).encode()).hexdigest()

    changed = {name: sql.replace("SELECT", "SELECT /* changed */", 1) for name, sql in views.items()}
    monkeypatch.setattr(catalogue_module, "view_definitions", lambda: changed)
    again = loaded()
    assert again["cc6_6_aws_rds_not_public"].sql_sha256 != rds.sql_sha256
    assert again[LEAVERS].sql_sha256 != leavers.sql_sha256
    assert again["cc6_1_aws_root_mfa"].sql_sha256 == plain.sql_sha256


def test_the_bundle_shows_the_views_a_control_reads(pipeline_day) -> None:
    from tests.conftest import bundles_of
    from warehouse import view_definitions

    bundle = bundles_of(pipeline_day.paths, pipeline_day.day)[-1]
    views = view_definitions()
    assert (bundle / "controls" / "cc6_6_aws_rds_not_public" / "views.sql").read_text() == views["aws_rds_databases"]
    assert (bundle / "controls" / LEAVERS / "views.sql").read_text() == views["people"]
    assert not (bundle / "controls" / "cc6_1_aws_root_mfa" / "views.sql").exists()
