"""The fake AWS and the AWS connector beyond the shared contract: the credential report's root row and
source timestamp, several accounts through assumed roles, moto's RDS pagination, retries on throttling,
read-only judgement, and the reference scale."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from botocore.exceptions import ClientError

from connectors.aws import (
    AccountSummary,
    AuthorizationDetails,
    BackupJobs,
    CredentialReport,
    PasswordPolicy,
    RdsInstances,
    account_sessions,
    backup_jobs_created_after,
)
from connectors.stream import SourceError
from evidence_pipeline.defs.sources.aws import AwsResource, _streams, aws_resource
from sandbox.aws.model import REGION, build
from sandbox.aws.server import AwsApp
from sandbox.company import SandboxOrg
from sandbox.launch import start_sandbox
from sandbox.org import _people
from sandbox.server import RecordedRequest
from tests.connectors.cases_aws import aws_config, backup_jobs_in_window

DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    box = start_sandbox(tmp_path_factory.mktemp("aws"), size=50, today=DAY, systems=("aws",))
    yield box
    box.stop()


@pytest.fixture(scope="module")
def sessions(sandbox):
    return {s.account_id: s for s in account_sessions(aws_config(sandbox.env))}


def test_every_configured_account_is_read_through_its_role(sandbox, sessions):
    data = sandbox.org.systems["aws"]
    assert set(sessions) == {a.account_id for a in data.accounts}
    for account in data.accounts:
        records = list(AccountSummary(sessions[account.account_id].client("iam"), account.account_id).records())
        assert records[0]["account_mfa_enabled"] is account.root_mfa
        assert records[0]["account_access_keys_present"] is any(k.active for k in account.root_keys)


def test_credential_report_has_the_root_row_and_the_generation_time(sandbox, sessions):
    dev = sandbox.org.systems["aws"].accounts[1]
    stream = CredentialReport(sessions[dev.account_id].client("iam"), dev.account_id, poll_interval=0.0)
    records = {r["user"]: r for r in stream.records()}
    root = records.pop("<root_account>")
    assert root["is_root"] and root["password_enabled"] is None  # the root password is not_supported
    assert root["mfa_active"] is False and root["access_key_1_active"] is True  # planted on development
    assert set(records) == {u.name for u in dev.users}
    assert stream.provenance.source_timestamp == root["generated_time"] is not None
    assert [r.params["Action"] for r in stream.provenance.requests] == [
        "GenerateCredentialReport",
        "GenerateCredentialReport",
        "GetCredentialReport",
    ]
    assert [r.endpoint.rsplit(":", 1)[1] for r in stream.provenance.requests] == [
        "GenerateCredentialReport",
        "GenerateCredentialReport",
        "GetCredentialReport",
    ]


def test_credential_report_matches_the_planted_users(sandbox, sessions):
    prod = sandbox.org.systems["aws"].production
    records = {
        r["user"]: r
        for r in CredentialReport(sessions[prod.account_id].client("iam"), prod.account_id, poll_interval=0.0).records()
    }
    planted = sandbox.org.systems["aws"].planted
    for ref in planted["console_without_mfa"]:
        row = records[ref.split("/", 1)[1]]
        assert row["password_enabled"] is True and row["mfa_active"] is False
    for ref in planted["dormant"]:
        last = records[ref.split("/", 1)[1]]["password_last_used"]
        assert last is None or last < "2026-08-22"


def test_missing_password_policy_is_a_record_not_a_failure(sandbox, sessions):
    by_account = {}
    for account_id, session in sessions.items():
        by_account[account_id] = list(PasswordPolicy(session.client("iam"), account_id).records())[0]
    prod, dev = sandbox.org.systems["aws"].accounts
    assert by_account[dev.account_id]["policy_set"] is False
    assert by_account[prod.account_id]["policy_set"] is True
    assert by_account[prod.account_id]["minimum_password_length"] == 14


def test_authorization_details_pages_with_marker(sandbox, sessions):
    prod = sandbox.org.systems["aws"].production
    stream = AuthorizationDetails(sessions[prod.account_id].client("iam"), prod.account_id)
    stream.page_size = 7
    records = list(stream.records())
    assert len(records) == prod.authorization_entities()
    assert stream.provenance.request_count == -(-len(records) // 7)
    users = {r["name"]: r for r in records if r["entity_type"] == "user"}
    glass = users["break-glass-admin"]
    assert glass["groups"] == ["admins"] and glass["email"] is None
    person = next(u for u in prod.users if u.kind == "person")
    assert users[person.name]["email"] == person.email_tag


def test_rds_follows_morots_marker(tmp_path):
    box = start_sandbox(tmp_path, size=1000, today=DAY, systems=("aws",))
    try:
        prod = box.org.systems["aws"].production
        session = account_sessions(aws_config(box.env))[0]
        stream = RdsInstances(session.client("rds", REGION), session.account_id)
        stream.page_size = 20  # the API's minimum, so moto must page
        records = list(stream.records())
        assert len(records) == len(prod.db_instances) > 20
        assert stream.provenance.request_count == -(-len(records) // 20)
        by_id = {r["db_instance_identifier"]: r for r in records}
        assert by_id["db-0001"]["backup_retention_period"] == 3 and by_id["db-0002"]["storage_encrypted"] is False
    finally:
        box.stop()


def test_throttling_and_server_errors_are_retried_and_counted(sandbox, sessions):
    server = sandbox.servers["aws"]
    prod = sandbox.org.systems["aws"].production
    server.inject("429", times=1, path_prefix="/backup-jobs")
    server.inject("5xx", times=1, path_prefix="/backup-jobs")
    stream = BackupJobs(sessions[prod.account_id].client("backup", REGION), prod.account_id)
    stream.policy = type(stream.policy)(backoff_base=0.01)
    assert len(list(stream.records())) == len(prod.jobs())
    assert stream.provenance.retry_count == 2
    first = stream.provenance.requests[0].retry_reasons[0]
    assert first.startswith("429") or "ThrottlingException" in first, first


def test_backup_jobs_are_read_from_the_window_only(sandbox, sessions):
    server = sandbox.servers["aws"]
    prod = sandbox.org.systems["aws"].production
    since = backup_jobs_created_after(DAY, 2)
    assert since == datetime(2026, 11, 18, tzinfo=UTC)
    server.reset_log()
    stream = BackupJobs(sessions[prod.account_id].client("backup", REGION), prod.account_id, created_after=since)
    stream.page_size = 50  # several pages, each with the filter
    records = list(stream.records())
    truth = sorted(j.job_id for j in prod.jobs() if j.created > since)
    assert 0 < len(truth) == backup_jobs_in_window(prod, DAY, 2) < len(prod.jobs())
    assert sorted(r["backup_job_id"] for r in records) == truth
    assert min(r["creation_date"] for r in records) > "2026-11-18 00:00:00"
    # on the wire: the model's querystring name, in botocore's ISO 8601 form, on every page
    pages = [parse_qs(r.query) for r in server.requests if r.path.startswith("/backup-jobs")]
    assert len(pages) == stream.provenance.request_count == -(-len(truth) // 50)
    assert all(q["createdAfter"] == ["2026-11-18T00:00:00Z"] for q in pages), pages
    assert stream.provenance.parameters["ByCreatedAfter"] == "2026-11-18T00:00:00+00:00"
    assert all(r.params["ByCreatedAfter"] == "2026-11-18T00:00:00+00:00" for r in stream.provenance.requests)


def test_created_after_is_strict_as_the_model_says(sandbox, sessions):
    """ByCreatedAfter: "Returns only backup jobs that were created after the specified date"."""
    prod = sandbox.org.systems["aws"].production
    jobs = prod.jobs()
    boundary = jobs[len(jobs) - 3]
    client = sessions[prod.account_id].client("backup", REGION)
    listed = client.list_backup_jobs(ByCreatedAfter=boundary.created)["BackupJobs"]
    assert [j["BackupJobId"] for j in listed] == [j.job_id for j in jobs[len(jobs) - 2 :]]
    before = client.list_backup_jobs(ByCreatedAfter=boundary.created - timedelta(seconds=1))["BackupJobs"]
    assert before[0]["BackupJobId"] == boundary.job_id


def test_backup_filters_the_fake_does_not_implement_are_refused(sandbox, sessions):
    prod = sandbox.org.systems["aws"].production
    client = sessions[prod.account_id].client("backup", REGION)
    for unsupported in ({"ByState": "FAILED"}, {"ByResourceType": "EBS"}, {"ByCompleteAfter": "2026-11-19T00:00:00Z"}):
        with pytest.raises(ClientError, match="does not filter by") as raised:
            client.list_backup_jobs(**unsupported)
        assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_the_snapshot_day_and_aws_backup_job_days_set_the_window(sandbox, monkeypatch):
    env = sandbox.env
    resource = AwsResource(
        role_arns=env["AWS_ROLE_ARNS"],
        regions=env["AWS_REGIONS"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        backup_job_days=2,
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", env["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", env["AWS_SECRET_ACCESS_KEY"])
    streams = list(_streams("backup_jobs")(resource, DAY))
    assert len(streams) == len(sandbox.org.systems["aws"].accounts)
    assert {s.created_after for s in streams} == {datetime(2026, 11, 18, tzinfo=UTC)}
    assert all(s.provenance.parameters["ByCreatedAfter"] == "2026-11-18T00:00:00+00:00" for s in streams)
    monkeypatch.delenv("AWS_BACKUP_JOB_DAYS", raising=False)
    assert aws_resource().backup_job_days == 4  # the controls' one day and a three-day margin
    monkeypatch.setenv("AWS_BACKUP_JOB_DAYS", "7")
    assert aws_resource().backup_job_days == 7
    with pytest.raises(ValueError, match="at least one day"):
        backup_jobs_created_after(DAY, 0)


def test_access_denied_is_not_retried(sandbox, sessions):
    server = sandbox.servers["aws"]
    prod = sandbox.org.systems["aws"].production
    server.inject("403", times=1, path_prefix="/resources")
    from connectors.aws import ProtectedResources

    stream = ProtectedResources(sessions[prod.account_id].client("backup", REGION), prod.account_id)
    with pytest.raises(SourceError, match="403|AccessDenied|Forbidden|not accessible"):
        list(stream.records())
    assert stream.provenance.retry_count == 0 and stream.provenance.status == "failed"


def test_only_real_writes_count_as_writes():
    iam = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20261120/us-east-1/iam/aws4_request"}

    def query(action: str) -> RecordedRequest:
        return RecordedRequest("POST", "/", "", f"Action={action}&Version=2010-05-08".encode(), iam)

    assert not AwsApp.is_write(query("GenerateCredentialReport"))
    assert not AwsApp.is_write(query("GetAccountAuthorizationDetails"))
    assert not AwsApp.is_write(query("AssumeRole"))
    assert AwsApp.is_write(query("CreateUser"))
    assert AwsApp.is_write(query("DeleteAccountPasswordPolicy"))
    backup = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20261120/us-east-1/backup/aws4_request"}
    assert AwsApp.is_write(RecordedRequest("PUT", "/backup/plans/", "", b"{}", backup))
    assert not AwsApp.is_write(RecordedRequest("GET", "/backup-jobs/", "", b"", backup))


def test_reference_scale_builds_with_its_jobs_indexed():
    # how long it takes is the bench's to print (python -m bench), not a test's to bound
    org = SandboxOrg(seed=7, size=20_000, today=DAY)
    org.people = _people(random.Random("7:people"), org.size, DAY)
    data = build(org, random.Random("7:aws"))
    assert sum(len(a.users) for a in data.accounts) >= 2000
    jobs = data.production.jobs()
    assert len(jobs) >= 200_000 - 100
    last_page = jobs[len(jobs) - 1000 :]
    assert len(last_page) == 1000 and last_page[-1] == jobs[len(jobs) - 1]
    assert jobs.created_index(jobs[123_456].created) <= 123_456
