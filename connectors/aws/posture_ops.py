"""AWS operations posture (issue 16, posture B): AWS Backup vaults and copy jobs, ACM certificates, ELBv2 listeners
and SSL policies, CloudWatch Logs log groups, GuardDuty detectors, and the IAM policy-document analysis that
extends `authorization_details` (connectors/aws/policy_documents.py; no second GetAccountAuthorizationDetails walk).

Requests per dataset, account and region (shapes and limits from botocore's models):
  backup_vaults        ⌈V/1000⌉   ListBackupVaults (MaxResults 1-1000)
  copy_jobs            ⌈J/1000⌉   ListCopyJobs (MaxResults 1-1000), J = jobs created after ByCreatedAfter
  certificates         ⌈C/1000⌉   ACM ListCertificates (MaxItems 1-1000), every key type (Includes.keyTypes)
  ssl_policies         ⌈P/400⌉    ELBv2 DescribeSSLPolicies (PageSize 1-400)
  lb_listeners         ⌈LB/400⌉ + LB + H   DescribeLoadBalancers, then DescribeListeners per load balancer (at most
                       50 listeners each, one page of 400), then DescribeRules for each of the H HTTP listeners whose
                       default action is not a redirect to HTTPS (at most 100 rules each, one page of 400)
  log_groups           ⌈L/50⌉     CloudWatch Logs DescribeLogGroups (limit 1-50)
  guardduty_detectors  ⌈D/50⌉ + D ListDetectors (MaxResults 1-50) + GetDetector per detector; D is 0 or 1 per region
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from botocore.client import BaseClient

from connectors.aws.posture import StepStream, _expect
from connectors.aws.streams import (
    BACKUP_PAGE,
    AwsStream,
    BackupJobs,
    BackupStream,
    JsonListStream,
    PagedAwsStream,
    _without_metadata,
    required,
    ts,
)
from connectors.stream import pages

ACM_PAGE = 1000
ELB_PAGE = 400
LOGS_PAGE = 50
GUARDDUTY_PAGE = 50
#: every key type ACM issues or imports: without `Includes.keyTypes` ListCertificates returns only RSA_1024 and
#: RSA_2048 certificates (ACM API reference, ListCertificates "Includes"), so an EC or RSA-4096 certificate about to
#: expire would never be seen
ACM_KEY_TYPES = ("RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1")


def arn_part(arn: str | None, index: int) -> str | None:
    """Field `index` of an ARN (arn:partition:service:region:account:resource): 3 = region, 4 = account."""
    parts = (arn or "").split(":")
    return parts[index] or None if len(parts) > 5 else None


def _epoch_ms(value: Any) -> str | None:
    """CloudWatch Logs' timestamps are epoch milliseconds."""
    return ts(value / 1000) if isinstance(value, int | float) else ts(value)


# -- AWS Backup ----------------------------------------------------------------------------------------------
class BackupVaults(BackupStream):
    """ListBackupVaults: each vault's KMS key (EncryptionKeyArn, EncryptionKeyType when AWS reports it) and lock."""

    dataset = "backup_vaults"
    operation = "ListBackupVaults"
    items_key = "BackupVaultList"

    def record(self, vault: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "backup_vault_arn": required(vault, "BackupVaultArn", self.operation),
            "backup_vault_name": vault.get("BackupVaultName"),
            "vault_type": vault.get("VaultType"),
            "vault_state": vault.get("VaultState"),
            "encryption_key_arn": vault.get("EncryptionKeyArn"),
            # AWS_OWNED_KMS_KEY | CUSTOMER_MANAGED_KMS_KEY; optional in the model, so null means "not said"
            "encryption_key_type": vault.get("EncryptionKeyType"),
            "locked": vault.get("Locked"),
            "min_retention_days": vault.get("MinRetentionDays"),
            "max_retention_days": vault.get("MaxRetentionDays"),
            "number_of_recovery_points": vault.get("NumberOfRecoveryPoints"),
            "creation_date": ts(vault.get("CreationDate")),
        }


class CopyJobs(BackupJobs):
    """ListCopyJobs: the copies of recovery points to other vaults, created after `created_after` (ByCreatedAfter, the
    backup jobs' window and handling); the destination's region and account come from its vault ARN."""

    dataset = "copy_jobs"
    operation = "ListCopyJobs"
    items_key = "CopyJobs"

    def record(self, job: dict[str, Any]) -> dict[str, Any]:
        destination = job.get("DestinationBackupVaultArn")
        return {
            **self.base(),
            "copy_job_id": required(job, "CopyJobId", self.operation),
            "resource_arn": job.get("ResourceArn"),
            "resource_type": job.get("ResourceType"),
            "resource_name": job.get("ResourceName"),
            "source_backup_vault_arn": job.get("SourceBackupVaultArn"),
            "source_recovery_point_arn": job.get("SourceRecoveryPointArn"),
            "destination_backup_vault_arn": destination,
            "destination_region": arn_part(destination, 3),
            "destination_account_id": arn_part(destination, 4),
            "state": job.get("State"),
            "status_message": job.get("StatusMessage"),
            "creation_date": ts(job.get("CreationDate")),
            "completion_date": ts(job.get("CompletionDate")),
            "created_by_backup_job_id": job.get("CreatedByBackupJobId"),
        }


# -- ACM -----------------------------------------------------------------------------------------------------
class Certificates(JsonListStream):
    """ACM ListCertificates with every key type; the summaries carry NotAfter (absent until a certificate is
    issued), Status, InUse and the key algorithm, so no DescribeCertificate per certificate."""

    dataset = "certificates"
    service = "acm"
    operation = "ListCertificates"
    items_key = "CertificateSummaryList"
    page_param, page_size = "MaxItems", ACM_PAGE

    def params(self, cursor: Any) -> dict[str, Any]:
        return {**super().params(cursor), "Includes": {"keyTypes": list(ACM_KEY_TYPES)}}

    def record(self, cert: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "certificate_arn": required(cert, "CertificateArn", self.operation),
            "domain_name": cert.get("DomainName"),
            "status": cert.get("Status"),
            "type": cert.get("Type"),
            "key_algorithm": cert.get("KeyAlgorithm"),
            "in_use": cert.get("InUse"),
            "renewal_eligibility": cert.get("RenewalEligibility"),
            "not_before": ts(cert.get("NotBefore")),
            "not_after": ts(cert.get("NotAfter")),
            "issued_at": ts(cert.get("IssuedAt")),
            "imported_at": ts(cert.get("ImportedAt")),
            "revoked_at": ts(cert.get("RevokedAt")),
        }


# -- ELBv2 ---------------------------------------------------------------------------------------------------
class SslPolicies(PagedAwsStream):
    """DescribeSSLPolicies: the protocols each predefined policy allows (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)."""

    dataset = "ssl_policies"
    service = "elbv2"
    operation = "DescribeSSLPolicies"
    items_key = "SslPolicies"
    page_param, page_size, token_in, token_out = "PageSize", ELB_PAGE, "Marker", "NextMarker"

    def request(self, cursor: Any) -> Any:
        return _without_metadata(self.client.describe_ssl_policies(**self.params(cursor)))

    def record(self, policy: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "name": required(policy, "Name", self.operation),
            "ssl_protocols": list(policy.get("SslProtocols") or []),
            "supported_load_balancer_types": list(policy.get("SupportedLoadBalancerTypes") or []),
        }


def redirects_to_https(actions: list[dict[str, Any]] | None) -> bool:
    """A redirect whose protocol is HTTPS (`#{protocol}` keeps the request's own, HTTP)."""
    return any(
        a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS"
        for a in actions or []
    )


def _catch_all(rule: dict[str, Any]) -> bool:
    """A rule that matches every request: its only conditions are path patterns `*` or `/*`."""
    conditions = rule.get("Conditions") or []
    if not conditions:
        return False
    for condition in conditions:
        values = condition.get("Values") or (condition.get("PathPatternConfig") or {}).get("Values") or []
        if condition.get("Field") != "path-pattern" or not set(values) & {"*", "/*"}:
            return False
    return True


def rules_redirect(rules: list[dict[str, Any]]) -> tuple[bool, str | None]:
    """Whether an HTTP listener's rules send every request to HTTPS before its (non-redirecting) default action:
    walking the rules in priority order, every rule until a catch-all one must redirect to HTTPS. Returns the
    verdict and the rule that decides it (the catch-all redirect, or the first rule serving plain HTTP)."""

    def priority(rule: dict[str, Any]) -> int:
        value = str(rule.get("Priority") or "")
        return int(value) if value.isdigit() else 1 << 30

    for rule in sorted((r for r in rules if not r.get("IsDefault")), key=priority):
        if not redirects_to_https(rule.get("Actions")):
            return False, rule.get("RuleArn")
        if _catch_all(rule):
            return True, rule.get("RuleArn")
    return False, None


class LbListeners(StepStream):
    """Every ELBv2 listener of the region: DescribeLoadBalancers (400 a page), DescribeListeners per load balancer,
    and DescribeRules for the HTTP listeners whose default action does not redirect to HTTPS (a catch-all rule may).
    Steps: ("lbs", marker), ("listeners", load balancer index, marker), ("rules", listener arn, marker)."""

    dataset = "lb_listeners"
    service = "elbv2"
    method = "POST"
    operations = {"lbs": "DescribeLoadBalancers", "listeners": "DescribeListeners", "rules": "DescribeRules"}

    def __init__(self, client: BaseClient, account_id: str) -> None:
        self._load_balancers: list[dict[str, Any]] = []
        #: HTTP listener records awaiting their rules (by listener ARN), and the rules read so far for each
        self._awaiting: dict[str, dict[str, Any]] = {}
        self._rules: dict[str, list[dict[str, Any]]] = {}
        super().__init__(client, account_id)

    def first_step(self) -> tuple[Any, ...]:
        return ("lbs", None)

    def operation_of(self, step: tuple[Any, ...]) -> str:
        return self.operations[step[0]]

    def perform(self, step: tuple[Any, ...]) -> dict[str, Any]:
        kind, marker = step[0], step[-1]
        params: dict[str, Any] = {"PageSize": ELB_PAGE, **({"Marker": marker} if marker else {})}
        if kind == "lbs":
            return _without_metadata(self.client.describe_load_balancers(**params))
        if kind == "listeners":
            arn = self._load_balancers[step[1]]["LoadBalancerArn"]
            return _without_metadata(self.client.describe_listeners(LoadBalancerArn=arn, **params))
        return _without_metadata(self.client.describe_rules(ListenerArn=step[1], **params))

    def handle(self, step: tuple[Any, ...], payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        kind, marker = step[0], payload.get("NextMarker") or None
        if kind == "lbs":
            first = len(self._load_balancers)
            self._load_balancers.extend(payload.get("LoadBalancers") or [])
            if marker:
                self._queue.append(("lbs", marker))
            self._queue.extend(("listeners", i, None) for i in range(first, len(self._load_balancers)))
            return []
        if kind == "listeners":
            if marker:
                self._queue.appendleft(("listeners", step[1], marker))
            records = []
            for listener in payload.get("Listeners") or []:
                record = self._record(self._load_balancers[step[1]], listener)
                if record["protocol"] == "HTTP" and not record["redirects_to_https"]:
                    self._awaiting[record["listener_arn"]] = record  # yielded once its rules are read
                    self._queue.append(("rules", record["listener_arn"], None))
                else:
                    records.append(record)
            return records
        arn = step[1]
        self._rules.setdefault(arn, []).extend(payload.get("Rules") or [])
        if marker:
            self._queue.appendleft(("rules", arn, marker))
            return []
        record = self._awaiting.pop(arn)
        rules = self._rules.pop(arn)
        redirected, rule_arn = rules_redirect(rules)
        record.update(redirects_to_https=redirected, redirect_rule_arn=rule_arn, rules_read=len(rules))
        return [record]

    def _record(self, balancer: dict[str, Any], listener: dict[str, Any]) -> dict[str, Any]:
        protocol = listener.get("Protocol")
        default_actions = listener.get("DefaultActions") or []
        http = protocol == "HTTP"
        return {
            **{"account_id": self.account_id, "region": self.region},
            "listener_arn": required(listener, "ListenerArn", "DescribeListeners"),
            "load_balancer_arn": balancer.get("LoadBalancerArn"),
            "load_balancer_name": balancer.get("LoadBalancerName"),
            "load_balancer_type": balancer.get("Type"),
            "scheme": balancer.get("Scheme"),
            "port": listener.get("Port"),
            "protocol": protocol,
            # only HTTPS and TLS listeners negotiate TLS; an SslPolicy on another listener means nothing
            "ssl_policy": listener.get("SslPolicy") if protocol in ("HTTPS", "TLS") else None,
            "default_actions": json.dumps(default_actions, sort_keys=True, default=str),
            "redirects_to_https": redirects_to_https(default_actions) if http else None,
            "redirect_rule_arn": None,
            "rules_read": None,
        }


# -- CloudWatch Logs ------------------------------------------------------------------------------------------
class LogGroups(JsonListStream):
    """DescribeLogGroups: each log group's retentionInDays (absent: the data never expires)."""

    dataset = "log_groups"
    service = "logs"
    operation = "DescribeLogGroups"
    items_key = "logGroups"
    page_param, page_size, token_in, token_out = "limit", LOGS_PAGE, "nextToken", "nextToken"

    def record(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "log_group_name": required(group, "logGroupName", self.operation),
            "log_group_arn": group.get("logGroupArn") or group.get("arn"),
            "retention_in_days": group.get("retentionInDays"),
            "creation_time": _epoch_ms(group.get("creationTime")),
            "stored_bytes": group.get("storedBytes"),
            "log_group_class": group.get("logGroupClass"),
            "kms_key_id": group.get("kmsKeyId"),
        }


# -- GuardDuty -------------------------------------------------------------------------------------------------
class GuardDutyDetectors(StepStream):
    """ListDetectors then GetDetector per detector. A region without a detector is recorded as one row without a
    detector id (GuardDuty is off there), so "read, none found" is told apart from "not read"."""

    dataset = "guardduty_detectors"
    service = "guardduty"
    method = "GET"
    operations = {"list": "ListDetectors", "get": "GetDetector"}

    def __init__(self, client: BaseClient, account_id: str) -> None:
        self._detectors = 0
        super().__init__(client, account_id)

    def first_step(self) -> tuple[Any, ...]:
        return ("list", None)

    def operation_of(self, step: tuple[Any, ...]) -> str:
        return self.operations[step[0]]

    def perform(self, step: tuple[Any, ...]) -> dict[str, Any]:
        kind, value = step
        if kind == "get":
            return _expect(_without_metadata(self.client.get_detector(DetectorId=value)), "Status", "GetDetector")
        params: dict[str, Any] = {"MaxResults": GUARDDUTY_PAGE, **({"NextToken": value} if value else {})}
        return _expect(_without_metadata(self.client.list_detectors(**params)), "DetectorIds", "ListDetectors")

    def handle(self, step: tuple[Any, ...], payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        base = {"account_id": self.account_id, "region": self.region}
        kind, value = step
        if kind == "list":
            ids = list(payload.get("DetectorIds") or [])
            self._detectors += len(ids)
            if payload.get("NextToken"):
                self._queue.append(("list", payload["NextToken"]))
            self._queue.extend(("get", detector_id) for detector_id in ids)
            if not self._queue and not self._detectors:  # listed to the end: no detector in this region
                return [{**base, **dict.fromkeys(DETECTOR_FIELDS)}]
            return []
        features = [{"name": f.get("Name"), "status": f.get("Status")} for f in payload.get("Features") or []]
        return [
            {
                **base,
                "detector_id": value,
                "status": payload.get("Status"),
                "finding_publishing_frequency": payload.get("FindingPublishingFrequency"),
                "created_at": ts(payload.get("CreatedAt")),
                "updated_at": ts(payload.get("UpdatedAt")),
                "features": json.dumps(features, sort_keys=True),
            }
        ]


DETECTOR_FIELDS = ("detector_id", "status", "finding_publishing_frequency", "created_at", "updated_at", "features")


# -- the request minimum (connectors/aws/minimum.py re-exports it) --------------------------------------------
#: the page size of each dataset listed in one call
OPERATIONS_PAGE_SIZE = {
    "backup_vaults": BACKUP_PAGE,
    "copy_jobs": BACKUP_PAGE,
    "certificates": ACM_PAGE,
    "ssl_policies": ELB_PAGE,
    "log_groups": LOGS_PAGE,
}


def operations_min_requests(
    dataset: str,
    records: int,
    load_balancers: int = 0,
    http_listeners_judged_by_rules: int = 0,
    detectors: int = 0,
) -> int:
    """Requests for one account and region: the listed datasets ⌈N/page⌉; lb_listeners ⌈LB/400⌉ + LB + H (H: HTTP
    listeners whose default action is not an HTTPS redirect, each read for its rules); guardduty_detectors
    ⌈D/50⌉ + D."""
    if dataset == "lb_listeners":
        return pages(load_balancers, ELB_PAGE) + load_balancers + http_listeners_judged_by_rules
    if dataset == "guardduty_detectors":
        return pages(detectors, GUARDDUTY_PAGE) + detectors
    return pages(records, OPERATIONS_PAGE_SIZE[dataset])


#: dataset -> (stream class, regional?): merged into connectors.aws.DATASETS
OPERATIONS_DATASETS: dict[str, tuple[type[AwsStream], bool]] = {
    "backup_vaults": (BackupVaults, True),
    "copy_jobs": (CopyJobs, True),
    "certificates": (Certificates, True),
    "ssl_policies": (SslPolicies, True),
    "lb_listeners": (LbListeners, True),
    "log_groups": (LogGroups, True),
    "guardduty_detectors": (GuardDutyDetectors, True),
}
