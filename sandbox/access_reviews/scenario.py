"""The sandbox company's quarterly access review, run on the day before the demo's day (its evidence is real: the
population is frozen from that day's signed bundle) through the campaign engine's own API, as its people would:

- `review start` of the privileged accounts, due that same day, from that day's bundle;
- every reviewer but one returns their packet, keeping each account except two GitHub owners they revoke;
- one reviewer's packet carries a self-review attempt (the account's own person as decided_by): the import rejects
  that row, and the reviewer then decides it in a second import;
- one reviewer never returns their packet (overdue the next day);
- one of the two revokes is carried out in the fake GitHub (the owner is demoted to member), so the next day's
  collected data lacks that privilege; the other is not (still inside the revocation window on the next day).

The truth for the next day is planted in `org.expected` / `org.unknown`, derived from what was done here, never
from the controls' SQL. Nothing here is a model of its own (no model.py): the campaign is made by the pipeline.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from evidence_pipeline.evidence.csv_cells import read_csv, write_csv
from evidence_pipeline.reviews.campaigns import campaigns_root, import_packet, read_campaigns, start_campaign
from evidence_pipeline.reviews.packets import PACKET_COLUMNS, packet_stem
from evidence_pipeline.settings import Paths
from sandbox import expected
from sandbox.launch import Sandbox

SCOPE = "privileged"
#: the organisation's security lead: the campaign's owner, the fallback reviewer
OWNER_LOCAL = "security"
QUARTERLY = "cc6_3_access_review_quarterly"
DECIDED = "cc6_3_access_review_decided"
REVOCATIONS = "cc6_3_access_review_revocations_done"
NO_SELF_REVIEW = "cc6_3_access_review_no_self_review"


@dataclass(frozen=True)
class CampaignScenario:
    campaign_id: str
    reviewers: int
    accounts: int
    overdue_reviewer: str
    self_review: str  # the account key decided by its own person
    carried_out: str  # the account key whose revoke the fake GitHub carried out
    not_carried_out: str

    def line(self) -> str:
        """The demo's one line for the campaign step."""
        return (
            f"campaign {self.campaign_id}, {self.accounts} accounts, {self.reviewers} reviewers: 1 overdue, 2 revokes "
            f"(1 carried out), 1 self-review attempt rejected"
        )


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(day: date) -> str:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return quarter_of(first - timedelta(days=1))


def day_before_with_campaign(sandbox: Sandbox, paths: Paths, day: date) -> None:
    """The demo's campaign step, on one line: the day before `day` collected (quietly, its log in the data folder),
    then the campaign run on it. A data folder that already holds the campaign keeps it (a campaign never restarts)."""
    before = day - timedelta(days=1)
    print(f"access review on the day before ({before}): ", end="", flush=True)  # the run takes a minute or two
    print(_campaign_of_the_day_before(sandbox, paths, before))


def _campaign_of_the_day_before(sandbox: Sandbox, paths: Paths, before: date) -> str:
    from evidence_pipeline.launch import run_day, run_log_file
    from evidence_pipeline.reviews.campaigns import CampaignError
    from evidence_pipeline.terminal import STEP_CONSOLE_LOG, step_processes_stderr_to

    campaign_id = f"{quarter_of(before)}-{SCOPE}"
    try:
        if any(c.campaign_id == campaign_id for c in read_campaigns(campaigns_root(paths))):
            return f"{campaign_id} was already run in this data folder; its evidence is kept"
        with step_processes_stderr_to(paths.home / "logs" / STEP_CONSOLE_LOG):
            outcome = run_day(before, paths)
        if not outcome.success:
            return f"not run, the day's run failed (its log: {run_log_file(paths, before, outcome.run_id)})"
        return run_campaign(sandbox, paths, before).line()
    except CampaignError as exc:  # the demo's day goes on; its campaign controls say what is missing
        return f"not run: {exc}"


def run_campaign(sandbox: Sandbox, paths: Paths, day: date) -> CampaignScenario:
    """The campaign of `day` (a day whose bundle is written), its imports, and one revoke carried out in the fakes;
    plants the next day's truth for the campaign controls."""
    org = sandbox.org
    now = datetime.combine(day, time(12), UTC)  # the sandbox's clock: the campaign runs on `day`
    owner = f"{OWNER_LOCAL}@{org.domain}"
    start = start_campaign(paths, quarter_of(day), SCOPE, day, owner, {}, day, started_by=owner, now=now)
    root = campaigns_root(paths)
    campaign = next(c for c in read_campaigns(root) if c.campaign_id == start.parent.name)
    by_reviewer: dict[str, list[dict[str, str]]] = {}
    for account in campaign.population:
        by_reviewer.setdefault(account["reviewer"], []).append(account)

    # two GitHub owners (each an active person's account with 2FA, so no other control's truth moves) are revoked
    active = {p.email for p in org.people if p.status == "active"}
    owners = sorted(
        a["account_key"]
        for a in campaign.population
        if a["system"] == "github" and a["person_email"] in active and _github_member(org, a["account_id"]).two_factor
    )
    if len(owners) < 2:
        raise RuntimeError(f"the sandbox's campaign needs two GitHub owners with 2FA to revoke, found {owners}")
    carried_out, not_carried_out = owners[0], owners[1]
    revoked = {carried_out, not_carried_out}
    revokers = {a["reviewer"] for a in campaign.population if a["account_key"] in revoked}
    # the self-review: a person's account in a responding reviewer's packet, decided by that person themselves
    self_reviewed = next(
        a
        for a in sorted(campaign.population, key=lambda a: a["account_key"])
        if a["person_email"] and a["account_key"] not in revoked and a["reviewer"] in revokers
    )
    # the overdue reviewer: one who is in no other planted case, the fewest accounts first
    bystanders = sorted((r for r in by_reviewer if r not in revokers), key=lambda r: (len(by_reviewer[r]), r))
    if not bystanders or len(by_reviewer) < 3:
        raise RuntimeError(f"the sandbox's campaign needs three reviewers, one uninvolved: {sorted(by_reviewer)}")
    overdue = bystanders[0]

    workdir = sandbox.workdir / "access_reviews"
    workdir.mkdir(parents=True, exist_ok=True)
    rejected_bundle = ""
    for reviewer in sorted(by_reviewer):
        if reviewer == overdue:
            continue  # never returns the packet
        packet = _packet(start, reviewer)
        for row in packet:
            key = row["account_key"]
            if key in revoked:
                row.update(decision="revoke", comment="owner role no longer needed: demote to member")
            else:
                row.update(decision="keep", comment="")
            if key == self_reviewed["account_key"]:
                row["decided_by"] = self_reviewed["person_email"]  # the person decides on their own access
        result = import_packet(paths, _returned(workdir, reviewer, "returned", packet), owner, now=now)
        if result.rejected:
            rejected_bundle = result.bundle.relative_to(root).as_posix()
            # the reviewer decides the rejected row themselves, in a second returned file
            again = [
                {**row, "decided_by": "", "decision": "keep", "comment": ""}
                for row in packet
                if row["account_key"] == self_reviewed["account_key"]
            ]
            import_packet(paths, _returned(workdir, reviewer, "returned-again", again), owner, now=now)
    if not rejected_bundle:
        raise RuntimeError(f"the import did not reject the self-review of {self_reviewed['account_key']}")

    _demote_github_owner(sandbox, carried_out.split(":", 1)[1])
    next_day = day + timedelta(days=1)
    org.expected[QUARTERLY] = {previous_quarter(next_day)}  # the quarter before ended without a campaign
    org.unknown[QUARTERLY] = {quarter_of(next_day)}  # under way: not every account decided
    org.expected[DECIDED] = {f"{campaign.campaign_id}/{a['account_key']}" for a in by_reviewer[overdue]}
    org.expected[REVOCATIONS] = set()
    org.unknown[REVOCATIONS] = {f"{campaign.campaign_id}/{not_carried_out}"}  # its window is still open
    org.expected[NO_SELF_REVIEW] = {f"{rejected_bundle}:{self_reviewed['account_key']}"}
    return CampaignScenario(
        campaign.campaign_id,
        len(by_reviewer),
        len(campaign.population),
        overdue,
        self_reviewed["account_key"],
        carried_out,
        not_carried_out,
    )


def _packet(start_bundle: Path, reviewer: str) -> list[dict[str, str]]:
    with (start_bundle / "packets" / f"{packet_stem(reviewer)}.csv").open(newline="") as handle:
        return list(read_csv(handle))


def _returned(workdir: Path, reviewer: str, name: str, rows: list[dict[str, str]]) -> Path:
    path = workdir / f"{packet_stem(reviewer)}-{name}.csv"
    write_csv(path, PACKET_COLUMNS, rows)
    return path


def _github_member(org, login: str):
    return next(m for m in org.github.members if m.account.login.lower() == login.lower())


def _demote_github_owner(sandbox: Sandbox, login: str) -> None:
    """Carry out a revoke as the organisation's owner would (Settings > People > Change role > Member): the fake
    serves the member's new role, and the truth of every other control follows from the changed accounts."""
    org = sandbox.org
    github = org.github
    github.members = [
        dataclasses.replace(m, role="MEMBER") if m.account.login.lower() == login.lower() else m for m in github.members
    ]
    org.accounts = [
        dataclasses.replace(a, privileged=False) if a.system == "github" and a.account_id == login.lower() else a
        for a in org.accounts
    ]
    expected.derive(org)
    sandbox.servers["github"].app.reload()
