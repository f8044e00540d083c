"""The fake Google Workspace answers like the Admin SDK Directory API (routes, limits, the
`fields` mask, page tokens, OAuth), the connector reads it with the fewest requests, and the
served data, the Account truth and the accounts view agree with what the sandbox planted."""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from datetime import date
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from googleapiclient.discovery_cache import get_static_doc

from connectors.google_workspace import GoogleWorkspaceConfig, RoleAssignments, Roles, Users, make_directory
from connectors.google_workspace.client import READONLY_SCOPES, in_scope, parse_org_units
from connectors.google_workspace.streams import USER_FIELDS
from connectors.stream import SourceError
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from sandbox.company import SandboxOrg
from sandbox.google.model import CONTROL_2SV_ENROLLED, CONTROL_ADMINS_2SV_ENFORCED, STUDENTS_OU, build
from sandbox.google.serve import service_account_key
from sandbox.google.server import TOKEN_AUDIENCE, GoogleApp, IssuedToken, ServiceAccount
from sandbox.launch import start_sandbox
from sandbox.org import _people
from sandbox.server import FakeServer
from tests.connectors.cases_google_workspace import google_config
from warehouse import Warehouse, stage_records
from warehouse.store import ACCOUNT_COLUMNS

DAY = date(2026, 11, 20)
USERS_PATH = "/admin/directory/v1/users"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with start_sandbox(tmp_path_factory.mktemp("google"), size=50, today=DAY, systems=("google",)) as running:
        yield running


@pytest.fixture
def server(sandbox) -> FakeServer:
    fake = sandbox.servers["google"]
    fake.reset_log()
    fake.faults.clear()
    return fake


@pytest.fixture
def config(sandbox) -> GoogleWorkspaceConfig:
    return google_config(sandbox.env)


def _token(server: FakeServer, scopes=READONLY_SCOPES, subject: str | None = None) -> str:
    app: GoogleApp = server.app  # type: ignore[assignment]
    token = f"test-token-{len(app.tokens)}-{random.random()}"
    app.tokens[token] = IssuedToken(frozenset(scopes), subject or app.data.admin_subject, time.time() + 600)
    return token


def _get(server: FakeServer, path: str, token: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.url}{path}", params=params, headers=headers, timeout=10)


def _google(sandbox):
    return sandbox.org.systems["google"]


# -- the wire format -------------------------------------------------------------------
def test_routes_and_page_limits_are_the_discovery_documents(server: FakeServer) -> None:
    token = _token(server)
    for path, limit in (
        (USERS_PATH, 500),
        ("/admin/directory/v1/customer/my_customer/roleassignments", 200),
        ("/admin/directory/v1/customer/my_customer/roles", 100),
    ):
        extra = {"customer": "my_customer"} if path == USERS_PATH else {}
        assert _get(server, path, token, maxResults=limit, **extra).status_code == 200
        over = _get(server, path, token, maxResults=limit + 1, **extra)
        assert over.status_code == 400 and over.json()["error"]["errors"][0]["location"] == "maxResults"
    unknown = _get(server, USERS_PATH, token, customer="my_customer", maxResult=5)
    assert unknown.status_code == 400 and 'Unknown name "maxResult"' in unknown.json()["error"]["message"]


def test_the_fields_mask_returns_only_the_selected_fields(server: FakeServer) -> None:
    token = _token(server)
    full = _get(server, USERS_PATH, token, customer="my_customer").json()
    assert full["kind"] == "admin#directory#users" and "etag" in full and "emails" in full["users"][0]
    masked = _get(
        server,
        USERS_PATH,
        token,
        customer="my_customer",
        maxResults=3,
        fields="nextPageToken,users(primaryEmail,name/fullName)",
    ).json()
    assert set(masked) == {"users", "nextPageToken"}
    assert all(set(u) == {"primaryEmail", "name"} and set(u["name"]) == {"fullName"} for u in masked["users"])
    wrong = _get(server, USERS_PATH, token, customer="my_customer", fields="users(primaryEmial)")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "Invalid field selection users/primaryEmial"


def test_page_tokens_walk_the_whole_collection_once(sandbox, server: FakeServer) -> None:
    token = _token(server)
    emails: list[str] = []
    params = {"customer": "my_customer", "maxResults": 7}
    pages = 0
    while True:
        page = _get(server, USERS_PATH, token, **params).json()
        pages += 1
        emails += [u["primaryEmail"] for u in page.get("users", [])]
        if "nextPageToken" not in page:
            break
        params["pageToken"] = page["nextPageToken"]
    users = _google(sandbox).users
    assert sorted(emails) == emails and sorted(emails) == sorted(u.primary_email for u in users)
    assert pages == math.ceil(len(users) / 7)
    bogus = _get(server, USERS_PATH, token, customer="my_customer", pageToken="not-a-token")
    assert bogus.status_code == 400 and bogus.json()["error"]["errors"][0]["location"] == "pageToken"


def test_scopes_and_delegation_are_enforced(sandbox, server: FakeServer) -> None:
    roles = "/admin/directory/v1/customer/my_customer/roles"
    missing = _get(server, roles)
    assert missing.status_code == 401 and missing.json()["error"]["status"] == "UNAUTHENTICATED"
    users_only = _token(server, scopes=[READONLY_SCOPES[0]])
    assert _get(server, USERS_PATH, users_only, customer="my_customer").status_code == 200
    refused = _get(server, roles, users_only)
    assert refused.status_code == 403 and refused.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
    staff = next(u for u in _google(sandbox).users if u.person_email and not (u.is_admin or u.is_delegated_admin))
    assert _get(server, roles, _token(server, subject=staff.primary_email)).status_code == 403


def test_the_token_endpoint_checks_the_signed_assertion(sandbox, server: FakeServer) -> None:
    info = json.loads(sandbox.env["GOOGLE_WORKSPACE_CREDENTIALS_JSON"])
    now = int(time.time())
    claims = {
        "iss": info["client_email"],
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "sub": _google(sandbox).admin_subject,
        "scope": " ".join(READONLY_SCOPES),
    }

    def exchange(key: str, **changes) -> requests.Response:
        assertion = jwt.encode({**claims, **changes}, key, algorithm="RS256", headers={"kid": info["private_key_id"]})
        return requests.post(
            info["token_uri"],
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            timeout=10,
        )

    granted = exchange(info["private_key"])
    assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"
    other_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    assert exchange(other_key).json()["error"] == "invalid_grant"
    write_scope = "https://www.googleapis.com/auth/admin.directory.user"
    assert exchange(info["private_key"], scope=write_scope).json()["error"] == "unauthorized_client"
    assert exchange(info["private_key"], sub="nobody@example-corp.test").json()["error"] == "invalid_grant"


def test_the_discovery_document_is_served_and_builds_the_same_requests(sandbox, server: FakeServer, config) -> None:
    served = _get(server, "/$discovery/rest", version="directory_v1").json()
    shipped = json.loads(get_static_doc("admin", "directory_v1"))
    assert served["rootUrl"] == server.url + "/" and served["resources"] == shipped["resources"]
    assert served["schemas"] == shipped["schemas"]
    assert _get(server, "/$discovery/rest", version="directory_v9").status_code == 404

    def user_requests(**build_options) -> list[tuple[str, str, str]]:
        server.reset_log()
        list(Users(make_directory(config, **build_options), config).records())
        return [(r.method, r.path, r.query) for r in server.requests if r.path not in ("/token", "/$discovery/rest")]

    static = user_requests()
    fetched = user_requests(discovery_url=f"{server.url}/$discovery/rest?version={{apiVersion}}")
    assert [r.path for r in server.requests].count("/$discovery/rest") == 1
    assert static == fetched and static[0][1] == USERS_PATH


# -- the connector ---------------------------------------------------------------------
def test_each_client_sends_one_token_request_then_exactly_its_pages(sandbox, server: FakeServer, config) -> None:
    google = _google(sandbox)
    expected = {
        Users: math.ceil(len(google.users) / 500),
        RoleAssignments: math.ceil(len(google.role_assignments) / 200),
        Roles: math.ceil(len(google.roles) / 100),
    }
    for kind, pages in expected.items():
        server.reset_log()
        stream = kind(make_directory(config), config)
        list(stream.records())
        assert [r.method + " " + r.path for r in server.requests][0] == "POST /token"
        gets = [r for r in server.requests if r.path != "/token"]
        assert len(server.requests) == pages + 1 and len(gets) == stream.provenance.request_count == pages
        assert {r.method for r in gets} == {"GET"} and server.writes() == []
    users_query = Users(make_directory(config), config).params(None)
    assert users_query == {"customer": "my_customer", "maxResults": 500, "fields": USER_FIELDS}


def test_smaller_pages_follow_every_page_token(sandbox, server: FakeServer, config) -> None:
    google = _google(sandbox)
    stream = RoleAssignments(make_directory(config), config, page_size=3)
    records = list(stream.records())
    assert sorted(r["role_assignment_id"] for r in records) == sorted(
        a.role_assignment_id for a in google.role_assignments
    )
    assert stream.provenance.request_count == math.ceil(len(google.role_assignments) / 3)
    assert [r.params.get("pageToken") is None for r in stream.provenance.requests].count(True) == 1


def test_rate_limits_are_retried_and_permission_errors_are_not(sandbox, server: FakeServer, config) -> None:
    server.inject("429", times=2, path_prefix=USERS_PATH)
    stream = Users(make_directory(config), config)
    assert len(list(stream.records())) == len(_google(sandbox).users)
    assert stream.provenance.retry_count == 2 and stream.provenance.request_count == 1
    server.inject("403", times=1, path_prefix=USERS_PATH)
    failing = Users(make_directory(config), config)
    with pytest.raises(SourceError, match=r"google_workspace.users: GET .*/admin/directory/v1/users page 1 failed"):
        list(failing.records())
    assert failing.provenance.retry_count == 0 and failing.provenance.status == "failed"


def test_a_refused_token_exchange_fails_without_reaching_the_api(sandbox, server: FakeServer, config) -> None:
    foreign, _ = service_account_key()  # a key the fake's service account does not have
    info = {
        **foreign,
        "client_email": config.service_account_email,
        "token_uri": config.service_account_info["token_uri"],
    }
    wrong = GoogleWorkspaceConfig(
        admin_subject=config.admin_subject, service_account_info=info, api_endpoint=config.api_endpoint
    )
    stream = Roles(make_directory(wrong), wrong)
    with pytest.raises(SourceError, match="invalid_grant"):
        list(stream.records())
    assert stream.provenance.retry_count == 0
    assert [r.path for r in server.requests] == ["/token"]


def test_credentials_never_reach_provenance_records_or_logs(sandbox, server: FakeServer, config, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    streams = [kind(make_directory(config), config) for kind in (Users, RoleAssignments, Roles)]
    records = [r for stream in streams for r in stream.records()]
    exposed = json.dumps([s.provenance.to_dict() for s in streams], default=str) + json.dumps(records) + caplog.text
    exposed += repr(config)
    key_body = config.service_account_info["private_key"].splitlines()[5]
    app: GoogleApp = server.app  # type: ignore[assignment]
    assert app.issued, "the connector must have exchanged a token"
    for secret in [key_body, config.service_account_info["private_key_id"], *app.issued]:
        assert secret not in exposed


def test_credentials_from_a_key_file_and_clear_configuration_errors(sandbox, tmp_path: Path) -> None:
    key_file = sandbox.workdir / "google" / "service-account.json"
    settings = {"admin_subject": "a@b.test", "api_url": "http://127.0.0.1:1"}
    from_file = GoogleWorkspaceConfig.from_settings(credentials_file=str(key_file), **settings)
    assert from_file.service_account_email == json.loads(key_file.read_text())["client_email"]
    assert from_file.api_endpoint == "http://127.0.0.1:1" and from_file.customer_id == "my_customer"
    broken = tmp_path / "key.json"
    broken.write_text('{"type": "service_account", "private_key": "SECRET-PEM"}')
    with pytest.raises(ValueError, match="not a service account key") as error:
        GoogleWorkspaceConfig.from_settings(credentials_file=str(broken), **settings)
    assert "SECRET-PEM" not in str(error.value)
    with pytest.raises(ValueError, match="GOOGLE_WORKSPACE_CREDENTIALS_FILE or GOOGLE_WORKSPACE_CREDENTIALS_JSON"):
        GoogleWorkspaceConfig.from_settings(**settings)


def test_excluded_units_cover_the_unit_and_below_only() -> None:
    units = parse_org_units(" Students/, /Alumni ,,")
    assert units == ("/Students", "/Alumni")
    assert not in_scope("/Students", units) and not in_scope("/Students/Year 7", units)
    assert in_scope("/StudentsX", units) and in_scope("/Staff/Sales", units) and in_scope(None, units)


# -- the planted truth -----------------------------------------------------------------
def test_served_users_show_every_planted_case(sandbox, config) -> None:
    google = _google(sandbox)
    org = sandbox.org
    users = {r["primary_email"]: r for r in Users(make_directory(config), config).records()}
    active = {e: u for e, u in users.items() if not u["suspended"] and not u["archived"]}
    staff = {e: u for e, u in active.items() if u["in_scope"]}
    admins = {e: u for e, u in active.items() if u["is_admin"] or u["is_delegated_admin"]}
    assert {e for e, u in users.items() if not u["in_scope"]} == google.planted["students_out_of_scope"]
    assert all(u["org_unit_path"] == STUDENTS_OU for u in users.values() if not u["in_scope"])
    not_enrolled = {e for e, u in staff.items() if not u["is_enrolled_in_2sv"]}
    assert not_enrolled == google.planted["not_enrolled_2sv"] == org.expected[CONTROL_2SV_ENROLLED]
    weak_admins = {e for e, u in admins.items() if not (u["is_enrolled_in_2sv"] and u["is_enforced_in_2sv"])}
    assert weak_admins == org.expected[CONTROL_ADMINS_2SV_ENFORCED]
    # every kind of planted case exists at size 50, including a super admin without enforcement
    for case in (
        "not_enrolled_2sv",
        "enrolled_not_enforced",
        "admin_not_enforced_2sv",
        "admin_not_enrolled_2sv",
        "leaver_still_active",
        "approved_service_accounts",
        "break_glass",
        "unexplained_accounts",
        "dormant_90d",
        "students_out_of_scope",
        "known_by_alias",
    ):
        assert google.planted[case], case
    assert any(users[e]["is_admin"] for e in google.planted["admin_not_enforced_2sv"])
    assert google.planted["enrolled_not_enforced"].isdisjoint(org.expected[CONTROL_2SV_ENROLLED])
    terminated = {p.email for p in org.people if p.status == "terminated"}
    assert {e for e in active if e in terminated} == google.planted["leaver_still_active"]
    assert len([e for e in terminated if users[e]["suspended"]]) > len(terminated) / 2  # most are deprovisioned
    assert any(u["last_login_time"] is None for u in active.values())  # never signed in


def test_more_than_four_super_admins_hold_the_super_admin_role(sandbox, config) -> None:
    google = _google(sandbox)
    roles = {r["role_id"]: r for r in Roles(make_directory(config), config).records()}
    assignments = list(RoleAssignments(make_directory(config), config).records())
    users = {r["id"]: r["primary_email"] for r in Users(make_directory(config), config).records()}
    supers = {users[a["assigned_to"]] for a in assignments if roles[a["role_id"]]["is_super_admin_role"]}
    assert supers == google.planted["super_admins"] and len(supers) > google.super_admin_bounds[1] == 4
    assert {e for e, u in ((e, google.user(e)) for e in supers) if not u.is_admin} == set()


def test_account_truth_has_one_account_per_in_scope_user(sandbox) -> None:
    google = _google(sandbox)
    accounts = [a for a in sandbox.org.accounts if a.system == "google_workspace"]
    in_scope_users = [u for u in google.users if u.org_unit_path != STUDENTS_OU]
    assert sorted(a.account_id for a in accounts) == sorted(u.primary_email.lower() for u in in_scope_users)
    assert {a.kind for a in accounts} == {"person", "service", "break_glass", "orphan"}
    assert {a.account_id for a in accounts if a.kind == "service"} == google.approved_service_accounts
    assert all(a.owner is None for a in accounts if a.kind != "person")
    leavers = [a for a in accounts if a.owner in {p.email for p in sandbox.org.people if p.status == "terminated"}]
    assert 0 < sum(a.active for a in leavers) < len(leavers) / 2


def test_an_empty_organisation_has_no_accounts(tmp_path: Path) -> None:
    with start_sandbox(tmp_path, size=0, today=DAY, systems=("google",)) as empty:
        config = google_config(empty.env)
        assert list(Users(make_directory(config), config).records()) == []
        assert not [a for a in empty.org.accounts if a.system == "google_workspace"]
        assert empty.org.expected[CONTROL_2SV_ENROLLED] == set() == empty.org.expected[CONTROL_ADMINS_2SV_ENFORCED]


@pytest.fixture(scope="module")
def landed(sandbox, tmp_path_factory) -> Warehouse:
    """One day of the three datasets landed in a warehouse, as the Dagster assets land them."""
    config = google_config(sandbox.env)
    folder = tmp_path_factory.mktemp("warehouse")
    warehouse = Warehouse(folder / "warehouse.duckdb")
    warehouse.migrate()
    for kind in (Users, RoleAssignments, Roles):
        stream = kind(make_directory(config), config)
        staged = folder / f"{kind.dataset}.jsonl"
        stage_records(stream.records(), staged)
        warehouse.land("google_workspace", kind.dataset, DAY, "run-1", staged, stream.provenance)
    return warehouse


def test_the_accounts_view_reports_the_account_truth(sandbox, landed: Warehouse) -> None:
    warehouse = landed
    rows = warehouse.query("SELECT * FROM accounts_google_workspace")
    assert tuple(rows[0]) == ACCOUNT_COLUMNS
    truth = {a.account_id: a for a in sandbox.org.accounts if a.system == "google_workspace"}
    assert {r["account_id"] for r in rows} == set(truth)
    for row in rows:
        account = truth[row["account_id"]]
        assert (row["is_active"], row["is_privileged"], row["mfa_enabled"]) == (
            account.active,
            account.privileged,
            account.mfa,
        ), row["account_id"]
        assert row["last_activity"] == (account.last_activity.replace(tzinfo=None) if account.last_activity else None)
        assert row["created_at"] == account.created.replace(tzinfo=None)
        assert row["system"] == "google_workspace" and row["dataset"] == "google_workspace.users"
        assert row["resource_url"].startswith("https://admin.google.com/ac/users/")
    super_admins = {
        r["account_id"]: r["privileges"] for r in rows if r["account_id"] in _google(sandbox).planted["super_admins"]
    }
    assert super_admins and all("_SEED_ADMIN_ROLE" in p for p in super_admins.values())  # Google's super admin role
    assert [r["privileges"] for r in rows if not r["is_privileged"]] == [[]] * sum(not r["is_privileged"] for r in rows)


# -- scale -----------------------------------------------------------------------------
def test_twenty_thousand_people_build_and_serve() -> None:
    # how long it takes is the bench's to print (python -m bench), not a test's to bound
    org = SandboxOrg(seed=7, size=20_000, today=DAY)
    org.people = _people(random.Random("7:people"), 20_000, DAY)
    google = build(org, random.Random("7:google"))
    info, public_pem = service_account_key()
    server = FakeServer(
        "google", GoogleApp(google, ServiceAccount(info["client_email"], info["private_key_id"], public_pem))
    ).start()
    try:
        info["token_uri"] = f"{server.url}/token"
        config = GoogleWorkspaceConfig(
            admin_subject=google.admin_subject,
            service_account_info=info,
            api_endpoint=server.url,
            excluded_org_units=(STUDENTS_OU,),
        )
        stream = Users(make_directory(config), config)
        assert sum(1 for _ in stream.records()) == len(google.users) > 20_000
        assert stream.provenance.request_count == math.ceil(len(google.users) / 500)
    finally:
        server.stop()


@pytest.mark.parametrize("control_id", [CONTROL_2SV_ENROLLED, CONTROL_ADMINS_2SV_ENFORCED])
def test_the_controls_fail_exactly_the_planted_accounts(sandbox, landed: Warehouse, control_id: str) -> None:
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    outcome = evaluate_control(landed, catalogue, catalogue.by_id[control_id], DAY, "run-1")
    failing = {r["resource_id"] for r in outcome.rows if r["status"] == "fail"}
    assert outcome.verdict == "fail" and failing == sandbox.org.expected[control_id]
    assert outcome.count("unknown") == 0 and outcome.count("pass") > 0
    judged = {r["resource_id"] for r in outcome.rows}
    assert judged.isdisjoint(_google(sandbox).planted["students_out_of_scope"])
    if control_id == CONTROL_2SV_ENROLLED:  # enrolled but not enforced is enough for staff
        assert _google(sandbox).planted["enrolled_not_enforced"] <= judged - failing
    assert all(outcome.remediation_for(r) for r in outcome.rows if r["status"] == "fail")


def test_the_dagster_source_reads_the_deployment_settings(sandbox, monkeypatch) -> None:
    from evidence_pipeline.defs.sources import google_workspace as source

    for name in [n for n in os.environ if n.startswith("GOOGLE_WORKSPACE_")]:
        monkeypatch.delenv(name)
    assert source.google_workspace_resource().missing_settings() == [
        "GOOGLE_WORKSPACE_CREDENTIALS_FILE (or GOOGLE_WORKSPACE_CREDENTIALS_JSON)",
        "GOOGLE_WORKSPACE_ADMIN_SUBJECT",
    ]
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    resource = source.google_workspace_resource().process_config_and_initialize()  # resolves the EnvVars
    assert resource.missing_settings() == []
    config = resource.config()
    assert config.excluded_org_units == (STUDENTS_OU,) and config.admin_subject == _google(sandbox).admin_subject
    assert {tuple(key.path) for a in source.defs().assets for key in a.keys} == {
        ("sources", "google_workspace", d) for d in ("users", "role_assignments", "roles", "org_units", "policies")
    }
    streams = [s for spec in source.DATASETS for s in spec.streams(resource, DAY)]
    counts = [len(list(s.records())) for s in streams]
    assert counts[:4] == [
        len(_google(sandbox).users),
        len(_google(sandbox).role_assignments),
        len(_google(sandbox).roles),
        len(_google(sandbox).policy.org_units),
    ]
    assert counts[4] > 0  # the security policies (policies.list filters the fake's every setting type)


def test_quota_403s_retry_and_permission_403s_do_not(sandbox, config) -> None:
    import httplib2
    from googleapiclient.errors import HttpError

    def error(status: int, reason: str, headers: dict[str, str] | None = None) -> HttpError:
        body = {"error": {"code": status, "message": reason, "errors": [{"reason": reason, "domain": "global"}]}}
        return HttpError(httplib2.Response({"status": str(status), **(headers or {})}), json.dumps(body).encode())

    stream = Roles(make_directory(config), config)
    quota = stream.classify(error(403, "userRateLimitExceeded", {"retry-after": "7"}))
    assert quota is not None and quota.wait == 7.0 and "userRateLimitExceeded" in quota.reason
    assert stream.classify(error(403, "forbidden")) is None
    assert stream.classify(error(403, "insufficientPermissions")) is None
    assert stream.classify(error(503, "backendError")) is not None
