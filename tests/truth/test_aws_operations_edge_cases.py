"""AWS operations posture on the vendors' documented edge cases (SOURCES-2 §2.6-2.11 and its gotchas): each is
either read by the real connector from the local fake AWS (sandbox/aws, built from the documented shapes) or landed as
the connector records it, then judged by the catalogue's SQL on DuckDB. None may pass for want of data.

- ACM ListCertificates lists RSA 1024/2048 only unless Includes.keyTypes names the others; a certificate pending
  validation has no NotAfter (not in the population, never a pass);
- a restore job still RUNNING (within the RTO so far: unknown; past it: fail), FAILED, or COMPLETED without a
  CompletionDate (unknown); the RTO is a parameter (24 h ByteMechanix, 12 h Bito);
- a log group without retentionInDays never expires (pass for "retained at least N days");
- a region without a detector is GuardDuty off (fail); an enabled region not read is unknown, never a pass;
- IAM Statement as one object or a list, Action `*:*`, NotAction / NotResource, URL-encoded or unreadable documents;
- copies within the same region and account are not offsite; a copy without a readable destination is unknown;
- an HTTP listener redirecting through rules only up to a catch-all one, a redirect keeping `#{protocol}`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from urllib.parse import quote

import boto3
import pytest

from connectors.aws import AuthorizationDetails, account_sessions, account_stream
from connectors.aws.policy_documents import broad_grants, policy_grant_columns
from connectors.aws.posture_ops import ACM_KEY_TYPES, Certificates, redirects_to_https, rules_redirect
from evidence_pipeline.catalogue import Catalogue, load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from sandbox.aws import posture_ops as sandbox_ops
from sandbox.aws.model import AwsAccount, AwsData
from sandbox.aws.posture_ops import Certificate, OperationsData
from sandbox.aws.serve import aws_config, serve
from tests.connectors.cases_aws import land_records
from warehouse import Warehouse

DAY = date(2026, 11, 20)
MIDNIGHT = datetime(2026, 11, 20, tzinfo=UTC)
ACCOUNT, OTHER = "320000000001", "320000000002"
REGION = "us-east-1"


@cache
def catalogue() -> Catalogue:
    return load_catalogue(project_file("controls_map.yaml"))


def statuses(warehouse: Warehouse, control_id: str, **parameters: object) -> dict[str, tuple[str, str]]:
    """resource id -> (status, reason) of the control's SQL on DAY, with `parameters` overriding the catalogue's."""
    control = catalogue().by_id[control_id]
    if not parameters:
        outcome = evaluate_control(warehouse, catalogue(), control, DAY, "test")
        assert outcome.error is None, outcome.error
        return {r["resource_id"]: (r["status"], r["reason"]) for r in outcome.rows}
    with warehouse.connect() as con:
        cursor = con.execute(control.sql, {**control.sql_parameters(DAY, catalogue().defaults), **parameters})
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {r["resource_id"]: (r["status"], r["reason"]) for r in rows}


def fresh_warehouse(tmp_path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    return warehouse


def at(days: float = 0, hours: float = 0) -> str:
    return (MIDNIGHT + timedelta(days=days, hours=hours)).replace(tzinfo=None).isoformat(sep=" ")


# -- IAM documents -----------------------------------------------------------------------------------------------
def test_broad_grants_read_every_documented_shape() -> None:
    allow_all = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert broad_grants({"Statement": allow_all}) == ["Allow * on *"]  # Statement as one object
    assert broad_grants({"Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "*:*"], "Resource": ["*"]}]}) == [
        "Allow * on *"
    ]
    not_action = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*", "Condition": {"Bool": {"a": "b"}}}
    assert broad_grants({"Statement": [not_action]}) == ["Allow every action except iam:* on * (with a Condition)"]
    not_resource = {"Effect": "Allow", "Action": "*", "NotResource": ["arn:aws:s3:::vault/*"]}
    assert broad_grants({"Statement": [not_resource]}) == ["Allow * on every resource except arn:aws:s3:::vault/*"]
    # a Deny, or an Allow of some actions on everything, or of everything on some resources, is no broad grant
    assert broad_grants({"Statement": [{**allow_all, "Effect": "Deny"}]}) == []
    assert broad_grants({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}) == []
    assert broad_grants({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}]}) == []
    # the wire form (URL-encoded JSON) and JSON text are read; anything else is unreadable, never "no grant"
    assert broad_grants(quote(json.dumps({"Statement": allow_all}))) == ["Allow * on *"]
    assert broad_grants("not json") is None and broad_grants(None) is None


def test_a_managed_policy_is_judged_by_its_default_version_and_a_missing_document_is_unreadable() -> None:
    versions = [
        {
            "VersionId": "v1",
            "IsDefaultVersion": False,
            "Document": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}},
        },
        {
            "VersionId": "v2",
            "IsDefaultVersion": True,
            "Document": {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}},
        },
    ]
    assert policy_grant_columns("policy", {"PolicyName": "p", "PolicyVersionList": versions}, []) == {
        "broad_grants": [],
        "unreadable_policies": [],
    }
    assert policy_grant_columns("user", {}, [{"PolicyName": "inline-x"}]) == {
        "broad_grants": None,
        "unreadable_policies": ["inline-x"],
    }


# -- ELBv2 -----------------------------------------------------------------------------------------------------
def _rule(priority: str, path: str, redirect: bool, protocol: str = "HTTPS") -> dict:
    action = (
        {"Type": "redirect", "RedirectConfig": {"Protocol": protocol, "Port": "443", "StatusCode": "HTTP_301"}}
        if redirect
        else {"Type": "forward", "TargetGroupArn": "arn:tg"}
    )
    return {
        "RuleArn": f"rule-{priority}",
        "Priority": priority,
        "IsDefault": priority == "default",
        "Conditions": [] if priority == "default" else [{"Field": "path-pattern", "Values": [path]}],
        "Actions": [action],
    }


def test_http_listener_rules_redirect_only_up_to_a_catch_all_rule() -> None:
    default = _rule("default", "", False)
    assert rules_redirect([default, _rule("1", "/*", True)]) == (True, "rule-1")
    # priority order, not list order: /api/* is served over plain HTTP before the catch-all redirect
    assert rules_redirect([_rule("2", "/*", True), _rule("1", "/api/*", False), default]) == (False, "rule-1")
    # redirects for some paths only: the default action serves the rest
    assert rules_redirect([_rule("1", "/login", True), default]) == (False, None)
    # `#{protocol}` keeps the request's own protocol: not a redirect to HTTPS
    assert rules_redirect([_rule("1", "/*", True, protocol="#{protocol}"), default]) == (False, "rule-1")
    assert not redirects_to_https([{"Type": "redirect", "RedirectConfig": {"Protocol": "#{protocol}"}}])


# -- ACM through the connector and the fake ---------------------------------------------------------------------
def test_acm_certificates_of_every_key_type_are_read_and_a_pending_one_is_not_judged(tmp_path) -> None:
    def cert(name: str, key: str, status: str, not_after: datetime | None) -> Certificate:
        arn = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{name}"
        return Certificate(arn, f"{name}.corp.example", status, "AMAZON_ISSUED", key, not_after, True)

    account = AwsAccount(ACCOUNT, "acm", MIDNIGHT - timedelta(days=900))
    account.operations = OperationsData(
        certificates=[
            cert("rsa", "RSA_2048", "ISSUED", MIDNIGHT + timedelta(days=200)),
            cert("ec", "EC_prime256v1", "ISSUED", MIDNIGHT + timedelta(days=5)),
            cert("big", "RSA_4096", "EXPIRED", MIDNIGHT - timedelta(days=1)),
            cert("pending", "RSA_2048", "PENDING_VALIDATION", None),
        ]
    )
    server, env = serve(AwsData(accounts=[account], today=DAY))
    try:
        session = account_sessions(aws_config(env))[0]
        # the documented default filter: without Includes, only RSA 1024/2048 certificates come back
        acm = session.client("acm", REGION)
        assert {c["DomainName"] for c in acm.list_certificates()["CertificateSummaryList"]} == {
            "rsa.corp.example",
            "pending.corp.example",
        }
        stream = account_stream(Certificates, session, REGION)
        records = list(stream.records())
    finally:
        server.stop()
    assert stream.provenance.requests[0].params["Includes"] == {"keyTypes": list(ACM_KEY_TYPES)}
    by_name = {r["domain_name"]: r for r in records}
    assert set(by_name) == {"rsa.corp.example", "ec.corp.example", "big.corp.example", "pending.corp.example"}
    assert by_name["pending.corp.example"]["not_after"] is None
    warehouse = fresh_warehouse(tmp_path)
    land_records(warehouse, "aws.certificates", DAY, records)
    judged = statuses(warehouse, "cc6_7_acm_certificates_not_expiring")
    arn = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/"
    assert {k: s for k, (s, _) in judged.items()} == {f"{arn}rsa": "pass", f"{arn}ec": "fail", f"{arn}big": "fail"}
    assert "expired 2026-11-19" in judged[f"{arn}big"][1]


# -- landed records ----------------------------------------------------------------------------------------------
def _restore(job_id: str, status: str, created: str | None, completed: str | None) -> dict:
    return {
        "account_id": ACCOUNT,
        "region": REGION,
        "restore_job_id": job_id,
        "status": status,
        "status_message": None,
        "resource_type": "RDS",
        "recovery_point_arn": None,
        "created_resource_arn": None,
        "creation_date": created,
        "completion_date": completed,
        "recovery_point_creation_date": None,
        "validation_status": None,
    }


def test_restores_are_judged_against_the_rto_and_an_unfinished_one_never_passes(tmp_path) -> None:
    warehouse = fresh_warehouse(tmp_path)
    yesterday = DAY - timedelta(days=1)
    # a job RUNNING yesterday and COMPLETED today is judged by its latest state
    land_records(warehouse, "aws.restore_jobs", yesterday, [_restore("moved-on", "RUNNING", at(-2), None)])
    land_records(
        warehouse,
        "aws.restore_jobs",
        DAY,
        [
            _restore("moved-on", "COMPLETED", at(-2), at(-2, 3)),
            _restore("quick", "COMPLETED", at(-10), at(-10, 2)),
            _restore("fifteen-hours", "COMPLETED", at(-30), at(-30, 15)),
            _restore("slow", "COMPLETED", at(-40), at(-40, 30)),
            _restore("failed", "FAILED", at(-5), at(-5, 1)),
            _restore("running-briefly", "RUNNING", at(0, -6), None),
            _restore("running-long", "RUNNING", at(-3), None),
            _restore("no-completion-date", "COMPLETED", at(-7), None),
            _restore("too-old", "COMPLETED", at(-400), at(-400, 30)),
        ],
    )
    judged = {k: s for k, (s, _) in statuses(warehouse, "a1_3_restores_within_rto").items()}
    assert judged == {
        "moved-on": "pass",
        "quick": "pass",
        "fifteen-hours": "pass",
        "slow": "fail",
        "failed": "fail",
        "running-briefly": "unknown",
        "running-long": "fail",
        "no-completion-date": "unknown",
    }
    # Bito's 12-hour RTO: the 15-hour restore fails, and so does one running for 6 hours only at 4 hours
    bito = {k: s for k, (s, _) in statuses(warehouse, "a1_3_restores_within_rto", rto_hours=12).items()}
    assert bito["fifteen-hours"] == "fail" and bito["running-briefly"] == "unknown"
    assert statuses(warehouse, "a1_3_restores_within_rto", rto_hours=4)["running-briefly"][0] == "fail"


def test_log_group_without_retention_never_expires_and_passes(tmp_path) -> None:
    warehouse = fresh_warehouse(tmp_path)
    groups = [("/forever", None), ("/week", 7), ("/fortnight", 14)]
    land_records(
        warehouse,
        "aws.log_groups",
        DAY,
        [
            {
                "account_id": ACCOUNT,
                "region": REGION,
                "log_group_name": name,
                "log_group_arn": None,
                "retention_in_days": days,
                "creation_time": None,
                "stored_bytes": 0,
                "log_group_class": "STANDARD",
                "kms_key_id": None,
            }
            for name, days in groups
        ],
    )
    judged = statuses(warehouse, "cc7_2_log_retention")
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
    assert {k: s for k, (s, _) in judged.items()} == {
        f"{arn}/forever": "pass",
        f"{arn}/week": "fail",
        f"{arn}/fortnight": "pass",
    }
    assert "never expire" in judged[f"{arn}/forever"][1]


def _detector(account: str, region: str, status: str | None) -> dict:
    return {
        "account_id": account,
        "region": region,
        "detector_id": None if status is None else f"det-{region}",
        "status": status,
        "finding_publishing_frequency": None,
        "created_at": None,
        "updated_at": None,
        "features": None,
    }


def test_guardduty_every_enabled_region_and_an_unread_one_is_unknown(tmp_path) -> None:
    warehouse = fresh_warehouse(tmp_path)
    enabled = [
        (ACCOUNT, "us-east-1", True),
        (ACCOUNT, "eu-west-1", True),
        (ACCOUNT, "ap-south-1", False),  # enabled, not in AWS_REGIONS: not read
        (OTHER, "us-east-1", True),
    ]
    land_records(
        warehouse,
        "aws.regions",
        DAY,
        [{"account_id": a, "region": r, "opt_in_status": "opt-in-not-required", "configured": c} for a, r, c in enabled]
        + [{"account_id": ACCOUNT, "region": "af-south-1", "opt_in_status": "not-opted-in", "configured": False}],
    )
    land_records(
        warehouse,
        "aws.guardduty_detectors",
        DAY,
        [
            _detector(ACCOUNT, "us-east-1", "ENABLED"),
            _detector(ACCOUNT, "eu-west-1", None),
            _detector(OTHER, "us-east-1", "DISABLED"),
        ],
    )
    judged = statuses(warehouse, "cc7_2_guardduty_enabled")
    assert {k: s for k, (s, _) in judged.items()} == {
        f"{ACCOUNT}/us-east-1": "pass",
        f"{ACCOUNT}/eu-west-1": "fail",
        f"{ACCOUNT}/ap-south-1": "unknown",
        f"{OTHER}/us-east-1": "fail",
    }
    assert "add it to AWS_REGIONS" in judged[f"{ACCOUNT}/ap-south-1"][1]
    assert "GuardDuty is off" in judged[f"{ACCOUNT}/eu-west-1"][1]


def test_iam_broad_grants_through_groups_notaction_and_unreadable_documents(tmp_path) -> None:
    """GetAccountAuthorizationDetails' payload as boto3 returns it, parsed by the real stream."""
    client = boto3.client("iam", region_name=REGION, aws_access_key_id="AKIATEST", aws_secret_access_key="test")
    stream = AuthorizationDetails(client, ACCOUNT)

    def attached(*names: str) -> list[dict]:
        return [{"PolicyName": n, "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/{n}"} for n in names]

    def policy(name: str, statement: object) -> dict:
        document = {"Version": "2012-10-17", "Statement": statement}
        return {
            "PolicyName": name,
            "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
            "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
        }

    payload = {
        "UserDetailList": [
            {"UserName": "admin", "GroupList": ["admins"], "AttachedManagedPolicies": []},
            {"UserName": "dev", "GroupList": ["developers"], "AttachedManagedPolicies": []},
            {"UserName": "reader", "GroupList": [], "AttachedManagedPolicies": attached("read")},
            {"UserName": "mystery", "GroupList": [], "AttachedManagedPolicies": attached("not-listed")},
            {
                "UserName": "inline",
                "GroupList": [],
                "UserPolicyList": [
                    {
                        "PolicyName": "all",
                        "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "*:*", "Resource": "*"}},
                    }
                ],
            },
        ],
        "GroupDetailList": [
            {"GroupName": "admins", "AttachedManagedPolicies": attached("full")},
            {"GroupName": "developers", "AttachedManagedPolicies": attached("power")},
        ],
        "RoleDetailList": [
            {
                "RoleName": "AWSServiceRoleForSupport",
                "Path": "/aws-service-role/",
                "AttachedManagedPolicies": attached("full"),
            },
            {"RoleName": "OrganizationAccountAccessRole", "Path": "/", "AttachedManagedPolicies": attached("full")},
        ],
        "Policies": [
            policy("full", {"Effect": "Allow", "Action": "*", "Resource": "*"}),
            policy("power", [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]),
            policy("read", [{"Effect": "Allow", "Action": ["s3:Get*"], "Resource": "*"}]),
        ],
    }
    warehouse = fresh_warehouse(tmp_path)
    land_records(warehouse, "aws.authorization_details", DAY, list(stream.parse(payload)))
    judged = statuses(warehouse, "cc6_3_aws_broad_policies_outside_admins")
    assert {k.split("/", 1)[1]: s for k, (s, _) in judged.items()} == {
        "user/admin": "pass",  # an approved administrator, through the admins group
        "user/dev": "fail",  # PowerUserAccess-like NotAction, through a group
        "user/reader": "pass",
        "user/mystery": "unknown",  # an attached policy the listing did not include: its document is not known
        "user/inline": "fail",
        "role/OrganizationAccountAccessRole": "pass",
    }  # the service-linked role is AWS's, out of the population
    assert "group developers attached power" in judged[f"{ACCOUNT}/user/dev"][1]


def _copy(job_id: str, resource: str, destination: str | None, state: str = "COMPLETED", hours: float = -10) -> dict:
    parts = (destination or "").split(":")
    return {
        "account_id": ACCOUNT,
        "region": REGION,
        "copy_job_id": job_id,
        "resource_arn": resource,
        "resource_type": "RDS",
        "resource_name": resource.rsplit(":", 1)[-1],
        "source_backup_vault_arn": None,
        "source_recovery_point_arn": None,
        "destination_backup_vault_arn": destination,
        "destination_region": parts[3] if destination else None,
        "destination_account_id": parts[4] if destination else None,
        "state": state,
        "status_message": None,
        "creation_date": at(0, hours - 1),
        "completion_date": at(0, hours) if state == "COMPLETED" else None,
        "created_by_backup_job_id": None,
    }


def test_only_copies_to_another_region_or_account_are_offsite(tmp_path) -> None:
    warehouse = fresh_warehouse(tmp_path)
    db = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:"
    names = ["dr", "central", "local", "failed", "unreadable", "stale"]
    land_records(
        warehouse,
        "aws.protected_resources",
        DAY,
        [
            {
                "account_id": ACCOUNT,
                "region": REGION,
                "resource_arn": db + n,
                "resource_type": "RDS",
                "resource_name": n,
                "last_backup_time": None,
                "last_backup_vault_arn": None,
                "last_recovery_point_arn": None,
            }
            for n in names
        ],
    )
    land_records(
        warehouse,
        "aws.copy_jobs",
        DAY,
        [
            _copy("1", db + "dr", f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr"),
            _copy("2", db + "central", f"arn:aws:backup:{REGION}:{OTHER}:backup-vault:central"),
            _copy("3", db + "local", f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:other"),
            _copy("4", db + "failed", f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr", state="FAILED"),
            _copy("5", db + "unreadable", None),
            _copy("6", db + "stale", f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr", hours=-30),
        ],
    )
    judged = statuses(warehouse, "a1_2_backups_copied_offsite")
    assert {k.rsplit(":", 1)[-1]: s for k, (s, _) in judged.items()} == {
        "dr": "pass",
        "central": "pass",
        "local": "fail",
        "failed": "fail",
        "unreadable": "unknown",
        "stale": "fail",
    }
    assert "same region and account" in judged[db + "local"][1]


def test_a_vault_key_type_not_reported_is_told_by_kms_else_unknown(tmp_path) -> None:
    warehouse = fresh_warehouse(tmp_path)

    def key(name: str) -> str:
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}"

    vaults = [("cmk", key("cmk"), "CUSTOMER_MANAGED_KMS_KEY"), ("owned", key("owned"), "AWS_OWNED_KMS_KEY")]
    vaults += [("told-customer", key("c"), None), ("told-aws", key("a"), None), ("untold", key("x"), None)]
    land_records(
        warehouse,
        "aws.backup_vaults",
        DAY,
        [
            {
                "account_id": ACCOUNT,
                "region": REGION,
                "backup_vault_arn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{name}",
                "backup_vault_name": name,
                "vault_type": "BACKUP_VAULT",
                "vault_state": "AVAILABLE",
                "encryption_key_arn": arn,
                "encryption_key_type": kind,
                "locked": False,
                "min_retention_days": None,
                "max_retention_days": None,
                "number_of_recovery_points": 1,
                "creation_date": None,
            }
            for name, arn, kind in vaults
        ],
    )
    columns = [c["column_name"] for c in warehouse.query("DESCRIBE raw_aws_kms_keys")][2:]
    kms = [{**dict.fromkeys(columns), "account_id": ACCOUNT, "region": REGION} for _ in range(2)]
    kms[0].update(key_id="c", key_arn=key("c"), key_manager="CUSTOMER")
    kms[1].update(key_id="a", key_arn=key("a"), key_manager="AWS")  # the aws/backup AWS managed key
    land_records(warehouse, "aws.kms_keys", DAY, kms)
    judged = {k.rsplit(":", 1)[-1]: s for k, (s, _) in statuses(warehouse, "a1_2_backup_vaults_encrypted").items()}
    assert judged == {"cmk": "pass", "owned": "fail", "told-customer": "pass", "told-aws": "fail", "untold": "unknown"}
    relaxed = statuses(warehouse, "a1_2_backup_vaults_encrypted", require_customer_managed_key=False)
    assert {s for s, _ in relaxed.values()} == {"pass"}


def test_the_sandbox_truth_uses_the_catalogue_parameters() -> None:
    by_id = catalogue().by_id
    assert by_id["a1_3_restores_within_rto"].parameters == {
        "rto_hours": sandbox_ops.RTO_HOURS,
        "rto_lookback_days": sandbox_ops.RTO_LOOKBACK_DAYS,
    }
    assert by_id["a1_2_backups_copied_offsite"].parameters["offsite_copy_hours"] == sandbox_ops.OFFSITE_COPY_HOURS
    expiry = by_id["cc6_7_acm_certificates_not_expiring"].parameters["certificate_expiry_days"]
    assert expiry == sandbox_ops.CERTIFICATE_EXPIRY_DAYS
    assert by_id["cc7_2_log_retention"].parameters["min_log_retention_days"] == sandbox_ops.MIN_LOG_RETENTION_DAYS
    admins = by_id["cc6_3_aws_broad_policies_outside_admins"].parameters["aws_admin_principals"]
    assert tuple(admins) == sandbox_ops.ADMIN_PRINCIPALS


@pytest.mark.parametrize(
    "control_id",
    [
        "a1_3_restores_within_rto",
        "a1_2_backups_copied_offsite",
        "cc7_2_guardduty_enabled",
        "cc6_3_aws_broad_policies_outside_admins",
    ],
)
def test_history_rejudged_at_once_equals_day_by_day(tmp_path, control_id: str) -> None:
    """`sql_over_days` (a LATERAL over the days) gives each day the daily SQL's rows: window functions and the
    snapshots-up-to-the-day reads included."""
    warehouse = fresh_warehouse(tmp_path)
    land_records(warehouse, "aws.restore_jobs", DAY - timedelta(days=1), [_restore("a", "RUNNING", at(-2), None)])
    land_records(warehouse, "aws.restore_jobs", DAY, [_restore("a", "COMPLETED", at(-2), at(-2, 30))])
    land_records(
        warehouse, "aws.copy_jobs", DAY, [_copy("1", "arn:db", f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr")]
    )
    land_records(
        warehouse,
        "aws.regions",
        DAY,
        [{"account_id": ACCOUNT, "region": REGION, "opt_in_status": "opted-in", "configured": True}],
    )
    land_records(warehouse, "aws.guardduty_detectors", DAY, [_detector(ACCOUNT, REGION, None)])
    control = catalogue().by_id[control_id]
    days = [DAY - timedelta(days=1), DAY]
    with warehouse.connect() as con:
        judged = con.execute(control.sql_over_days(), control.days_parameters(days, catalogue().defaults)).fetchall()
        for day in days:
            daily = con.execute(control.sql, control.sql_parameters(day, catalogue().defaults)).fetchall()
            assert sorted(map(repr, (row[1:] for row in judged if row[0] == day))) == sorted(map(repr, daily)), day
