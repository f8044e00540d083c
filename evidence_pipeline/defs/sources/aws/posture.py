"""The descriptions of the AWS posture datasets (connectors/aws/posture.py), merged into the AWS declaration's."""

from __future__ import annotations

POSTURE_DESCRIPTIONS = {
    "regions": "ec2 DescribeRegions per account: the regions the account has enabled (OptInStatus), each flagged "
    "`configured` when AWS_REGIONS names it. The regional controls judge every enabled region: one not read is "
    "unknown (add it to AWS_REGIONS).",
    "s3_buckets": "Every S3 bucket per account (ListBuckets, paginated, 10,000 a page) with, read in its own region, "
    "its location, default encryption, bucket public access block and policy: 1 + 4N requests for N buckets.",
    "s3_account_public_access": "s3control GetPublicAccessBlock per account: the block over every bucket.",
    "ebs_encryption_default": "EC2 GetEbsEncryptionByDefault per account and region.",
    "ebs_volumes": "EC2 DescribeVolumes per account and region (500 a page): each volume's encryption.",
    "security_groups": "EC2 DescribeSecurityGroups per account and region (1,000 a page): each group's ingress, one "
    "entry per source (IPv4 and IPv6 ranges, prefix lists, security groups).",
    "kms_keys": "KMS ListKeys per account and region (1,000 a page), DescribeKey per key, GetKeyRotationStatus per "
    "enabled customer managed symmetric key of AWS_KMS origin (the keys automatic rotation applies to).",
    "rds_clusters": "RDS DescribeDBClusters per account and region (100 a page): Multi-AZ, deletion protection, "
    "encryption and log exports of Aurora and Multi-AZ DB clusters.",
    "cloudtrail_trails": "CloudTrail DescribeTrails in every configured region (shadow trails included), one row per "
    "TrailARN, with GetTrailStatus and GetEventSelectors by ARN: R + 2T requests.",
}
