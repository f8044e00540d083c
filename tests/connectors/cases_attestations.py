"""attestations.attestations and attestations.vendors: files the company keeps, one read each."""

from pathlib import Path

from connectors.attestations import AttestationsFile, VendorRegister, minimum
from tests.connectors.contract import ConnectorCase

CASES = [
    ConnectorCase(
        name="attestations.attestations",
        systems=("attestations",),
        # hashed, not kept: the contract reads the connector, the store belongs to a pipeline run
        make_stream=lambda sandbox: AttestationsFile(Path(sandbox.env["EVIDENCE_ATTESTATIONS"]), None),
        expected_records=lambda org: len(org.systems["attestations"].entries),
        min_requests=lambda org: minimum.min_requests(),
        secret_env=(),
        credentials_free=True,
    ),
    ConnectorCase(
        name="attestations.vendors",
        systems=("attestations",),
        make_stream=lambda sandbox: VendorRegister(Path(sandbox.env["EVIDENCE_VENDORS"])),
        expected_records=lambda org: len(org.systems["attestations"].vendors),
        min_requests=lambda org: minimum.min_requests(),
        secret_env=(),
        credentials_free=True,
    ),
]
