"""A malformed controls_map.yaml fails before any run, naming the control and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evidence_pipeline.catalogue import CatalogueError, load_catalogue
from evidence_pipeline.settings import project_file
from warehouse import schema_connection


def _variant(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(project_file("controls_map.yaml").read_text())
    change(data["controls"][0])
    path = tmp_path / "controls_map.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _load(path: Path):
    with schema_connection() as con:
        return load_catalogue(path, con)


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
