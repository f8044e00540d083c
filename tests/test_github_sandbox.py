"""The fake GitHub answers like GitHub: invalid queries get an `errors` array, paging limits hold,
GitHub App authentication goes through a verified JWT exchange."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import build_schema, parse, validate

from connectors.github import GitHubConfig, RepositoryReviewRules, make_github
from connectors.stream import SourceError
from sandbox.github.server import SUBSET_SCHEMA, GitHubApp, reference_schema_path
from sandbox.org import build_org
from sandbox.server import FakeServer

REFERENCE = reference_schema_path()


@pytest.fixture(scope="module")
def github():
    server = FakeServer("github", GitHubApp(build_org(size=50), {"t0ken"})).start()
    yield server
    server.stop()


def _post(server: FakeServer, query: str, variables: dict | None = None, token: str = "t0ken") -> requests.Response:
    return requests.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"bearer {token}"},
        timeout=10,
    )


def test_reference_schema_is_used_when_present() -> None:
    # shared/reference sits beside the repository in development and CI
    assert REFERENCE is not None and REFERENCE.name == "github-schema.graphql"


def test_a_wrong_field_is_answered_with_an_errors_array(github: FakeServer) -> None:
    answer = _post(github, '{ organization(login: "example-corp") { repositories(first: 1) { nodes { nme } } } }')
    assert answer.status_code == 200
    body = answer.json()
    assert "data" not in body and body["errors"][0]["message"].startswith("Cannot query field 'nme'")


def test_a_field_outside_the_sandbox_subset_but_valid_on_github_is_still_rejected_clearly(github: FakeServer) -> None:
    query = '{ organization(login: "example-corp") { repositories(first: 1) { nodes { diskUsage } } } }'
    answer = _post(github, query)
    assert answer.json()["errors"], "the sandbox must not silently return nulls for fields it does not serve"


def test_paging_limits_are_githubs(github: FakeServer) -> None:
    query = 'query($n: Int) { organization(login: "example-corp") { repositories(first: $n) { totalCount } } }'
    assert "limit is 100" in _post(github, query, {"n": 101}).json()["errors"][0]["message"]
    assert "must provide a `first` or `last`" in _post(github, query, {}).json()["errors"][0]["message"]


def test_bad_credentials_are_refused(github: FakeServer) -> None:
    assert _post(github, "{ rateLimit { remaining } }", token="wrong").status_code == 401
    client = make_github(GitHubConfig(org="example-corp", base_url=github.url, token="wrong"))
    with pytest.raises(SourceError, match=r"github.repositories: POST .*/graphql page 1 failed: .*401"):
        list(RepositoryReviewRules(client, "example-corp").records())


def test_sandbox_subset_schema_agrees_with_githubs_published_schema() -> None:
    assert REFERENCE is not None
    reference = build_schema(REFERENCE.read_text(), assume_valid_sdl=True)
    subset = build_schema(SUBSET_SCHEMA.read_text())
    for name, subset_type in subset.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        assert name in reference.type_map, name
        fields = getattr(subset_type, "fields", None) or {}
        for field_name, field in fields.items():
            real = reference.type_map[name].fields[field_name]
            assert str(real.type) == str(field.type), f"{name}.{field_name}"


def test_connector_queries_validate_against_githubs_schema() -> None:
    assert REFERENCE is not None
    reference = build_schema(REFERENCE.read_text(), assume_valid_sdl=True)
    queries = sorted(Path("connectors/github/queries").glob("*.graphql"))
    assert queries
    for query in queries:
        assert validate(reference, parse(query.read_text())) == [], query.name


def test_github_app_installation_auth(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    org = build_org(size=50)
    server = FakeServer("github", GitHubApp(org, set(), app_public_key=public_pem, app_id="4242")).start()
    try:
        config = GitHubConfig(
            org="example-corp", base_url=server.url, app_id="4242", app_private_key=private_pem, app_installation_id=7
        )
        stream = RepositoryReviewRules(make_github(config), "example-corp")
        assert len(list(stream.records())) == len(org.github.repositories)
        assert any(r.path.endswith("/app/installations/7/access_tokens") for r in server.requests)
        assert server.writes() == []
        assert private_pem not in stream.provenance.to_json() and "4242" not in repr(config)
    finally:
        server.stop()


def connection_selections(schema, document) -> list[tuple[str, str, object]]:
    """Every field of `document` whose type is a Connection: (parent type, field name, field node)."""
    from graphql import TypeInfo, TypeInfoVisitor, Visitor, get_named_type, visit

    found: list[tuple[str, str, object]] = []
    info = TypeInfo(schema)

    class Connections(Visitor):
        def enter_field(self, node, *_):
            named = get_named_type(info.get_type())
            if named is not None and named.name.endswith("Connection"):
                found.append((info.get_parent_type().name, node.name.value, node))

    visit(document, TypeInfoVisitor(info, Connections()))
    return found


def selected(node, *path: str) -> bool:
    """Does the field `node` select `path` (e.g. "pageInfo", "hasNextPage")?"""
    for name in path:
        children = {
            s.name.value: s for s in (node.selection_set.selections if node.selection_set else []) if hasattr(s, "name")
        }
        if name not in children:
            return False
        node = children[name]
    return True


def test_every_connection_is_read_to_its_end_or_counted() -> None:
    """A connection read without paging or a count hides a truncated list (the 11th bypass actor). Each one
    selects totalCount (the record can tell a short list), or pageInfo { hasNextPage endCursor } and is really
    paged: it takes `after:` itself, or another query pages the same field with `after:`."""
    assert REFERENCE is not None
    reference = build_schema(REFERENCE.read_text(), assume_valid_sdl=True)
    queries = sorted(Path("connectors").rglob("*.graphql"))
    found = {query: connection_selections(reference, parse(query.read_text())) for query in queries}
    paged_with_after = {
        (parent, name)
        for selections in found.values()
        for parent, name, node in selections
        if any(a.name.value == "after" for a in node.arguments)
    }
    unpaged = [
        f"{query.name}: {parent}.{name}"
        for query, selections in found.items()
        for parent, name, node in selections
        if not selected(node, "totalCount")
        and not (
            selected(node, "pageInfo", "hasNextPage")
            and selected(node, "pageInfo", "endCursor")
            and (parent, name) in paged_with_after
        )
    ]
    assert sum(map(len, found.values())) >= 9  # repositories, rules, bypass actors, members, search, reviews, ...
    assert unpaged == []
