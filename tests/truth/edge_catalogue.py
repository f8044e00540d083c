"""The edge sources' controls (controls/endpoints.yaml, controls/cloudflare.yaml) judged on rows a test lands itself:
a catalogue of exactly those files with the project's defaults and families, so that a row's verdict depends on its
control's SQL alone, and a warehouse with every migration."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from evidence_pipeline.catalogue import Catalogue, load_catalogue
from provenance import Provenance, utc_now
from warehouse import Warehouse, stage_records

FILES = ("endpoints", "cloudflare")
REPOSITORY = Path(__file__).resolve().parents[2]


def edge_catalogue(folder: Path) -> Catalogue:
    entry = yaml.safe_load((REPOSITORY / "controls_map.yaml").read_text())
    entry["order"] = []  # the other families' controls are not in this catalogue
    (folder / "controls").mkdir(parents=True, exist_ok=True)
    (folder / "controls_map.yaml").write_text(yaml.safe_dump(entry))
    for name in FILES:
        shutil.copy(REPOSITORY / "controls" / f"{name}.yaml", folder / "controls" / f"{name}.yaml")
        shutil.copytree(REPOSITORY / "controls" / name, folder / "controls" / name)
    return load_catalogue(folder / "controls_map.yaml", trust_page=None)


def judge(
    catalogue: Catalogue, folder: Path, table: tuple[str, str], records: list[dict[str, Any]], day: date
) -> dict[str, dict[str, dict[str, Any]]]:
    """Land `records` as `table` (source, dataset) on `day`; every control reading it -> its rows by resource id."""
    warehouse = Warehouse(folder / "warehouse.duckdb")
    warehouse.migrate()
    staged = folder / "staged.jsonl"
    stage_records(records, staged)
    provenance = Provenance(
        source=table[0],
        dataset=table[1],
        parameters={},
        record_count=len(records),
        status="succeeded",
        finished_at=utc_now(),
    )
    warehouse.land(table[0], table[1], day, f"run-{day}", staged, provenance)
    judged = {}
    with warehouse.connect() as con:
        for control in catalogue.controls:
            if f"{table[0]}.{table[1]}" in control.sources:
                cursor = con.execute(control.sql, control.sql_parameters(day, catalogue.defaults))
                columns = [d[0] for d in cursor.description]
                judged[control.id] = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    return judged
