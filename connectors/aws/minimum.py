"""The fewest requests each AWS dataset needs for one account (and one region for the regional datasets), at the
connector's page sizes: what the contract tests and the bench hold the connector to. Role assumption is session
setup, outside every dataset's count."""

from __future__ import annotations

from connectors.aws.posture import (
    BUCKET_READS,
    EBS_VOLUME_PAGE,
    KMS_PAGE,
    RDS_CLUSTER_PAGE,
    S3_LIST_PAGE,
    SECURITY_GROUP_PAGE,
)

# AWS posture B (connectors/aws/posture_ops.py): its per-region formulas, lb_listeners and guardduty_detectors per
# resource (⌈LB/400⌉ + LB + H, ⌈D/50⌉ + D), the others ⌈N/page⌉
from connectors.aws.posture_ops import OPERATIONS_PAGE_SIZE, operations_min_requests  # noqa: F401
from connectors.aws.streams import BACKUP_PAGE, IAM_PAGE, IDENTITY_STORE_PAGE, RDS_PAGE
from connectors.stream import pages

#: datasets of a fixed number of requests: the credential report is generated (STARTED), polled once (COMPLETE
#: when AWS has it ready by then) and fetched; the account summary and password policy are one call each
FIXED_REQUESTS = {"credential_report": 3, "account_summary": 1, "password_policy": 1}
#: the page size of each listed dataset
PAGE_SIZE = {
    "authorization_details": IAM_PAGE,
    "backup_jobs": BACKUP_PAGE,
    "restore_jobs": BACKUP_PAGE,
    "protected_resources": BACKUP_PAGE,
    "backup_plans": BACKUP_PAGE,
    "rds_instances": RDS_PAGE,
    "identity_center_users": IDENTITY_STORE_PAGE,
}


def min_requests(dataset: str, records: int) -> int:
    """Requests for `records` records of `dataset` in one account: for backup_jobs the jobs created after
    `backup_jobs_created_after(day, days)`, for authorization_details its users, groups, roles and policies. An
    account without an identity store is not asked for identity_center_users at all (0: leave it out)."""
    if dataset in FIXED_REQUESTS:
        return FIXED_REQUESTS[dataset]
    return pages(records, PAGE_SIZE[dataset])


# -- posture (connectors/aws/posture.py) ---------------------------------------------------------------------------
#: one request each per account (regions, the account's S3 block) or per account and region (EBS default)
POSTURE_FIXED_REQUESTS = {"regions": 1, "s3_account_public_access": 1, "ebs_encryption_default": 1}
POSTURE_PAGE_SIZE = {
    "ebs_volumes": EBS_VOLUME_PAGE,
    "security_groups": SECURITY_GROUP_PAGE,
    "rds_clusters": RDS_CLUSTER_PAGE,
}


def bucket_requests(buckets: int, regions_listed: bool = False) -> int:
    """s3_buckets, per account: 1 + 4N (⌈N/10,000⌉ ListBuckets pages + GetBucketLocation, GetBucketEncryption,
    GetPublicAccessBlock and GetBucketPolicy per bucket); 1 + 3N where ListBuckets reports each bucket's BucketRegion
    (real S3 does when the request carries MaxBuckets; moto does not), which spares GetBucketLocation."""
    return pages(buckets, S3_LIST_PAGE) + (len(BUCKET_READS) - regions_listed) * buckets


def kms_key_requests(keys: int, rotation_checked: int) -> int:
    """kms_keys, per account and region: ⌈K/1000⌉ + K + E (E: the keys rotation applies to)."""
    return pages(keys, KMS_PAGE) + keys + rotation_checked


def cloudtrail_requests(regions: int, trails: int) -> int:
    """cloudtrail_trails, per account: R + 2T (DescribeTrails per configured region; status and selectors per
    distinct TrailARN)."""
    return regions + 2 * trails


def posture_min_requests(dataset: str, records: int) -> int:
    """The fixed and the paged posture datasets (the others have their own formula above)."""
    if dataset in POSTURE_FIXED_REQUESTS:
        return POSTURE_FIXED_REQUESTS[dataset]
    return pages(records, POSTURE_PAGE_SIZE[dataset])
