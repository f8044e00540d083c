"""training.enrollments through both providers: the KnowBe4 Reporting API and the CSV roster."""

from connectors.knowbe4 import PAGE_SIZE, KnowBe4Config, KnowBe4Enrollments, TrainingCsvEnrollments, make_session
from sandbox.knowbe4.serve import write_training_csv
from tests.connectors.contract import ConnectorCase


def knowbe4_stream(sandbox) -> KnowBe4Enrollments:
    config = KnowBe4Config(api_key=sandbox.env["KNOWBE4_API_KEY"], api_url=sandbox.env["KNOWBE4_API_URL"])
    return KnowBe4Enrollments(make_session(config), config.base_url)


def csv_stream(sandbox) -> TrainingCsvEnrollments:
    path = sandbox.workdir / "training" / "enrollments.csv"
    if not path.exists():
        write_training_csv(sandbox.org.systems["knowbe4"], path)
    return TrainingCsvEnrollments(path)


def knowbe4_requests(org) -> int:
    # plain JSON arrays without a total: the first page shorter than per_page is the last
    return len(org.systems["knowbe4"].enrollments) // PAGE_SIZE + 1


CASES = [
    ConnectorCase(
        name="training.enrollments[knowbe4]",
        systems=("knowbe4",),
        make_stream=knowbe4_stream,
        expected_records=lambda org: len(org.systems["knowbe4"].enrollments),
        min_requests=knowbe4_requests,
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
