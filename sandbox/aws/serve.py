"""Start the fake AWS endpoint, seed moto with the sandbox accounts, and say how the pipeline reaches it."""

from __future__ import annotations

import logging
from pathlib import Path

from connectors.aws import AwsConfig
from sandbox.aws.model import REGION, AwsAccount, AwsData
from sandbox.aws.posture import seed_clusters, seed_posture
from sandbox.aws.posture_ops import seed as seed_operations
from sandbox.aws.server import AwsApp
from sandbox.company import SandboxOrg
from sandbox.server import FakeServer

#: the base credentials the pipeline starts from; it assumes each account's role with them
SANDBOX_ACCESS_KEY_ID = "AKIASANDBOXBASE00001"
SANDBOX_SECRET_ACCESS_KEY = "sandbox-aws-secret-access-key-do-not-log"


def start(org: SandboxOrg, workdir: Path, latency: float = 0.0) -> tuple[list[FakeServer], dict[str, str]]:
    server, env = serve(org.systems["aws"], latency)
    return [server], env


def serve(data: AwsData, latency: float = 0.0) -> tuple[FakeServer, dict[str, str]]:
    """Serve these accounts (the sandbox organisation's, or a test's own) and say how the pipeline reaches them."""
    for account in data.accounts:
        seed_moto(account)
    # seeded through moto's own API before the injected latency applies: thousands of calls at 20,000 people
    server = FakeServer("aws", AwsApp(data)).start()
    seed_operations(data, server.url, SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY)
    server.latency = latency
    server.reset_log()  # seeding went to moto's backends directly; the log holds the pipeline's requests only
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    env = {
        "AWS_ENDPOINT_URL": server.url,
        "AWS_ROLE_ARNS": ",".join(a.role_arn for a in data.accounts),
        "AWS_REGIONS": REGION,
        "AWS_ACCESS_KEY_ID": SANDBOX_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SANDBOX_SECRET_ACCESS_KEY,
    }
    store = data.accounts[0].identity_store_id if data.accounts else None
    if store:  # Identity Center is read through the first account, which holds the store (the management account)
        env["AWS_IDENTITY_STORE_ID"] = store
    return server, env


def aws_config(env: dict[str, str]) -> AwsConfig:
    """The connector's configuration for the accounts `serve` put in `env` (the pipeline reads the same variables
    through its resource): every account's role, assumed with the sandbox's base credentials."""
    return AwsConfig(
        role_arns=tuple(env["AWS_ROLE_ARNS"].split(",")),
        regions=tuple(env["AWS_REGIONS"].split(",")),
        endpoint_url=env["AWS_ENDPOINT_URL"],
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def seed_moto(account: AwsAccount) -> None:
    """Put what moto serves (account summary, password policy, RDS instances) into its backends, in
    process: no HTTP request, so nothing of this is recorded as the connector's traffic. The account's
    backends are reset first, so starting the same org twice in one process gives the same state."""
    from moto.iam.models import iam_backends
    from moto.rds.models import rds_backends

    iam = iam_backends[account.account_id]["global"]
    iam.reset()
    iam.account_summary._account_mfa_enabled = int(account.root_mfa)
    iam.account_summary._account_access_keys_present = int(any(k.active for k in account.root_keys))
    policy = account.password_policy
    if policy is not None:
        iam.update_account_password_policy(
            allow_change_password=policy["AllowUsersToChangePassword"],
            hard_expiry=policy["HardExpiry"],
            max_password_age=policy.get("MaxPasswordAge", 0),
            minimum_password_length=policy["MinimumPasswordLength"],
            password_reuse_prevention=policy["PasswordReusePrevention"],
            require_lowercase_characters=policy["RequireLowercaseCharacters"],
            require_numbers=policy["RequireNumbers"],
            require_symbols=policy["RequireSymbols"],
            require_uppercase_characters=policy["RequireUppercaseCharacters"],
        )
    rds = rds_backends[account.account_id][REGION]
    rds.reset()
    for db in account.db_instances:
        rds.create_db_instance(
            {
                "db_instance_identifier": db.identifier,
                "db_instance_class": "db.t3.medium",
                "engine": db.engine,
                "allocated_storage": 100,
                "master_username": "app",
                "backup_retention_period": db.retention_days,
                "storage_encrypted": db.encrypted,
                "publicly_accessible": db.public,
                "multi_az": db.multi_az,
                "deletion_protection": db.deletion_protection,
                "enable_cloudwatch_logs_exports": list(db.log_exports),
                "storage_type": "gp3",
                "tags": [{"Key": "team", "Value": "platform"}],
            }
        )
        # moto takes an automated snapshot of every new instance, and refuses the 1,001st (SnapshotQuotaExceeded
        # at 40,000 people); the pipeline reads no snapshot, so the sandbox keeps none
        rds.database_snapshots.clear()
    seed_clusters(account, rds)
    rds.cluster_snapshots.clear()
    seed_posture(account)
