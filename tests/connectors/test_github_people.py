"""GitHub people and changes against the fake GitHub: the records carry the planted truth, hidden
states stay unknown, long connections and over-full searches are followed with the fewest requests."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    build_schema,
    parse,
    validate,
)

import connectors.github.changes as changes
import sandbox.github.server as fake_github
from connectors.github import (
    GitHubConfig,
    MergedPullRequests,
    Organization,
    OrganizationMembers,
    OutsideCollaborators,
    make_github,
)
from connectors.github.minimum import search_requests
from connectors.stream import pages
from sandbox.github.model import ELEVATED_PERMISSIONS, PULL_REQUEST_KINDS, period
from sandbox.github.server import SUBSET_SCHEMA, load_schema, reference_schema_path
from sandbox.launch import start_sandbox
from sandbox.minimum import decisive
from tests.connectors.cases_github_people import outside_collaborator_requests, pull_request_requests, window

QUERIES = Path(__file__).resolve().parents[2] / "connectors" / "github" / "queries"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    # size 500: large enough for a repository with more than 100 outside collaborators and a
    # pull request with more than 100 reviews
    with start_sandbox(tmp_path_factory.mktemp("github"), size=500, systems=("github",)) as started:
        yield started


@pytest.fixture()
def fake(sandbox):
    server = sandbox.servers["github"]
    server.reset_log()
    members = list(sandbox.org.github.members)
    yield server.app
    server.app.verified_emails_forbidden = False
    server.app.viewer_is_owner = True
    sandbox.org.github.collaborators_hidden.clear()
    sandbox.org.github.members = members


def client(sandbox):
    env = sandbox.env
    return make_github(GitHubConfig(org=env["GITHUB_ORG"], base_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"]))


# -- the fake speaks GitHub's schema ------------------------------------------------


def test_sandbox_schema_uses_githubs_names_and_types() -> None:
    reference_path = reference_schema_path()
    subset = build_schema(SUBSET_SCHEMA.read_text())
    # Without ../shared/reference (GitHub's published schema) there is nothing to compare with.
    if reference_path is None:
        assert subset.query_type is not None
        return
    reference = load_schema(reference_path)
    mismatches = []
    for name, kind in subset.type_map.items():
        if name.startswith("__"):
            continue
        real = reference.type_map.get(name)
        if real is None or type(real) is not type(kind):
            mismatches.append(f"type {name}")
            continue
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in kind.fields.items():
                real_field = real.fields.get(field_name)
                if real_field is None or str(real_field.type) != str(field.type):
                    mismatches.append(f"{name}.{field_name}: {field.type}")
                    continue
                for arg, value in field.args.items():
                    if arg not in real_field.args or str(real_field.args[arg].type) != str(value.type):
                        mismatches.append(f"{name}.{field_name}({arg}: {value.type})")
        elif isinstance(kind, GraphQLEnumType):
            mismatches += [f"{name}.{v}" for v in set(kind.values) - set(real.values)]
        elif isinstance(kind, GraphQLUnionType):
            mismatches += [
                f"{name} | {t.name}"
                for t in kind.types
                if t not in real.types and t.name not in {r.name for r in real.types}
            ]
    assert mismatches == []


@pytest.mark.parametrize("query_file", sorted(QUERIES.glob("*.graphql")), ids=lambda p: p.stem)
def test_every_query_is_valid_graphql_for_the_sandbox_and_github(query_file: Path) -> None:
    document = parse(query_file.read_text())
    schemas = [load_schema(SUBSET_SCHEMA)] + ([load_schema(p)] if (p := reference_schema_path()) else [])
    for schema in schemas:
        assert validate(schema, document) == []


# -- organisation ----------------------------------------------------------------------------


def test_organization_reads_the_2fa_requirement(sandbox, fake) -> None:
    stream = Organization(client(sandbox), sandbox.env["GITHUB_ORG"])
    [record] = list(stream.records())
    assert record["two_factor_requirement_enabled"] is sandbox.org.github.two_factor_required is True
    assert [r.path for r in sandbox.servers["github"].requests] == [f"/orgs/{sandbox.env['GITHUB_ORG']}"]


def test_organization_without_the_requirement(sandbox, fake) -> None:
    sandbox.org.github.two_factor_required = False
    try:
        [record] = list(Organization(client(sandbox), sandbox.env["GITHUB_ORG"]).records())
    finally:
        sandbox.org.github.two_factor_required = True
    assert record["two_factor_requirement_enabled"] is False


def test_hidden_2fa_state_stays_null_never_false(sandbox, fake) -> None:
    fake.viewer_is_owner = False  # a token without owner rights: GitHub hides 2FA
    [settings] = list(Organization(client(sandbox), sandbox.env["GITHUB_ORG"]).records())
    stream = OrganizationMembers(client(sandbox), sandbox.env["GITHUB_ORG"])
    members = list(stream.records())
    assert settings["two_factor_requirement_enabled"] is None
    assert len(members) == len(sandbox.org.github.members)
    assert all(m["two_factor_enabled"] is None for m in members)
    # one refused filter request (422, not retried), then the members themselves
    assert stream.provenance.request_count == 1 + pages(len(members), 100)
    assert stream.provenance.retry_count == 0
    assert stream.provenance.parameters["two_factor"].startswith("hidden from this viewer: 422")


# -- members -------------------------------------------------------------------------------


def test_members_carry_role_2fa_and_identity(sandbox, fake) -> None:
    data = sandbox.org.github
    stream = OrganizationMembers(client(sandbox), sandbox.env["GITHUB_ORG"])
    records = {r["login"]: r for r in stream.records()}
    assert set(records) == {m.account.login for m in data.members}
    for membership in data.members:
        record = records[membership.account.login]
        assert record["role"] == membership.role
        assert record["two_factor_enabled"] is membership.two_factor
        assert record["verified_domain_emails"] == list(membership.account.verified_emails)
    [admin] = data.planted["admin_without_2fa"]
    assert records[admin]["role"] == "ADMIN" and records[admin]["two_factor_enabled"] is False
    assert data.planted["member_without_2fa"] and all(
        records[m]["role"] == "MEMBER" and records[m]["two_factor_enabled"] is False
        for m in data.planted["member_without_2fa"]
    )
    roster = {p.email: p for p in sandbox.org.people}
    for leaver in data.planted["leaver_still_member"]:
        assert roster[records[leaver]["verified_domain_emails"][0]].status == "terminated"
    [bot] = data.planted["service_account"]
    assert records[bot]["email"] is None and not set(records[bot]["verified_domain_emails"]) & set(roster)
    for orphan in data.planted["orphan_member"]:
        assert records[orphan]["verified_domain_emails"] == [] and records[orphan]["email"] not in roster
    for login in data.planted["public_email_private"]:
        assert records[login]["email"] is None and records[login]["verified_domain_emails"][0] in roster
    # the REST filter first (GET, page-numbered), then GraphQL (POST)
    methods = [(r.method, r.endpoint.rsplit("/", 1)[-1]) for r in stream.provenance.requests]
    assert methods[0] == ("GET", "members") and set(methods[1:]) == {("POST", "graphql")}
    assert stream.provenance.request_count == pages(sum(not m.two_factor for m in data.members), 100) + pages(
        len(data.members), 100
    )


def test_the_2fa_page_logs_the_members_it_returned(sandbox, fake) -> None:
    # the REST page's members mark the GraphQL pages' records instead of becoming records, yet its request log
    # says how many it returned; the dataset's count stays the members
    data = sandbox.org.github
    lacking = sum(not m.two_factor for m in data.members)
    stream = OrganizationMembers(client(sandbox), sandbox.env["GITHUB_ORG"])
    records = list(stream.records())
    two_factor_page, *member_pages = stream.provenance.requests
    assert two_factor_page.method == "GET" and 0 < lacking <= 100
    assert two_factor_page.record_count == lacking
    assert sum(r.record_count for r in member_pages) == stream.provenance.record_count == len(records)
    fake.viewer_is_owner = False  # hidden from this viewer: the refused page returned nobody
    hidden = OrganizationMembers(client(sandbox), sandbox.env["GITHUB_ORG"])
    list(hidden.records())
    assert hidden.provenance.requests[0].record_count == 0


def test_members_without_2fa_are_paged_by_link_header(sandbox, fake) -> None:
    data = sandbox.org.github
    # nobody has 2FA, and the REST list holds more than one page (the fake's GraphQL side keeps the
    # members it was started with; the REST list reads the data live)
    members = [replace(m, two_factor=False) for m in data.members]
    extra = [replace(members[0], account=replace(members[0].account, login=f"extra-{k:03d}")) for k in range(120)]
    data.members = sorted(members + extra, key=lambda m: m.account.login)
    lacking = len(data.members)
    stream = OrganizationMembers(client(sandbox), sandbox.env["GITHUB_ORG"])
    records = list(stream.records())
    assert len(records) == len(members) and all(r["two_factor_enabled"] is False for r in records)
    rest = [r for r in sandbox.servers["github"].requests if r.method == "GET"]
    assert len(rest) == pages(lacking, 100) >= 2
    assert "page=2" in rest[1].query and "filter=2fa_disabled" in rest[1].query


def test_members_without_access_to_verified_emails_are_still_read(sandbox, fake) -> None:
    fake.verified_emails_forbidden = True
    stream = OrganizationMembers(client(sandbox), sandbox.env["GITHUB_ORG"])
    records = list(stream.records())
    assert len(records) == len(sandbox.org.github.members)
    assert all(r["verified_domain_emails"] is None for r in records)  # unknown, not "none"
    assert stream.provenance.retry_count == 1
    graphql_logs = [r for r in stream.provenance.requests if r.method == "POST"]
    assert "FORBIDDEN" in graphql_logs[0].retry_reasons[0]
    assert stream.provenance.parameters["verified_domain_emails"].startswith("forbidden")
    queries = [json.loads(r.body)["query"] for r in sandbox.servers["github"].requests if r.method == "POST"]
    assert "organizationVerifiedDomainEmails(login" in queries[0]
    assert all("organizationVerifiedDomainEmails(login" not in q for q in queries[1:])


def test_members_retry_a_rate_limited_page(sandbox, fake) -> None:
    sandbox.servers["github"].inject("429", times=1, path_prefix="/graphql")
    sandbox.servers["github"].inject("5xx", times=1, path_prefix="/orgs/")
    stream = OrganizationMembers(client(sandbox), sandbox.env["GITHUB_ORG"])
    records = list(stream.records())
    assert len(records) == len(sandbox.org.github.members)
    assert {r["two_factor_enabled"] for r in records} == {True, False}  # a 5xx is retried, never "hidden"
    assert stream.provenance.retry_count == 2
    assert "503" in stream.provenance.requests[0].retry_reasons[0]
    assert "429" in stream.provenance.requests[1].retry_reasons[0]


# -- outside collaborators -----------------------------------------------------------------


def test_outside_collaborators_with_their_permissions(sandbox, fake) -> None:
    data = sandbox.org.github
    org = sandbox.env["GITHUB_ORG"]
    stream = OutsideCollaborators(client(sandbox), org)
    records = list(stream.records())
    got = {(r["repository"], r["login"]): r["permission"] for r in records}
    assert got == {(f"{org}/{g.repository}", g.account.login): g.permission for g in data.outside_collaborators}
    assert len(got) == len(records)  # no pair twice
    elevated = {f"{r['repository']}:{r['login'].lower()}" for r in records if r["permission"] in ELEVATED_PERMISSIONS}
    assert elevated == data.planted["outside_write_or_admin"]
    assert data.planted["leaver_outside_collaborator"] <= elevated
    [big] = data.planted["repository_over_100_outside_collaborators"]
    assert sum(r["repository"] == big for r in records) > 100
    # the big repository needed a follow-up page of its own
    assert any(r.params.get("operation") == "repository_outside_collaborators" for r in stream.provenance.requests)


def test_hidden_collaborators_are_unknown_not_absent(sandbox, fake) -> None:
    data = sandbox.org.github
    hidden = data.outside_collaborators[0].repository
    data.collaborators_hidden.add(hidden)
    org = sandbox.env["GITHUB_ORG"]
    records = [r for r in OutsideCollaborators(client(sandbox), org).records() if r["repository"] == f"{org}/{hidden}"]
    assert records == [
        {
            "org": org,
            "repository": f"{org}/{hidden}",
            "repository_url": f"https://github.example.test/{org}/{hidden}",
            "repository_archived": False,
            "login": None,
            "name": None,
            "email": None,
            "permission": None,
            "collaborators_visible": False,
            "url": None,
            "incomplete": [],
        }
    ]


# -- merged pull requests --------------------------------------------------------------------


def test_pull_requests_in_the_window_with_their_review_verdicts(sandbox, fake) -> None:
    data = sandbox.org.github
    since, until = window(sandbox.org)
    stream = MergedPullRequests(client(sandbox), sandbox.env["GITHUB_ORG"], since, until)
    records = {r["pull_request"]: r for r in stream.records()}
    truth = {pr.id: pr for pr in data.merged_between(since, until)}
    assert set(records) == set(truth)
    assert len(truth) < len(data.pull_requests)  # the window excluded older merges
    for pr_id, record in records.items():
        pr = truth[pr_id]
        assert record["author"] == pr.author and record["merged_by"] == pr.merged_by
        assert len(record["reviews"]) == len(decisive(pr)) == record["review_count"]
        reviewed_by_other = any(a != record["author"] for a in record["approvers_at_merge"])
        expected = PULL_REQUEST_KINDS[pr.kind] == "pass"
        assert reviewed_by_other is expected, (pr.kind, record)
    for kind in PULL_REQUEST_KINDS:
        assert data.planted[f"pr_{kind}"] & set(records), f"no {kind} pull request in the window"
    [long_thread] = data.planted["pr_approval_beyond_first_review_page"]
    assert records[long_thread]["reviews"][-1]["state"] == "APPROVED" and len(records[long_thread]["reviews"]) > 100
    assert stream.provenance.request_count == pull_request_requests(sandbox.org)
    assert any(r.params.get("operation") == "pull_request_reviews" for r in stream.provenance.requests)


def test_window_bounds_are_since_inclusive_until_exclusive(sandbox, fake) -> None:
    first, second = sorted(sandbox.org.github.pull_requests, key=lambda pr: pr.merged_at)[100:102]
    stream = MergedPullRequests(client(sandbox), sandbox.env["GITHUB_ORG"], first.merged_at, second.merged_at)
    got = {r["pull_request"] for r in stream.records()}
    assert first.id in got and second.id not in got
    assert got == {pr.id for pr in sandbox.org.github.merged_between(first.merged_at, second.merged_at)}


def test_an_over_full_search_window_is_split(sandbox, fake, monkeypatch) -> None:
    # GitHub serves 1,000 results per search; a lower limit in the fake and the connector alike
    # makes the sandbox's window over-full without a huge organisation.
    monkeypatch.setattr(fake_github, "SEARCH_LIMIT", 200)
    monkeypatch.setattr(changes, "SEARCH_LIMIT", 200)
    since, until = window(sandbox.org)
    stream = MergedPullRequests(client(sandbox), sandbox.env["GITHUB_ORG"], since, until)
    records = [r["pull_request"] for r in stream.records()]
    truth = sandbox.org.github.merged_between(since, until)
    assert len(truth) > 200
    assert sorted(records) == sorted(pr.id for pr in truth)  # all of them, none twice
    searches = [r for r in stream.provenance.requests if r.params.get("operation") == "merged_pull_requests"]
    assert searches[0].record_count == 0  # the over-full first page is set aside
    merged = [pr.merged_at for pr in truth]
    assert len(searches) == search_requests(merged, since, until - timedelta(seconds=1), limit=200)


def test_search_asks_github_for_merged_pull_requests_of_the_org_only(sandbox, fake) -> None:
    since, until = window(sandbox.org)
    list(MergedPullRequests(client(sandbox), sandbox.env["GITHUB_ORG"], since, until - timedelta(days=29)).records())
    body = json.loads(sandbox.servers["github"].requests[0].body)
    assert body["variables"]["query"].split() == [
        f"org:{sandbox.env['GITHUB_ORG']}",
        "is:pr",
        "is:merged",
        f"merged:{changes.search_timestamp(since)}..{changes.search_timestamp(until - timedelta(days=29, seconds=1))}",
        "sort:created-asc",
    ]


# -- reference scale -------------------------------------------------------------------------


def test_reference_scale_builds_and_serves_with_the_fewest_requests(tmp_path) -> None:
    """The issue-6 benchmark's organisation (20,000 people): ~2,000 members, 5,000 repositories and
    20,000 merged pull requests build and serve, every dataset at its page-size minimum (how long it takes is the
    bench's to print, not a test's to bound)."""
    with start_sandbox(tmp_path, size=20_000, systems=("github",)) as big:
        data = big.org.github
        assert len(data.members) >= 2_000 and len(data.repositories) == 5_000 and len(data.pull_requests) >= 20_000
        org, api = big.env["GITHUB_ORG"], client(big)
        since, until = period(big.org.today)
        streams = {
            "organization": (Organization(api, org), 1),
            "members": (
                OrganizationMembers(api, org),
                pages(sum(not m.two_factor for m in data.members), 100) + pages(len(data.members), 100),
            ),
            "outside_collaborators": (OutsideCollaborators(api, org), outside_collaborator_requests(big.org)),
            "merged_pull_requests": (
                MergedPullRequests(api, org, since, until),
                pull_request_requests(big.org, since, until),
            ),
        }
        for name, (stream, fewest) in streams.items():
            assert sum(1 for _ in stream.records()) > 0, name
            assert stream.provenance.request_count == fewest, name
