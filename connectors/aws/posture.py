"""AWS posture datasets (SOURCES-2 §2.1-2.5): the regions each account has enabled, S3 buckets' encryption, public
access blocks and policies (and the account's public access block), EBS encryption by default and volumes, security
groups' ingress, KMS keys with their rotation, RDS clusters, and CloudTrail trails with their status and selectors.

Requests per account (R = configured regions, per region where marked), with N items:
  regions                   1          ec2 DescribeRegions without AllRegions: the regions the account has enabled
  s3_buckets                ⌈N/10,000⌉ + 4N  ListBuckets (always paginated: AWS rejects an unpaginated call from an
                                       account whose bucket quota is above 10,000) + per bucket GetBucketLocation,
                                       GetBucketEncryption, GetPublicAccessBlock, GetBucketPolicy in its own region
  s3_account_public_access  1          s3control GetPublicAccessBlock(AccountId)
  ebs_encryption_default    1 per region
  ebs_volumes               ⌈N/500⌉ per region  (DescribeVolumes' MaxResults 5-500)
  security_groups           ⌈N/1000⌉ per region (MaxResults 5-1000)
  kms_keys                  ⌈N/1000⌉ + N + E per region: ListKeys, DescribeKey per key, GetKeyRotationStatus per key
                                       that rotation applies to (E: customer managed, SYMMETRIC_DEFAULT, Origin AWS_KMS,
                                       Enabled); asking the others errors (asymmetric, HMAC, imported, custom store) or
                                       says nothing (AWS managed keys rotate yearly; pending deletion)
  rds_clusters              ⌈N/100⌉ per region  (MaxRecords 20-100)
  cloudtrail_trails         R + 2T     DescribeTrails per configured region (shadow trails included), then per
                                       distinct TrailARN GetTrailStatus and GetEventSelectors (by ARN: shadow and
                                       organization trails are not found by name)

moto in server mode answers these calls with quirks the connector does not rely on: ListBuckets ignores
ContinuationToken and omits BucketRegion (so the location is asked per bucket, which real S3 also answers), and
DescribeVolumes, DescribeSecurityGroups and ListKeys ignore their page size (one page, whatever the size).
"""

from __future__ import annotations

import ipaddress
import json
from collections import deque
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from connectors.aws.client import AccountSession
from connectors.aws.streams import (
    AwsStream,
    MalformedResponse,
    PagedAwsStream,
    _without_metadata,
    required,
    ts,
)
from connectors.aws.streams import RdsInstances as CoreRdsInstances
from connectors.stream import Retry

S3_LIST_PAGE = 10_000
EBS_VOLUME_PAGE = 500
SECURITY_GROUP_PAGE = 1000
KMS_PAGE = 1000
RDS_CLUSTER_PAGE = 100
#: the per-bucket reads, in the order they are made (the location first: the others go to the bucket's region)
BUCKET_READS = ("location", "encryption", "public_access_block", "policy")
#: a bucket read's "nothing configured" answers: data, not failures
ABSENT = {
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "public_access_block": "NoSuchPublicAccessBlockConfiguration",
    "policy": "NoSuchBucketPolicy",
}
#: a bucket read refused or gone (a bucket policy denying the auditor, a bucket deleted since the list): that bucket's
#: attribute is unreadable (its controls unknown), not the dataset's failure
UNREADABLE = ("AccessDenied", "AllAccessDisabled", "NoSuchBucket", "PermanentRedirect", "MethodNotAllowed")


def region_of_location(constraint: str | None) -> str:
    """GetBucketLocation's LocationConstraint: null (or empty) is us-east-1, the legacy `EU` is eu-west-1."""
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def _listed(value: Any) -> list[Any]:
    """A policy element that may be one value or a list of them."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def denies_insecure_transport(policy_text: str | None, bucket: str) -> bool | None:
    """Whether a bucket policy denies every request made without TLS to the bucket and its objects: a Deny statement
    for all principals, `s3:*` (or `*`), on both `arn:aws:s3:::<bucket>` and `arn:aws:s3:::<bucket>/*` (or `*`),
    under Condition Bool (or BoolIfExists) aws:SecureTransport false (the S3 User Guide's example policy), and no
    other condition narrowing it. No policy is False; a policy that is not a JSON object is None (unknown)."""
    if policy_text is None:
        return False
    try:
        document = json.loads(policy_text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    wanted = {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    covered: set[str] = set()
    for statement in _listed(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        if statement.get("Principal") not in ("*", {"AWS": "*"}, {"AWS": ["*"]}) or "NotAction" in statement:
            continue
        if not {"s3:*", "*"} & {str(a).lower() for a in _listed(statement.get("Action"))}:
            continue
        condition = statement.get("Condition") or {}
        insecure = [
            str(v).lower()
            for operator in ("Bool", "BoolIfExists")
            for key, v in (condition.get(operator) or {}).items()
            if key.lower() == "aws:securetransport"
            for v in _listed(v)
        ]
        if insecure != ["false"] or len(condition) != 1:  # another condition narrows the deny
            continue
        resources = {str(r) for r in _listed(statement.get("Resource"))}
        covered |= wanted if "*" in resources or "arn:aws:s3:::*" in resources else resources & wanted
    return covered == wanted


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _has_ip_host(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def send_to_configured_endpoint(client: BaseClient) -> BaseClient:
    """s3control prefixes the AccountId to the host (`123456789012.s3-control.us-east-1.amazonaws.com`), also on a
    configured endpoint_url; an IP address or `localhost` (the sandbox, a local proxy) cannot take a DNS label, so the
    request goes to the endpoint as configured (SOURCES-2 §2.1). Registered before signing: the signature covers the
    host actually used."""
    configured = client.meta.endpoint_url
    if not _has_ip_host(configured):
        return client
    configured_netloc = urlsplit(configured).netloc

    def strip_account_label(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        if parts.netloc.endswith("." + configured_netloc):
            request.url = urlunsplit(parts._replace(netloc=configured_netloc))

    client.meta.events.register("before-sign.s3-control.*", strip_account_label)
    return client


class AccountWideStream(AwsStream):
    """A dataset of one account read across regions with the account's session: the regions (which need the
    configured list), S3 (each bucket in its own region), CloudTrail (one walk over the configured regions, so a
    multi-region trail's shadow copies are read once)."""

    def __init__(self, client: BaseClient, account_id: str, session: AccountSession, regions: tuple[str, ...]) -> None:
        self.session = session
        self.regions = tuple(regions)
        super().__init__(client, account_id)

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "regions": list(self.regions)}

    def regional(self, service: str, region: str) -> BaseClient:
        return self.session.client(service, region)  # the account's one client of the service and region


class StepStream(AwsStream):
    """A dataset made of several kinds of call (a list, then reads per item): each call is one logical request of the
    shared loop (its own provenance entry, retries and pacing), the cursor naming the step. Records are yielded once
    an item's last read is in. `page_scope` keeps each step its own call for the repeated-page guard (two buckets may
    well answer the same encryption configuration). The queued steps are sent `read_ahead` at once: a step is queued
    only once what it reads is known (a bucket's reads after its region)."""

    read_ahead = 8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._queue: deque[tuple[Any, ...]] = deque()
        self._step: tuple[Any, ...] = self.first_step()
        super().__init__(*args, **kwargs)

    def first_step(self) -> tuple[Any, ...]:
        raise NotImplementedError

    @property  # type: ignore[override]
    def endpoint(self) -> str:
        return f"{self.client.meta.endpoint_url} {self.service}:{self.operation_of(self._step)}"

    @endpoint.setter
    def endpoint(self, _: str) -> None:  # set by AwsStream.__init__; the step decides
        pass

    def operation_of(self, step: tuple[Any, ...]) -> str:
        raise NotImplementedError

    def params(self, cursor: Any) -> dict[str, Any]:
        step = cursor or self.first_step()
        return {"operation": self.operation_of(step), "step": list(step[1:])}

    def page_scope(self, cursor: Any) -> Any:
        return cursor

    def call(self, cursor: Any, page: int) -> Any:
        self._step = cursor or self.first_step()  # the step being logged and parsed, in the loop's own turn
        return super().call(cursor, page)

    def request(self, cursor: Any) -> Any:
        return self.perform(cursor or self.first_step())

    def ahead(self, cursor: Any) -> Iterable[Any]:
        return list(self._queue)  # every queued step is requested (its item is listed): it may be sent ahead

    def perform(self, step: tuple[Any, ...]) -> dict[str, Any]:
        raise NotImplementedError

    def handle(self, step: tuple[Any, ...], payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        """Records completed by this step's payload; follow-up steps go to `self._queue`."""
        raise NotImplementedError

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        yield from self.handle(self._step, payload)

    def next_cursor(self, payload: Any) -> Any:
        return self._queue.popleft() if self._queue else None

    def classify(self, exc: Exception) -> Retry | None:
        if isinstance(exc, MalformedResponse):
            return Retry(None, "malformed response body")
        return super().classify(exc)


def _expect(payload: dict[str, Any], member: str, operation: str) -> dict[str, Any]:
    """A JSON-protocol answer must carry the member its model always returns: botocore turns a body it cannot parse
    into {"message": body}, which is not an empty answer."""
    if member not in payload:
        raise MalformedResponse(f"{operation} answered without {member}: {str(payload)[:120]}")
    return payload


# -- regions ---------------------------------------------------------------------------------------------------------
class Regions(AccountWideStream):
    """ec2 DescribeRegions (AllRegions false): the regions the account has enabled (OptInStatus opt-in-not-required or
    opted-in), each flagged `configured` when AWS_REGIONS names it. A regional control judges every enabled region:
    one that was not read is unknown ("not read: add it to AWS_REGIONS"), never a pass for the account."""

    dataset = "regions"
    service = "ec2"
    operation = "DescribeRegions"

    def request(self, cursor: Any) -> Any:
        return _without_metadata(self.client.describe_regions())

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for region in payload.get("Regions") or []:
            name = required(region, "RegionName", self.operation)
            yield {
                "account_id": self.account_id,
                "region": name,
                "opt_in_status": region.get("OptInStatus"),
                "configured": name in self.regions,
            }


# -- S3 --------------------------------------------------------------------------------------------------------------
class S3Buckets(AccountWideStream, StepStream):
    """Every bucket of the account (ListBuckets, paginated to the end) with its region, default encryption, bucket
    public access block and policy, each read in the bucket's region. "Not configured" answers are recorded as such
    (`encryption_status` not_configured, `public_access_block_configured` false, `policy_present` false); a read the
    bucket refused is listed in `unreadable` and leaves that attribute null."""

    dataset = "s3_buckets"
    service = "s3"
    method = "GET"
    operations = {
        "list": "ListBuckets",
        "location": "GetBucketLocation",
        "encryption": "GetBucketEncryption",
        "public_access_block": "GetPublicAccessBlock",
        "policy": "GetBucketPolicy",
    }

    def __init__(self, client: BaseClient, account_id: str, session: AccountSession, regions: tuple[str, ...]) -> None:
        self._buckets: dict[str, dict[str, Any]] = {}
        super().__init__(client, account_id, session, regions)

    def first_step(self) -> tuple[Any, ...]:
        return ("list", None)

    def operation_of(self, step: tuple[Any, ...]) -> str:
        return self.operations[step[0]]

    def perform(self, step: tuple[Any, ...]) -> dict[str, Any]:
        kind = step[0]
        if kind == "list":
            params: dict[str, Any] = {"MaxBuckets": S3_LIST_PAGE}
            if step[1]:
                params["ContinuationToken"] = step[1]
            return _without_metadata(self.client.list_buckets(**params))
        bucket = step[1]
        client = self.client if kind == "location" else self.regional("s3", self._buckets[bucket]["bucket_region"])
        try:
            if kind == "location":
                return _without_metadata(client.get_bucket_location(Bucket=bucket))
            if kind == "encryption":
                return _without_metadata(client.get_bucket_encryption(Bucket=bucket))
            if kind == "public_access_block":
                return _without_metadata(client.get_public_access_block(Bucket=bucket))
            policy = client.get_bucket_policy(Bucket=bucket).get("Policy")
            return {"Policy": policy}
        except ClientError as exc:
            code = _error_code(exc)
            if ABSENT.get(kind) == code:
                return {"absent": code}
            if code in UNREADABLE:
                return {"unreadable": f"{self.operation_of(step)}: {code}"}
            raise

    def handle(self, step: tuple[Any, ...], payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        kind = step[0]
        if kind == "list":
            names = [required(b, "Name", "ListBuckets") for b in payload.get("Buckets") or []]
            for item, name in zip(payload.get("Buckets") or [], names, strict=True):
                self._buckets[name] = self._new_bucket(name, item)
            token = payload.get("ContinuationToken")
            # the next list page first, then each bucket's reads in order
            if token:
                self._queue.append(("list", token))
            self._queue.extend(
                ("encryption" if self._buckets[name]["bucket_region"] else "location", name) for name in names
            )
            return []
        bucket = self._buckets[step[1]]
        if "unreadable" in payload:
            bucket["unreadable"].append(payload["unreadable"])
        elif kind == "location":
            bucket["bucket_region"] = bucket["bucket_region"] or region_of_location(payload.get("LocationConstraint"))
        elif kind == "encryption":
            self._encryption(bucket, payload)
        elif kind == "public_access_block":
            self._public_access_block(bucket, payload)
        else:
            present = "absent" not in payload
            bucket["policy_present"] = present
            bucket["policy"] = payload.get("Policy") if present else None
            bucket["denies_insecure_transport"] = denies_insecure_transport(bucket["policy"], bucket["bucket_name"])
            if bucket["denies_insecure_transport"] is None:
                bucket["unreadable"].append("GetBucketPolicy: the policy is not a JSON object")
        following = BUCKET_READS.index(kind) + 1
        if kind == "location" and not bucket["bucket_region"]:
            following = len(BUCKET_READS)  # no region: nothing else can be asked of the bucket
        if following < len(BUCKET_READS):
            self._queue.appendleft((BUCKET_READS[following], step[1]))
            return []
        return [self._buckets.pop(step[1])]

    def classify(self, exc: Exception) -> Retry | None:
        # botocore reads an S3 200 whose body is not XML (a truncated transfer) as HTTP 500 with no error code of S3's
        # own (S3's real 500s name InternalError): retried as the malformed body it is
        if isinstance(exc, ClientError) and _error_code(exc) == "500":
            return Retry(None, "malformed response body (botocore answered HTTP 500 for it)")
        return super().classify(exc)

    def _new_bucket(self, name: str, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "bucket_name": name,
            "bucket_arn": f"arn:aws:s3:::{name}",
            # ListBuckets returns BucketRegion when the request carries a parameter; moto does not: asked per bucket
            "bucket_region": item.get("BucketRegion"),
            "creation_date": ts(item.get("CreationDate")),
            "encryption_status": None,
            "sse_algorithm": None,
            "kms_master_key_id": None,
            "bucket_key_enabled": None,
            "public_access_block_configured": None,
            "block_public_acls": None,
            "ignore_public_acls": None,
            "block_public_policy": None,
            "restrict_public_buckets": None,
            "policy_present": None,
            "policy": None,
            "denies_insecure_transport": None,
            "unreadable": [],
        }

    @staticmethod
    def _encryption(bucket: dict[str, Any], payload: dict[str, Any]) -> None:
        if "absent" in payload:
            bucket["encryption_status"] = "not_configured"
            return
        rules = (payload.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
        default = next((r for r in rules if r.get("ApplyServerSideEncryptionByDefault")), None)
        if default is None:
            bucket["encryption_status"] = "no_default_rule"
            return
        sse = default["ApplyServerSideEncryptionByDefault"]
        bucket["encryption_status"] = "configured"
        bucket["sse_algorithm"] = sse.get("SSEAlgorithm")
        bucket["kms_master_key_id"] = sse.get("KMSMasterKeyID")
        bucket["bucket_key_enabled"] = default.get("BucketKeyEnabled")

    @staticmethod
    def _public_access_block(bucket: dict[str, Any], payload: dict[str, Any]) -> None:
        configured = "absent" not in payload
        bucket["public_access_block_configured"] = configured
        flags = payload.get("PublicAccessBlockConfiguration") or {}
        for column, member in PUBLIC_ACCESS_FLAGS:
            # no configuration: every flag is off (S3 User Guide); a configuration missing a flag leaves it unknown
            bucket[column] = flags.get(member) if configured else False


PUBLIC_ACCESS_FLAGS = (
    ("block_public_acls", "BlockPublicAcls"),
    ("ignore_public_acls", "IgnorePublicAcls"),
    ("block_public_policy", "BlockPublicPolicy"),
    ("restrict_public_buckets", "RestrictPublicBuckets"),
)


class S3AccountPublicAccess(AwsStream):
    """s3control GetPublicAccessBlock for the account: the block that applies to every bucket on top of its own.
    NoSuchPublicAccessBlockConfiguration is recorded as `configured` false (every flag off)."""

    dataset = "s3_account_public_access"
    service = "s3control"
    method = "GET"
    operation = "GetPublicAccessBlock"

    def __init__(self, client: BaseClient, account_id: str) -> None:
        super().__init__(send_to_configured_endpoint(client), account_id)

    def request(self, cursor: Any) -> Any:
        try:
            return _without_metadata(self.client.get_public_access_block(AccountId=self.account_id))
        except ClientError as exc:
            if _error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
                return {"absent": True}
            raise

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        configured = "absent" not in payload
        flags = payload.get("PublicAccessBlockConfiguration") or {}
        yield {
            "account_id": self.account_id,
            "configured": configured,
            **{column: (flags.get(member) if configured else False) for column, member in PUBLIC_ACCESS_FLAGS},
        }


# -- EC2 -------------------------------------------------------------------------------------------------------------
class EbsEncryptionDefault(AwsStream):
    """GetEbsEncryptionByDefault: whether new EBS volumes of the region are encrypted (an account-level, regional
    setting)."""

    dataset = "ebs_encryption_default"
    service = "ec2"
    operation = "GetEbsEncryptionByDefault"

    def request(self, cursor: Any) -> Any:
        return _without_metadata(self.client.get_ebs_encryption_by_default())

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        yield {
            "account_id": self.account_id,
            "region": self.region,
            "ebs_encryption_by_default": payload.get("EbsEncryptionByDefault"),
        }


class EbsVolumes(PagedAwsStream):
    """DescribeVolumes: every EBS volume of the region with its encryption."""

    dataset = "ebs_volumes"
    service = "ec2"
    operation = "DescribeVolumes"
    items_key = "Volumes"
    page_size = EBS_VOLUME_PAGE

    def record(self, volume: dict[str, Any]) -> dict[str, Any]:
        tags = {t.get("Key"): t.get("Value") for t in volume.get("Tags") or []}
        return {
            **self.base(),
            "volume_id": required(volume, "VolumeId", self.operation),
            "name": tags.get("Name"),
            "state": volume.get("State"),
            "volume_type": volume.get("VolumeType"),
            "size_gib": volume.get("Size"),
            "encrypted": volume.get("Encrypted"),
            "kms_key_id": volume.get("KmsKeyId"),
            "create_time": ts(volume.get("CreateTime")),
            "attached_instances": [a.get("InstanceId") for a in volume.get("Attachments") or []],
        }


class SecurityGroups(PagedAwsStream):
    """DescribeSecurityGroups: every group of the region with its ingress rules, one entry per source (IPv4 range,
    IPv6 range, prefix list, security group), so a rule open to 0.0.0.0/0 or ::/0 is one row to find."""

    dataset = "security_groups"
    service = "ec2"
    operation = "DescribeSecurityGroups"
    items_key = "SecurityGroups"
    page_size = SECURITY_GROUP_PAGE

    def record(self, group: dict[str, Any]) -> dict[str, Any]:
        ingress = []
        for permission in group.get("IpPermissions") or []:
            ports = {
                "ip_protocol": permission.get("IpProtocol"),
                "from_port": permission.get("FromPort"),
                "to_port": permission.get("ToPort"),
            }
            sources = (
                [("ipv4", r.get("CidrIp"), r.get("Description")) for r in permission.get("IpRanges") or []]
                + [("ipv6", r.get("CidrIpv6"), r.get("Description")) for r in permission.get("Ipv6Ranges") or []]
                + [
                    ("prefix_list", r.get("PrefixListId"), r.get("Description"))
                    for r in permission.get("PrefixListIds") or []
                ]
                + [
                    ("security_group", r.get("GroupId"), r.get("Description"))
                    for r in permission.get("UserIdGroupPairs") or []
                ]
            )
            ingress.extend({**ports, "source_kind": k, "source": s, "description": d} for k, s, d in sources)
        return {
            **self.base(),
            "group_id": required(group, "GroupId", self.operation),
            "group_name": group.get("GroupName"),
            "vpc_id": group.get("VpcId"),
            "description": group.get("Description"),
            "ingress": ingress,
        }


# -- KMS -------------------------------------------------------------------------------------------------------------
def rotation_applies(metadata: dict[str, Any]) -> bool:
    """Automatic rotation is defined for enabled, customer managed, symmetric encryption keys whose material KMS
    generated (KMS Developer Guide, "Rotating AWS KMS keys"): not for AWS managed keys (rotated yearly by AWS),
    asymmetric or HMAC keys, imported material (Origin EXTERNAL), custom key stores (AWS_CLOUDHSM, EXTERNAL_KEY_STORE),
    or keys pending deletion or disabled."""
    return (
        metadata.get("KeyManager") == "CUSTOMER"
        and metadata.get("KeySpec", metadata.get("CustomerMasterKeySpec")) == "SYMMETRIC_DEFAULT"
        and metadata.get("Origin") == "AWS_KMS"
        and metadata.get("KeyState") == "Enabled"
    )


class KmsKeys(StepStream):
    """ListKeys (to the end), DescribeKey per key, GetKeyRotationStatus per key rotation applies to."""

    dataset = "kms_keys"
    service = "kms"
    method = "POST"
    operations = {"list": "ListKeys", "describe": "DescribeKey", "rotation": "GetKeyRotationStatus"}

    def __init__(self, client: BaseClient, account_id: str) -> None:
        self._keys: dict[str, dict[str, Any]] = {}
        super().__init__(client, account_id)

    def first_step(self) -> tuple[Any, ...]:
        return ("list", None)

    def operation_of(self, step: tuple[Any, ...]) -> str:
        return self.operations[step[0]]

    def perform(self, step: tuple[Any, ...]) -> dict[str, Any]:
        kind, value = step
        if kind == "list":
            params: dict[str, Any] = {"Limit": KMS_PAGE}
            if value:
                params["Marker"] = value
            return _expect(_without_metadata(self.client.list_keys(**params)), "Keys", "ListKeys")
        try:
            if kind == "describe":
                return _expect(_without_metadata(self.client.describe_key(KeyId=value)), "KeyMetadata", "DescribeKey")
            response = _without_metadata(self.client.get_key_rotation_status(KeyId=value))
            return _expect(response, "KeyRotationEnabled", "GetKeyRotationStatus")
        except ClientError as exc:
            # a key policy that does not grant the auditor: that key is unknown, not the region's failure
            if _error_code(exc) == "AccessDeniedException":
                return {"unreadable": f"{self.operation_of(step)}: AccessDeniedException"}
            raise

    def handle(self, step: tuple[Any, ...], payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        kind, value = step
        if kind == "list":
            ids = [required(k, "KeyId", "ListKeys") for k in payload.get("Keys") or []]
            if payload.get("Truncated") and payload.get("NextMarker"):
                self._queue.append(("list", payload["NextMarker"]))
            self._queue.extend(("describe", key_id) for key_id in ids)
            return []
        if kind == "describe" and "unreadable" in payload:
            return [{**self._record(value, {}), "unreadable": payload["unreadable"]}]
        if kind == "describe":
            metadata = payload["KeyMetadata"]
            record = self._record(value, metadata)
            if rotation_applies(metadata):
                self._keys[value] = record
                self._queue.appendleft(("rotation", value))
                return []
            return [record]
        record = self._keys.pop(value)
        record["unreadable"] = payload.get("unreadable")
        record["rotation_enabled"] = payload.get("KeyRotationEnabled")
        record["rotation_period_days"] = payload.get("RotationPeriodInDays")
        record["next_rotation_date"] = ts(payload.get("NextRotationDate"))
        return [record]

    def _record(self, key_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        return {
            **{"account_id": self.account_id, "region": self.region},
            "key_id": key_id,
            "key_arn": metadata.get("Arn"),
            "description": metadata.get("Description"),
            "key_manager": metadata.get("KeyManager"),
            "key_state": metadata.get("KeyState"),
            "key_spec": metadata.get("KeySpec", metadata.get("CustomerMasterKeySpec")),
            "key_usage": metadata.get("KeyUsage"),
            "origin": metadata.get("Origin"),
            "custom_key_store_id": metadata.get("CustomKeyStoreId"),
            "multi_region": metadata.get("MultiRegion"),
            "creation_date": ts(metadata.get("CreationDate")),
            "deletion_date": ts(metadata.get("DeletionDate")),
            "rotation_applies": rotation_applies(metadata) if metadata else None,
            "rotation_enabled": None,
            "rotation_period_days": None,
            "next_rotation_date": None,
            "unreadable": None,
        }


# -- RDS -------------------------------------------------------------------------------------------------------------
class RdsInstances(CoreRdsInstances):
    """DescribeDBInstances as connectors/aws/streams.py records it, with the Aurora cluster an instance belongs to
    (whose Multi-AZ and deletion protection are the cluster's) and the database logs it exports to CloudWatch Logs."""

    def record(self, db: dict[str, Any]) -> dict[str, Any]:
        return {
            **super().record(db),
            "db_cluster_identifier": db.get("DBClusterIdentifier"),
            "enabled_cloudwatch_logs_exports": list(db.get("EnabledCloudwatchLogsExports") or []),
        }


class RdsClusters(PagedAwsStream):
    """DescribeDBClusters: Aurora (and Multi-AZ DB) clusters with their Multi-AZ, deletion protection, encryption and
    log exports."""

    dataset = "rds_clusters"
    service = "rds"
    operation = "DescribeDBClusters"
    items_key = "DBClusters"
    page_param, page_size, token_in, token_out = "MaxRecords", RDS_CLUSTER_PAGE, "Marker", "Marker"

    def record(self, cluster: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.base(),
            "db_cluster_identifier": required(cluster, "DBClusterIdentifier", self.operation),
            "db_cluster_arn": cluster.get("DBClusterArn"),
            "engine": cluster.get("Engine"),
            "status": cluster.get("Status"),
            "multi_az": cluster.get("MultiAZ"),
            "availability_zones": list(cluster.get("AvailabilityZones") or []),
            "deletion_protection": cluster.get("DeletionProtection"),
            "storage_encrypted": cluster.get("StorageEncrypted"),
            "publicly_accessible": cluster.get("PubliclyAccessible"),
            "enabled_cloudwatch_logs_exports": list(cluster.get("EnabledCloudwatchLogsExports") or []),
            "members": [m.get("DBInstanceIdentifier") for m in cluster.get("DBClusterMembers") or []],
        }


# -- CloudTrail ------------------------------------------------------------------------------------------------------
def management_events(selectors: dict[str, Any]) -> str | None:
    """What management events a trail records, from GetEventSelectors: `All`, `WriteOnly`, `ReadOnly`, or None (none).
    Basic selectors: IncludeManagementEvents (default true) with ReadWriteType; advanced selectors: a selector whose
    eventCategory Equals Management, narrowed to one side by a readOnly Equals field selector."""
    reads = writes = False
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents", True):
            kind = selector.get("ReadWriteType", "All")
            reads |= kind in ("All", "ReadOnly")
            writes |= kind in ("All", "WriteOnly")
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or []}
        if "Management" not in (fields.get("eventCategory") or {}).get("Equals", []):
            continue
        only = (fields.get("readOnly") or {}).get("Equals") or []
        reads |= not only or "true" in only
        writes |= not only or "false" in only
    if reads and writes:
        return "All"
    return "ReadOnly" if reads else "WriteOnly" if writes else None


class CloudTrailTrails(AccountWideStream, StepStream):
    """DescribeTrails in every configured region (shadow trails included), de-duplicated by TrailARN; per trail
    GetTrailStatus and GetEventSelectors by ARN, in the trail's home region."""

    dataset = "cloudtrail_trails"
    service = "cloudtrail"
    method = "POST"
    operations = {"describe": "DescribeTrails", "status": "GetTrailStatus", "selectors": "GetEventSelectors"}

    def __init__(self, client: BaseClient, account_id: str, session: AccountSession, regions: tuple[str, ...]) -> None:
        self._trails: dict[str, dict[str, Any]] = {}
        super().__init__(client, account_id, session, regions)
        self._queue.extend(("describe", region) for region in self.regions[1:])

    def first_step(self) -> tuple[Any, ...]:
        return ("describe", self.regions[0])

    def operation_of(self, step: tuple[Any, ...]) -> str:
        return self.operations[step[0]]

    def _client_for(self, step: tuple[Any, ...]) -> BaseClient:
        if step[0] == "describe":
            return self.regional("cloudtrail", step[1])
        return self.regional("cloudtrail", self._trails[step[1]]["home_region"] or self.regions[0])

    def perform(self, step: tuple[Any, ...]) -> dict[str, Any]:
        client = self._client_for(step)
        if step[0] == "describe":
            return _expect(
                _without_metadata(client.describe_trails(includeShadowTrails=True)), "trailList", "DescribeTrails"
            )
        if step[0] == "status":
            return _expect(_without_metadata(client.get_trail_status(Name=step[1])), "IsLogging", "GetTrailStatus")
        return _expect(
            _without_metadata(client.get_event_selectors(TrailName=step[1])), "TrailARN", "GetEventSelectors"
        )

    def handle(self, step: tuple[Any, ...], payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
        kind, value = step
        if kind == "describe":
            for trail in payload.get("trailList") or []:
                arn = required(trail, "TrailARN", "DescribeTrails")
                if arn in self._trails:  # a shadow copy of a trail already listed in another region
                    self._trails[arn]["listed_in_regions"].append(value)
                    continue
                self._trails[arn] = self._record(arn, trail, value)
                # its reads go after the remaining regions' lists (so every region's listing is recorded first)
                self._queue.extend([("status", arn), ("selectors", arn)])
            return []
        record = self._trails[value]
        if kind == "status":
            record["is_logging"] = payload.get("IsLogging")
            record["latest_delivery_error"] = payload.get("LatestDeliveryError") or None
            record["latest_delivery_time"] = ts(payload.get("LatestDeliveryTime"))
            record["start_logging_time"] = ts(payload.get("StartLoggingTime"))
            record["stop_logging_time"] = ts(payload.get("StopLoggingTime"))
            return []
        record["event_selectors"] = json.dumps(payload.get("EventSelectors"), sort_keys=True, default=str)
        record["advanced_event_selectors"] = json.dumps(
            payload.get("AdvancedEventSelectors"), sort_keys=True, default=str
        )
        record["management_events"] = management_events(payload)
        return [record]

    def _record(self, arn: str, trail: dict[str, Any], region: str) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "trail_arn": arn,
            "name": trail.get("Name"),
            "home_region": trail.get("HomeRegion"),
            "is_multi_region": trail.get("IsMultiRegionTrail"),
            "is_organization_trail": trail.get("IsOrganizationTrail"),
            "log_file_validation_enabled": trail.get("LogFileValidationEnabled"),
            "s3_bucket_name": trail.get("S3BucketName"),
            "kms_key_id": trail.get("KmsKeyId"),
            "cloud_watch_logs_log_group_arn": trail.get("CloudWatchLogsLogGroupArn"),
            "listed_in_regions": [region],
            "is_logging": None,
            "latest_delivery_error": None,
            "latest_delivery_time": None,
            "start_logging_time": None,
            "stop_logging_time": None,
            "event_selectors": None,
            "advanced_event_selectors": None,
            "management_events": None,
        }


#: dataset -> (stream class, regional?): merged into connectors.aws.DATASETS. Account-wide streams (AccountWideStream)
#: take the account's session and the configured regions besides their client.
POSTURE_DATASETS: dict[str, tuple[type[AwsStream], bool]] = {
    "regions": (Regions, False),
    "s3_buckets": (S3Buckets, False),
    "s3_account_public_access": (S3AccountPublicAccess, False),
    "ebs_encryption_default": (EbsEncryptionDefault, True),
    "ebs_volumes": (EbsVolumes, True),
    "security_groups": (SecurityGroups, True),
    "kms_keys": (KmsKeys, True),
    "rds_instances": (RdsInstances, True),
    "rds_clusters": (RdsClusters, True),
    "cloudtrail_trails": (CloudTrailTrails, False),
}
