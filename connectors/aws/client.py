"""Builds boto3 sessions and clients: one session per AWS account (assumed role), clients per region.

Credentials come from boto3's standard chain (environment, shared profile, SSO, instance or container
role). With role ARNs configured, each account is read through `sts:AssumeRole` into that account;
without, the base credentials' own account is read. `endpoint_url` points every client at one
endpoint (the sandbox, or a VPC endpoint / proxy in real use).

A source run assumes each role once (`SharedAccounts`) and every dataset read under it records that assumption
(role ARN, session name, STS request id, expiry: never the credentials) in its provenance.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config

from provenance import utc_now

DEFAULT_REGION = "us-east-1"
#: IAM is global; its API lives in us-east-1 (aws partition)
IAM_REGION = "us-east-1"
#: assumed credentials this close to their expiry are assumed again before a dataset starts with them
RENEW_BEFORE_EXPIRY = timedelta(minutes=10)


@dataclass(frozen=True)
class AwsConfig:
    role_arns: tuple[str, ...] = ()
    regions: tuple[str, ...] = (DEFAULT_REGION,)
    endpoint_url: str | None = None
    profile: str | None = None
    external_id: str | None = None
    session_name: str = "soc2-evidence-pipeline"
    timeout: float = 30.0
    #: explicit base credentials (tests); None = boto3's standard credential chain
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # credentials never reach logs
        return (
            f"AwsConfig(role_arns={self.role_arns!r}, regions={self.regions!r}, "
            f"endpoint_url={self.endpoint_url!r}, profile={self.profile!r})"
        )


def client_config(config: AwsConfig) -> Config:
    # botocore's own retries are off: the shared Stream policy retries, paces and counts every attempt
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=config.timeout,
        read_timeout=config.timeout,
        user_agent_extra="soc2-evidence-pipeline",
    )


@dataclass
class AccountSession:
    """One AWS account, read with one boto3 session (shared by the datasets of a source run, in threads)."""

    account_id: str
    session: boto3.Session
    config: AwsConfig
    #: how the session was obtained, for provenance: the sts:AssumeRole call (or GetCallerIdentity), no secrets
    credentials_from: dict[str, Any] = field(default_factory=dict)
    #: when assumed credentials expire (None: the base credentials' own chain refreshes them)
    expires_at: datetime | None = None
    # boto3 sessions are not thread-safe; clients made from them are
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: one client a service and region, shared by the datasets (making one costs ~13 ms of CPU; a run needs ~150)
    _clients: dict[tuple[str, str], BaseClient] = field(default_factory=dict, repr=False)

    def client(self, service: str, region: str | None = None) -> BaseClient:
        key = (service, region or IAM_REGION)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.config.endpoint_url,
                    config=client_config(self.config),
                )
            return self._clients[key]

    def expires_soon(self) -> bool:
        return self.expires_at is not None and self.expires_at - RENEW_BEFORE_EXPIRY <= datetime.now(UTC)

    def __repr__(self) -> str:
        return f"AccountSession(account_id={self.account_id!r})"


def _raw_timestamps(value: Any) -> Any:
    return value


def new_botocore_session() -> botocore.session.Session:
    """A botocore session that leaves timestamps as sent (epoch numbers or ISO text): parsing them into
    datetimes costs most of a 1,000-job page, and the streams convert them to UTC text anyway (the
    AWS CLI uses the same parser hook)."""
    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_raw_timestamps)
    return session


def base_session(config: AwsConfig) -> boto3.Session:
    kwargs: dict[str, Any] = {
        "region_name": config.regions[0] if config.regions else DEFAULT_REGION,
        "botocore_session": new_botocore_session(),
    }
    if config.access_key_id and config.secret_access_key:
        kwargs.update(aws_access_key_id=config.access_key_id, aws_secret_access_key=config.secret_access_key)
    elif config.profile:
        kwargs["profile_name"] = config.profile
    return boto3.Session(**kwargs)


def account_of(role_arn: str) -> str:
    """arn:aws:iam::123456789012:role/name -> 123456789012"""
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[4].isdigit():
        raise ValueError(f"not an IAM role ARN: {role_arn!r}")
    return parts[4]


def _expiry(value: Any) -> datetime | None:
    """STS's Expiration as left by the raw timestamp parser (ISO 8601 text or epoch seconds)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def account_sessions(config: AwsConfig) -> list[AccountSession]:
    """A session per configured account: one sts:AssumeRole each (read-only in effect), or the base
    credentials' account (one sts:GetCallerIdentity) when no role is configured. Each session says, in
    `credentials_from`, which call gave it (role ARNs are not secrets; the credentials are, and stay out)."""
    base = base_session(config)
    sts = base.client("sts", endpoint_url=config.endpoint_url, config=client_config(config))
    if not config.role_arns:
        identity = sts.get_caller_identity()
        return [
            AccountSession(
                identity["Account"],
                base,
                config,
                credentials_from={
                    "operation": "sts:GetCallerIdentity",
                    "caller_arn": identity.get("Arn"),
                    "request_id": identity.get("ResponseMetadata", {}).get("RequestId"),
                    "at": utc_now(),
                },
            )
        ]
    accounts = [account_of(arn) for arn in config.role_arns]
    repeated = sorted({account for account in accounts if accounts.count(account) > 1})
    if repeated:  # every row of that account would be judged twice, under one resource id
        raise ValueError(f"AWS_ROLE_ARNS names account {', '.join(repeated)} more than once; give one role per account")
    sessions = []
    for arn in config.role_arns:
        kwargs: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": config.session_name}
        if config.external_id:
            kwargs["ExternalId"] = config.external_id
        at = utc_now()
        response = sts.assume_role(**kwargs)
        credentials = response["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=base.region_name,
            botocore_session=new_botocore_session(),
        )
        expires_at = _expiry(credentials.get("Expiration"))
        sessions.append(
            AccountSession(
                account_of(arn),
                session,
                config,
                expires_at=expires_at,
                credentials_from={
                    "operation": "sts:AssumeRole",
                    "role_arn": arn,
                    "role_session_name": config.session_name,
                    "external_id": "[redacted]" if config.external_id else None,
                    "assumed_role_arn": (response.get("AssumedRoleUser") or {}).get("Arn"),
                    "request_id": response.get("ResponseMetadata", {}).get("RequestId"),
                    "at": at,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            )
        )
    return sessions


class SharedAccounts:
    """The account sessions of one source run: each role is assumed once, when the first dataset asks, and shared
    by every dataset (their threads) until the credentials near expiry. A dataset per account per role assumption
    was 9 sts:AssumeRole calls per account a day, none of them in provenance."""

    def __init__(self, config: AwsConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._sessions: list[AccountSession] | None = None

    def sessions(self) -> list[AccountSession]:
        with self._lock:  # the first dataset assumes; the others wait for its sessions rather than assume again
            if self._sessions is None or any(s.expires_soon() for s in self._sessions):
                self._sessions = account_sessions(self.config)
            return self._sessions
