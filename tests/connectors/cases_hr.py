"""hr.roster: the HR system's CSV export, one read."""

from pathlib import Path

from connectors.hr import HrRoster, minimum
from tests.connectors.contract import ConnectorCase

CASES = [
    ConnectorCase(
        name="hr.roster",
        systems=("hr",),
        make_stream=lambda sandbox: HrRoster(Path(sandbox.env["HR_ROSTER_PATH"])),
        expected_records=lambda org: len(org.people),
        min_requests=lambda org: minimum.min_requests(),
        secret_env=(),
        credentials_free=True,
    ),
]
