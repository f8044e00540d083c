"""AWS datasets: IAM (credential report, account summary, authorization details, password policy),
AWS Backup (backup jobs, restore jobs, protected resources, backup plans) and RDS instances.

Requests per dataset and account (region for Backup and RDS), with N items:
  credential_report      3 fixed: generate (STARTED) + one poll (COMPLETE) + get; more polls if AWS is slow
  account_summary        1
  authorization_details  ⌈N/1000⌉  (users + groups + roles + managed policies in use, MaxItems 1000)
  password_policy        1         (NoSuchEntity = "no policy set", recorded as such)
  backup_jobs            ⌈N/1000⌉  (N = jobs created after ByCreatedAfter; AWS keeps 30 days of jobs)
  restore_jobs           ⌈N/1000⌉
  protected_resources    ⌈N/1000⌉
  backup_plans           ⌈N/1000⌉
  rds_instances          ⌈N/100⌉   (MaxRecords 100, the API's maximum)
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore import xform_name
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from connectors.stream import Retry, SourceError, Stream, http_retry

BACKUP_PAGE = 1000
IAM_PAGE = 1000
RDS_PAGE = 100
#: Days of backup jobs read before the snapshot day (AWS_BACKUP_JOB_DAYS). The controls need one: the RPO control
#: a job completed within rpo_hours (24) before the day's start, the failed-jobs control the jobs created since
#: midnight of the day before; three more days cover jobs that ran long (completed within the RPO, created earlier).
BACKUP_JOB_DAYS = 4
THROTTLING_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
                    "RequestThrottled", "SlowDown", "LimitExceededException"}


def ts(value: Any) -> str | None:
    """A timestamp as naive UTC 'YYYY-MM-DD HH:MM:SS' (DuckDB TIMESTAMP), from epoch seconds (REST-JSON),
    ISO 8601 text (query protocol, credential report) or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        if value in ("N/A", "not_supported", "no_information"):
            return None
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="seconds")


def flag(value: str | None) -> bool | None:
    """Credential report booleans: 'true'/'false'; 'not_supported' (root password) is None."""
    return {"true": True, "false": False}.get((value or "").lower())


def classify_aws(exc: Exception) -> Retry | None:
    """AWS failures under the shared policy: throttling codes (often HTTP 400) and 429/5xx retry."""
    if isinstance(exc, ClientError):
        meta = exc.response.get("ResponseMetadata", {})
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            headers = meta.get("HTTPHeaders") or {}
            wait = headers.get("retry-after")
            return Retry(float(wait) if wait and wait.replace(".", "", 1).isdigit() else None, f"throttled ({code})")
        return http_retry(meta.get("HTTPStatusCode"), meta.get("HTTPHeaders"), exc)
    # HTTPClientError: a dropped connection (ConnectionClosedError) or a read timeout (ReadTimeoutError)
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return Retry(None, f"transport error {type(exc).__name__}")
    return http_retry(None, None, exc)


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


class AwsStream(Stream):
    """One AWS operation for one account (and region), through a real boto3 client."""

    source = "aws"
    method = "POST"  # the query protocol (IAM, STS, RDS); Backup's REST routes are GET
    service: str = ""
    operation: str = ""  # the API operation name, e.g. ListBackupJobs

    def __init__(self, client: BaseClient, account_id: str) -> None:
        self.client = client
        self.account_id = account_id
        self.region = client.meta.region_name
        self.endpoint = f"{client.meta.endpoint_url} {self.service}:{self.operation}"
        super().__init__()

    def parameters(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "region": self.region, "operation": self.operation}

    def classify(self, exc: Exception) -> Retry | None:
        return classify_aws(exc)

    def status_of(self, exc: Exception | None) -> int | None:
        if isinstance(exc, ClientError):
            return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return None if isinstance(exc, BotoCoreError) else super().status_of(exc)


class PagedAwsStream(AwsStream):
    """A paginated list operation: page-size parameter, request token and response token."""

    page_param: str = "MaxResults"
    page_size: int = 1000
    token_in: str = "NextToken"
    token_out: str = "NextToken"
    items_key: str = ""

    def params(self, cursor: Any) -> dict[str, Any]:
        params: dict[str, Any] = {self.page_param: self.page_size}
        if cursor is not None:
            params[self.token_in] = cursor
        return params

    def request(self, cursor: Any) -> Any:
        call = getattr(self.client, xform_name(self.operation))
        return _without_metadata(call(**self.params(cursor)))

    def next_cursor(self, payload: Any) -> Any:
        return payload.get(self.token_out) or None

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for item in payload.get(self.items_key) or []:
            yield self.record(item)

    def record(self, item: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def base(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "region": self.region}


# -- IAM -------------------------------------------------------------------------------------------------
class CredentialReport(AwsStream):
    """The IAM credential report: every IAM user and the `<root_account>` row. The cursor is the next step:
    None = generate, ("poll", n) = generate again until COMPLETE, ("get",) = download."""

    dataset = "credential_report"
    service = "iam"
    max_polls = 30

    def __init__(self, client: BaseClient, account_id: str, poll_interval: float = 2.0) -> None:
        self.poll_interval = poll_interval
        self._step: tuple[Any, ...] = ("generate", 0)
        super().__init__(client, account_id)

    @property  # type: ignore[override]
    def endpoint(self) -> str:
        action = "GetCredentialReport" if self._step[0] == "get" else "GenerateCredentialReport"
        return f"{self.client.meta.endpoint_url} iam:{action}"

    @endpoint.setter
    def endpoint(self, _: str) -> None:  # set by AwsStream.__init__; the step decides
        pass

    def parameters(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "operation": "GenerateCredentialReport+GetCredentialReport"}

    def params(self, cursor: Any) -> dict[str, Any]:
        step = cursor or ("generate", 0)
        return {"Action": "GetCredentialReport"} if step[0] == "get" else {"Action": "GenerateCredentialReport",
                                                                             "poll": step[1]}

    def request(self, cursor: Any) -> Any:
        self._step = cursor or ("generate", 0)
        if self._step[0] == "get":
            response = self.client.get_credential_report()
            return {"Content": response["Content"].decode("utf-8"), "GeneratedTime": ts(response["GeneratedTime"]),
                    "ReportFormat": response.get("ReportFormat")}
        if self._step[1]:
            time.sleep(self.poll_interval)  # AWS builds the report asynchronously
        return _without_metadata(self.client.generate_credential_report())

    def next_cursor(self, payload: Any) -> Any:
        if self._step[0] == "get":
            return None
        if payload.get("State") == "COMPLETE":
            self._step = ("get",)
            return ("get",)
        polls = self._step[1] + 1
        if polls > self.max_polls:
            raise SourceError(f"aws.credential_report: report for {self.account_id} not COMPLETE after {polls} polls")
        self._step = ("generate", polls)
        return ("poll", polls)

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        if self._step[0] != "get":
            return
        self.provenance.source_timestamp = payload["GeneratedTime"]
        for row in csv.DictReader(io.StringIO(payload["Content"])):
            yield {
                "account_id": self.account_id,
                "user": row["user"],
                "arn": row["arn"],
                "is_root": row["user"] == "<root_account>",
                "user_creation_time": ts(row["user_creation_time"]),
                "password_enabled": flag(row["password_enabled"]),
                "password_last_used": ts(row["password_last_used"]),
                "password_last_changed": ts(row["password_last_changed"]),
                "password_next_rotation": ts(row["password_next_rotation"]),
                "mfa_active": flag(row["mfa_active"]),
                **{f"access_key_{n}_{field}": convert(row[f"access_key_{n}_{field}"])
                   for n in (1, 2) for field, convert in (("active", flag), ("last_rotated", ts),
                                                          ("last_used_date", ts), ("last_used_region", _na),
                                                          ("last_used_service", _na))},
                "cert_1_active": flag(row["cert_1_active"]),
                "cert_2_active": flag(row["cert_2_active"]),
                "generated_time": payload["GeneratedTime"],
            }


def _na(value: str | None) -> str | None:
    return None if value in (None, "", "N/A") else value


class AccountSummary(AwsStream):
    """GetAccountSummary: whether the root user has MFA and access keys."""

    dataset = "account_summary"
    service = "iam"
    operation = "GetAccountSummary"

    def request(self, cursor: Any) -> Any:
        return _without_metadata(self.client.get_account_summary())

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        summary = payload["SummaryMap"]
        yield {
            "account_id": self.account_id,
            "account_mfa_enabled": bool(summary.get("AccountMFAEnabled")),
            "account_access_keys_present": bool(summary.get("AccountAccessKeysPresent")),
            "account_signing_certificates_present": bool(summary.get("AccountSigningCertificatesPresent")),
        }


class PasswordPolicy(AwsStream):
    """GetAccountPasswordPolicy; an account without one answers NoSuchEntity, recorded as `policy_set` false."""

    dataset = "password_policy"
    service = "iam"
    operation = "GetAccountPasswordPolicy"

    def request(self, cursor: Any) -> Any:
        try:
            return _without_metadata(self.client.get_account_password_policy())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return {"PasswordPolicy": None, "NoSuchEntity": True}
            raise

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        policy = payload.get("PasswordPolicy") or {}
        yield {
            "account_id": self.account_id,
            "policy_set": bool(policy),
            "minimum_password_length": policy.get("MinimumPasswordLength"),
            "require_symbols": policy.get("RequireSymbols"),
            "require_numbers": policy.get("RequireNumbers"),
            "require_uppercase_characters": policy.get("RequireUppercaseCharacters"),
            "require_lowercase_characters": policy.get("RequireLowercaseCharacters"),
            "allow_users_to_change_password": policy.get("AllowUsersToChangePassword"),
            "expire_passwords": policy.get("ExpirePasswords"),
            "max_password_age": policy.get("MaxPasswordAge"),
            "password_reuse_prevention": policy.get("PasswordReusePrevention"),
            "hard_expiry": policy.get("HardExpiry"),
        }


class AuthorizationDetails(PagedAwsStream):
    """GetAccountAuthorizationDetails: users (groups, attached and inline policies, tags), groups, roles and
    managed policies, one record per entity."""

    dataset = "authorization_details"
    service = "iam"
    operation = "GetAccountAuthorizationDetails"
    page_param, page_size, token_in, token_out = "MaxItems", IAM_PAGE, "Marker", "Marker"

    def next_cursor(self, payload: Any) -> Any:
        return payload.get("Marker") if payload.get("IsTruncated") else None

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for user in payload.get("UserDetailList") or []:
            tags = {t["Key"]: t["Value"] for t in user.get("Tags") or []}
            yield self._entity("user", user["UserName"], user["UserId"], user, groups=user.get("GroupList") or [],
                               inline=user.get("UserPolicyList") or [], tags=tags)
        for group in payload.get("GroupDetailList") or []:
            yield self._entity("group", group["GroupName"], group["GroupId"], group,
                               inline=group.get("GroupPolicyList") or [])
        for role in payload.get("RoleDetailList") or []:
            yield self._entity("role", role["RoleName"], role["RoleId"], role, inline=role.get("RolePolicyList") or [],
                               tags={t["Key"]: t["Value"] for t in role.get("Tags") or []},
                               last_used=(role.get("RoleLastUsed") or {}).get("LastUsedDate"))
        for policy in payload.get("Policies") or []:
            yield self._entity("policy", policy["PolicyName"], policy["PolicyId"], policy,
                               attachment_count=policy.get("AttachmentCount"))

    def _entity(self, kind: str, name: str, entity_id: str, raw: dict[str, Any], groups: list[str] | None = None,
                inline: list[dict[str, Any]] | None = None, tags: dict[str, str] | None = None,
                last_used: Any = None, attachment_count: int | None = None) -> dict[str, Any]:
        attached = raw.get("AttachedManagedPolicies") or []
        tags = tags or {}
        return {
            "account_id": self.account_id,
            "entity_type": kind,
            "name": name,
            "id": entity_id,
            "arn": raw["Arn"],
            "path": raw.get("Path"),
            "create_date": ts(raw.get("CreateDate")),
            "groups": list(groups or []),
            "attached_policies": [p["PolicyName"] for p in attached],
            "attached_policy_arns": [p["PolicyArn"] for p in attached],
            "inline_policies": [p["PolicyName"] for p in inline or []],
            "tags": json.dumps(tags, sort_keys=True),
            "email": tags.get("email"),
            "permissions_boundary": (raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            "last_used": ts(last_used),
            "attachment_count": attachment_count,
            "is_aws_managed": raw["Arn"].startswith("arn:aws:iam::aws:policy/") if kind == "policy" else None,
            "raw": json.dumps(raw, sort_keys=True, default=str),
        }


# -- AWS Backup ----------------------------------------------------------------------------------------------
class MalformedResponse(Exception):
    """A 200 whose body botocore could not parse (a truncated transfer)."""


class BackupStream(PagedAwsStream):
    service = "backup"
    method = "GET"
    page_size = BACKUP_PAGE

    def request(self, cursor: Any) -> Any:
        payload = super().request(cursor)
        # botocore turns a rest-json body it cannot parse into {"message": body}: that is not an empty page
        if self.items_key not in payload:
            raise MalformedResponse(f"{self.operation} answered without {self.items_key}: {str(payload)[:120]}")
        return payload

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, MalformedResponse):
            return Retry(None, "malformed response body")
        return super().classify(exc)


def backup_jobs_created_after(day: date, days: int = BACKUP_JOB_DAYS) -> datetime:
    """Midnight UTC `days` days before the snapshot `day`: the ByCreatedAfter of that day's backup jobs."""
    if days < 1:
        raise ValueError(f"the backup job window must be at least one day, not {days}")
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=days)


class BackupJobs(BackupStream):
    """ListBackupJobs: the jobs created after `created_after` (ByCreatedAfter; see `backup_jobs_created_after`),
    or, with None, every job AWS Backup keeps (30 days: 200,000 jobs for 6,700 resources backed up daily)."""

    dataset = "backup_jobs"
    operation = "ListBackupJobs"
    items_key = "BackupJobs"

    def __init__(self, client: BaseClient, account_id: str, created_after: datetime | None = None) -> None:
        if created_after is not None and created_after.tzinfo is None:
            raise ValueError("created_after must be timezone-aware (UTC)")
        self.created_after = created_after.astimezone(UTC) if created_after is not None else None
        super().__init__(client, account_id)

    def _created_after_text(self) -> str | None:
        return self.created_after.isoformat() if self.created_after is not None else None

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "ByCreatedAfter": self._created_after_text()}

    def params(self, cursor: Any) -> dict[str, Any]:
        params = super().params(cursor)
        if self.created_after is not None:
            # ISO 8601 text: botocore parses it and sends the model's querystring timestamp (createdAfter=...Z)
            params["ByCreatedAfter"] = self._created_after_text()
        return params

    def record(self, job: dict[str, Any]) -> dict[str, Any]:
        created_by = job.get("CreatedBy") or {}
        return {
            **self.base(),
            "backup_job_id": job["BackupJobId"],
            "backup_vault_name": job.get("BackupVaultName"),
            "resource_arn": job.get("ResourceArn"),
            "resource_type": job.get("ResourceType"),
            "resource_name": job.get("ResourceName"),
            "state": job.get("State"),
            "status_message": job.get("StatusMessage"),
            "creation_date": ts(job.get("CreationDate")),
            "completion_date": ts(job.get("CompletionDate")),
            "recovery_point_arn": job.get("RecoveryPointArn"),
            "backup_plan_id": created_by.get("BackupPlanId"),
            "backup_size_bytes": job.get("BackupSizeInBytes"),
            "message_category": job.get("MessageCategory"),
        }


class RestoreJobs(BackupStream):
    """ListRestoreJobs: the restore tests."""

    dataset = "restore_jobs"
    operation = "ListRestoreJobs"
    items_key = "RestoreJobs"

    def record(self, job: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "restore_job_id": job["RestoreJobId"],
            "status": job.get("Status"),
            "status_message": job.get("StatusMessage"),
            "resource_type": job.get("ResourceType"),
            "recovery_point_arn": job.get("RecoveryPointArn"),
            "created_resource_arn": job.get("CreatedResourceArn"),
            "creation_date": ts(job.get("CreationDate")),
            "completion_date": ts(job.get("CompletionDate")),
            "recovery_point_creation_date": ts(job.get("RecoveryPointCreationDate")),
            "validation_status": job.get("ValidationStatus"),
        }


class ProtectedResources(BackupStream):
    """ListProtectedResources: every resource AWS Backup has backed up (the RPO population)."""

    dataset = "protected_resources"
    operation = "ListProtectedResources"
    items_key = "Results"

    def record(self, resource: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "resource_arn": resource["ResourceArn"],
            "resource_type": resource.get("ResourceType"),
            "resource_name": resource.get("ResourceName"),
            "last_backup_time": ts(resource.get("LastBackupTime")),
            "last_backup_vault_arn": resource.get("LastBackupVaultArn"),
            "last_recovery_point_arn": resource.get("LastRecoveryPointArn"),
        }


class BackupPlans(BackupStream):
    """ListBackupPlans: the plans in force."""

    dataset = "backup_plans"
    operation = "ListBackupPlans"
    items_key = "BackupPlansList"

    def record(self, plan: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "backup_plan_id": plan["BackupPlanId"],
            "backup_plan_arn": plan.get("BackupPlanArn"),
            "backup_plan_name": plan.get("BackupPlanName"),
            "version_id": plan.get("VersionId"),
            "creation_date": ts(plan.get("CreationDate")),
            "deletion_date": ts(plan.get("DeletionDate")),
            "last_execution_date": ts(plan.get("LastExecutionDate")),
        }


# -- RDS -----------------------------------------------------------------------------------------------------
class RdsInstances(PagedAwsStream):
    """DescribeDBInstances: backup retention, encryption and exposure of every instance."""

    dataset = "rds_instances"
    service = "rds"
    operation = "DescribeDBInstances"
    items_key = "DBInstances"
    page_param, page_size, token_in, token_out = "MaxRecords", RDS_PAGE, "Marker", "Marker"

    def request(self, cursor: Any) -> Any:
        return _without_metadata(self.client.describe_db_instances(**self.params(cursor)))

    def record(self, db: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "db_instance_identifier": db["DBInstanceIdentifier"],
            "db_instance_arn": db.get("DBInstanceArn"),
            "engine": db.get("Engine"),
            "engine_version": db.get("EngineVersion"),
            "db_instance_class": db.get("DBInstanceClass"),
            "status": db.get("DBInstanceStatus"),
            "backup_retention_period": db.get("BackupRetentionPeriod"),
            "storage_encrypted": db.get("StorageEncrypted"),
            "publicly_accessible": db.get("PubliclyAccessible"),
            "multi_az": db.get("MultiAZ"),
            "deletion_protection": db.get("DeletionProtection"),
            "latest_restorable_time": ts(db.get("LatestRestorableTime")),
            "instance_create_time": ts(db.get("InstanceCreateTime")),
        }


#: dataset -> (stream class, regional?) for the pipeline's wiring
DATASETS: dict[str, tuple[type[AwsStream], bool]] = {
    "credential_report": (CredentialReport, False),
    "account_summary": (AccountSummary, False),
    "authorization_details": (AuthorizationDetails, False),
    "password_policy": (PasswordPolicy, False),
    "backup_jobs": (BackupJobs, True),
    "restore_jobs": (RestoreJobs, True),
    "protected_resources": (ProtectedResources, True),
    "backup_plans": (BackupPlans, True),
    "rds_instances": (RdsInstances, True),
}
