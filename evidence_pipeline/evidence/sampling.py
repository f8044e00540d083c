"""Reproducible audit samples from a period's population.

The population of a control over a period is every (day, resource) row of its verified daily bundles: each row
is one occurrence of the control operating on one resource. The sample is the N rows with the smallest
SHA-256("<seed>|<date>|<resource_id>"): anyone can redraw it with the seed and the population file, in any
language, and adding rows to the population never reshuffles the rows already chosen.

Default sample sizes follow the usual AICPA-style guidance for tests of controls, by how often the control
operates and how many occurrences the period holds (documented in the README):

| frequency   | occurrences < 50 | 50 - 249 | 250 or more |
|-------------|------------------|----------|-------------|
| annual      | 1                | 1        | 1           |
| quarterly   | 2                | 2        | 2           |
| monthly     | 2                | 4        | 5           |
| weekly      | 5                | 10       | 15          |
| daily       | 20               | 30       | 40          |
| continuous  | 25               | 43       | 60          |

never more than the population itself (then every occurrence is tested).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from evidence_pipeline.evidence.chain import seal_bundle
from evidence_pipeline.evidence.csv_cells import write_csv
from evidence_pipeline.evidence.period import PeriodError, load_period
from evidence_pipeline.evidence.pseudonymize import Pseudonymizer
from evidence_pipeline.evidence.signing import SigningKey

SAMPLES = "samples"
METHOD = (
    "hash-ordered selection without replacement: every population row is ranked by "
    "SHA-256('<seed>|<snapshot_date>|<resource_id>') (hex, ascending) and the first N are the sample"
)
#: frequency -> (small, medium, large) population band sizes
SIZE_TABLE: dict[str, tuple[int, int, int]] = {
    "annual": (1, 1, 1),
    "quarterly": (2, 2, 2),
    "monthly": (2, 4, 5),
    "weekly": (5, 10, 15),
    "daily": (20, 30, 40),
    "continuous": (25, 43, 60),
}
BANDS = ((50, 0, "fewer than 50 occurrences"), (250, 1, "50 to 249 occurrences"), (None, 2, "250 or more occurrences"))
SAMPLE_COLUMNS = [
    "rank",
    "snapshot_date",
    "resource_id",
    "resource_name",
    "resource_url",
    "status",
    "reason",
    "sort_key",
]


def default_size(frequency: str, population: int) -> tuple[int, str]:
    """The table's size for this frequency and population, capped at the population; and why."""
    sizes = SIZE_TABLE.get(frequency, SIZE_TABLE["daily"])
    for limit, index, band in BANDS:
        if limit is None or population < limit:
            size = sizes[index]
            rule = f"{frequency} control, {band}: {size} (README sampling table)"
            if size > population:
                return population, f"{rule}; the population has only {population}, so all of it"
            return size, rule
    raise AssertionError("unreachable")


def sort_key(seed: int, row: dict[str, Any]) -> str:
    return hashlib.sha256(f"{seed}|{row['snapshot_date']}|{row['resource_id']}".encode()).hexdigest()


def population_sha256(rows: list[dict[str, Any]]) -> str:
    """Hash of the population the sample was drawn from: sorted "date|resource_id|status" lines."""
    lines = sorted(f"{r['snapshot_date']}|{r['resource_id']}|{r['status']}" for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass
class Sample:
    control_id: str
    start: date
    end: date
    seed: int
    size: int
    size_rule: str
    frequency: str
    population: list[dict[str, Any]]
    selected: list[dict[str, Any]]
    missing_days: list[date]
    snapshots: list[dict[str, Any]]
    pseudonymization: dict[str, Any] | None
    #: what the sample trusted (see PeriodEvidence): daily_chain, allow_unsigned, unsigned_inputs
    trust: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "control_id": self.control_id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "seed": self.seed,
            "method": METHOD,
            "size": self.size,
            "size_rule": self.size_rule,
            "frequency": self.frequency,
            "population_size": len(self.population),
            "population_sha256": population_sha256(self.population),
            "population_definition": "every (snapshot_date, resource) row of the control's population.csv in "
            "the newest verified bundle of each day",
            "missing_days": [d.isoformat() for d in self.missing_days],
            "snapshots": self.snapshots,
            "pseudonymization": self.pseudonymization,
            **self.trust,
            "selected": [{k: r.get(k) for k in SAMPLE_COLUMNS} for r in self.selected],
        }


def draw_sample(
    evidence_root: Path,
    control_id: str,
    start: date,
    end: date,
    seed: int,
    size: int | None = None,
    public_key: bytes | None = None,
    pseudonymizer: Pseudonymizer | None = None,
    require_signature: bool = True,
    expect_head: str | None = None,
) -> Sample:
    period = load_period(
        evidence_root,
        start,
        end,
        public_key=public_key,
        pseudonymizer=pseudonymizer,
        require_signature=require_signature,
        expect_head=expect_head,
    )
    control = next((c for c in period.controls if c.id == control_id), None)
    if control is None:
        known = ", ".join(c.id for c in period.controls)
        raise PeriodError(f"control {control_id!r} is in no snapshot between {start} and {end} (known: {known})")
    population = period.population[control_id]
    if size is None:
        size, rule = default_size(control.frequency, len(population))
    else:
        if size < 1:
            raise PeriodError("--size must be at least 1")
        rule = f"requested --size {size}" + (
            f" (population has {len(population)}: all of it)" if size > len(population) else ""
        )
        size = min(size, len(population))
    ranked = sorted(({**r, "sort_key": sort_key(seed, r)} for r in population), key=lambda r: r["sort_key"])
    selected = [{**r, "rank": rank} for rank, r in enumerate(ranked[:size], 1)]
    return Sample(
        control_id,
        start,
        end,
        seed,
        size,
        rule,
        control.frequency,
        population,
        selected,
        period.missing_days,
        period.snapshots,
        period.pseudonymization,
        {
            "daily_chain": period.daily_chain,
            "allow_unsigned": period.allow_unsigned,
            "unsigned_inputs": period.unsigned_inputs,
        },
    )


def write_sample(evidence_root: Path, sample: Sample, signing_key: SigningKey | None) -> Path:
    """<evidence>/samples/<control>--<from>--<to>--seed<S>/v<NNN>-<stamp>/: sample.json, sample.csv, population.csv."""

    def write(work: Path) -> dict[str, Any]:
        description = sample.describe()
        (work / "sample.json").write_text(json.dumps(description, indent=2, sort_keys=True, default=str) + "\n")
        for name, rows in (
            ("sample.csv", sample.selected),
            ("population.csv", [{**r, "rank": "", "sort_key": sort_key(sample.seed, r)} for r in sample.population]),
        ):
            write_csv(work / name, SAMPLE_COLUMNS, rows)  # cells neutralized against formula injection
        return {
            "kind": "sample",
            "data_window": {"from": sample.start.isoformat(), "to": sample.end.isoformat()},
            **{
                k: description[k]
                for k in (
                    "control_id",
                    "seed",
                    "method",
                    "size",
                    "size_rule",
                    "population_size",
                    "population_sha256",
                    "missing_days",
                    "snapshots",
                    "pseudonymization",
                    "daily_chain",
                    "allow_unsigned",
                    "unsigned_inputs",
                )
            },
        }

    group = f"{sample.control_id}--{sample.start}--{sample.end}--seed{sample.seed}"
    return seal_bundle(evidence_root / SAMPLES, group, write, signing_key)
