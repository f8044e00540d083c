"""The GitHub people and change controls against the sandbox: collect through the Dagster datasets'
own stream builders, land through the warehouse, evaluate the catalogue's SQL, and compare the failing
rows with the truth the sandbox planted (org.expected), not with hard-coded verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from graphql import DocumentNode, OperationDefinitionNode

from evidence_pipeline.catalogue import Catalogue, catalogue_document, load_catalogue
from evidence_pipeline.defs.sources.github import DATASETS, GitHubResource
from evidence_pipeline.evaluate import ControlOutcome, evaluate_control
from sandbox.github.model import Repository, long_list_repositories, period, set_expected
from sandbox.launch import Sandbox, start_sandbox
from warehouse import Warehouse, stage_records

CATALOGUE = Path(__file__).resolve().parents[1] / "controls_map.yaml"
CONTROLS = (
    "cc8_1_branch_review_rules",
    "cc6_1_github_org_2fa_required",
    "cc6_1_github_members_2fa",
    "cc8_1_pull_requests_peer_approved",
    "cc8_1_required_status_checks",
    "cc6_3_github_outside_collaborators",
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    with start_sandbox(tmp_path_factory.mktemp("github"), size=50, systems=("github",)) as started:
        yield started


@pytest.fixture()
def fake(sandbox):
    app = sandbox.servers["github"].app
    repositories = list(sandbox.org.github.repositories)
    yield app
    app.viewer_is_owner = True
    app.rewrite_response = None
    sandbox.org.github.two_factor_required = True
    sandbox.org.github.repositories = repositories
    app.reload()
    set_expected(sandbox.org, sandbox.org.github)


def add_repositories(sandbox: Sandbox, app, *repositories: Repository) -> list[str]:
    """Serve `repositories` besides the sandbox's; returns their owner/name."""
    sandbox.org.github.repositories += repositories
    set_expected(sandbox.org, sandbox.org.github)
    app.reload()
    return [f"{sandbox.org.org_login}/{r.name}" for r in repositories]


def operation(document: DocumentNode) -> str:
    return next(d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode))


def resource(sandbox: Sandbox, days: int = 1) -> GitHubResource:
    env = sandbox.env
    return GitHubResource(
        org=env["GITHUB_ORG"], api_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"], pull_request_days=days
    )


def collect_and_evaluate(
    sandbox: Sandbox, tmp_path: Path, days: int = 1, catalogue_path: Path = CATALOGUE
) -> dict[str, ControlOutcome]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(tmp_path / "evidence.duckdb")
    warehouse.migrate()
    day: date = sandbox.org.today
    for spec in DATASETS:
        for stream in spec.streams(resource(sandbox, days), day):
            staged = tmp_path / f"{spec.dataset}.jsonl"
            stage_records(stream.records(), staged)
            warehouse.land(spec.source, spec.dataset, day, "run-1", staged, stream.provenance)
    with warehouse.connect() as con:
        catalogue: Catalogue = load_catalogue(catalogue_path, con)
    controls = catalogue.by_id
    return {cid: evaluate_control(warehouse, catalogue, controls[cid], day, "run-1") for cid in CONTROLS}


def failing(outcome: ControlOutcome) -> set[str]:
    return {r["resource_id"] for r in outcome.rows if r["status"] == "fail"}


def test_every_control_fails_exactly_the_planted_cases(sandbox, fake, tmp_path) -> None:
    outcomes = collect_and_evaluate(sandbox, tmp_path)
    expected = sandbox.org.expected
    # an empty repository has no default branch to judge: the branch controls' only unknown rows
    assert sandbox.org.unknown["cc8_1_branch_review_rules"], "the sandbox plants an empty repository"
    for control_id, outcome in outcomes.items():
        assert failing(outcome) == expected[control_id], control_id
        unknown = {r["resource_id"] for r in outcome.rows if r["status"] == "unknown"}
        assert unknown == sandbox.org.unknown.get(control_id, set()), control_id
    # the planted cases are really there, each with its own failure kind
    data = sandbox.org.github
    assert outcomes["cc6_1_github_org_2fa_required"].verdict == "pass"
    members = {r["resource_id"]: r for r in outcomes["cc6_1_github_members_2fa"].rows}
    [admin] = data.planted["admin_without_2fa"]
    assert members[admin.lower()]["failure"] == "owner_without_2fa"
    assert {members[m]["failure"] for m in data.planted["member_without_2fa"]} == {"member_without_2fa"}
    pulls = {r["resource_id"]: r for r in outcomes["cc8_1_pull_requests_peer_approved"].rows}
    [self_merged] = data.planted["pr_self_merged_without_review"] & set(pulls)
    assert pulls[self_merged]["failure"] == "self_merged_without_review"
    [self_approved] = data.planted["pr_self_approved_only"] & set(pulls)
    assert pulls[self_approved]["failure"] == "self_approved_only"
    for kind in ("approved_by_other", "changes_then_approved", "bot_authored_approved"):
        assert {pulls[p]["status"] for p in data.planted[f"pr_{kind}"] & set(pulls)} == {"pass"}, kind
    collaborators = {r["resource_id"]: r for r in outcomes["cc6_3_github_outside_collaborators"].rows}
    assert data.planted["leaver_outside_collaborator"] <= failing(outcomes["cc6_3_github_outside_collaborators"])
    assert {collaborators[c]["status"] for c in data.planted["outside_read_only"]} == {"pass"}
    assert outcomes["cc8_1_required_status_checks"].count("pass") > 0


def test_organisation_without_the_2fa_requirement_fails(sandbox, fake, tmp_path) -> None:
    sandbox.org.github.two_factor_required = False
    set_expected(sandbox.org, sandbox.org.github)
    outcome = collect_and_evaluate(sandbox, tmp_path)["cc6_1_github_org_2fa_required"]
    assert failing(outcome) == sandbox.org.expected["cc6_1_github_org_2fa_required"] == {sandbox.org.org_login}
    assert outcome.rows[0]["failure"] == "not_required" and outcome.verdict == "fail"


def test_a_non_owner_token_makes_2fa_unknown_never_pass(sandbox, fake, tmp_path) -> None:
    fake.viewer_is_owner = False
    outcomes = collect_and_evaluate(sandbox, tmp_path)
    members = outcomes["cc6_1_github_members_2fa"]
    assert members.verdict == "unknown" and {r["status"] for r in members.rows} == {"unknown"}
    assert len(members.rows) == len(sandbox.org.github.members)
    assert outcomes["cc6_1_github_org_2fa_required"].verdict == "unknown"


def test_a_window_shorter_than_the_period_is_unknown(sandbox, fake, tmp_path) -> None:
    outcome = collect_and_evaluate(sandbox, tmp_path / "day")["cc8_1_pull_requests_peer_approved"]
    assert not [r for r in outcome.rows if r["status"] == "unknown"]
    # the control asks for a week while only the last day was collected
    document = catalogue_document(CATALOGUE)  # as one file, every control inline
    [control] = [c for c in document["controls"] if c["id"] == "cc8_1_pull_requests_peer_approved"]
    assert control["parameters"]["period_days"] == 1
    control["parameters"]["period_days"] = 7
    week = tmp_path / "controls_map.yaml"
    week.write_text(yaml.safe_dump(document, sort_keys=False))
    outcome = collect_and_evaluate(sandbox, tmp_path / "week", catalogue_path=week)["cc8_1_pull_requests_peer_approved"]
    unknown = [r for r in outcome.rows if r["status"] == "unknown"]
    assert len(unknown) == 1 and "do not cover the period" in unknown[0]["reason"]
    assert outcome.verdict == "fail"  # the planted failures inside the collected day still fail
    # collecting the whole week covers it again
    outcome = collect_and_evaluate(sandbox, tmp_path / "full", days=7, catalogue_path=week)[
        "cc8_1_pull_requests_peer_approved"
    ]
    assert not [r for r in outcome.rows if r["status"] == "unknown"]
    assert len(outcome.rows) == len(sandbox.org.github.merged_between(*period(sandbox.org.today, 7)))


def rows_by_id(outcome: ControlOutcome) -> dict[str, dict]:
    return {r["resource_id"]: r for r in outcome.rows}


def test_an_empty_repository_is_its_own_unknown_row_and_costs_nothing_else(sandbox, fake, tmp_path) -> None:
    # GitHub's defaultBranchRef is null for a repository without commits
    before = collect_and_evaluate(sandbox, tmp_path / "before")
    [empty] = add_repositories(sandbox, fake, Repository(name="svc-brand-new", kind="empty", classic=None, rulesets=()))
    after = collect_and_evaluate(sandbox, tmp_path / "after")
    for control_id in ("cc8_1_branch_review_rules", "cc8_1_required_status_checks"):
        row = rows_by_id(after[control_id])[empty]
        assert row["status"] == "unknown" and row["reason"].startswith("empty repository: no commits"), control_id
        # every other repository is judged as before
        others = {k: (r["status"], r["reason"]) for k, r in rows_by_id(after[control_id]).items() if k != empty}
        assert others == {k: (r["status"], r["reason"]) for k, r in rows_by_id(before[control_id]).items()}
        assert failing(after[control_id]) == sandbox.org.expected[control_id]
    for control_id in CONTROLS:
        assert all(r["reason"] for r in after[control_id].rows), control_id


def test_an_admin_bypass_past_the_first_page_of_bypass_actors_or_rules_fails(sandbox, fake, tmp_path) -> None:
    # svc-long-bypass-list: the organisation-admin bypass is the ruleset's 11th bypass actor (GitHub's first page
    # here is 10); svc-long-rule-list: the admin-bypassed ruleset's rule is the branch's 27th (first page 25)
    long_lists = [r.name for r in long_list_repositories() if not r.empty]
    planted = [f"{sandbox.org.org_login}/{r.name}" for r in sandbox.org.github.repositories if r.name in long_lists]
    assert len(planted) == len(long_lists), "the sandbox company plants the long lists"
    outcome = collect_and_evaluate(sandbox, tmp_path)["cc8_1_branch_review_rules"]
    rows = rows_by_id(outcome)
    for repository in planted:
        assert rows[repository]["status"] == "fail" and rows[repository]["failure"] == "admin_bypass", repository
    assert failing(outcome) == sandbox.org.expected["cc8_1_branch_review_rules"]


def test_a_list_shorter_than_its_total_count_is_unknown_never_pass(sandbox, fake, tmp_path) -> None:
    """GitHub says how many items a connection holds; when the pages read to the end hold fewer (the list changed
    while it was read, or GitHub cut it short), the row cannot pass."""
    data = sandbox.org.github
    reader = next(c for c in data.outside_collaborators if c.permission == "READ")
    repository = f"{data.org_login}/{reader.repository}"
    [approved] = sorted(
        data.planted["pr_approved_by_other"] & {p.id for p in data.merged_between(*period(sandbox.org.today))}
    )[:1]

    def overstate_totals(document, variables, payload):
        name = operation(document)
        if name == "OutsideCollaborators":
            for repo in payload["data"]["organization"]["repositories"]["nodes"]:
                if repo["nameWithOwner"] == repository:
                    repo["collaborators"]["totalCount"] += 101
        if name == "MergedPullRequests":
            for pull in payload["data"]["search"]["nodes"]:
                if f"{pull['repository']['nameWithOwner']}#{pull['number']}" == approved:
                    pull["reviews"]["totalCount"] += 100
        return payload

    fake.rewrite_response = overstate_totals
    outcomes = collect_and_evaluate(sandbox, tmp_path)
    collaborators = rows_by_id(outcomes["cc6_3_github_outside_collaborators"])
    unread = collaborators[f"{repository}:*"]
    assert unread["status"] == "unknown" and "list truncated" in unread["reason"]
    assert collaborators[f"{repository}:{reader.account.login.lower()}"]["status"] == "pass"  # what was read
    pull = rows_by_id(outcomes["cc8_1_pull_requests_peer_approved"])[approved]
    assert pull["status"] == "unknown" and "list truncated" in pull["reason"]
