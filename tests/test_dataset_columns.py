"""Each dataset's columns are written twice, in the connector's records and in its raw table's migration; landing
(warehouse.land) reads the staged records by the table's columns, so a key the table lacks is silently dropped and a
column no record carries is silently NULL. These tests hold the two together for every declared dataset: its records,
read through its own declaration (resource from the environment, streams) against the sandbox's fakes, carry exactly
its table's columns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evidence_pipeline.defs.sources import systems
from sandbox.launch import Sandbox, start_sandbox
from tests.conftest import PipelineDay
from tests.connectors.test_contract import CASES
from warehouse import raw_table, schema_connection

#: every raw table has these two, set by landing, not by the connector
LANDING_COLUMNS = {"snapshot_date", "run_id"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    with start_sandbox(tmp_path_factory.mktemp("sandbox"), size=50) as started:
        yield started


@pytest.fixture(scope="module")
def company_day(pipeline_day: PipelineDay) -> PipelineDay:
    """The session's sandbox day: its data folder holds what only a run makes (the access-review campaign frozen
    from the day before's bundle), so every dataset has records to check."""
    return pipeline_day


@pytest.fixture(scope="module")
def table_columns() -> dict[str, set[str]]:
    with schema_connection() as con:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE starts_with(table_name, 'raw_')"
        ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return {table: columns - LANDING_COLUMNS for table, columns in tables.items()}


def test_every_raw_table_is_a_declared_dataset(table_columns: dict[str, set[str]]) -> None:
    declared = {raw_table(spec.source, spec.dataset) for module in systems() for spec in module.DATASETS}
    assert declared and set(table_columns) == declared, (set(table_columns) - declared, declared - set(table_columns))


def key_drift(records: list[dict], columns: set[str]) -> str | None:
    """What differs between the records' keys and the table's columns (None: nothing), per record."""
    for index, record in enumerate(records):
        extra, missing = set(record) - columns, columns - set(record)
        if extra or missing:
            return f"record {index}: keys not in the table {sorted(extra)}, columns not in the record {sorted(missing)}"
    return None


def test_every_declared_dataset_reads_records_with_exactly_its_table_columns(
    company_day: PipelineDay, table_columns: dict[str, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = company_day.sandbox
    for name, value in sandbox.env.items():  # the sandbox's settings, as a deployment sets them
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVIDENCE_HOME", str(company_day.paths.home))
    checked, drift = [], {}
    for module in (m for m in systems() if m.DATASETS):
        configured = module.defs().resources[module.SOURCE.resource_key]
        with configured.process_config_and_initialize_cm() as resource:  # the EnvVars read, as in a run
            assert not resource.missing_settings(), f"{module.SOURCE.source}: the sandbox leaves it unconfigured"
            for spec in module.DATASETS:
                records = [r for stream in spec.streams(resource, sandbox.org.today) for r in stream.records()]
                assert records, f"{spec.name}: the sandbox serves no record, so its columns go unchecked"
                problem = key_drift(records, table_columns[raw_table(spec.source, spec.dataset)])
                if problem:
                    drift[spec.name] = problem
                checked.append(spec.name)
    assert not drift, drift
    assert len(checked) == len({spec.name for module in systems() for spec in module.DATASETS})


@pytest.mark.parametrize("case", [c for c in CASES if "[" in c.name], ids=lambda c: c.name)
def test_every_provider_of_a_dataset_reads_records_with_exactly_its_table_columns(
    case, sandbox: Sandbox, table_columns: dict[str, set[str]]
) -> None:
    """A dataset with several providers (training: KnowBe4 or a CSV roster) lands in one table: each one's records
    fit it (the declared path above reads only the provider the sandbox configures)."""
    source, dataset = case.name.split("[")[0].split(".")
    records = list(case.make_stream(sandbox).records())
    assert records
    assert key_drift(records, table_columns[raw_table(source, dataset)]) is None


def test_a_record_key_the_table_lacks_is_drift() -> None:
    assert key_drift([{"a": 1, "b": 2}], {"a", "b"}) is None
    assert "['c']" in (key_drift([{"a": 1, "b": 2, "c": 3}], {"a", "b"}) or "")
    assert "columns not in the record ['b']" in (key_drift([{"a": 1}], {"a", "b"}) or "")
