"""Schema-driven: AWS's service models (botocore) mark every response member optional. For each member of the
shapes our connector reads, a response without it goes through the real boto3 client (botocore's Stubber, which
checks the response against the model) and the connector's parsing, is landed, and is judged by the AWS controls on
DuckDB. Nothing may crash, and a row that fails with the full response may not pass, or drop out of its population,
when a member is missing: data missing is never proof. An item without its identifier fails the dataset, naming
the member, and the control is unknown.

The credential report is CSV (IAM User Guide, "Getting credential reports for your AWS account"): its documented
sentinels `N/A`, `not_supported` (the root user's password) and `no_information` (a password or key not used since
IAM began tracking) stand in every cell that can hold them.
"""

from __future__ import annotations

import copy
import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from connectors.aws import (
    AccountSummary,
    BackupJobs,
    CredentialReport,
    PasswordPolicy,
    ProtectedResources,
    RdsInstances,
    RestoreJobs,
)
from connectors.aws.streams import REPORT_COLUMNS, AwsStream
from connectors.stream import SourceError
from evidence_pipeline.catalogue import Catalogue, load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from provenance import Provenance
from tests.connectors.cases_aws import land_records
from warehouse import Warehouse

ACCOUNT, REGION = "111122223333", "us-east-1"
FIRST_DAY = date(2026, 11, 1)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- the failing responses, one item each, from the documented shapes ---------------------------------------------
def backup_job(day: date) -> dict[str, Any]:
    created = midnight(day) - timedelta(hours=10)
    return {
        "BackupJobId": "job-1",
        "BackupVaultName": "Default",
        "ResourceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:a",
        "ResourceType": "RDS",
        "ResourceName": "a",
        "State": "FAILED",
        "StatusMessage": "access denied",
        "CreationDate": created,
        "CompletionDate": created + timedelta(minutes=5),
        "RecoveryPointArn": "arn:aws:backup:rp",
        "CreatedBy": {"BackupPlanId": "plan-1"},
        "BackupSizeInBytes": 0,
        "MessageCategory": "FAILED",
    }


def protected_resource(day: date) -> dict[str, Any]:
    # last backed up three days ago: over the 24-hour RPO; no restore test on record
    return {
        "ResourceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:a",
        "ResourceType": "RDS",
        "ResourceName": "a",
        "LastBackupTime": midnight(day) - timedelta(days=3),
        "LastBackupVaultArn": "arn:aws:backup:vault",
        "LastRecoveryPointArn": "arn:aws:backup:rp",
    }


def restore_job(day: date) -> dict[str, Any]:
    completed = midnight(day) - timedelta(days=400)  # older than the 365-day test window
    return {
        "RestoreJobId": "restore-1",
        "Status": "COMPLETED",
        "StatusMessage": "done",
        "ResourceType": "RDS",
        "RecoveryPointArn": "arn:aws:backup:rp",
        "CreatedResourceArn": "arn:aws:rds:copy",
        "CreationDate": completed - timedelta(hours=1),
        "CompletionDate": completed,
        "RecoveryPointCreationDate": completed - timedelta(days=1),
        "ValidationStatus": "SUCCESSFUL",
    }


def db_instance(day: date) -> dict[str, Any]:
    return {
        "DBInstanceIdentifier": "db-a",
        "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:db-a",
        "Engine": "postgres",
        "EngineVersion": "16.1",
        "DBInstanceClass": "db.t3.medium",
        "DBInstanceStatus": "available",
        "BackupRetentionPeriod": 1,
        "StorageEncrypted": True,
        "PubliclyAccessible": False,
        "MultiAZ": False,
        "DeletionProtection": False,
        "LatestRestorableTime": midnight(day),
        "InstanceCreateTime": midnight(day) - timedelta(days=90),
    }


def password_policy(day: date) -> dict[str, Any]:
    return {
        # too short, complex enough: a missing setting must not read as "meets the rule"
        "MinimumPasswordLength": 8,
        "RequireSymbols": True,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "AllowUsersToChangePassword": True,
        "ExpirePasswords": False,
        "MaxPasswordAge": 90,
        "PasswordReusePrevention": 1,
        "HardExpiry": False,
    }


def account_summary(day: date) -> dict[str, Any]:
    # root has MFA: the access key alone fails it, so a missing AccountAccessKeysPresent must not read as "none"
    return {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 1, "AccountSigningCertificatesPresent": 0}


def report_rows(day: date) -> list[dict[str, str]]:
    """The root user without MFA and with an active key, and a console user without MFA whose key is 200 days old."""
    old = (midnight(day) - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    na = dict.fromkeys(REPORT_COLUMNS, "N/A")
    root = {
        **na,
        "user": "<root_account>",
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "user_creation_time": old,
        "password_enabled": "not_supported",
        "password_last_used": "no_information",
        "mfa_active": "false",
        "password_last_changed": "not_supported",
        "password_next_rotation": "not_supported",
        "access_key_1_active": "true",
        "access_key_1_last_rotated": old,
        "access_key_2_active": "false",
        "cert_1_active": "false",
        "cert_2_active": "false",
    }
    user = {
        **root,
        "user": "carol",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/carol",
        "password_enabled": "true",
        "password_last_used": old,
        "password_last_changed": old,
        "password_next_rotation": "N/A",
    }
    return [root, user]


# -- one dataset: its response, its stubbed calls, its controls ---------------------------------------------------
class Case:
    def __init__(
        self,
        dataset: str,
        stream: Callable[[Any], AwsStream],
        service: str,
        calls: list[str],
        shape: tuple[str, str, str | None],
        build: Callable[[date], Any],
        controls: list[str],
        others: dict[str, Callable[[date], list[dict[str, Any]]]] | None = None,
    ) -> None:
        self.dataset, self.stream, self.service, self.calls = dataset, stream, service, calls
        self.shape, self.build, self.controls, self.others = shape, build, controls, others or {}

    def members(self) -> list[str]:
        """The optional members of the item shape the connector reads (botocore's model), or the report's columns."""
        if self.dataset == "aws.credential_report":
            return [c for c in REPORT_COLUMNS if c != "user"]  # the user is the row's key
        service, operation, items = self.shape
        shape = botocore.session.get_session().get_service_model(service).operation_model(operation).output_shape
        shape = shape.members[items].member if shape.members[items].type_name == "list" else shape.members[items]
        read = self.build(FIRST_DAY)
        if operation == "GetAccountSummary":  # a map: its documented keys
            return [k for k in shape.key.enum if k in read]
        return [m for m in shape.members if m not in shape.required_members and m in read]

    def responses(self, item: Any) -> list[dict[str, Any]]:
        if self.dataset == "aws.credential_report":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(item)
            return [
                {"State": "COMPLETE"},
                {"Content": out.getvalue().encode(), "ReportFormat": "text/csv", "GeneratedTime": datetime.now(UTC)},
            ]
        _, _, key = self.shape
        if key == "SummaryMap":
            return [{"SummaryMap": item}]
        return [{key: item}] if key == "PasswordPolicy" else [{key: [item]}]


CASES = [
    Case(
        "aws.backup_jobs",
        lambda c: BackupJobs(c, ACCOUNT),
        "backup",
        ["list_backup_jobs"],
        ("backup", "ListBackupJobs", "BackupJobs"),
        backup_job,
        ["a1_2_backup_jobs_failed"],
    ),
    Case(
        "aws.protected_resources",
        lambda c: ProtectedResources(c, ACCOUNT),
        "backup",
        ["list_protected_resources"],
        ("backup", "ListProtectedResources", "Results"),
        protected_resource,
        ["a1_2_backups_within_rpo", "a1_2_restore_tested"],
        others={"aws.backup_jobs": lambda day: [], "aws.restore_jobs": lambda day: []},
    ),
    Case(
        "aws.restore_jobs",
        lambda c: RestoreJobs(c, ACCOUNT),
        "backup",
        ["list_restore_jobs"],
        ("backup", "ListRestoreJobs", "RestoreJobs"),
        restore_job,
        ["a1_2_restore_tested"],
        others={
            "aws.protected_resources": lambda day: [
                {
                    "account_id": ACCOUNT,
                    "region": REGION,
                    "resource_arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:a",
                    "resource_type": "RDS",
                    "resource_name": "a",
                    "last_backup_time": None,
                    "last_backup_vault_arn": None,
                    "last_recovery_point_arn": None,
                }
            ]
        },
    ),
    Case(
        "aws.rds_instances",
        lambda c: RdsInstances(c, ACCOUNT),
        "rds",
        ["describe_db_instances"],
        ("rds", "DescribeDBInstances", "DBInstances"),
        db_instance,
        ["a1_2_rds_backup_retention"],
    ),
    Case(
        "aws.password_policy",
        lambda c: PasswordPolicy(c, ACCOUNT),
        "iam",
        ["get_account_password_policy"],
        ("iam", "GetAccountPasswordPolicy", "PasswordPolicy"),
        password_policy,
        ["cc6_1_aws_password_policy"],
    ),
    Case(
        "aws.account_summary",
        lambda c: AccountSummary(c, ACCOUNT),
        "iam",
        ["get_account_summary"],
        ("iam", "GetAccountSummary", "SummaryMap"),
        account_summary,
        ["cc6_1_aws_root_mfa"],
        others={"aws.credential_report": lambda day: []},
    ),
    Case(
        "aws.credential_report",
        lambda c: CredentialReport(c, ACCOUNT, poll_interval=0.0),
        "iam",
        ["generate_credential_report", "get_credential_report"],
        ("iam", "GetCredentialReport", None),
        report_rows,
        ["cc6_1_aws_console_users_mfa", "cc6_2_aws_access_keys_rotated", "cc6_1_aws_root_mfa"],
        others={
            "aws.account_summary": lambda day: [
                {
                    "account_id": ACCOUNT,
                    "account_mfa_enabled": True,
                    "account_access_keys_present": False,
                    "account_signing_certificates_present": False,
                }
            ]
        },
    ),
]


def sentinels(column: str) -> tuple[str, ...]:
    """The cells a report column can hold instead of a value: empty and `N/A` anywhere, `not_supported` in the
    password columns (the root user's), `no_information` in the last-used columns."""
    extra = ("not_supported",) if column.startswith("password_") else ()
    extra += ("no_information",) if "last_used" in column else ()
    return ("", "N/A", *extra)


def variants(case: Case) -> Iterator[tuple[str, Callable[[Any], Any]]]:
    """(what is missing, how to take it out of a built item): each member absent, each report cell at each of its
    sentinels."""
    for member in case.members():
        if case.dataset == "aws.credential_report":
            for sentinel in sentinels(member):
                yield (
                    f"{member}={sentinel or 'empty'}",
                    lambda rows, m=member, s=sentinel: [{**row, m: s} for row in rows],
                )
        else:
            yield f"{member} absent", lambda item, m=member: {k: v for k, v in item.items() if k != m}


@cache
def the_catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"))


def collect(case: Case, item: Any) -> tuple[list[dict[str, Any]], Provenance]:
    """The connector's records from the stubbed responses, through a real boto3 client."""
    client = boto3.session.Session().client(
        case.service, region_name=REGION, aws_access_key_id="AKIATEST", aws_secret_access_key="test"
    )
    stream = case.stream(client)
    with Stubber(client) as stub:
        for call, response in zip(case.calls, case.responses(item), strict=True):
            stub.add_response(call, response)
        try:
            records = list(stream.records())
        except SourceError:
            return [], stream.provenance
    return records, stream.provenance


def judged(warehouse: Warehouse, case: Case, day: date, item: Any) -> dict[str, list[str]]:
    """control -> the statuses of its rows, for the day holding these records; ["refused"] where the connector
    refused the response (the dataset failed, naming the member) and the control is unknown for it."""
    records, provenance = collect(case, item)
    source, name = case.dataset.split(".")
    if provenance.status == "failed":
        warehouse.log_failure(day, "test", provenance)
    else:
        land_records(warehouse, case.dataset, day, records)
    for dataset, make in case.others.items():
        land_records(warehouse, dataset, day, make(day))
    catalogue = the_catalogue()
    results: dict[str, list[str]] = {}
    for control_id in case.controls:
        outcome = evaluate_control(warehouse, catalogue, catalogue.by_id[control_id], day, "test")
        assert all(r["reason"] and r["resource_id"] for r in outcome.rows), (control_id, outcome.rows)
        if provenance.status == "failed" and not outcome.rows:
            assert outcome.verdict == "unknown" and case.dataset in outcome.reason, outcome.reason
            results[control_id] = ["refused"]
        else:
            results[control_id] = sorted(r["status"] for r in outcome.rows)
    return results


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Warehouse]:
    # hundreds of short landings and judgements: in memory-backed storage where the machine has it
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
        store = Warehouse(Path(folder) / "warehouse.duckdb")
        store.migrate()
        yield store


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.dataset)
def test_a_missing_member_never_passes_or_drops_a_failing_row(warehouse: Warehouse, case: Case) -> None:
    days = iter(FIRST_DAY + timedelta(days=n) for n in range(10_000))
    offset = CASES.index(case) * 1000  # each case on days of its own in the shared warehouse
    for _ in range(offset):
        next(days)
    day = next(days)
    full = judged(warehouse, case, day, case.build(day))
    for control_id, statuses in full.items():
        assert statuses and set(statuses) == {"fail"}, (control_id, statuses)  # the full response fails every row
    assert case.members(), case.dataset
    problems = []
    for missing, take_out in variants(case):
        day = next(days)
        for control_id, statuses in judged(warehouse, case, day, take_out(copy.deepcopy(case.build(day)))).items():
            # each row that failed still fails or is unknown (a dataset refused whole: the control is unknown)
            if "pass" in statuses or (statuses != ["refused"] and len(statuses) < len(full[control_id])):
                problems.append(f"{missing}: {control_id} {full[control_id]} -> {statuses}")
    assert not problems, "\n".join(problems)
