"""The sandbox organisation's GitHub side: repositories in every known protection state."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sandbox.org import SandboxOrg

#: The repository states the sandbox plants, with the CC8.1 review-rule verdict each must get.
REPO_KINDS: dict[str, str] = {
    "protected_with_review": "pass",
    "protected_without_review": "fail",
    "ruleset_only": "pass",
    "admins_may_bypass": "fail",
    "force_push_allowed": "fail",
    "deletion_allowed": "fail",
    "archived": "out_of_scope",
    "unprotected": "fail",
}


@dataclass(frozen=True)
class Repository:
    name: str
    kind: str  # a key of REPO_KINDS
    classic: dict | None  # BranchProtectionRule fields, or None
    rulesets: tuple[dict, ...]  # {name, enforcement, rules: [{type, parameters}], bypass: [actor]}

    @property
    def archived(self) -> bool:
        return self.kind == "archived"



@dataclass
class GitHubData:
    org_login: str
    two_factor_required: bool
    repositories: list[Repository] = field(default_factory=list)


def build(org: SandboxOrg, rng: random.Random) -> GitHubData:
    data = GitHubData(org_login=org.org_login, two_factor_required=True,
                      repositories=_repositories(rng, max(2 * len(REPO_KINDS), org.size // 4) if org.size else 0))
    org.expected["cc8_1_branch_review_rules"] = {
        f"{org.org_login}/{r.name}" for r in data.repositories if REPO_KINDS[r.kind] == "fail"
    }
    return data


def _classic(reviews: int = 1, admin_enforced: bool = True, force_push: bool = False,
             deletions: bool = False) -> dict:
    return {
        "pattern": "main", "requiresApprovingReviews": reviews > 0, "requiredApprovingReviewCount": reviews,
        "isAdminEnforced": admin_enforced, "allowsForcePushes": force_push, "allowsDeletions": deletions,
        "requiresStatusChecks": True, "requiredStatusCheckContexts": ["ci/test"],
    }


def _ruleset(name: str, reviews: int = 1, bypass_admin: bool = False) -> dict:
    return {
        "name": name, "enforcement": "ACTIVE",
        "rules": [
            {"type": "PULL_REQUEST", "parameters": {"__typename": "PullRequestParameters",
                                                    "requiredApprovingReviewCount": reviews}},
            {"type": "NON_FAST_FORWARD", "parameters": None},
            {"type": "DELETION", "parameters": None},
            {"type": "REQUIRED_STATUS_CHECKS", "parameters": {"__typename": "RequiredStatusChecksParameters",
                                                              "requiredStatusChecks": [{"context": "ci/test"}]}},
        ],
        "bypass": [{"organizationAdmin": True, "repositoryRoleName": None, "bypassMode": "ALWAYS"}]
        if bypass_admin else [],
    }


def _repositories(rng: random.Random, count: int) -> list[Repository]:
    kinds = list(REPO_KINDS)
    repos: list[Repository] = []
    for i in range(count):
        kind = kinds[i % len(kinds)] if i < 2 * len(kinds) else rng.choice(kinds)
        classic: dict | None
        rulesets: tuple[dict, ...] = ()
        match kind:
            case "protected_with_review":
                classic = _classic(reviews=rng.choice([1, 2]))
            case "protected_without_review":
                classic = _classic(reviews=0)
            case "ruleset_only":
                classic, rulesets = None, (_ruleset("main-protection", reviews=1),)
            case "admins_may_bypass":
                classic = _classic(admin_enforced=False) if i % 2 == 0 else None
                if classic is None:
                    rulesets = (_ruleset("main-protection", bypass_admin=True),)
            case "force_push_allowed":
                classic = _classic(force_push=True)
            case "deletion_allowed":
                classic = _classic(deletions=True)
            case "archived":
                classic = None
            case _:
                classic = None
        repos.append(Repository(name=f"svc-{i:05d}-{kind.replace('_', '-')}", kind=kind, classic=classic,
                                rulesets=rulesets))
    return repos
