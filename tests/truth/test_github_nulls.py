"""GitHub's schema says which fields may be null; every one our queries select is served null in turn (through the
fake, so the connector's real parsing and paging code reads it), and the day is judged by the catalogue's SQL.

Nothing may crash (a clear SourceError failing the dataset is fine: its controls are then unknown), no reason may be
null, no row may pass that did not pass with the field present, and a failing row may only disappear when an unknown
row says what could not be read. The sandbox organisation holds a resource that fails on each field's real value
(an admin bypass actor, a write-access collaborator, a member without 2FA, an approval after the merge ...)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    GraphQLList,
    GraphQLNonNull,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    visit,
)

from connectors.github import (
    Environments,
    GitHubConfig,
    MergedPullRequests,
    OrganizationMembers,
    OutsideCollaborators,
    RepositoryReviewRules,
    RepositorySecurity,
    make_github,
)
from connectors.stream import SourceError, Stream
from evidence_pipeline.catalogue import load_catalogue
from evidence_pipeline.evaluate import evaluate_control
from sandbox.github.model import Repository, _ruleset, long_list_repositories, period
from sandbox.github.server import GitHubApp, load_schema, reference_schema_path
from sandbox.org import build_org
from sandbox.server import FakeServer
from warehouse import Warehouse, stage_records

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "connectors" / "github" / "queries"
TOKEN = "nulls-t0ken"
#: the dataset each query file serves
DATASET_OF_QUERY = {
    "repository_review_rules": "repositories",
    "repository_branch_rules": "repositories",
    "ruleset_bypass_actors": "repositories",
    "outside_collaborators": "outside_collaborators",
    "repository_outside_collaborators": "outside_collaborators",
    "organization_members": "members",
    "organization_members_basic": "members",
    "merged_pull_requests": "merged_pull_requests",
    "pull_request_reviews": "merged_pull_requests",
    "repository_security": "repository_security",
    "repository_environments": "environments",
}
#: a list position: the path goes on in every element; at the end of a path, every element is null
EACH = "[]"


def nullable_paths(schema, document: DocumentNode) -> list[tuple[str, ...]]:
    """Response paths of every field the document selects that GitHub's schema lets be null, and of every list
    whose elements may be null (ending in EACH)."""
    info = TypeInfo(schema)
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[str, ...]] = [()]

    class Fields(Visitor):
        def enter_field(self, node, *_):
            field_type = info.get_type()
            key = (node.alias or node.name).value
            path = stack[-1] + (key,)
            if key != "__typename":
                if not isinstance(field_type, GraphQLNonNull):
                    paths.append(path)
                inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
                if isinstance(inner, GraphQLList):
                    if not isinstance(inner.of_type, GraphQLNonNull):
                        paths.append(path + (EACH,))
                    path += (EACH,)
            stack.append(path)

        def leave_field(self, *_):
            stack.pop()

    visit(document, TypeInfoVisitor(info, Fields()))
    return paths


def null_at(value: Any, path: tuple[str, ...]) -> int:
    """Set what `path` names to null everywhere in `value`; how many places it did."""
    if not path:
        return 0
    head, rest = path[0], path[1:]
    if head == EACH:
        if not isinstance(value, list):
            return 0
        if not rest:
            value[:] = [None] * len(value)
            return len(value)
        return sum(null_at(item, rest) for item in value)
    if not isinstance(value, dict) or value.get(head) is None:
        return 0
    if not rest:
        value[head] = None
        return 1
    return null_at(value[head], rest)


def operation_name(document: DocumentNode) -> str:
    return next(d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode))


@dataclass(frozen=True)
class Case:
    query: str  # file name without .graphql
    operation: str
    path: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.query}:{'.'.join(self.path)}"


def cases() -> list[Case]:
    reference = reference_schema_path()
    assert reference is not None, "GitHub's schema (shared/reference/github-schema.graphql) is needed"
    schema = load_schema(reference)  # parsed once, shared with the fake
    found = []
    for query in sorted(QUERIES.glob("*.graphql")):
        document = parse(query.read_text())
        found += [Case(query.stem, operation_name(document), path) for path in nullable_paths(schema, document)]
    return found


CASES = cases()


def test_every_query_is_covered() -> None:
    assert {q.stem for q in QUERIES.glob("*.graphql")} == set(DATASET_OF_QUERY)
    assert {c.query for c in CASES} == set(DATASET_OF_QUERY)  # each selects a nullable field


class World:
    """The sandbox organisation on a fake GitHub, a warehouse holding its baseline day, and the baseline rows."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        # every list past GitHub's first page, so the follow-up queries are served too: rulesets past the first
        # page of rules and of bypass actors, an empty repository, a repository with more than 100 outside
        # collaborators and a pull request with more than 100 reviews (its approval on the second page)
        self.org = build_org(size=50)
        data = self.org.github
        role_admin = _ruleset("main-protection")
        role_admin["bypass"] = [{"organizationAdmin": False, "repositoryRoleName": "admin", "bypassMode": "ALWAYS"}]
        planted = {r.name for r in data.repositories}  # the sandbox company plants the long lists at this size
        data.repositories += [
            *(r for r in long_list_repositories() if r.name not in planted),
            Repository(name="svc-role-admin-bypass", kind="admins_may_bypass", classic=None, rulesets=(role_admin,)),
        ]
        shared = data.outside_collaborators[0]
        data.outside_collaborators += [
            replace(
                shared,
                permission="READ",
                account=replace(shared.account, login=f"auditor-{k:03d}", name=f"Auditor {k}"),
            )
            for k in range(130)
        ]
        since, until = period(self.org.today)
        approved = next(pr for pr in data.merged_between(since, until) if pr.kind == "approved_by_other")
        approval = approved.reviews[-1]
        rounds = tuple(
            replace(approval, state="CHANGES_REQUESTED", submitted_at=approval.submitted_at - timedelta(minutes=k))
            for k in range(120, 0, -1)
        )
        data.pull_requests[data.pull_requests.index(approved)] = replace(approved, reviews=(*rounds, approval))
        self.app = GitHubApp(self.org, {TOKEN})
        self.server = FakeServer("github", self.app).start()
        self.day = self.org.today
        self.template = workdir / "baseline.duckdb"
        warehouse = Warehouse(self.template)
        warehouse.migrate()
        with warehouse.connect() as con:
            self.catalogue = load_catalogue(ROOT / "controls_map.yaml", con)
        self.controls = {
            dataset: [c for c in self.catalogue.by_id.values() if c.sources == [f"github.{dataset}"]]
            for dataset in set(DATASET_OF_QUERY.values())
        }
        self.baseline: dict[str, dict[str, dict[str, Any]]] = {}
        for dataset in self.controls:
            self.collect(warehouse, dataset)
            for control in self.controls[dataset]:
                outcome = evaluate_control(warehouse, self.catalogue, control, self.day, "baseline")
                self.baseline[control.id] = {r["resource_id"]: r for r in outcome.rows}

    def stream(self, dataset: str) -> Stream:
        client = make_github(GitHubConfig(org=self.org.org_login, base_url=self.server.url, token=TOKEN))
        org = self.org.org_login
        match dataset:
            case "repositories":
                return RepositoryReviewRules(client, org)
            case "outside_collaborators":
                return OutsideCollaborators(client, org)
            case "members":
                return OrganizationMembers(client, org)
            case "repository_security":
                return RepositorySecurity(client, org)
            case "environments":
                return Environments(client, org)
        return MergedPullRequests(client, org, *period(self.day))

    def collect(self, warehouse: Warehouse, dataset: str) -> None:
        stream = self.stream(dataset)
        staged = self.workdir / f"{dataset}.jsonl"
        try:
            stage_records(stream.records(), staged)
        except SourceError:
            warehouse.log_failure(self.day, "nulled", stream.provenance)
            raise
        warehouse.land("github", dataset, self.day, "nulled", staged, stream.provenance)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    started = World(tmp_path_factory.mktemp("github-nulls"))
    yield started
    started.server.stop()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_null_field_never_makes_a_row_pass(world: World, case: Case, tmp_path: Path) -> None:
    dataset = DATASET_OF_QUERY[case.query]
    hits = 0

    def serve_null(document: DocumentNode, variables: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        nonlocal hits
        if operation_name(document) == case.operation and payload.get("data"):
            hits += null_at(payload["data"], case.path)
        return payload

    # the members query without verified emails is what a viewer refused them gets
    world.app.verified_emails_forbidden = case.query == "organization_members_basic"
    world.app.rewrite_response = serve_null
    shutil.copy(world.template, tmp_path / "day.duckdb")
    warehouse = Warehouse(tmp_path / "day.duckdb")
    try:
        world.collect(warehouse, dataset)
        failed = None
    except SourceError as exc:  # the dataset fails, named; its controls must say unknown
        failed = str(exc)
        assert failed.startswith(f"github.{dataset}"), failed
    finally:
        world.app.rewrite_response = None
        world.app.verified_emails_forbidden = False
    assert hits, f"{case}: the sandbox never served this field, so nulling it proves nothing"
    for control in world.controls[dataset]:
        outcome = evaluate_control(warehouse, world.catalogue, control, world.day, "nulled")
        baseline = world.baseline[control.id]
        rows = {r["resource_id"]: r for r in outcome.rows}
        if failed:
            assert outcome.verdict == "unknown" and not rows, control.id
            continue
        for resource, row in rows.items():
            assert row["status"] in ("pass", "fail", "unknown") and row["reason"], (control.id, resource)
            if row["status"] == "pass":
                assert (baseline.get(resource) or {}).get("status") == "pass", (control.id, resource, row["reason"])
        lost = [r for r, row in baseline.items() if row["status"] != "pass" and r not in rows]
        assert not lost or any(row["status"] == "unknown" for row in rows.values()), (control.id, lost[:3])
        if any(row["status"] != "pass" for row in baseline.values()):
            assert outcome.verdict != "pass", control.id
