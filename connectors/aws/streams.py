"""AWS datasets: IAM (credential report, account summary, authorization details, password policy),
AWS Backup (backup jobs, restore jobs, protected resources, backup plans), RDS instances, and the users of one
IAM Identity Center identity store (optional: AWS_IDENTITY_STORE_ID).

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
  identity_center_users  ⌈N/100⌉   (MaxResults 100, the API's maximum; one identity store, not per account)
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore import xform_name
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from connectors.aws.client import AccountSession
from connectors.aws.policy_documents import policy_grant_columns
from connectors.stream import Retry, SourceError, Stream, http_retry

BACKUP_PAGE = 1000
IAM_PAGE = 1000
RDS_PAGE = 100
#: identitystore ListUsers' largest MaxResults (botocore's model: 1-100)
IDENTITY_STORE_PAGE = 100
#: an identity store id as botocore's model gives its pattern: d-1234567890 or a UUID (or its ARN)
IDENTITY_STORE_ID = re.compile(
    r"(arn:aws[a-z-]*:identitystore::\d{12}:identitystore/)?"
    r"(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
#: Days of backup jobs read before the snapshot day (AWS_BACKUP_JOB_DAYS). The controls need one: the RPO control
#: a job completed within rpo_hours (24) before the day's start, the failed-jobs control the jobs created since
#: midnight of the day before; three more days cover jobs that ran long (completed within the RPO, created earlier).
BACKUP_JOB_DAYS = 4
#: the IAM user tag that names its person (AWS_IDENTITY_TAG); users named by their e-mail address need none
IDENTITY_TAG = "email"
THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "LimitExceededException",
}


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


def required(item: dict[str, Any], member: str, operation: str) -> Any:
    """A member the record cannot do without (its identifier). AWS's models mark every response member optional, so
    an item without it fails the dataset, naming the member, rather than landing a record nobody can identify."""
    value = item.get(member)
    if value in (None, ""):
        raise SourceError(f"aws {operation}: an item came without {member}; refusing to record it unidentified")
    return value


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
        return (
            {"Action": "GetCredentialReport"}
            if step[0] == "get"
            else {"Action": "GenerateCredentialReport", "poll": step[1]}
        )

    def request(self, cursor: Any) -> Any:
        self._step = cursor or ("generate", 0)
        if self._step[0] == "get":
            response = self.client.get_credential_report()
            return {
                "Content": response["Content"].decode("utf-8"),
                "GeneratedTime": ts(response["GeneratedTime"]),
                "ReportFormat": response.get("ReportFormat"),
            }
        if self._step[1]:  # AWS builds the report asynchronously, in seconds: wait a little, then longer
            time.sleep(min(self.poll_interval, self.poll_interval / 4 * 2 ** (self._step[1] - 1)))
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
        rows = csv.DictReader(io.StringIO(payload["Content"]))
        missing = [column for column in REPORT_COLUMNS if column not in (rows.fieldnames or [])]
        if missing:
            raise SourceError(
                f"aws.credential_report for {self.account_id}: the report has no column {', '.join(missing)}"
            )
        for row in rows:
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
                **{
                    f"access_key_{n}_{field}": convert(row[f"access_key_{n}_{field}"])
                    for n in (1, 2)
                    for field, convert in (
                        ("active", flag),
                        ("last_rotated", ts),
                        ("last_used_date", ts),
                        ("last_used_region", _na),
                        ("last_used_service", _na),
                    )
                },
                "cert_1_active": flag(row["cert_1_active"]),
                "cert_2_active": flag(row["cert_2_active"]),
                "generated_time": payload["GeneratedTime"],
            }


#: the credential report's columns the records read (IAM User Guide, "Getting credential reports")
REPORT_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "cert_1_active",
    "cert_2_active",
    *(
        f"access_key_{n}_{field}"
        for n in (1, 2)
        for field in ("active", "last_rotated", "last_used_date", "last_used_region", "last_used_service")
    ),
)


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
        summary = payload.get("SummaryMap") or {}
        # an entry absent from the map is unknown, not "no": a missing AccountAccessKeysPresent is not proof of none
        yield {
            "account_id": self.account_id,
            **{
                column: None if summary.get(entry) is None else bool(summary[entry])
                for column, entry in (
                    ("account_mfa_enabled", "AccountMFAEnabled"),
                    ("account_access_keys_present", "AccountAccessKeysPresent"),
                    ("account_signing_certificates_present", "AccountSigningCertificatesPresent"),
                )
            },
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
    managed policies, one record per entity. A user's `email` is the value of its `identity_tag` tag."""

    dataset = "authorization_details"
    service = "iam"
    operation = "GetAccountAuthorizationDetails"
    page_param, page_size, token_in, token_out = "MaxItems", IAM_PAGE, "Marker", "Marker"

    def __init__(self, client: BaseClient, account_id: str, identity_tag: str = IDENTITY_TAG) -> None:
        self.identity_tag = identity_tag
        super().__init__(client, account_id)

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "identity_tag": self.identity_tag}

    def tagged_email(self, tags: dict[str, str]) -> str | None:
        """The identity tag's value: its exact key, else the key in another case (IAM refuses two tag keys on one
        resource that differ only in case, so at most one matches)."""
        if self.identity_tag in tags:
            return tags[self.identity_tag]
        wanted = self.identity_tag.lower()
        return next((value for key, value in tags.items() if key.lower() == wanted), None)

    def next_cursor(self, payload: Any) -> Any:
        return payload.get("Marker") if payload.get("IsTruncated") else None

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for user in payload.get("UserDetailList") or []:
            tags = {t["Key"]: t.get("Value") for t in user.get("Tags") or []}
            yield self._entity(
                "user",
                required(user, "UserName", self.operation),
                user.get("UserId"),
                user,
                groups=user.get("GroupList") or [],
                inline=user.get("UserPolicyList") or [],
                tags=tags,
            )
        for group in payload.get("GroupDetailList") or []:
            yield self._entity(
                "group",
                required(group, "GroupName", self.operation),
                group.get("GroupId"),
                group,
                inline=group.get("GroupPolicyList") or [],
            )
        for role in payload.get("RoleDetailList") or []:
            yield self._entity(
                "role",
                required(role, "RoleName", self.operation),
                role.get("RoleId"),
                role,
                inline=role.get("RolePolicyList") or [],
                tags={t["Key"]: t.get("Value") for t in role.get("Tags") or []},
                last_used=(role.get("RoleLastUsed") or {}).get("LastUsedDate"),
            )
        for policy in payload.get("Policies") or []:
            yield self._entity(
                "policy",
                required(policy, "PolicyName", self.operation),
                policy.get("PolicyId"),
                policy,
                attachment_count=policy.get("AttachmentCount"),
            )

    def _entity(
        self,
        kind: str,
        name: str,
        entity_id: str | None,
        raw: dict[str, Any],
        groups: list[str] | None = None,
        inline: list[dict[str, Any]] | None = None,
        tags: dict[str, str] | None = None,
        last_used: Any = None,
        attachment_count: int | None = None,
    ) -> dict[str, Any]:
        attached = raw.get("AttachedManagedPolicies") or []
        tags = tags or {}
        return {
            "account_id": self.account_id,
            "entity_type": kind,
            "name": name,
            "id": entity_id,
            "arn": raw.get("Arn"),
            "path": raw.get("Path"),
            "create_date": ts(raw.get("CreateDate")),
            "groups": list(groups or []),
            "attached_policies": [p.get("PolicyName") for p in attached],
            "attached_policy_arns": [p.get("PolicyArn") for p in attached],
            "inline_policies": [p.get("PolicyName") for p in inline or []],
            "tags": json.dumps(tags, sort_keys=True),
            "email": self.tagged_email(tags),
            "permissions_boundary": (raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            "last_used": ts(last_used),
            "attachment_count": attachment_count,
            "is_aws_managed": (raw.get("Arn") or "").startswith("arn:aws:iam::aws:policy/")
            if kind == "policy"
            else None,
            "raw": json.dumps(raw, sort_keys=True, default=str),
            # AWS posture B: the documents' broad grants (connectors/aws/policy_documents.py)
            **policy_grant_columns(kind, raw, inline or []),
        }


# -- AWS Backup ----------------------------------------------------------------------------------------------
class MalformedResponse(Exception):
    """A 200 whose body botocore could not parse (a truncated transfer)."""


class JsonListStream(PagedAwsStream):
    """A list operation of a JSON protocol (Backup's rest-json, identitystore's JSON 1.1), whose items member the
    model requires."""

    def request(self, cursor: Any) -> Any:
        payload = super().request(cursor)
        # botocore turns a JSON body it cannot parse into {"message": body}: that is not an empty page
        if self.items_key not in payload:
            raise MalformedResponse(f"{self.operation} answered without {self.items_key}: {str(payload)[:120]}")
        return payload

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, MalformedResponse):
            return Retry(None, "malformed response body")
        return super().classify(exc)


class BackupStream(JsonListStream):
    service = "backup"
    method = "GET"
    page_size = BACKUP_PAGE


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
            "backup_job_id": required(job, "BackupJobId", self.operation),
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
            "restore_job_id": required(job, "RestoreJobId", self.operation),
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
            "resource_arn": required(resource, "ResourceArn", self.operation),
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
            "backup_plan_id": required(plan, "BackupPlanId", self.operation),
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
            "db_instance_identifier": required(db, "DBInstanceIdentifier", self.operation),
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


# -- IAM Identity Center -------------------------------------------------------------------------------------
class IdentityCenterUsers(JsonListStream):
    """identitystore ListUsers: every user of one IAM Identity Center identity store, read in the account that holds
    it (the organisation's management account, or the delegated administrator's). Each record keeps every e-mail
    (`Emails`, primary flagged) and `UserStatus` (ENABLED/DISABLED) when the API reports it; the model marks both
    optional, so an absent status lands as null (the account's state unknown), never as enabled."""

    dataset = "identity_center_users"
    service = "identitystore"
    operation = "ListUsers"
    items_key = "Users"
    page_size = IDENTITY_STORE_PAGE

    def __init__(self, client: BaseClient, account_id: str, identity_store_id: str) -> None:
        if not IDENTITY_STORE_ID.fullmatch(identity_store_id or ""):
            raise ValueError(
                f"AWS_IDENTITY_STORE_ID {identity_store_id!r} is not an identity store id "
                "(d-1234567890 or a UUID: IAM Identity Center > Settings > Identity source)"
            )
        self.identity_store_id = identity_store_id
        super().__init__(client, account_id)

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "identity_store_id": self.identity_store_id}

    def params(self, cursor: Any) -> dict[str, Any]:
        return {"IdentityStoreId": self.identity_store_id, **super().params(cursor)}

    def record(self, user: dict[str, Any]) -> dict[str, Any]:
        name = user.get("Name") or {}
        return {
            **self.base(),
            "identity_store_id": user.get("IdentityStoreId") or self.identity_store_id,
            "user_id": required(user, "UserId", self.operation),
            "user_name": user.get("UserName"),
            "display_name": user.get("DisplayName"),
            "given_name": name.get("GivenName"),
            "family_name": name.get("FamilyName"),
            "emails": [
                {"value": e.get("Value"), "type": e.get("Type"), "is_primary": e.get("Primary")}
                for e in user.get("Emails") or []
            ],
            "external_ids": [{"issuer": x.get("Issuer"), "id": x.get("Id")} for x in user.get("ExternalIds") or []],
            "user_status": user.get("UserStatus"),
            "created_at": ts(user.get("CreatedAt")),
            "updated_at": ts(user.get("UpdatedAt")),
        }


def account_stream(
    cls: type[AwsStream], account: AccountSession, region: str | None = None, **options: Any
) -> AwsStream:
    """A dataset's stream for one account (and region), its provenance naming how the account's session was
    obtained: the one sts:AssumeRole of the source run that every dataset of the account shares."""
    stream = cls(account.client(cls.service, region), account.account_id, **options)
    # assigned, not updated in place: whatever provenance is given passes its redaction
    stream.provenance.parameters = {**stream.provenance.parameters, "account_session": account.credentials_from}
    return stream


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
