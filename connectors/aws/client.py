"""Builds boto3 sessions and clients: one session per AWS account (assumed role), clients per region.

Credentials come from boto3's standard chain (environment, shared profile, SSO, instance or container
role). With role ARNs configured, each account is read through `sts:AssumeRole` into that account;
without, the base credentials' own account is read. `endpoint_url` points every client at one
endpoint (the sandbox, or a VPC endpoint / proxy in real use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config

DEFAULT_REGION = "us-east-1"
#: IAM is global; its API lives in us-east-1 (aws partition)
IAM_REGION = "us-east-1"


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
        return (f"AwsConfig(role_arns={self.role_arns!r}, regions={self.regions!r}, "
                f"endpoint_url={self.endpoint_url!r}, profile={self.profile!r})")


def client_config(config: AwsConfig) -> Config:
    # botocore's own retries are off: the shared Stream policy retries, paces and counts every attempt
    return Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=config.timeout,
                  read_timeout=config.timeout, user_agent_extra="soc2-evidence-pipeline")


@dataclass
class AccountSession:
    """One AWS account, read with one boto3 session."""

    account_id: str
    session: boto3.Session
    config: AwsConfig

    def client(self, service: str, region: str | None = None) -> BaseClient:
        return self.session.client(service, region_name=region or IAM_REGION, endpoint_url=self.config.endpoint_url,
                                   config=client_config(self.config))

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
    kwargs: dict[str, Any] = {"region_name": config.regions[0] if config.regions else DEFAULT_REGION,
                              "botocore_session": new_botocore_session()}
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


def account_sessions(config: AwsConfig) -> list[AccountSession]:
    """A session per configured account: one sts:AssumeRole each (read-only in effect), or the base
    credentials' account (one sts:GetCallerIdentity) when no role is configured."""
    base = base_session(config)
    sts = base.client("sts", endpoint_url=config.endpoint_url, config=client_config(config))
    if not config.role_arns:
        account_id = sts.get_caller_identity()["Account"]
        return [AccountSession(account_id, base, config)]
    sessions = []
    for arn in config.role_arns:
        kwargs: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": config.session_name}
        if config.external_id:
            kwargs["ExternalId"] = config.external_id
        credentials = sts.assume_role(**kwargs)["Credentials"]
        session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                aws_secret_access_key=credentials["SecretAccessKey"],
                                aws_session_token=credentials["SessionToken"], region_name=base.region_name,
                                botocore_session=new_botocore_session())
        sessions.append(AccountSession(account_of(arn), session, config))
    return sessions
