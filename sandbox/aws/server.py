"""The fake AWS endpoint: one address for every service, like a real `AWS_ENDPOINT_URL`.

Requests are routed by the service in their SigV4 credential scope:

- STS, RDS and the IAM actions moto implements faithfully (GetAccountSummary, GetAccountPasswordPolicy)
  go to moto's own WSGI app (moto in server mode), seeded per account by `serve.py`.
- IAM GenerateCredentialReport / GetCredentialReport / GetAccountAuthorizationDetails are answered
  here from the sandbox model: moto's report has no `<root_account>` row, no password_last_used or
  access-key use and a fake GeneratedTime, and its authorization details ignore MaxItems/Marker and
  list all ~1,100 AWS managed policies. The XML is produced by moto's botocore-model serializer
  from the official IAM service model.
- AWS Backup (REST-JSON, botocore's backup model: GET /backup-jobs/, /restore-jobs/, /resources/,
  /backup/plans/ with nextToken/maxResults) is answered here: moto has no job routes.
- IAM Identity Center's identitystore ListUsers (JSON 1.1, `X-Amz-Target: AWSIdentityStore.ListUsers`) is answered
  here from the sandbox model, in the `User` shape of the Identity Store API reference: moto 5.2.5's users have no
  UserStatus, UserArn, Revision, CreatedAt or ExternalIds, so an enabled leaver could not be told from an unknown one.
  MaxResults 1-100, NextToken to the end; an identity store the caller's account does not hold is
  ResourceNotFoundException.

Report generation is deterministic: a GenerateCredentialReport call starts a report (STARTED) unless
the previous call started one, in which case that report is COMPLETE. So a collection always takes
generate (STARTED) + one poll (COMPLETE) + get.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote

from moto.core.serialize import QuerySerializer, SerializationContext
from moto.core.utils import get_service_model
from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.wrappers import Request, Response

from sandbox.aws import posture_ops as operations
from sandbox.aws.model import AWS_MANAGED, REGION, AwsAccount, AwsData, BackupJobs, IamUser, IdentityCenterUser
from sandbox.server import RecordedRequest

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
OUR_IAM_ACTIONS = ("GenerateCredentialReport", "GetCredentialReport", "GetAccountAuthorizationDetails")
READ_PREFIXES = ("Get", "List", "Describe")
#: query actions that change nothing in the account: the report is derived data, AssumeRole issues
#: temporary credentials for an existing role
READ_ACTIONS = ("GenerateCredentialReport", "AssumeRole")
#: services answered in JSON (errors with X-Amzn-ErrorType) rather than query-protocol XML
JSON_SERVICES = ("backup", "identitystore", "kms", "cloudtrail")  # kms, cloudtrail: JSON 1.1 (posture.py)
JSON_SERVICES += ("acm", "logs", "guardduty")  # JSON 1.1 and rest-json (posture_ops.py)
IDENTITY_STORE_PAGE = 100  # ListUsers' largest MaxResults
REPORT_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)


def credential_scope(headers: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """(access key, region, service) of a SigV4 Authorization header."""
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        key, _, region, service, _ = scope.split("/")
    except (IndexError, ValueError):
        return None, None, None
    return key, region, service


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(errors="replace"), keep_blank_values=True).items()}


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00") if value else "N/A"


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise BadRequest("InvalidParameterValueException", "invalid NextToken") from exc


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class AwsApp:
    """The WSGI app FakeServer serves: our IAM actions and Backup, moto for everything else."""

    def __init__(self, data: AwsData) -> None:
        self.data = data
        self.moto = DomainDispatcherApplication(create_backend_app)
        self._iam_model = get_service_model("iam")  # botocore's IAM model, through moto's loader
        self._report_started: dict[str, bool] = {}
        self._report_time: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @staticmethod
    def is_write(recorded: RecordedRequest) -> bool:
        """Only requests that would change an account: Backup's non-GET routes and query actions other
        than Get*/List*/Describe*, GenerateCredentialReport and AssumeRole."""
        _, _, service = credential_scope(recorded.headers)
        if service == "backup" or recorded.method in ("GET", "HEAD"):
            return recorded.method not in ("GET", "HEAD")
        target = recorded.headers.get("X-Amz-Target") or recorded.headers.get("x-amz-target") or ""
        action = (
            target.rpartition(".")[2]
            if target  # JSON 1.1 calls (identitystore, ACM, CloudWatch Logs) name their operation in X-Amz-Target
            else (_form(recorded.body).get("Action") or parse_qs(recorded.query).get("Action", [""])[0])
        )
        return not (action.startswith(READ_PREFIXES) or action in READ_ACTIONS)

    def fault_response(self, kind: str, retry_after: float, request: Request) -> Response | None:
        """Injected faults in AWS's wire shapes, so botocore parses them as it would the real service's:
        query-protocol XML errors for IAM/STS/RDS, JSON with X-Amzn-ErrorType for Backup. IAM throttles with
        HTTP 400 `Throttling`; Backup with 429. "reset" is left to FakeServer."""
        _, _, service = credential_scope(dict(request.headers))
        errors = {
            "429": (
                "Throttling" if service not in JSON_SERVICES else "ThrottlingException",
                "Rate exceeded",
                {"backup": 429, "identitystore": 400}.get(service or "", 400),
            ),
            "5xx": ("ServiceUnavailable", "Service is unavailable", 503),
            "timeout": ("RequestTimeout", "Gateway timeout", 504),
            "401": ("InvalidClientTokenId", "The security token included in the request is invalid", 401),
            "403": ("AccessDenied", f"User is not authorized to perform: {service}:*", 403),
        }
        if kind == "malformed":
            body = {
                "backup": '{"BackupJobs": [{"BackupJobId": "trunc',
                "identitystore": '{"Users": [{"UserId": "tr',
            }.get(service or "", "<ListResponse><Trunc")
            return Response(
                body, status=200, content_type="application/json" if service in JSON_SERVICES else "text/xml"
            )
        if kind not in errors:
            return None
        if kind == "timeout":
            time.sleep(retry_after)
        response = self._error(service, BadRequest(*errors[kind]))
        if kind == "429":
            response.headers["Retry-After"] = str(retry_after)
        return response

    def __call__(self, request: Request) -> Response:
        key, region, service = credential_scope(dict(request.headers))
        try:
            if service == "backup":
                return self.backup(request, self._account(key), region or REGION)
            if service == "identitystore":
                return self.identitystore(request, self._account(key))
            if service == "acm":  # moto's ListCertificates ignores the documented key-type filter (posture_ops.py)
                return operations.acm(request, self._account(key), region or REGION)
            if service == "iam" and request.method == "POST":
                params = _form(request.get_data(cache=True))
                if params.get("Action") in OUR_IAM_ACTIONS:
                    return self.iam(params, self._account(key))
        except BadRequest as exc:
            return self._error(service, exc)
        return self._moto(request)

    # -- moto ----------------------------------------------------------------------------------------
    def _moto(self, request: Request) -> Response:
        body = request.get_data(cache=True)
        environ = dict(request.environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        response = Response.from_app(self.moto, environ)
        response.make_sequence()  # buffered: a page the fault injector can replay (repeat_cursor), like our own
        return response

    def _account(self, access_key: str | None) -> AwsAccount:
        account_id = get_account_id_from(access_key or "")
        account = self.data.account(account_id)
        if account is None:
            raise BadRequest("AccessDenied", f"the sandbox has no account {account_id}; assume one of its roles", 403)
        return account

    def _error(self, service: str | None, exc: BadRequest) -> Response:
        request_id = str(uuid.uuid4())
        if service in JSON_SERVICES:  # JSON 1.1 (identitystore) names the error in `__type`, rest-json in the header
            body = {
                "Code": exc.code,
                "Message": exc.message,
                **({"__type": exc.code} if service != "backup" else {}),  # JSON 1.1: identitystore, kms, cloudtrail
            }
            return Response(
                json.dumps(body),
                status=exc.status,
                headers={"X-Amzn-ErrorType": exc.code, "X-Amzn-RequestId": request_id},
                content_type="application/json",
            )
        xml = (
            f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>{exc.code}</Code>'
            f"<Message>{exc.message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(xml, status=exc.status, content_type="text/xml")

    # -- IAM -----------------------------------------------------------------------------------------
    def iam(self, params: dict[str, str], account: AwsAccount) -> Response:
        action = params["Action"]
        if action == "GenerateCredentialReport":
            with self._lock:
                started = self._report_started.get(account.account_id, False)
                self._report_started[account.account_id] = not started
                if started:  # the report the previous call started is ready now
                    self._report_time[account.account_id] = datetime.now(UTC).replace(microsecond=0)
            if started:
                return self._query(action, {"State": "COMPLETE"})
            return self._query(
                action, {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}
            )
        if action == "GetCredentialReport":
            generated = self._report_time.get(account.account_id)
            if generated is None:
                raise BadRequest("ReportNotPresent", "Credential report not present", 410)
            return self._query(
                action,
                {
                    "Content": credential_report(account).encode(),
                    "ReportFormat": "text/csv",
                    "GeneratedTime": generated,
                },
            )
        return self._query(action, authorization_details(account, params))

    def _query(self, action: str, result: dict[str, Any]) -> Response:
        serializer = QuerySerializer(self._iam_model.operation_model(action), SerializationContext(str(uuid.uuid4())))
        out = serializer.serialize(result)
        return Response(out["body"], status=out["status_code"], headers=out["headers"])

    # -- Backup --------------------------------------------------------------------------------------
    def backup(self, request: Request, account: AwsAccount, region: str) -> Response:
        if request.method != "GET":
            raise BadRequest("InvalidRequestException", "the sandbox serves Backup's list operations only")
        args = request.args
        max_results = int(args.get("maxResults") or 1000)
        if not 1 <= max_results <= 1000:
            raise BadRequest("InvalidParameterValueException", "maxResults must be between 1 and 1000")
        offset = _offset(args.get("nextToken"))
        here = region == REGION
        path = request.path.rstrip("/") + "/"
        items: Any
        if path == "/backup-jobs/":
            _only(args, ("createdAfter", "createdBefore"))
            jobs = account.jobs() if here else []
            start, end = 0, len(jobs)
            # the model's ByCreatedAfter / ByCreatedBefore: jobs created (strictly) after / before the date
            if isinstance(jobs, BackupJobs):
                if args.get("createdAfter"):
                    start = jobs.created_index(_when(args["createdAfter"]), after=True)
                if args.get("createdBefore"):
                    end = max(start, jobs.created_index(_when(args["createdBefore"])))
            page = jobs[start + offset : min(end, start + offset + max_results)]
            more = start + offset + max_results < end
            key, items = "BackupJobs", [backup_job(account, j) for j in page]
        elif path == "/restore-jobs/":
            _only(args, ())
            all_jobs = account.restore_jobs if here else []
            items, more = (
                [restore_job(account, j) for j in all_jobs[offset : offset + max_results]],
                offset + max_results < len(all_jobs),
            )
            key = "RestoreJobs"
        elif path == "/resources/":
            _only(args, ())
            resources = account.protected if here else account.protected_in.get(region, [])
            items, more = (
                [protected_resource(account, r) for r in resources[offset : offset + max_results]],
                offset + max_results < len(resources),
            )
            key = "Results"
        elif path == "/backup/plans/":
            _only(args, ("includeDeleted",))
            plans = account.plans if here else []
            items, more = (
                [backup_plan(account, p) for p in plans[offset : offset + max_results]],
                offset + max_results < len(plans),
            )
            key = "BackupPlansList"
        elif path in ("/backup-vaults/", "/copy-jobs/"):  # sandbox/aws/posture_ops.py
            _only(args, ("createdAfter",) if path == "/copy-jobs/" else ())
            after = _when(args["createdAfter"]) if args.get("createdAfter") else None
            key, items, more = operations.backup_list(path, account, region, offset, max_results, after)
        else:
            raise BadRequest("ResourceNotFoundException", f"the sandbox does not serve {request.path}", 404)
        body: dict[str, Any] = {key: [_present(item) for item in items]}
        if more:
            body["NextToken"] = _token(offset + max_results)
        return Response(
            json.dumps(body),
            status=200,
            content_type="application/json",
            headers={"X-Amzn-RequestId": str(uuid.uuid4())},
        )

    # -- IAM Identity Center -------------------------------------------------------------------------------
    def identitystore(self, request: Request, account: AwsAccount) -> Response:
        operation = (request.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        if operation != "ListUsers":
            raise BadRequest("ValidationException", f"the sandbox serves identitystore ListUsers only, not {operation}")
        try:
            params = json.loads(request.get_data(cache=True) or b"{}")
        except ValueError as exc:
            raise BadRequest("SerializationException", "the body is not JSON") from exc
        unknown = set(params) - {"IdentityStoreId", "MaxResults", "NextToken"}
        if unknown:  # Filters is deprecated, Extensions not modelled here: refused rather than ignored
            raise BadRequest("ValidationException", f"the sandbox does not take {sorted(unknown)}")
        store = params.get("IdentityStoreId")
        if not store or store != account.identity_store_id:
            raise BadRequest(
                "ResourceNotFoundException", f"identity store {store!r} not found in account {account.account_id}"
            )
        max_results = params.get("MaxResults", IDENTITY_STORE_PAGE)
        if not isinstance(max_results, int) or not 1 <= max_results <= IDENTITY_STORE_PAGE:
            raise BadRequest("ValidationException", "MaxResults must be between 1 and 100")
        offset = _offset(params.get("NextToken"))
        users = account.identity_center_users
        body: dict[str, Any] = {
            "Users": [identity_center_user(account, u) for u in users[offset : offset + max_results]]
        }
        if offset + max_results < len(users):
            body["NextToken"] = _token(offset + max_results)
        return Response(
            json.dumps(body),
            status=200,
            content_type="application/x-amz-json-1.1",
            headers={"X-Amzn-RequestId": str(uuid.uuid4())},
        )


def _present(item: dict[str, Any]) -> dict[str, Any]:
    """AWS omits absent members instead of sending null."""
    return {k: v for k, v in item.items() if v is not None}


def _only(args: Any, allowed: tuple[str, ...]) -> None:
    """Refuse filters the sandbox does not implement rather than silently ignoring them."""
    unknown = set(args) - {"nextToken", "maxResults", *allowed}
    if unknown:
        raise BadRequest("InvalidParameterValueException", f"the sandbox does not filter by {sorted(unknown)}")


def _when(value: str) -> datetime:
    """A querystring timestamp: botocore sends ISO 8601 (rest-json's default), epoch seconds are accepted too."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest("InvalidParameterValueException", f"invalid timestamp {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the payloads, field names from the botocore models --------------------------------------------------
def credential_report(account: AwsAccount) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    writer.writerow(
        _report_row(
            "<root_account>",
            account.root_arn,
            account.created,
            None,
            account.root_password_last_used,
            account.root_mfa,
            account.root_keys,
        )
    )
    for user in account.users:
        writer.writerow(
            _report_row(user.name, user.arn, user.created, user, user.password_last_used, user.mfa, user.keys)
        )
    return out.getvalue()


def _report_row(
    name: str, arn: str, created: datetime, user: IamUser | None, last_used: datetime | None, mfa: bool, keys: tuple
) -> list[str]:
    if user is None:  # the root user: AWS reports its password as not_supported
        password = ["not_supported", _iso(last_used), "not_supported", "not_supported"]
    elif user.password_enabled:
        password = ["true", _iso(last_used) if last_used else "no_information", _iso(user.password_last_changed), "N/A"]
    else:
        password = ["false", _iso(last_used) if last_used else "N/A", "N/A", "N/A"]
    cells = [name, arn, _iso(created), *password, "true" if mfa else "false"]
    for n in (0, 1):
        key = keys[n] if n < len(keys) else None
        if key is None:
            cells += ["false", "N/A", "N/A", "N/A", "N/A"]
        else:
            used = key.last_used is not None
            cells += [
                "true" if key.active else "false",
                _iso(key.last_rotated),
                _iso(key.last_used),
                REGION if used else "N/A",
                key.last_used_service if used else "N/A",
            ]
    return cells + ["false", "N/A", "false", "N/A"]


def _policy_doc(document: dict) -> str:
    # IAM returns policy documents URL-encoded; botocore decodes them (json_decode_policies)
    return quote(json.dumps(document))


ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _managed_arn(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


def authorization_entities(account: AwsAccount) -> list[tuple[str, Any]]:
    """Users, groups, roles, then managed policies: the order the pages slice."""
    return (
        [("user", u) for u in account.users]
        + [("group", g) for g in account.groups]
        + [("role", r) for r in account.roles]
        + [("local_policy", p) for p in account.customer_policies]
        + [("aws_policy", p) for p in account.used_aws_policies()]
    )


def authorization_details(account: AwsAccount, params: dict[str, str]) -> dict[str, Any]:
    filters = [v for k, v in params.items() if k.startswith("Filter.member.")]
    if filters:
        raise BadRequest("InvalidInput", "the sandbox serves GetAccountAuthorizationDetails without Filter")
    max_items = int(params.get("MaxItems") or 100)  # the API's default page is 100 items
    if not 1 <= max_items <= 1000:
        raise BadRequest("InvalidInput", "MaxItems must be between 1 and 1000")
    offset = _offset(params.get("Marker"))
    entities = authorization_entities(account)
    page = entities[offset : offset + max_items]
    result: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    aid = account.account_id
    for kind, item in page:
        if kind == "user":
            result["UserDetailList"].append(
                {
                    "Path": "/",
                    "UserName": item.name,
                    "UserId": item.user_id,
                    "Arn": item.arn,
                    "CreateDate": item.created,
                    "UserPolicyList": [
                        {"PolicyName": p, "PolicyDocument": _policy_doc(ADMIN_DOC)} for p in item.inline_policies
                    ],
                    "GroupList": list(item.groups),
                    "AttachedManagedPolicies": [{"PolicyName": p, "PolicyArn": _managed_arn(p)} for p in item.policies],
                    "Tags": [{"Key": k, "Value": v} for k, v in item.tags],
                }
            )
        elif kind == "group":
            result["GroupDetailList"].append(
                {
                    "Path": "/",
                    "GroupName": item,
                    "GroupId": "AGPA" + _suffix(aid, item),
                    "Arn": f"arn:aws:iam::{aid}:group/{item}",
                    "CreateDate": account.created,
                    "GroupPolicyList": [],
                    "AttachedManagedPolicies": [
                        {"PolicyName": p, "PolicyArn": _managed_arn(p)} for p in account.groups[item]
                    ],
                }
            )
        elif kind == "role":
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "backup.amazonaws.com"}}
                ],
            }
            result["RoleDetailList"].append(
                {
                    "Path": "/",
                    "RoleName": item,
                    "RoleId": "AROA" + _suffix(aid, item),
                    "Arn": f"arn:aws:iam::{aid}:role/{item}",
                    "CreateDate": account.created,
                    "AssumeRolePolicyDocument": _policy_doc(trust),
                    "InstanceProfileList": [],
                    "RolePolicyList": [],
                    "AttachedManagedPolicies": [
                        {
                            "PolicyName": "AWSBackupServiceRolePolicyForBackup",
                            "PolicyArn": _managed_arn("AWSBackupServiceRolePolicyForBackup"),
                        }
                    ]
                    if item.startswith("aws-backup")
                    else [],
                    "Tags": [],
                }
            )
        else:
            local = kind == "local_policy"
            arn = f"arn:aws:iam::{aid}:policy/{item}" if local else _managed_arn(item)
            attached = sum(1 for u in account.users if item in u.policies)
            attached += sum(1 for ps in account.groups.values() if item in ps)
            result["Policies"].append(
                {
                    "PolicyName": item,
                    "PolicyId": ("ANPA" + _suffix(aid, item)) if local else AWS_MANAGED[item],
                    "Arn": arn,
                    "Path": "/",
                    "DefaultVersionId": "v1",
                    "AttachmentCount": attached,
                    "PermissionsBoundaryUsageCount": 0,
                    "IsAttachable": True,
                    "CreateDate": account.created,
                    "UpdateDate": account.created,
                    "PolicyVersionList": [
                        {
                            # the documents AWS publishes (sandbox/aws/posture_ops.py)
                            "Document": _policy_doc(operations.managed_policy_document(item)),
                            "VersionId": "v1",
                            "IsDefaultVersion": True,
                            "CreateDate": account.created,
                        }
                    ],
                }
            )
    result["IsTruncated"] = offset + max_items < len(entities)
    if result["IsTruncated"]:
        result["Marker"] = _token(offset + max_items)
    return result


def _suffix(account_id: str, name: str) -> str:
    return hashlib.sha1(f"{account_id}:{name}".encode()).hexdigest().upper()[:17]


def _vault_arn(account: AwsAccount) -> str:
    return f"arn:aws:backup:{REGION}:{account.account_id}:backup-vault:Default"


def identity_center_user(account: AwsAccount, user: IdentityCenterUser) -> dict[str, Any]:
    """The Identity Store API's `User` (JSON 1.1: timestamps as epoch seconds)."""
    return {
        "IdentityStoreId": account.identity_store_id,
        "UserId": user.user_id,
        "UserArn": f"arn:aws:identitystore::{account.account_id}:user/{user.user_id}",
        "Revision": "1",
        "UserName": user.user_name,
        "DisplayName": user.display_name,
        "Name": {"GivenName": user.given_name, "FamilyName": user.family_name, "Formatted": user.display_name},
        "Emails": [{"Value": value, "Type": kind, "Primary": primary} for value, kind, primary in user.emails],
        "UserStatus": user.status,
        "CreatedAt": _epoch(user.created),
        "CreatedBy": "sandbox",
    }


def backup_job(account: AwsAccount, job: Any) -> dict[str, Any]:
    plan_arn = f"arn:aws:backup:{REGION}:{account.account_id}:backup-plan:{job.plan_id}"
    completed = job.state == "COMPLETED"
    return {
        "AccountId": account.account_id,
        "BackupJobId": job.job_id,
        "BackupVaultName": "Default",
        "BackupVaultArn": _vault_arn(account),
        "RecoveryPointArn": f"arn:aws:backup:{REGION}:{account.account_id}:recovery-point:{job.job_id.lower()}"
        if completed
        else None,
        "ResourceArn": job.resource.arn,
        "CreationDate": _epoch(job.created),
        "CompletionDate": _epoch(job.completed),
        "State": job.state,
        "StatusMessage": None
        if completed
        else {
            "FAILED": "An internal error occurred while taking the snapshot",
            "EXPIRED": "Backup job did not start within the start window",
            "ABORTED": "Backup job was aborted",
        }.get(job.state),
        "PercentDone": "100.0" if completed else "0.0",
        "BackupSizeInBytes": 1073741824 if completed else 0,
        "IamRoleArn": f"arn:aws:iam::{account.account_id}:role/aws-backup-service-role",
        "CreatedBy": {
            "BackupPlanId": job.plan_id,
            "BackupPlanArn": plan_arn,
            "BackupPlanVersion": "v1",
            "BackupRuleId": "daily",
        },
        "ResourceType": job.resource.resource_type,
        "ResourceName": job.resource.name,
        "IsParent": False,
        "MessageCategory": "SUCCESS" if completed else job.state,
    }


def restore_job(account: AwsAccount, job: Any) -> dict[str, Any]:
    return {
        "AccountId": account.account_id,
        "RestoreJobId": job.job_id,
        "RecoveryPointArn": f"arn:aws:backup:{REGION}:{account.account_id}:recovery-point:{job.job_id}",
        "BackupVaultArn": _vault_arn(account),
        "CreationDate": _epoch(job.created),
        "CompletionDate": _epoch(job.completed),
        "Status": job.status,
        "StatusMessage": "Restore failed: insufficient capacity" if job.status == "FAILED" else None,
        "PercentDone": "100.0",
        "BackupSizeInBytes": 1073741824,
        "IamRoleArn": f"arn:aws:iam::{account.account_id}:role/aws-backup-service-role",
        "CreatedResourceArn": f"{job.source_arn}-restore-{job.job_id}" if job.status == "COMPLETED" else None,
        "ResourceType": job.resource_type,
        "RecoveryPointCreationDate": _epoch(job.created),
    }


def protected_resource(account: AwsAccount, resource: Any) -> dict[str, Any]:
    last = None
    jobs = account.backup_jobs
    slot = jobs.slot_of.get(resource.arn) if jobs is not None else None
    if jobs is not None and slot is not None:
        for day in range(len(jobs) // len(jobs.resources) - 1, -1, -1):
            job = jobs[day * len(jobs.resources) + slot]
            if job.state == "COMPLETED":
                last = job
                break
    return {
        "ResourceArn": resource.arn,
        "ResourceType": resource.resource_type,
        "ResourceName": resource.name,
        "LastBackupTime": _epoch(last.created) if last else None,
        "LastBackupVaultArn": _vault_arn(account) if last else None,
        "LastRecoveryPointArn": f"arn:aws:backup:{REGION}:{account.account_id}:recovery-point:{last.job_id.lower()}"
        if last
        else None,
    }


def backup_plan(account: AwsAccount, plan: Any) -> dict[str, Any]:
    return {
        "BackupPlanArn": f"arn:aws:backup:{REGION}:{account.account_id}:backup-plan:{plan.plan_id}",
        "BackupPlanId": plan.plan_id,
        "CreationDate": _epoch(plan.created),
        "VersionId": plan.version_id,
        "BackupPlanName": plan.name,
        "LastExecutionDate": _epoch(plan.created),
    }
