"""The sandbox's AWS operations posture (issue 16, posture B): Backup vaults and copy jobs, ACM certificates, ELBv2
load balancers, CloudWatch Logs log groups, GuardDuty detectors, more restore jobs, and the documents of the AWS
managed policies the accounts use. Violations and documented edge cases are planted for each control.

Who serves what (sandbox/aws/server.py routes by the SigV4 service):
- moto in server mode: ELBv2 (DescribeLoadBalancers / Listeners / Rules honour PageSize and Marker; SSL policies are
  its built-in list of the predefined policies), CloudWatch Logs and GuardDuty, seeded through the running endpoint
  with the accounts' assumed roles (`seed`), before the request log is reset;
- this module, from the documented shapes: AWS Backup ListBackupVaults and ListCopyJobs (moto has no copy-job
  route), and ACM ListCertificates (moto lists every key type without `Includes`, gives a certificate pending
  validation a NotAfter, and refuses to import an expired certificate; the ACM API reference documents the default
  RSA_1024/RSA_2048 filter and a NotAfter absent until issued).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.company import SandboxOrg

REGION = "us-east-1"
#: where production's backups are copied (offsite: another region of the same account)
DR_REGION = "us-west-2"
#: the organisation's backup account (cross-account copies)
BACKUP_ACCOUNT = "999900001111"
#: the catalogue's default parameters of these controls (tests/truth checks they agree with the catalogue)
RTO_HOURS = 24
RTO_LOOKBACK_DAYS = 365
OFFSITE_COPY_HOURS = 24
CERTIFICATE_EXPIRY_DAYS = 30
MIN_LOG_RETENTION_DAYS = 10
ADMIN_PRINCIPALS = ("group/admins", "role/OrganizationAccountAccessRole", "role/AWSReservedSSO_AdministratorAccess_*")
#: ListCertificates' default key types (ACM API reference, ListCertificates `Includes`)
ACM_DEFAULT_KEY_TYPES = ("RSA_1024", "RSA_2048")
ACM_PAGE_MAX = 1000
TLS12_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: days of copy jobs the sandbox keeps (the pipeline asks for AWS_BACKUP_JOB_DAYS, default 4)
COPY_DAYS = 6


@dataclass(frozen=True)
class Vault:
    name: str
    key_arn: str | None
    key_type: str | None  # EncryptionKeyType; None: not reported
    locked: bool = False
    recovery_points: int = 0


@dataclass(frozen=True)
class CopyJob:
    job_id: str
    resource_arn: str
    resource_type: str
    resource_name: str
    source_vault_arn: str
    destination_vault_arn: str
    state: str  # CREATED | RUNNING | COMPLETED | FAILED | PARTIAL
    created: datetime
    completed: datetime | None

    def offsite(self, account_id: str, region: str) -> bool:
        parts = self.destination_vault_arn.split(":")
        return parts[3] != region or parts[4] != account_id


@dataclass(frozen=True)
class Certificate:
    arn: str
    domain: str
    status: str
    cert_type: str
    key_algorithm: str
    not_after: datetime | None
    in_use: bool
    not_before: datetime | None = None


@dataclass(frozen=True)
class Listener:
    protocol: str
    port: int
    ssl_policy: str | None = None
    default: str = "forward"  # forward | redirect
    #: (priority, path pattern, action: "redirect" | "forward")
    rules: tuple[tuple[int, str, str], ...] = ()

    @property
    def judged_by_rules(self) -> bool:
        return self.protocol == "HTTP" and self.default != "redirect"


@dataclass(frozen=True)
class LoadBalancer:
    name: str
    lb_type: str  # application | network
    listeners: tuple[Listener, ...]


@dataclass
class OperationsData:
    """One account's operations posture in REGION."""

    vaults: list[Vault] = field(default_factory=list)
    copy_jobs: list[CopyJob] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    load_balancers: list[LoadBalancer] = field(default_factory=list)
    #: (log group name, retentionInDays or None: never expire)
    log_groups: list[tuple[str, int | None]] = field(default_factory=list)
    #: the GuardDuty detector's status in REGION, None: no detector
    detector: str | None = None


# -- the model ----------------------------------------------------------------------------------------------------
def _uuid(*parts: object) -> str:
    digest = hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def vault_arn(account_id: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:backup:{region}:{account_id}:backup-vault:{name}"


def _key_arn(account_id: str, name: str) -> str:
    return f"arn:aws:kms:{REGION}:{account_id}:key/{_uuid(account_id, 'key', name)}"


def build_operations(org: SandboxOrg, data: Any) -> None:
    """Each account's posture, planted violations among it; more restore jobs in production; then the truth."""
    midnight = datetime.combine(org.today, time(0), UTC)
    for account in data.accounts:
        account.operations = OperationsData()
    if org.size:
        prod, dev = data.accounts
        _vaults(prod, dev)
        _copy_jobs(prod, midnight)
        _restores(prod, midnight)
        _certificates(org, prod, dev, midnight)
        _load_balancers(org, prod, dev)
        _log_groups(org, prod, dev)
        prod.operations.detector = "ENABLED"  # development has no detector: GuardDuty is off there
    expected(org, data)


def _vaults(prod: Any, dev: Any) -> None:
    pid = prod.account_id
    prod.operations.vaults = [
        Vault("Default", _key_arn(pid, "backup"), "CUSTOMER_MANAGED_KMS_KEY", locked=True, recovery_points=900),
        # AWS's own key: encrypted, but who may decrypt is not the organisation's key policy
        Vault("legacy-exports", _key_arn(pid, "aws-owned"), "AWS_OWNED_KMS_KEY", recovery_points=12),
        # an older vault listed without EncryptionKeyType (the member is optional): the key's kind is not said
        Vault("archive-2019", _key_arn(pid, "archive"), None, recovery_points=3),
    ]
    dev.operations.vaults = [Vault("Default", _key_arn(dev.account_id, "backup"), "CUSTOMER_MANAGED_KMS_KEY")]


def _copy_jobs(prod: Any, midnight: datetime) -> None:
    """A copy per backed-up resource per day, 7 hours after the day's backup window opens, to the DR region; some
    resources to the backup account instead. Planted: copies that stay in the same region and account (not offsite),
    copies that fail, and no copy for a resource whose backups failed or that was never backed up."""
    pid = prod.account_id
    jobs = prod.backup_jobs
    backed = list(jobs.resources) if jobs is not None else []
    source = vault_arn(pid, "Default")
    dr, cross_account, local = (
        vault_arn(pid, "dr-copies", DR_REGION),
        vault_arn(BACKUP_ACCOUNT, "central"),
        vault_arn(pid, "legacy-exports"),
    )
    copies: list[CopyJob] = []
    for back in range(COPY_DAYS, 0, -1):
        day = midnight - timedelta(days=back)
        day_index = (day.date() - jobs.first_day.date()).days if jobs is not None else 0
        for slot, resource in enumerate(backed):
            if jobs is not None and jobs.states.get((slot, day_index), "COMPLETED") != "COMPLETED":
                continue  # no recovery point that day, nothing to copy
            destination = cross_account if slot % 5 == 1 else dr
            state = "COMPLETED"
            if slot == 8:  # copied every day, but only to another vault of the same account and region
                destination = local
            elif slot == 9:  # every copy fails (the DR vault's key policy refuses the copy role)
                state = "FAILED"
            created = day + timedelta(hours=7, seconds=slot)
            copies.append(
                CopyJob(
                    _uuid(pid, "copy", back, slot).upper(),
                    resource.arn,
                    resource.resource_type,
                    resource.name,
                    source,
                    destination,
                    state,
                    created,
                    created + timedelta(minutes=30 + slot % 20) if state in ("COMPLETED", "FAILED") else None,
                )
            )
    # one copy still running since this morning, for a resource whose previous copies completed
    if len(backed) > 11:
        resource = backed[11]
        created = midnight + timedelta(hours=1)
        copies.append(
            CopyJob(
                _uuid(pid, "copy", "running").upper(),
                resource.arn,
                resource.resource_type,
                resource.name,
                source,
                dr,
                "RUNNING",
                created,
                None,
            )
        )
    prod.operations.copy_jobs = sorted(copies, key=lambda c: c.created)


def _restores(prod: Any, midnight: datetime) -> None:
    """Restores that bear on the RTO: one that took 30 hours, one still running since yesterday morning (within the
    RTO so far: unknown), one pending for five days (past the RTO whatever happens now)."""
    # sandbox.aws.model's RestoreJob, made from one of the account's own (that module imports this one)
    template = prod.restore_jobs[0]

    def restore(job_id: str, kind: str, arn: str, status: str, created: datetime, completed: datetime | None) -> Any:
        return replace(
            template,
            job_id=job_id,
            resource_type=kind,
            source_arn=arn,
            status=status,
            created=created,
            completed=completed,
        )

    by_type = {r.resource_type: r for r in reversed(prod.protected)}
    slow = midnight - timedelta(days=20, hours=-10)
    running = midnight - timedelta(hours=14)
    pending = midnight - timedelta(days=5)
    prod.restore_jobs = sorted(
        [
            *prod.restore_jobs,
            restore("restore-0030", "RDS", by_type["RDS"].arn, "COMPLETED", slow, slow + timedelta(hours=30)),
            restore("restore-0031", "EFS", by_type["EFS"].arn, "RUNNING", running, None),
            restore("restore-0032", "S3", by_type["S3"].arn, "PENDING", pending, None),
        ],
        key=lambda j: j.created,
    )


def _certificates(org: SandboxOrg, prod: Any, dev: Any, midnight: datetime) -> None:
    def cert(account: Any, name: str, *args: Any) -> Certificate:
        arn = f"arn:aws:acm:{REGION}:{account.account_id}:certificate/{_uuid(account.account_id, 'cert', name)}"
        return Certificate(arn, *args)

    days = timedelta(days=1)
    certificates = [
        cert(prod, "www", "www.example.com", "ISSUED", "AMAZON_ISSUED", "RSA_2048", midnight + 200 * days, True),
        # EC: hidden by ListCertificates' default filter; expires in 10 days
        cert(prod, "api", "api.example.com", "ISSUED", "IMPORTED", "EC_prime256v1", midnight + 10 * days, True),
        # RSA 4096, imported, expired three days ago
        cert(prod, "legacy", "legacy.example.com", "EXPIRED", "IMPORTED", "RSA_4096", midnight - 3 * days, False),
        # requested today, DNS validation pending: no NotAfter until issued (not judged: it serves nothing yet)
        cert(prod, "new", "new.example.com", "PENDING_VALIDATION", "AMAZON_ISSUED", "RSA_2048", None, False),
    ]
    certificates += [
        cert(
            prod,
            f"svc-{k}",
            f"svc-{k}.example.com",
            "ISSUED",
            "AMAZON_ISSUED",
            "RSA_2048",
            midnight + (60 + k) * days,
            True,
        )
        for k in range(org.size // 100)
    ]
    prod.operations.certificates = certificates
    dev.operations.certificates = [
        cert(dev, "dev", "dev.example.com", "ISSUED", "AMAZON_ISSUED", "EC_secp384r1", midnight + 300 * days, True)
    ]


def _load_balancers(org: SandboxOrg, prod: Any, dev: Any) -> None:
    https = Listener("HTTPS", 443, TLS12_POLICY)
    redirect = Listener("HTTP", 80, default="redirect")
    balancers = [
        LoadBalancer("web", "application", (https, redirect)),
        # TLS 1.0 allowed; its HTTP listener redirects through a catch-all rule, not its default action
        LoadBalancer(
            "legacy",
            "application",
            (Listener("HTTPS", 443, "ELBSecurityPolicy-2016-08"), Listener("HTTP", 80, rules=((1, "/*", "redirect"),))),
        ),
        # plain HTTP served for /api/* before the catch-all redirect
        LoadBalancer(
            "admin",
            "application",
            (https, Listener("HTTP", 8080, rules=((1, "/api/*", "forward"), (2, "/*", "redirect")))),
        ),
        # a network load balancer: TLS 1.1 allowed on its TLS listener; its TCP listener is not judged
        LoadBalancer(
            "nlb", "network", (Listener("TLS", 443, "ELBSecurityPolicy-TLS-1-1-2017-01"), Listener("TCP", 22))
        ),
    ]
    balancers += [LoadBalancer(f"svc-{k:02d}", "application", (https, redirect)) for k in range(org.size // 100)]
    prod.operations.load_balancers = balancers
    dev.operations.load_balancers = [LoadBalancer("dev-web", "application", (https, redirect))]


def _log_groups(org: SandboxOrg, prod: Any, dev: Any) -> None:
    groups: list[tuple[str, int | None]] = [
        ("/app/audit", 7),  # below the 10 days promised
        ("/aws/lambda/scratch", 1),
        ("/app/production", None),  # no retention policy: never expires
    ]
    groups += [(f"/aws/lambda/fn-{k:04d}", (14, 30, 90, 365)[k % 4]) for k in range(max(3, org.size // 10))]
    prod.operations.log_groups = groups
    dev.operations.log_groups = [("/dev/app", 30)]


# -- the truth --------------------------------------------------------------------------------------------------
def expected(org: SandboxOrg, data: Any) -> None:
    """Each control's exceptions (and undecidable rows) from the planted state, not from SQL."""
    day = datetime.combine(org.today, time(0), UTC)
    accounts = data.accounts
    org.expected["a1_2_backup_vaults_encrypted"] = {
        vault_arn(a.account_id, v.name)
        for a in accounts
        for v in a.operations.vaults
        if v.key_type is not None and v.key_type != "CUSTOMER_MANAGED_KMS_KEY"
    }
    org.unknown["a1_2_backup_vaults_encrypted"] = {
        vault_arn(a.account_id, v.name) for a in accounts for v in a.operations.vaults if v.key_type is None
    }
    since = day - timedelta(hours=OFFSITE_COPY_HOURS)
    # the resources of each account with a completed offsite copy in the window (a set: thousands of resources)
    copied = {
        a.account_id: {
            c.resource_arn
            for c in a.operations.copy_jobs
            if c.state == "COMPLETED"
            and c.offsite(a.account_id, REGION)
            and c.completed is not None
            and c.completed >= since
        }
        for a in accounts
    }
    org.expected["a1_2_backups_copied_offsite"] = {
        r.arn
        for a in accounts
        for r in [*a.protected, *(r for rs in a.protected_in.values() for r in rs)]
        if r.arn not in copied[a.account_id]
    }
    window = day - timedelta(days=RTO_LOOKBACK_DAYS)
    rto = timedelta(hours=RTO_HOURS)
    restores = [(a, j) for a in accounts for j in a.restore_jobs if window <= j.created < day]
    org.expected["a1_3_restores_within_rto"] = {
        j.job_id
        for _, j in restores
        if (j.status == "COMPLETED" and j.completed - j.created > rto)
        or j.status in ("FAILED", "ABORTED")
        or (j.status in ("PENDING", "RUNNING") and day - j.created > rto)
    }
    org.unknown["a1_3_restores_within_rto"] = {
        j.job_id for _, j in restores if j.status in ("PENDING", "RUNNING") and day - j.created <= rto
    }
    soon = day + timedelta(days=CERTIFICATE_EXPIRY_DAYS)
    org.expected["cc6_7_acm_certificates_not_expiring"] = {
        c.arn for a in accounts for c in a.operations.certificates if c.not_after is not None and c.not_after < soon
    }
    policies = moto_ssl_policies()
    org.expected["cc6_7_elb_tls_policy"] = {
        _listener_id(a, lb, n)
        for a in accounts
        for lb in a.operations.load_balancers
        for n, listener in enumerate(lb.listeners)
        if listener.ssl_policy is not None and set(policies[listener.ssl_policy]) & {"TLSv1", "TLSv1.1"}
    }
    org.expected["cc6_7_elb_http_redirected"] = {
        _listener_id(a, lb, n)
        for a in accounts
        for lb in a.operations.load_balancers
        for n, listener in enumerate(lb.listeners)
        if listener.protocol == "HTTP" and not _redirected(listener)
    }
    org.expected["cc7_2_log_retention"] = {
        log_group_arn(a.account_id, name)
        for a in accounts
        for name, days in a.operations.log_groups
        if days is not None and days < MIN_LOG_RETENTION_DAYS
    }
    org.expected["cc7_2_guardduty_enabled"] = {
        f"{a.account_id}/{REGION}" for a in accounts if a.operations.detector != "ENABLED"
    }
    org.expected["cc6_3_aws_broad_policies_outside_admins"] = {
        principal for a in accounts for principal in broad_principals(a)
    }


def unread_regions_truth(org: SandboxOrg, data: Any) -> None:
    """GuardDuty's undecidable rows: every region an account has enabled that the sandbox does not read (the posture
    model, sandbox/aws/posture.py, names the enabled regions)."""
    org.unknown["cc7_2_guardduty_enabled"] = {
        f"{a.account_id}/{region}" for a in data.accounts if a.posture for region in a.posture.unread_regions((REGION,))
    }


def _redirected(listener: Listener) -> bool:
    if listener.default == "redirect":
        return True
    for _, path, action in sorted(listener.rules):
        if action != "redirect":
            return False
        if path in ("*", "/*"):
            return True
    return False


def _listener_id(account: Any, balancer: LoadBalancer, index: int) -> str:
    """The listener's identity the truth can name before moto assigns ARNs: account/region/load balancer/port."""
    return f"{account.account_id}/{REGION}/{balancer.name}/{balancer.listeners[index].port}"


def log_group_arn(account_id: str, name: str) -> str:
    return f"arn:aws:logs:{REGION}:{account_id}:log-group:{name}"


def moto_ssl_policies() -> dict[str, list[str]]:
    """ELBv2's predefined policies as moto serves them (the same names and protocols AWS documents)."""
    from moto.elbv2.ssl_policies import SSL_POLICIES

    return {name: list(spec["ssl_protocols"]) for name, spec in SSL_POLICIES.items()}


# -- IAM policy documents served for the AWS managed policies in use ------------------------------------------
#: the documents as AWS publishes them (AWS Managed Policy Reference), shortened where a long action list does not
#: change the verdict (ReadOnlyAccess lists hundreds of Describe/Get/List actions, never "*")
MANAGED_DOCUMENTS: dict[str, dict[str, Any]] = {
    "AdministratorAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    },
    "PowerUserAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": [
                    "iam:CreateServiceLinkedRole",
                    "iam:DeleteServiceLinkedRole",
                    "iam:ListRoles",
                    "organizations:DescribeOrganization",
                    "account:ListRegions",
                    "account:GetAccountInformation",
                ],
                "Resource": "*",
            },
        ],
    },
    "ReadOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadOnlyActions",
                "Effect": "Allow",
                "Action": ["ec2:Describe*", "s3:Get*", "s3:List*", "iam:Get*", "iam:List*", "rds:Describe*"],
                "Resource": "*",
            }
        ],
    },
    "AWSBackupServiceRolePolicyForBackup": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["backup:DescribeBackupVault", "backup:CopyIntoBackupVault", "ec2:CreateSnapshot"],
                "Resource": "*",
            }
        ],
    },
    "deny-without-mfa": {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "DenyAllExceptListedIfNoMFA",
            "Effect": "Deny",
            "NotAction": ["iam:ChangePassword", "iam:GetUser", "sts:GetSessionToken"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    },
}
#: what the sandbox served before these documents: kept for any other policy name
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}


def managed_policy_document(name: str) -> dict[str, Any]:
    return MANAGED_DOCUMENTS.get(name, DENY_ALL)


def _broad(policy: str) -> bool:
    return policy in ("AdministratorAccess", "PowerUserAccess")


def broad_principals(account: Any) -> set[str]:
    """Users and roles holding a broad grant (attached, through a group, or inline: the sandbox's inline policies are
    all `* on *`) outside the approved administrators (ADMIN_PRINCIPALS: the admins group)."""
    found = set()
    for user in account.users:
        if "admins" in user.groups:
            continue
        policies = set(user.policies) | {p for g in user.groups for p in account.groups.get(g, ())}
        if user.inline_policies or any(_broad(p) for p in policies):
            found.add(f"{account.account_id}/user/{user.name}")
    return found  # the sandbox's roles hold the backup service policy only, or nothing


# -- AWS Backup routes (server.py hands them here) --------------------------------------------------------------
def backup_list(
    path: str, account: Any, region: str, offset: int, max_results: int, created_after: datetime | None
) -> tuple[str, list, bool]:
    """ListBackupVaults (GET /backup-vaults/) and ListCopyJobs (GET /copy-jobs/, ByCreatedAfter: created strictly after
    `created_after`), the filters checked by server.py: (items key, page items, more pages?)."""
    data: OperationsData = account.operations or OperationsData()
    here = region == REGION
    if path == "/backup-vaults/":
        vaults = data.vaults if here else []
        page = [_vault(account.account_id, v) for v in vaults[offset : offset + max_results]]
        return "BackupVaultList", page, offset + max_results < len(vaults)
    jobs = [j for j in data.copy_jobs if created_after is None or j.created > created_after] if here else []
    page = [_copy_job(account.account_id, j) for j in jobs[offset : offset + max_results]]
    return "CopyJobs", page, offset + max_results < len(jobs)


def _vault(account_id: str, vault: Vault) -> dict[str, Any]:
    return {
        "BackupVaultName": vault.name,
        "BackupVaultArn": vault_arn(account_id, vault.name),
        "VaultType": "BACKUP_VAULT",
        "VaultState": "AVAILABLE",
        "CreationDate": datetime(2022, 3, 1, tzinfo=UTC).timestamp(),
        "EncryptionKeyArn": vault.key_arn,
        "EncryptionKeyType": vault.key_type,
        "CreatorRequestId": None,
        "NumberOfRecoveryPoints": vault.recovery_points,
        "Locked": vault.locked,
        "MinRetentionDays": 7 if vault.locked else None,
        "MaxRetentionDays": 365 if vault.locked else None,
        "LockDate": datetime(2023, 1, 1, tzinfo=UTC).timestamp() if vault.locked else None,
    }


def _copy_job(account_id: str, job: CopyJob) -> dict[str, Any]:
    done = job.state == "COMPLETED"
    return {
        "AccountId": account_id,
        "CopyJobId": job.job_id,
        "SourceBackupVaultArn": job.source_vault_arn,
        "SourceRecoveryPointArn": f"arn:aws:backup:{REGION}:{account_id}:recovery-point:{job.job_id.lower()}",
        "DestinationBackupVaultArn": job.destination_vault_arn,
        "DestinationRecoveryPointArn": job.destination_vault_arn.replace("backup-vault:", "recovery-point:")
        + f"-{job.job_id.lower()}"
        if done
        else None,
        "ResourceArn": job.resource_arn,
        "CreationDate": job.created.timestamp(),
        "CompletionDate": job.completed.timestamp() if job.completed else None,
        "State": job.state,
        "StatusMessage": "Access denied by the destination vault's access policy" if job.state == "FAILED" else None,
        "BackupSizeInBytes": 1073741824 if done else 0,
        "IamRoleArn": f"arn:aws:iam::{account_id}:role/aws-backup-service-role",
        "ResourceType": job.resource_type,
        "ResourceName": job.resource_name,
        "IsParent": False,
    }


# -- ACM ListCertificates (JSON 1.1) ------------------------------------------------------------------------------
class AcmRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def acm(request: Request, account: Any, region: str) -> Response:
    """ACM ListCertificates as its API reference documents it: MaxItems 1-1000, NextToken, and without
    Includes.keyTypes only RSA_1024 and RSA_2048 certificates."""
    operation = (request.headers.get("X-Amz-Target") or "").rpartition(".")[2]
    try:
        if operation != "ListCertificates":
            raise AcmRefused("ValidationException", f"the sandbox serves ACM ListCertificates only, not {operation}")
        try:
            params = json.loads(request.get_data(cache=True) or b"{}")
        except ValueError as exc:
            raise AcmRefused("SerializationException", "the body is not JSON") from exc
        unknown = set(params) - {"MaxItems", "NextToken", "Includes"}
        if unknown:
            raise AcmRefused("ValidationException", f"the sandbox does not take {sorted(unknown)}")
        max_items = params.get("MaxItems", ACM_PAGE_MAX)
        if not isinstance(max_items, int) or not 1 <= max_items <= ACM_PAGE_MAX:
            raise AcmRefused("ValidationException", "MaxItems must be between 1 and 1000")
        key_types = (params.get("Includes") or {}).get("keyTypes") or list(ACM_DEFAULT_KEY_TYPES)
        offset = _offset(params.get("NextToken"))
    except AcmRefused as exc:
        return Response(
            json.dumps({"__type": exc.code, "message": exc.message}),
            status=400,
            content_type="application/x-amz-json-1.1",
            headers={"X-Amzn-RequestId": str(uuid.uuid4())},
        )
    data: OperationsData = account.operations or OperationsData()
    certificates = [c for c in (data.certificates if region == REGION else []) if c.key_algorithm in key_types]
    body: dict[str, Any] = {
        "CertificateSummaryList": [_certificate(c) for c in certificates[offset : offset + max_items]]
    }
    if offset + max_items < len(certificates):
        body["NextToken"] = base64.urlsafe_b64encode(f"offset:{offset + max_items}".encode()).decode()
    return Response(
        json.dumps(body),
        status=200,
        content_type="application/x-amz-json-1.1",
        headers={"X-Amzn-RequestId": str(uuid.uuid4())},
    )


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise AcmRefused("InvalidArgsException", "invalid NextToken") from exc


def _certificate(cert: Certificate) -> dict[str, Any]:
    issued = cert.not_after is not None
    summary = {
        "CertificateArn": cert.arn,
        "DomainName": cert.domain,
        "SubjectAlternativeNameSummaries": [cert.domain],
        "HasAdditionalSubjectAlternativeNames": False,
        "Status": cert.status,
        "Type": cert.cert_type,
        "KeyAlgorithm": cert.key_algorithm,
        "KeyUsages": ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"] if issued else [],
        "ExtendedKeyUsages": ["TLS_WEB_SERVER_AUTHENTICATION"] if issued else [],
        "InUse": cert.in_use,
        "RenewalEligibility": "ELIGIBLE" if cert.cert_type == "AMAZON_ISSUED" and issued else "INELIGIBLE",
        "CreatedAt": (cert.not_after - timedelta(days=395)).timestamp() if issued else datetime.now(UTC).timestamp(),
    }
    if issued:  # NotBefore / NotAfter / IssuedAt only once issued
        summary["NotBefore"] = (cert.not_after - timedelta(days=395)).timestamp()
        summary["NotAfter"] = cert.not_after.timestamp()
        key = "ImportedAt" if cert.cert_type == "IMPORTED" else "IssuedAt"
        summary[key] = summary["NotBefore"]
    return summary


# -- moto seeding through the running endpoint ---------------------------------------------------------------
def seed(data: Any, endpoint_url: str, access_key_id: str, secret_access_key: str) -> None:
    """Create each account's load balancers, log groups and detector in moto, through the endpoint with the account's
    assumed role (moto keys its state by the account of the credentials). The backends of these services are reset
    first, so starting the same organisation twice in one process gives the same state."""
    from moto.elbv2.models import elbv2_backends
    from moto.guardduty.models import guardduty_backends
    from moto.logs.models import logs_backends

    from connectors.aws import AwsConfig, account_sessions

    for account in data.accounts:
        for backends in (elbv2_backends, logs_backends, guardduty_backends):
            backends[account.account_id][REGION].reset()
    if not data.accounts:
        return
    config = AwsConfig(
        role_arns=tuple(a.role_arn for a in data.accounts),
        regions=(REGION,),
        endpoint_url=endpoint_url,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
    )
    for session, account in zip(account_sessions(config), data.accounts, strict=True):
        ops: OperationsData = account.operations or OperationsData()
        logs = session.client("logs", REGION)
        for name, days in ops.log_groups:
            logs.create_log_group(logGroupName=name)
            if days is not None:
                logs.put_retention_policy(logGroupName=name, retentionInDays=days)
        if ops.detector is not None:
            session.client("guardduty", REGION).create_detector(Enable=ops.detector == "ENABLED")
        if ops.load_balancers:
            _seed_load_balancers(session, ops.load_balancers)


def _seed_load_balancers(session: Any, balancers: list[LoadBalancer]) -> None:
    ec2, elb = session.client("ec2", REGION), session.client("elbv2", REGION)
    # moto's default VPC and subnets: nothing new in EC2 (other datasets count its security groups and volumes)
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    vpc = subnets[0]["VpcId"]
    subnet_ids = [s["SubnetId"] for s in subnets[:2]]
    target = elb.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    forward = [{"Type": "forward", "TargetGroupArn": target["TargetGroupArn"]}]
    to_https = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    # moto checks a listener's certificate exists in its ACM or IAM; ACM is served here, so an IAM server certificate
    certificate = _server_certificate(session.account_id)
    for balancer in balancers:
        arn = elb.create_load_balancer(Name=balancer.name, Subnets=subnet_ids, Type=balancer.lb_type)["LoadBalancers"][
            0
        ]["LoadBalancerArn"]
        for listener in balancer.listeners:
            kwargs: dict[str, Any] = {"LoadBalancerArn": arn, "Protocol": listener.protocol, "Port": listener.port}
            if listener.ssl_policy:
                kwargs.update(SslPolicy=listener.ssl_policy, Certificates=[{"CertificateArn": certificate}])
            kwargs["DefaultActions"] = to_https if listener.default == "redirect" else forward
            created = elb.create_listener(**kwargs)["Listeners"][0]
            for priority, path, action in listener.rules:
                elb.create_rule(
                    ListenerArn=created["ListenerArn"],
                    Priority=priority,
                    Conditions=[{"Field": "path-pattern", "Values": [path]}],
                    Actions=to_https if action == "redirect" else forward,
                )


def _server_certificate(account_id: str) -> str:
    """An IAM server certificate in moto's backend (in process; reset with IAM by serve.seed_moto): only its ARN."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["global"]
    existing = next((c for c in iam.certificates.values() if c.cert_name == "sandbox-listener"), None)
    return (existing or iam.upload_server_certificate("sandbox-listener", "sandbox", "sandbox")).arn


# -- the request minimum of one account's datasets (the contract cases and the bench) ---------------------------
OPERATIONS_DATASETS = (
    "backup_vaults",
    "copy_jobs",
    "certificates",
    "ssl_policies",
    "lb_listeners",
    "log_groups",
    "guardduty_detectors",
)


def operations_records(account: Any, dataset: str, today: Any, backup_job_days: int) -> int:
    """The records of `dataset` the sandbox holds for `account` in REGION (copy jobs: those in the pipeline's window),
    from the model, not from what the fake serves."""
    from connectors.aws import backup_jobs_created_after

    ops: OperationsData = account.operations or OperationsData()
    since = backup_jobs_created_after(today, backup_job_days)
    counts = {
        "backup_vaults": lambda: len(ops.vaults),
        "copy_jobs": lambda: sum(1 for job in ops.copy_jobs if job.created > since),
        "certificates": lambda: len(ops.certificates),  # every key type
        "ssl_policies": lambda: len(moto_ssl_policies()),
        "lb_listeners": lambda: sum(len(lb.listeners) for lb in ops.load_balancers),
        "log_groups": lambda: len(ops.log_groups),
        "guardduty_detectors": lambda: 1,  # its detector, or the row saying there is none
    }
    return counts[dataset]()


def operations_requests(account: Any, dataset: str, today: Any, backup_job_days: int) -> int:
    """One account's page-size minimum in REGION, through the connector's formulas (connectors/aws/minimum.py)."""
    from connectors.aws.minimum import operations_min_requests

    ops: OperationsData = account.operations or OperationsData()
    if dataset == "lb_listeners":
        rules = sum(listener.judged_by_rules for lb in ops.load_balancers for listener in lb.listeners)
        return operations_min_requests(
            dataset, 0, load_balancers=len(ops.load_balancers), http_listeners_judged_by_rules=rules
        )
    if dataset == "guardduty_detectors":
        return operations_min_requests(dataset, 0, detectors=int(ops.detector is not None))
    return operations_min_requests(dataset, operations_records(account, dataset, today, backup_job_days))


def operations_pipeline_min_requests(accounts: Any, today: Any, backup_job_days: int) -> dict[str, int]:
    """`aws.<dataset>` -> the minimum over every account, for sandbox/minimum.py's pipeline_min_requests (the bench)."""
    return {
        f"aws.{name}": sum(operations_requests(a, name, today, backup_job_days) for a in accounts)
        for name in OPERATIONS_DATASETS
    }
