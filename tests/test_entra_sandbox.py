"""The fake Microsoft login + Graph answer like Microsoft's, and the Entra connector uses them correctly:
msal's exact discovery/token calls over verified TLS, Graph's page-size limits and error shape, least
privilege per endpoint, Retry-After honoured, certificate credentials, and the two Entra controls
judged on collected data match the truth the sandbox planted."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import msal
import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from connectors.entra import EntraConfig, GraphClient, RoleAssignments, UserRegistrationDetails, Users, make_graph
from connectors.entra.client import EntraAuthError, GraphError
from connectors.entra.streams import parse_graph_time
from connectors.stream import RequestPolicy, SourceError
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from evidence_pipeline.settings import project_file
from sandbox.entra import model as entra_model
from sandbox.entra.model import PHISHING_RESISTANT_METHODS, PLANTED_CASES
from sandbox.entra.serve import SANDBOX_CLIENT_ID, register_certificate, tls_material
from sandbox.entra.server import AppRegistration, GraphApp, LoginApp, TokenStore
from sandbox.launch import Sandbox, start_sandbox
from sandbox.org import _people, build_org
from sandbox.server import FakeServer
from warehouse import Warehouse, stage_records

DAY = date(2026, 11, 20)
FAST = RequestPolicy(backoff_base=0.01, max_wait=1.0)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Sandbox:
    started = start_sandbox(tmp_path_factory.mktemp("entra"), size=50, today=DAY, systems=("entra",))
    yield started
    started.stop()


@pytest.fixture()
def servers(sandbox: Sandbox) -> tuple[FakeServer, FakeServer]:
    login, graph = sandbox.servers["entra-login"], sandbox.servers["entra-graph"]
    for server in (login, graph):
        server.reset_log()
        server.faults.clear()
    return login, graph


def client_for(sandbox: Sandbox, **changes: str | None) -> GraphClient:
    env = {**sandbox.env, **{k: v for k, v in changes.items() if v is not None}}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
    return make_graph(EntraConfig.from_env(env))


def graph_get(sandbox: Sandbox, client: GraphClient, path: str, **params: str) -> requests.Response:
    return requests.get(
        f"{client.graph_root}{path}",
        params=params,
        verify=sandbox.env["ENTRA_CA_BUNDLE"],
        headers={"Authorization": f"Bearer {client.token()}"},
        timeout=10,
    )


def test_msal_makes_exactly_its_discovery_and_token_calls_once_per_client(sandbox, servers) -> None:
    login, graph = servers
    client = client_for(sandbox)
    users = list(Users(client).records())
    registrations = list(UserRegistrationDetails(client).records())
    assert len(users) == len(registrations) == len(sandbox.org.systems["entra"].users)
    tenant = sandbox.env["ENTRA_TENANT_ID"]
    assert [(r.method, r.path) for r in login.requests] == [
        ("GET", f"/{tenant}/v2.0/.well-known/openid-configuration"),
        ("POST", f"/{tenant}/oauth2/v2.0/token"),
    ], "the second dataset must reuse msal's cached token"
    assert [r.path for r in graph.requests] == [
        "/v1.0/users",
        "/v1.0/reports/authenticationMethods/userRegistrationDetails",
    ]
    # the token POST is not a write; nothing else was sent but reads
    assert login.writes() == [] and graph.writes() == []
    token_form = login.requests[-1].body.decode()
    assert "grant_type=client_credentials" in token_form and "scope=https%3A%2F%2F127.0.0.1" in token_form


def test_instance_discovery_is_served_for_msal_apps_that_use_it(sandbox, servers) -> None:
    login, _ = servers
    session = requests.Session()
    session.trust_env, session.verify = False, sandbox.env["ENTRA_CA_BUNDLE"]
    app = msal.ConfidentialClientApplication(
        sandbox.env["ENTRA_CLIENT_ID"],
        client_credential=sandbox.env["ENTRA_CLIENT_SECRET"],
        authority=f"{sandbox.env['ENTRA_AUTHORITY_URL']}/{sandbox.env['ENTRA_TENANT_ID']}",
        http_client=session,
        instance_discovery=f"{sandbox.env['ENTRA_AUTHORITY_URL']}/common/discovery/instance",
    )
    assert "access_token" in app.acquire_token_for_client([f"{sandbox.env['ENTRA_GRAPH_URL']}/.default"])
    assert [r.path for r in login.requests][0] == "/common/discovery/instance"


def test_tls_is_verified_against_the_configured_ca_only(sandbox, servers) -> None:
    # Without ENTRA_CA_BUNDLE the sandbox's throwaway CA is not trusted: the connection is refused, not retried.
    stream = Users(client_for(sandbox, ENTRA_CA_BUNDLE=None))
    stream.policy = FAST
    with pytest.raises(SourceError, match="SSL|certificate"):
        list(stream.records())
    assert stream.provenance.requests[0].retries == 0


def test_users_page_size_limits_are_graphs(sandbox, servers) -> None:
    client = client_for(sandbox)
    select = "id,userPrincipalName,signInActivity"
    too_many = graph_get(sandbox, client, "/users", **{"$select": select, "$top": "999"})
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert graph_get(sandbox, client, "/users", **{"$select": "id", "$top": "999"}).status_code == 200
    invalid = graph_get(sandbox, client, "/users", **{"$top": "1000"}).json()["error"]
    assert invalid["message"] == "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    assert set(invalid["innerError"]) == {"date", "request-id", "client-request-id"}
    unknown = graph_get(sandbox, client, "/users", **{"$select": "id,lastLogon"}).json()["error"]
    assert "Could not find a property named 'lastLogon'" in unknown["message"]
    default = graph_get(sandbox, client, "/users").json()
    assert len(default["value"]) == min(100, len(sandbox.org.systems["entra"].users))
    assert "signInActivity" not in default["value"][0], "signInActivity is only returned on $select"


def test_paging_follows_next_links_to_the_end(tmp_path) -> None:
    org = build_org(size=1000, today=DAY)
    data = org.systems["entra"]
    tokens = TokenStore()
    login_app = LoginApp(data, [AppRegistration("cid", secrets=("s3cret-value",))], tokens)
    bundle, cert, key = tls_material(tmp_path / "tls")
    login = FakeServer("login", login_app, tls=(cert, key)).start()
    graph = FakeServer(
        "graph", GraphApp(data, tokens, report_page_size=97, role_assignment_page_size=7), tls=(cert, key)
    ).start()
    login_app.graph_resource = graph.url
    try:
        client = make_graph(
            EntraConfig(
                tenant_id=data.domain,
                client_id="cid",
                client_secret="s3cret-value",
                authority_url=login.url,
                graph_url=graph.url,
                ca_bundle=str(bundle),
            )
        )
        users = Users(client)
        ids = [u["id"] for u in users.records()]
        assert len(ids) == len(set(ids)) == len(data.users)
        assert users.provenance.request_count == -(-len(data.users) // 500)
        details = UserRegistrationDetails(client)
        assert len(list(details.records())) == len(data.users)
        assert details.provenance.request_count == -(-len(data.users) // 97)
        # the report's own timestamp is the source timestamp: Graph refreshed it hours ago, not days
        refreshed = datetime.fromisoformat(details.provenance.source_timestamp).replace(tzinfo=UTC)
        assert timedelta(0) < datetime.now(UTC) - refreshed < timedelta(hours=24)
        roles = RoleAssignments(client)
        assigned = list(roles.records())
        assert len(assigned) == len(data.role_assignments)
        assert roles.provenance.request_count == 1 + -(-len(data.role_assignments) // 7)
        assert all(r["role_name"] for r in assigned), "every assignment is named by its role definition"
        assert {r.endpoint.rsplit("/", 1)[-1] for r in roles.provenance.requests} == {
            "roleDefinitions",
            "roleAssignments",
        }
        # the tenant may be given by its verified domain; page 2+ carry the nextLink in provenance
        assert "next_link" in details.provenance.requests[1].params
    finally:
        login.stop()
        graph.stop()


def test_throttling_is_answered_in_graphs_shape_and_retried_after_retry_after(sandbox, servers) -> None:
    _, graph = servers
    client = client_for(sandbox)
    graph.inject("429", times=1, path_prefix="/v1.0/users", retry_after=0.2)
    raw = graph_get(sandbox, client, "/users", **{"$select": "id"})
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "0.2"
    assert raw.json()["error"]["code"] == "TooManyRequests"

    graph.inject("429", times=2, path_prefix="/v1.0/users", retry_after=0.3)
    graph.reset_log()
    stream = Users(client)
    records = list(stream.records())
    assert len(records) == len(sandbox.org.systems["entra"].users)
    page = stream.provenance.requests[0]
    assert page.retries == 2 and all("429" in reason for reason in page.retry_reasons)
    arrivals = [r.received_at for r in graph.requests]
    assert arrivals[1] - arrivals[0] >= 0.3 and arrivals[2] - arrivals[1] >= 0.3


def test_a_malformed_body_and_a_5xx_are_retried(sandbox, servers) -> None:
    _, graph = servers
    graph.inject("malformed", times=1, path_prefix="/v1.0/reports")
    graph.inject("5xx", times=1, path_prefix="/v1.0/reports")
    stream = UserRegistrationDetails(client_for(sandbox))
    stream.policy = FAST
    assert len(list(stream.records())) == len(sandbox.org.systems["entra"].users)
    assert stream.provenance.retry_count == 2


def test_least_privilege_each_endpoint_needs_its_permission(sandbox, servers) -> None:
    login, _ = servers
    app: LoginApp = login.app
    limited = AppRegistration("limited-app", secrets=("limited-secret",), roles=frozenset({"User.Read.All"}))
    app.apps[limited.client_id] = limited
    client = client_for(sandbox, ENTRA_CLIENT_ID="limited-app", ENTRA_CLIENT_SECRET="limited-secret")
    # User.Read.All reads users, but signInActivity and the registration report need AuditLog.Read.All
    assert graph_get(sandbox, client, "/users", **{"$select": "id"}).status_code == 200
    for stream in (Users(client), UserRegistrationDetails(client), RoleAssignments(client)):
        stream.policy = FAST
        with pytest.raises(SourceError, match="403 Authorization_RequestDenied"):
            list(stream.records())
        assert stream.provenance.requests[0].retries == 0, "a missing permission is not retried"


def test_a_wrong_secret_is_refused_without_echoing_it(sandbox, servers) -> None:
    stream = Users(client_for(sandbox, ENTRA_CLIENT_SECRET="not-the-secret-xyz"))
    with pytest.raises(SourceError) as failure:
        list(stream.records())
    assert "invalid_client" in str(failure.value) and "AADSTS7000215" in str(failure.value)
    assert "not-the-secret-xyz" not in str(failure.value) + stream.provenance.to_json()
    assert stream.provenance.requests[0].retries == 0


def test_certificate_credentials_sign_a_client_assertion(sandbox, servers, tmp_path) -> None:
    login, _ = servers
    pem, thumbprint = register_certificate(login, tmp_path)
    client = client_for(
        sandbox,
        ENTRA_CLIENT_SECRET=None,
        ENTRA_CLIENT_CERTIFICATE_PATH=str(pem),
        ENTRA_CLIENT_CERTIFICATE_THUMBPRINT=thumbprint,
    )
    assert client.config.credential_kind == "certificate"
    assert len(list(RoleAssignments(client).records())) == len(sandbox.org.systems["entra"].role_assignments)
    form = login.requests[-1].body.decode()
    assert "client_assertion=" in form and "client_secret" not in form
    # a certificate the app registration does not know is refused
    other = client_for(
        sandbox,
        ENTRA_CLIENT_SECRET=None,
        ENTRA_CLIENT_CERTIFICATE_PATH=str(pem),
        ENTRA_CLIENT_CERTIFICATE_THUMBPRINT="00" * 20,
    )
    with pytest.raises(EntraAuthError, match="invalid_client"):
        other.token()


def test_the_token_never_leaves_for_another_host(sandbox) -> None:
    client = client_for(sandbox)
    with pytest.raises(ValueError, match="refusing to send the Graph token"):
        client.get("https://attacker.example/v1.0/users")


def test_national_cloud_settings_shape_authority_and_scope() -> None:
    config = EntraConfig.from_env(
        {
            "ENTRA_TENANT_ID": "contoso.onmicrosoft.us",
            "ENTRA_CLIENT_ID": "c",
            "ENTRA_CLIENT_SECRET": "s",
            "ENTRA_AUTHORITY_URL": "https://login.microsoftonline.us/",
            "ENTRA_GRAPH_URL": "https://graph.microsoft.us",
        }
    )
    assert config.authority == "https://login.microsoftonline.us/contoso.onmicrosoft.us"
    assert config.scope == "https://graph.microsoft.us/.default"
    assert config.graph_root == "https://graph.microsoft.us/v1.0"
    assert repr(config).endswith("credential=client_secret)") and "'s'" not in repr(config)
    with pytest.raises(ValueError, match="ENTRA_CLIENT_SECRET"):
        EntraConfig.from_env({"ENTRA_TENANT_ID": "t", "ENTRA_CLIENT_ID": "c"})


def test_graph_timestamps_with_seven_fractional_digits() -> None:
    assert parse_graph_time("2023-03-13T19:15:41.6195833Z") == "2023-03-13T19:15:41.619583"
    assert parse_graph_time("2019-09-18T09:06:24Z") == "2019-09-18T09:06:24.000000"
    assert parse_graph_time(None) is None


def test_graph_errors_keep_code_and_request_id(sandbox, servers) -> None:
    client = client_for(sandbox)
    with pytest.raises(GraphError) as failure:
        client.get(f"{client.graph_root}/users", params={"$filter": "accountEnabled eq true"})
    assert failure.value.status == 400 and failure.value.request_id


def test_the_planted_cases_are_served(sandbox) -> None:
    data = sandbox.org.systems["entra"]
    assert set(data.planted) == set(PLANTED_CASES)
    for case in (
        "not_mfa_registered",
        "admin_not_mfa_registered",
        "admin_weak_mfa_only",
        "admin_phishing_resistant",
        "leaver_still_enabled",
        "leaver_disabled",
        "approved_service_accounts",
        "break_glass",
        "orphans",
        "dormant_90d",
        "failed_sign_in_only_recently",
    ):
        assert data.planted[case], f"{case} is planted at size 50"
    client = client_for(sandbox)
    details = {r["user_principal_name"].lower(): r for r in UserRegistrationDetails(client).records()}
    users = {r["user_principal_name"].lower(): r for r in Users(client).records()}
    assert {
        k for k, r in details.items() if not r["is_mfa_registered"] and users[k]["account_enabled"]
    } == data.planted["not_mfa_registered"]
    for upn in data.planted["admin_phishing_resistant"]:
        assert set(details[upn]["methods_registered"]) & PHISHING_RESISTANT_METHODS and details[upn]["is_admin"]
    assert {k for k, r in users.items() if r["account_enabled"]} >= data.planted["leaver_still_enabled"]
    accounts = [a for a in sandbox.org.accounts if a.system == "entra"]
    assert sorted(a.account_id for a in accounts) == sorted(users)
    assert {a.account_id for a in accounts if a.kind == "break_glass"} == data.planted["break_glass"]


def test_an_empty_organisation_has_no_accounts() -> None:
    org = build_org(size=0, today=DAY)
    assert org.systems["entra"].users == [] and not [a for a in org.accounts if a.system == "entra"]
    assert org.expected["cc6_1_entra_mfa_registered"] == set()


def test_the_reference_scale_builds_and_serves() -> None:
    # how long it takes is the bench's to print (python -m bench), not a test's to bound
    big = build_org(size=0, today=DAY)
    big.size = 20_000
    big.people = _people(random.Random("7:people"), 20_000, DAY)  # build_org's people, without its other systems
    data = entra_model.build(big, random.Random("entra"))
    assert len(data.users) > 19_000 and len(big.accounts) == len(data.users)
    app = GraphApp(data, TokenStore())
    grant_token = app.tokens.issue("c", frozenset({"User.Read.All", "AuditLog.Read.All"}))
    request = Request(
        EnvironBuilder(
            path="/v1.0/users",
            query_string="$select=id,signInActivity&$top=500",
            headers={"Authorization": f"Bearer {grant_token}"},
        ).get_environ()
    )
    response = app(request)
    assert response.status_code == 200 and len(response.get_json()["value"]) == 500


def test_the_entra_controls_match_the_planted_truth(sandbox, tmp_path) -> None:
    """Collect the three datasets, land them, evaluate both controls: fail rows == org.expected."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    client = client_for(sandbox)
    for stream in (Users(client), UserRegistrationDetails(client), RoleAssignments(client)):
        staged = tmp_path / f"{stream.dataset}.jsonl"
        stage_records(stream.records(), staged)
        warehouse.land("entra", stream.dataset, DAY, "run-1", staged, stream.provenance)
    catalogue = load_catalogue(project_file("controls_map.yaml"))
    org = sandbox.org
    for control_id in ("cc6_1_entra_mfa_registered", "cc6_1_entra_admins_mfa"):
        outcome = evaluate_control(warehouse, catalogue, catalogue.by_id[control_id], DAY, "run-1")
        failed = {r["resource_id"] for r in outcome.rows if r["status"] == "fail"}
        assert failed == org.expected[control_id], control_id
        assert not [r for r in outcome.rows if r["status"] == "unknown"]
        assert outcome.verdict == "fail"
    admins = evaluate_control(warehouse, catalogue, catalogue.by_id["cc6_1_entra_admins_mfa"], DAY, "run-1")
    reasons = {r["resource_id"]: r["reason"] for r in admins.rows}
    data = org.systems["entra"]
    assert {r for r in reasons if "phishable methods only" in reasons[r]} == data.planted["admin_weak_mfa_only"]
    assert {r for r in reasons if "phishing-resistant method (" in reasons[r]} == data.planted[
        "admin_phishing_resistant"
    ]
    assert {r["resource_id"] for r in admins.rows} == data.planted["admins"]
    # the accounts view reports the same accounts as the truth
    rows = warehouse.query("SELECT * FROM accounts_entra WHERE snapshot_date = ?", [DAY])
    truth = {a.account_id: a for a in org.accounts if a.system == "entra"}
    assert {r["account_id"] for r in rows} == set(truth)
    for row in rows:
        account = truth[row["account_id"]]
        assert (row["is_active"], row["is_privileged"], row["mfa_enabled"]) == (
            account.active,
            account.privileged,
            account.mfa,
        ), row["account_id"]
        expected_activity = account.last_activity.replace(tzinfo=None) if account.last_activity else None
        assert row["last_activity"] == expected_activity, row["account_id"]
    assert SANDBOX_CLIENT_ID not in str(rows)


def test_an_unconfigured_source_says_what_to_set() -> None:
    from evidence_pipeline.defs.sources.entra import EntraResource

    assert EntraResource().missing_settings() == [
        "ENTRA_TENANT_ID",
        "ENTRA_CLIENT_ID",
        "ENTRA_CLIENT_SECRET (or ENTRA_CLIENT_CERTIFICATE_PATH and ENTRA_CLIENT_CERTIFICATE_THUMBPRINT)",
    ]
    assert (
        EntraResource(
            tenant_id="t", client_id="c", certificate_path="/k.pem", certificate_thumbprint="AB"
        ).missing_settings()
        == []
    )
