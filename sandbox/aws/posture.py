"""The sandbox accounts' AWS posture (connectors/aws/posture.py's datasets), seeded into moto's backends (moto in
server mode answers every call), with a known violation planted per control and the documented edge cases:

- development has a region enabled that AWS_REGIONS does not name (eu-south-1, opted in): every regional control has
  an unknown row for it ("not read"), never a pass for the account;
- a bucket with no policy (not TLS-only), a bucket created before 2023-01-05 with no encryption configuration (its
  older objects may be unencrypted: unknown), one created since with none (S3's base level SSE-S3 applies: not the
  KMS the control asks for), a production bucket without its own public access block (the account's covers it);
- a KMS key pending deletion, an asymmetric key, an HMAC key, an imported-material key and an AWS managed key (rotation
  does not apply: out of the population), one customer key with rotation off;
- a security group open through a prefix list (what the list holds is not read: unknown), one open to ::/0 only;
- a trail that is logging, multi-region and validated but records no management events (development fails);
- an Aurora cluster whose Multi-AZ and deletion protection are the cluster's.

Ids are deterministic (moto's own are random), so the planted truth can name them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sandbox.company import SandboxOrg

REGION = "us-east-1"
#: the opted-in region of the development account that the sandbox's AWS_REGIONS does not name
UNREAD_REGION = "eu-south-1"
#: S3 applies SSE-S3 to every new object since this day (S3 User Guide, "default encryption")
SSE_S3_BASE_LEVEL_SINCE = datetime(2023, 1, 5, tzinfo=UTC)
ALL_BLOCKED = (True, True, True, True)
#: the catalogue's admin and database ports (controls/aws_posture.yaml `restricted_ports`)
RESTRICTED_PORTS = (22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200)
ANYWHERE = ("0.0.0.0/0", "::/0")
#: the catalogue's `sse_algorithms`: default encryption with keys in KMS
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    created: datetime
    #: (SSEAlgorithm, KMSMasterKeyID) of the default encryption, or None: no configuration (moto's NotFound)
    sse: tuple[str, str | None] | None
    #: the bucket's public access block (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets)
    block: tuple[bool, bool, bool, bool] | None
    policy: dict | None

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"


@dataclass(frozen=True)
class Volume:
    volume_id: str
    name: str
    encrypted: bool


@dataclass(frozen=True)
class Rule:
    protocol: str  # "tcp", "udp", "-1"
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...] = ()
    prefix_lists: tuple[str, ...] = ()
    from_self: bool = False


@dataclass(frozen=True)
class Group:
    group_id: str
    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Key:
    key_id: str
    description: str
    spec: str = "SYMMETRIC_DEFAULT"
    usage: str = "ENCRYPT_DECRYPT"
    origin: str = "AWS_KMS"
    manager: str = "CUSTOMER"
    state: str = "Enabled"  # Enabled | Disabled | PendingDeletion
    rotation: bool = True

    @property
    def rotation_applies(self) -> bool:
        return (
            self.manager == "CUSTOMER"
            and self.spec == "SYMMETRIC_DEFAULT"
            and self.origin == "AWS_KMS"
            and self.state == "Enabled"
        )


@dataclass(frozen=True)
class Trail:
    name: str
    multi_region: bool
    logging: bool
    validation: bool
    #: ("basic", IncludeManagementEvents, ReadWriteType) or ("advanced", readOnly Equals or None)
    selectors: tuple
    bucket: str


@dataclass(frozen=True)
class Cluster:
    identifier: str
    engine: str
    deletion_protection: bool
    log_exports: tuple[str, ...]


@dataclass
class AccountPosture:
    #: region -> OptInStatus of every region DescribeRegions lists (enabled ones only, as without AllRegions)
    enabled_regions: dict[str, str]
    account_block: tuple[bool, bool, bool, bool] | None
    ebs_encryption_by_default: bool
    buckets: list[Bucket] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    trails: list[Trail] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)

    def unread_regions(self, configured: tuple[str, ...] = (REGION,)) -> list[str]:
        """The enabled regions the sandbox's AWS_REGIONS does not read: every regional control's unknown rows."""
        return sorted(r for r in self.enabled_regions if r not in configured)


class AwsAccount(Protocol):
    """What this module reads of sandbox/aws/model.py's account (which imports this module, so it is not imported)."""

    account_id: str
    alias: str
    posture: AccountPosture | None
    #: model.DbInstance records
    db_instances: list[Any]


class AwsData(Protocol):
    accounts: Sequence[AwsAccount]


def _hex(*parts: object, length: int = 17) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:length]


def _key_id(account_id: str, name: str) -> str:
    h = hashlib.sha1(f"{account_id}:kms:{name}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def tls_only_policy(bucket: str, objects: bool = True) -> dict:
    """The S3 User Guide's example: deny every request made without TLS to the bucket and its objects."""
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"] if objects else [f"arn:aws:s3:::{bucket}"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowSSLRequestsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def _read_only_policy(bucket: str, account_id: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["s3:GetObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def build_posture(org: SandboxOrg, data: AwsData) -> None:
    """Each account's posture (an empty organisation keeps what an account has without people: its regions, EBS
    default and account block), the planted violations in `org.expected` and the undecidable rows in `org.unknown`."""
    prod, dev = data.accounts
    midnight = datetime.combine(org.today, datetime.min.time(), UTC)
    prod.posture = AccountPosture({REGION: "opt-in-not-required"}, ALL_BLOCKED, True)
    dev.posture = AccountPosture({REGION: "opt-in-not-required", UNREAD_REGION: "opted-in"}, None, False)
    if org.size:
        for account in (prod, dev):
            _resources(org, account, midnight)
        _rds(prod)
    _expected(org, data)


def _resources(org: SandboxOrg, account: AwsAccount, midnight: datetime) -> None:
    posture = account.posture
    a = account.account_id
    production = account.alias == "production"
    good = 6 + org.size // 200 if production else 3
    cmk = f"arn:aws:kms:{REGION}:{a}:key/{_key_id(a, 'data')}"
    # buckets: KMS-encrypted, blocked and TLS-only, then the planted ones
    for n in range(good):
        name = f"{account.alias}-{a}-data-{n:04d}"
        posture.buckets.append(
            Bucket(
                name, REGION, midnight - timedelta(days=300 + n), ("aws:kms", cmk), ALL_BLOCKED, tls_only_policy(name)
            )
        )
    planted = {
        "sse-s3": dict(sse=("AES256", None)),
        "no-policy": dict(policy=None),
        "deny-bucket-only": dict(policy="bucket-only"),
        "no-tls-deny": dict(policy="read-only"),
    }
    if production:
        planted |= {
            "legacy": dict(sse=None, created=datetime(2021, 3, 1, tzinfo=UTC)),
            "new-unconfigured": dict(sse=None, created=midnight - timedelta(days=40)),
            "account-blocked": dict(block=None),
            "eu-logs": dict(region="eu-west-1"),
        }
    else:
        planted |= {"no-block": dict(block=None), "partial-block": dict(block=(True, True, True, False))}
    for suffix, changes in planted.items():
        name = f"{account.alias}-{a}-{suffix}"
        policy = changes.pop("policy", "tls")
        policy_document = {
            "tls": tls_only_policy(name),
            "bucket-only": tls_only_policy(name, objects=False),
            "read-only": _read_only_policy(name, a),
            None: None,
        }[policy]
        bucket = Bucket(name, REGION, midnight - timedelta(days=100), ("aws:kms", cmk), ALL_BLOCKED, policy_document)
        posture.buckets.append(replace(bucket, **changes))
    # volumes: encrypted, two unencrypted in production, one in development
    count = 4 + org.size // 100 if production else 3
    posture.volumes = [
        Volume(f"vol-{_hex(a, 'volume', n)}", f"{account.alias}-volume-{n:04d}", True) for n in range(count)
    ]
    for n in (1, 2) if production else (0,):
        posture.volumes[n] = replace(posture.volumes[n], encrypted=False)
    # security groups (beside the default VPC's default group, which AWS makes and moto serves)
    specs: list[tuple[str, tuple[Rule, ...]]] = [
        ("web", (Rule("tcp", 443, 443, ANYWHERE), Rule("tcp", 80, 80, ("0.0.0.0/0",)))),
        ("internal-ssh", (Rule("tcp", 22, 22, ("10.0.0.0/8",)),)),
        ("app-db", (Rule("tcp", 5432, 5432, from_self=True),)),
    ]
    specs += [(f"service-{n:03d}", (Rule("tcp", 8443, 8443, ("10.20.0.0/16",)),)) for n in range(org.size // 500)]
    if production:
        specs += [
            ("open-ssh", (Rule("tcp", 22, 22, ("0.0.0.0/0",)),)),
            ("open-rdp-v6", (Rule("tcp", 3389, 3389, ("::/0",)),)),
            ("all-traffic", (Rule("-1", None, None, ("0.0.0.0/0",)),)),
            ("port-range", (Rule("tcp", 3000, 3400, ("0.0.0.0/0",)),)),
            ("partner-prefix-list", (Rule("tcp", 5432, 5432, prefix_lists=(f"pl-{_hex(a, 'pl')}",)),)),
        ]
    else:
        specs += [("open-redis-udp-all", (Rule("udp", 0, 65535, ("0.0.0.0/0",)), Rule("tcp", 6379, 6379, ANYWHERE)))]
    posture.groups = [Group(f"sg-{_hex(a, 'sg', name)}", name, rules) for name, rules in specs]
    # KMS keys
    keys = [Key(_key_id(a, "data"), "data at rest")]
    keys += [Key(_key_id(a, f"service-{n}"), f"service {n}") for n in range(2 + org.size // 1000)]
    keys += [
        Key(_key_id(a, "no-rotation"), "rotation off", rotation=False),
        Key(_key_id(a, "pending"), "retired", state="PendingDeletion", rotation=False),
        Key(_key_id(a, "signing"), "signing", spec="RSA_2048", usage="SIGN_VERIFY", rotation=False),
        Key(_key_id(a, "hmac"), "webhooks", spec="HMAC_256", usage="GENERATE_VERIFY_MAC", rotation=False),
        Key(_key_id(a, "imported"), "byok", origin="EXTERNAL", rotation=False),
        Key(_key_id(a, "aws-managed"), "Default key that protects my EBS volumes", manager="AWS", rotation=True),
        Key(_key_id(a, "disabled"), "disabled", state="Disabled", rotation=False),
    ]
    posture.keys = keys
    # CloudTrail, delivering to a bucket of its own
    trail_bucket = f"{account.alias}-{a}-cloudtrail"
    posture.buckets.append(
        Bucket(
            trail_bucket,
            REGION,
            midnight - timedelta(days=700),
            ("aws:kms", cmk),
            ALL_BLOCKED,
            tls_only_policy(trail_bucket),
        )
    )
    if production:
        posture.trails = [
            Trail("organization-trail", True, True, True, ("basic", True, "All"), trail_bucket),
            Trail("old-trail", True, False, False, ("basic", True, "All"), trail_bucket),
        ]
    else:
        posture.trails = [
            # logging, multi-region, validated, but data events only: it records no management event
            Trail("data-events", True, True, True, ("basic", False, "All"), trail_bucket),
            Trail("regional", False, True, True, ("advanced", None), trail_bucket),
        ]


def _rds(prod: AwsAccount) -> None:
    """The production instances (sandbox/aws/model.py) with Multi-AZ, deletion protection and log exports; one planted
    violation each, and an Aurora cluster judged on the cluster's own properties."""
    exports = {"postgres": ("postgresql", "upgrade"), "mysql": ("audit", "error")}
    prod.db_instances = [
        replace(db, multi_az=True, deletion_protection=True, log_exports=exports[db.engine]) for db in prod.db_instances
    ]
    prod.db_instances[0] = replace(prod.db_instances[0], multi_az=False)
    prod.db_instances[1] = replace(prod.db_instances[1], deletion_protection=False)
    # logs exported, but not the ones that record access (MySQL's audit or general log)
    prod.db_instances[2] = replace(prod.db_instances[2], log_exports=("error", "slowquery"))
    # moto reports a cluster Multi-AZ only from members in two zones; this one has none: single-AZ
    prod.posture.clusters = [Cluster("aurora-reporting", "aurora-postgresql", False, ("postgresql",))]


def _expected(org: SandboxOrg, data: AwsData) -> None:
    expected, unknown = org.expected, org.unknown
    region_rows = {f"{a.account_id}/{region}" for a in data.accounts for region in a.posture.unread_regions((REGION,))}
    buckets = [(a, b) for a in data.accounts for b in a.posture.buckets]

    def effective_block(a: AwsAccount, b: Bucket) -> bool:
        account_block = a.posture.account_block or (False,) * 4
        own = b.block or (False,) * 4
        return all(x or y for x, y in zip(own, account_block, strict=True))

    expected["cc6_1_aws_s3_default_encryption"] = {
        b.arn for _, b in buckets if effective_sse(b) is not None and effective_sse(b) not in KMS_ALGORITHMS
    }
    unknown["cc6_1_aws_s3_default_encryption"] = {b.arn for _, b in buckets if effective_sse(b) is None}
    expected["cc6_1_aws_s3_public_access_blocked"] = {b.arn for a, b in buckets if not effective_block(a, b)}
    expected["cc6_7_aws_s3_tls_only"] = {
        b.arn for _, b in buckets if b.policy is None or b.policy != tls_only_policy(b.name)
    }
    expected["cc6_1_aws_ebs_encryption_default"] = {
        f"{a.account_id}/{REGION}" for a in data.accounts if not a.posture.ebs_encryption_by_default
    }
    unknown["cc6_1_aws_ebs_encryption_default"] = set(region_rows)
    expected["cc6_1_aws_ebs_volumes_encrypted"] = {
        f"arn:aws:ec2:{REGION}:{a.account_id}:volume/{v.volume_id}"
        for a in data.accounts
        for v in a.posture.volumes
        if not v.encrypted
    }
    unknown["cc6_1_aws_ebs_volumes_encrypted"] = set(region_rows)

    def group_arn(a: AwsAccount, g: Group) -> str:
        return f"arn:aws:ec2:{REGION}:{a.account_id}:security-group/{g.group_id}"

    expected["cc6_6_aws_security_groups_restricted"] = {
        group_arn(a, g) for a in data.accounts for g in a.posture.groups if any(_open(r) for r in g.rules)
    }
    unknown["cc6_6_aws_security_groups_restricted"] = region_rows | {
        group_arn(a, g)
        for a in data.accounts
        for g in a.posture.groups
        if not any(_open(r) for r in g.rules) and any(r.prefix_lists and _covers(r) for r in g.rules)
    }

    expected["cc6_1_aws_kms_rotation"] = {
        f"arn:aws:kms:{REGION}:{a.account_id}:key/{k.key_id}"
        for a in data.accounts
        for k in a.posture.keys
        if k.rotation_applies and not k.rotation
    }
    unknown["cc6_1_aws_kms_rotation"] = set(region_rows)

    def db_arn(a: AwsAccount, identifier: str) -> str:
        return f"arn:aws:rds:{REGION}:{a.account_id}:db:{identifier}"

    def cluster_arn(a: AwsAccount, identifier: str) -> str:
        return f"arn:aws:rds:{REGION}:{a.account_id}:cluster:{identifier}"

    instances = [(a, d) for a in data.accounts for d in a.db_instances]
    clusters = [(a, c) for a in data.accounts for c in a.posture.clusters]
    expected["cc6_6_aws_rds_not_public"] = {db_arn(a, d.identifier) for a, d in instances if d.public}
    expected["a1_2_aws_rds_multi_az"] = {db_arn(a, d.identifier) for a, d in instances if not d.multi_az} | {
        cluster_arn(a, c.identifier) for a, c in clusters
    }
    expected["a1_2_aws_rds_deletion_protection"] = {
        db_arn(a, d.identifier) for a, d in instances if not d.deletion_protection
    } | {cluster_arn(a, c.identifier) for a, c in clusters if not c.deletion_protection}
    access_logs = {"postgres": {"postgresql"}, "mysql": {"audit", "general"}, "aurora-postgresql": {"postgresql"}}
    expected["cc7_2_aws_rds_log_exports"] = {
        db_arn(a, d.identifier) for a, d in instances if not access_logs[d.engine] & set(d.log_exports)
    } | {cluster_arn(a, c.identifier) for a, c in clusters if not access_logs[c.engine] & set(c.log_exports)}
    for control in (
        "cc6_6_aws_rds_not_public",
        "a1_2_aws_rds_multi_az",
        "a1_2_aws_rds_deletion_protection",
        "cc7_2_aws_rds_log_exports",
    ):
        unknown[control] = set(region_rows)
    expected["cc7_2_aws_cloudtrail_multi_region"] = {
        a.account_id for a in data.accounts if not any(_trail_ok(t) for t in a.posture.trails)
    }


def effective_sse(bucket: Bucket) -> str | None:
    """The bucket's default encryption as the control judges it: the configured algorithm; with none returned, S3's
    documented base level SSE-S3 (AES256) for a bucket created since 2023-01-05, else None (older objects may be
    unencrypted)."""
    if bucket.sse is not None:
        return bucket.sse[0]
    return "AES256" if bucket.created >= SSE_S3_BASE_LEVEL_SINCE else None


def _covers(rule: Rule) -> bool:
    """The rule reaches an admin or database port."""
    if rule.protocol == "-1":
        return True
    return rule.protocol == "tcp" and any(rule.from_port <= p <= rule.to_port for p in RESTRICTED_PORTS)


def _open(rule: Rule) -> bool:
    return _covers(rule) and any(c in ANYWHERE for c in rule.cidrs)


def _trail_ok(trail: Trail) -> bool:
    recorded = trail.selectors[0] == "advanced" or (trail.selectors[1] and trail.selectors[2] == "All")
    return trail.multi_region and trail.logging and trail.validation and recorded


# -- moto ------------------------------------------------------------------------------------------------------------
def seed_posture(account: AwsAccount) -> None:
    """Put the account's posture into moto's backends, in process (no HTTP request is recorded). Each backend is reset
    first; moto's random ids are replaced by the model's."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.availability_zones_and_regions import Region
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends
    from moto.s3control.models import s3control_backends

    posture: AccountPosture | None = account.posture
    a = account.account_id
    ec2 = ec2_backends[a][REGION]
    ec2.reset()
    s3 = s3_backends[a]["aws"]
    s3.reset()
    s3control = s3control_backends[a]["aws"]
    s3control.reset()
    kms = kms_backends[a][REGION]
    kms.reset()
    trails = cloudtrail_backends[a][REGION]
    trails.reset()
    if posture is None:
        return
    # DescribeRegions without AllRegions lists the enabled regions only (moto lists every region it knows)
    ec2.regions = [
        Region(name, f"ec2.{name}.amazonaws.com", status) for name, status in posture.enabled_regions.items()
    ]
    if posture.account_block is not None:
        s3control.put_public_access_block(a, _block_config(posture.account_block))
    for bucket in posture.buckets:
        made = s3.create_bucket(bucket.name, bucket.region)
        made.creation_date = bucket.created
        if bucket.sse is not None:
            algorithm, key = bucket.sse
            default = {"SSEAlgorithm": algorithm, **({"KMSMasterKeyID": key} if key else {})}
            s3.put_bucket_encryption(bucket.name, {"Rule": {"ApplyServerSideEncryptionByDefault": default}})
        if bucket.block is not None:
            s3.put_public_access_block(bucket.name, _block_config(bucket.block))
        if bucket.policy is not None:
            s3.put_bucket_policy(bucket.name, json.dumps(bucket.policy).encode())
    for volume in posture.volumes:
        # encrypted under the account's AWS managed key (given, or moto would make a customer managed one)
        made = ec2.create_volume(
            size=100,
            zone_name=f"{REGION}a",
            encrypted=volume.encrypted,
            kms_key_id=_ebs_key(a) if volume.encrypted else None,
        )
        ec2.volumes.pop(made.id)
        made.id = volume.volume_id
        ec2.volumes[made.id] = made
        ec2.create_tags([made.id], {"Name": volume.name})
    ec2.ebs_encryption_by_default = posture.ebs_encryption_by_default  # after the volumes: moto would encrypt them
    for spec in posture.groups:
        _seed_group(ec2, spec)
    for key in posture.keys:
        _seed_key(kms, a, key)
    for trail in posture.trails:
        made = trails.create_trail(
            trail.name,
            trail.bucket,
            None,
            None,
            True,
            trail.multi_region,
            trail.validation,
            False,
            None,
            None,
            None,
            [],
        )
        if trail.logging:
            made.start_logging()
        if trail.selectors[0] == "basic":
            _, include, read_write = trail.selectors
            made.put_event_selectors(
                [{"ReadWriteType": read_write, "IncludeManagementEvents": include, "DataResources": []}], []
            )
        else:
            fields = [{"Field": "eventCategory", "Equals": ["Management"]}]
            made.put_event_selectors([], [{"Name": "management", "FieldSelectors": fields}])


def seed_clusters(account: AwsAccount, rds: object) -> None:
    """The account's Aurora clusters into moto's RDS backend (reset by seed_moto with the instances)."""
    posture: AccountPosture | None = account.posture
    for cluster in posture.clusters if posture else ():
        rds.create_db_cluster(  # type: ignore[attr-defined]
            {
                "db_cluster_identifier": cluster.identifier,
                "engine": cluster.engine,
                "master_username": "app",
                "master_user_password": "sandbox-password",
                "storage_encrypted": True,
                "deletion_protection": cluster.deletion_protection,
                "enable_cloudwatch_logs_exports": list(cluster.log_exports),
            }
        )


def _ebs_key(account_id: str) -> str:
    """The account's AWS managed EBS key (aws/ebs) of the model."""
    return f"arn:aws:kms:{REGION}:{account_id}:key/{_key_id(account_id, 'aws-managed')}"


def _block_config(flags: tuple[bool, bool, bool, bool]) -> dict[str, str]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {name: str(flag).lower() for name, flag in zip(names, flags, strict=True)}


def _seed_group(ec2: object, spec: Group) -> None:
    made = ec2.create_security_group(spec.name, f"sandbox {spec.name}")  # type: ignore[attr-defined]
    vpc_groups = ec2.groups[made.vpc_id]  # type: ignore[attr-defined]
    vpc_groups.pop(made.id)
    made.id = made.group_id = spec.group_id
    made.arn = made.arn.rsplit("/", 1)[0] + "/" + spec.group_id
    vpc_groups[made.id] = made
    for rule in spec.rules:
        ranges = [{"CidrIp": c} if ":" not in c else {"CidrIpv6": c} for c in rule.cidrs]
        ec2.authorize_security_group_ingress(  # type: ignore[attr-defined]
            spec.group_id,
            rule.protocol,
            None if rule.from_port is None else str(rule.from_port),
            None if rule.to_port is None else str(rule.to_port),
            ranges,
            source_groups=[{"GroupId": spec.group_id}] if rule.from_self else None,
            prefix_list_ids=[{"PrefixListId": p} for p in rule.prefix_lists] or None,
        )


def _seed_key(kms: object, account_id: str, key: Key) -> None:
    made = kms.create_key(None, key.usage, key.spec, key.description, None, origin=key.origin)  # type: ignore[attr-defined]
    kms.keys.pop(made.id)  # type: ignore[attr-defined]
    made.id = key.key_id
    made.arn = f"arn:aws:kms:{REGION}:{account_id}:key/{key.key_id}"
    made.key_manager = key.manager
    kms.keys[made.id] = made  # type: ignore[attr-defined]
    made.key_rotation_status = key.rotation
    if key.state == "Disabled":
        kms.disable_key(made.id)  # type: ignore[attr-defined]
    elif key.state == "PendingDeletion":
        kms.schedule_key_deletion(made.id, 7)  # type: ignore[attr-defined]


# -- the page-size minimum (the contract cases; sandbox/minimum.py for the bench) ------------------------------------
#: the default security group of the default VPC, which every region has (AWS makes it; moto serves it)
DEFAULT_GROUPS = 1
POSTURE_DATASETS = (
    "regions",
    "s3_buckets",
    "s3_account_public_access",
    "ebs_encryption_default",
    "ebs_volumes",
    "security_groups",
    "kms_keys",
    "rds_clusters",
    "cloudtrail_trails",
)


def posture_records(account: AwsAccount, dataset: str) -> int:
    """The records of a posture dataset in one account (the regional ones in REGION, the only region the sandbox's
    AWS_REGIONS reads), counted from the model."""
    posture = account.posture
    if posture is None:
        raise ValueError(f"account {account.account_id} has no posture")
    return {
        "regions": len(posture.enabled_regions),
        "s3_buckets": len(posture.buckets),
        "s3_account_public_access": 1,
        "ebs_encryption_default": 1,
        "ebs_volumes": len(posture.volumes),
        "security_groups": len(posture.groups) + DEFAULT_GROUPS,
        "kms_keys": len(posture.keys),
        "rds_clusters": len(posture.clusters),
        "cloudtrail_trails": len(posture.trails),
    }[dataset]


def posture_requests(account: AwsAccount, dataset: str, regions: int = 1) -> int:
    """One account's minimum through connectors/aws/minimum.py's formulas (moto lists no BucketRegion: 1 + 4N)."""
    from connectors.aws import minimum

    records = posture_records(account, dataset)
    if dataset == "s3_buckets":
        return minimum.bucket_requests(records)
    if dataset == "kms_keys":
        return minimum.kms_key_requests(records, sum(k.rotation_applies for k in account.posture.keys))
    if dataset == "cloudtrail_trails":
        return minimum.cloudtrail_requests(regions, records)
    return minimum.posture_min_requests(dataset, records)
