"""training.enrollments through both providers: the KnowBe4 Reporting API and the CSV roster."""

from connectors.knowbe4 import KnowBe4Config, KnowBe4Enrollments, TrainingCsvEnrollments, make_session
from sandbox.knowbe4.serve import write_training_csv
from sandbox.minimum import training_requests
from tests.connectors.contract import ConnectorCase


def knowbe4_stream(sandbox) -> KnowBe4Enrollments:
    config = KnowBe4Config(api_key=sandbox.env["KNOWBE4_API_KEY"], api_url=sandbox.env["KNOWBE4_API_URL"])
    return KnowBe4Enrollments(make_session(config), config.base_url)


def csv_stream(sandbox) -> TrainingCsvEnrollments:
    path = sandbox.workdir / "training" / "enrollments.csv"
    if not path.exists():
        write_training_csv(sandbox.org.systems["knowbe4"], path)
    return TrainingCsvEnrollments(path)


CASES = [
    ConnectorCase(
        name="training.enrollments[knowbe4]",
        systems=("knowbe4",),
        make_stream=knowbe4_stream,
        expected_records=lambda org: len(org.systems["knowbe4"].enrollments),
        min_requests=training_requests,
        secret_env=("KNOWBE4_API_KEY",),
    ),
    ConnectorCase(
        name="training.enrollments[csv]",
        systems=("knowbe4",),
        make_stream=csv_stream,
        expected_records=lambda org: len(org.systems["knowbe4"].enrollments),
        min_requests=lambda org: 1,
        secret_env=(),
        credentials_free=True,
    ),
]
