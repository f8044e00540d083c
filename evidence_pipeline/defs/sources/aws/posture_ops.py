"""The descriptions of the AWS operations datasets (connectors/aws/posture_ops.py), merged into the AWS
declaration's."""

from __future__ import annotations

from evidence_pipeline.defs.sources.declaration import REPEATED_PAGE

OPERATIONS_DESCRIPTIONS = {
    "backup_vaults": "AWS Backup ListBackupVaults per account and region (1,000 a page): each vault's KMS key "
    "(EncryptionKeyArn, EncryptionKeyType when reported), lock and retention limits.",
    "copy_jobs": "AWS Backup ListCopyJobs per account and region (1,000 a page), created since midnight UTC "
    "AWS_BACKUP_JOB_DAYS days before the partition day (ByCreatedAfter, in provenance): each copy's destination vault, "
    "its region and account (offsite when either differs), state and dates.",
    "certificates": "ACM ListCertificates per account and region (1,000 a page) with every key type "
    "(Includes.keyTypes; the default hides all but RSA 1024/2048): status, NotAfter (absent until "
    "issued), InUse, key algorithm.",
    "ssl_policies": "ELBv2 DescribeSSLPolicies per account and region (400 a page): the TLS protocols of each policy.",
    "lb_listeners": "ELBv2 listeners per account and region: DescribeLoadBalancers (400 a page), DescribeListeners per "
    "load balancer, DescribeRules per HTTP listener whose default action is not an HTTPS redirect: ⌈LB/400⌉ + LB + H "
    "requests. Protocol, SSL policy and whether plain HTTP is redirected to HTTPS.",
    "log_groups": "CloudWatch Logs DescribeLogGroups per account and region (50 a page): retentionInDays "
    "(absent: never expire).",
    "guardduty_detectors": "GuardDuty ListDetectors and GetDetector per account and region: the detector's status and "
    "features; a region without a detector is one row without a detector id (GuardDuty off).",
}

#: the datasets whose truncated JSON body is retried (the fault matrix): the JSON protocols; ELBv2's XML fails to parse
OPERATIONS_MALFORMED_RETRIED = frozenset(
    f"aws.{name}" for name in ("backup_vaults", "copy_jobs", "certificates", "log_groups", "guardduty_detectors")
)
#: the datasets with a second page at the contract's largest sandbox, refused when a page repeats
OPERATIONS_REPEATED_PAGE = {"aws.copy_jobs": REPEATED_PAGE, "aws.log_groups": REPEATED_PAGE}
