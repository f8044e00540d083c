"""`evidence-pipeline review start|import|status`: access-review campaigns at the terminal (campaigns.py works)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from evidence_pipeline.settings import Paths

# campaigns.py (and the evidence modules it reads with) is imported by the handlers only: building the parser for
# any command stays quick. Its CampaignError is the one-line error cli.py's main prints as `error: ...` (exit 2).


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    review = command(
        "review",
        "run a quarterly access-review campaign: freeze the population, send packets, import decisions",
        "start freezes a verified day's population (privileged accounts, or every account) and writes one packet\n"
        "per reviewer; import checks a returned packet whole and signs its decisions; status shows who is done.\n"
        "The daily chain is verified against EVIDENCE_PUBLIC_KEY when set (else its first signer).",
        "evidence-pipeline review start --quarter 2026-Q4 --owner security@corp.com --reviewer aws=ops@corp.com\n"
        "evidence-pipeline review import packets/lea@corp.com.xlsx --imported-by security@corp.com\n"
        "evidence-pipeline review import-entra --campaign 2026-Q4-privileged --definition <definition id>\n"
        "evidence-pipeline review status --campaign 2026-Q4-privileged",
    )
    actions = review.add_subparsers(dest="review_command", required=True, metavar="ACTION", help="what to do")

    def action(name: str, summary: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.")

    start = action("start", "freeze the population and write the packets (a signed bundle)")
    start.add_argument("--quarter", required=True, help="the quarter reviewed, e.g. 2026-Q4")
    start.add_argument(
        "--scope",
        default="privileged",
        help="privileged: the privileged accounts (cc6_3_privileged_access_review's population, the default); all: "
        "every account (cc6_2_accounts_have_owner's)",
    )
    start.add_argument(
        "--due", type=date.fromisoformat, default=None, help="decisions due (default 14 days on, within the quarter)"
    )
    start.add_argument("--owner", default=None, help="the campaign's owner: reviews what no manager or owner can")
    start.add_argument(
        "--reviewer",
        action="append",
        default=[],
        metavar="SYSTEM=EMAIL",
        help="the reviewer of every account of a system (repeatable), e.g. github=cto@corp.com",
    )
    start.add_argument(
        "--date", type=date.fromisoformat, default=None, help="the day whose evidence is frozen (default the latest)"
    )
    returned = action("import", "import a returned packet (CSV or .xlsx) as a signed bundle")
    returned.add_argument("file", type=Path, help="the packet as the reviewer returned it")
    returned.add_argument("--imported-by", default=None, help="your e-mail (default: the local user name)")
    entra = action("import-entra", "import a Microsoft Entra ID Governance access review's decisions")
    entra.add_argument("--campaign", required=True, help="the campaign id, e.g. 2026-Q4-privileged")
    entra.add_argument("--definition", required=True, help="the access review's schedule definition id (Graph)")
    entra.add_argument("--imported-by", default=None, help="your e-mail (default: the local user name)")
    status = action("status", "show decided of total per reviewer, and who is overdue")
    status.add_argument("--campaign", default=None, help="one campaign id, e.g. 2026-Q4-privileged (default: all)")


def _review(args: argparse.Namespace) -> int:
    handlers = {"start": _start, "import": _import, "import-entra": _import_entra, "status": _status}
    return handlers[args.review_command](args)


def _overrides(values: list[str]) -> dict[str, str]:
    from evidence_pipeline.reviews.campaigns import CampaignError

    overrides: dict[str, str] = {}
    for value in values:
        system, separator, email = value.partition("=")
        if not separator or not system.strip() or not email.strip():
            raise CampaignError(f"--reviewer {value!r}: expected SYSTEM=EMAIL, e.g. github=cto@corp.com")
        if system.strip() in overrides:
            raise CampaignError(f"--reviewer {value!r}: system {system.strip()} is given twice")
        overrides[system.strip()] = email.strip()
    return overrides


def _start(args: argparse.Namespace) -> int:
    from evidence_pipeline.evidence.signing import SigningKeyError, pinned_public_key_from_env
    from evidence_pipeline.reviews.campaigns import CampaignError, campaigns_root, read_campaigns, start_campaign

    paths = Paths.from_env()
    try:
        public_key = pinned_public_key_from_env()
    except SigningKeyError as exc:
        raise CampaignError(str(exc)) from None
    overrides = _overrides(args.reviewer)
    bundle = start_campaign(
        paths, args.quarter, args.scope, args.due, args.owner, overrides, args.date, public_key=public_key
    )
    campaign = next(c for c in read_campaigns(campaigns_root(paths)) if c.campaign_id == bundle.parent.name)
    print(
        f"campaign {campaign.campaign_id}: {campaign.population_count} account(s) frozen from {campaign.frozen_bundle} "
        f"({campaign.frozen_control}), population SHA-256 {campaign.population_sha256}; due {campaign.due}"
    )
    for reviewer in campaign.campaign["reviewers"]:
        print(f"  {reviewer['reviewer']}: {reviewer['accounts']} account(s): {bundle / reviewer['packet']}.xlsx (.csv)")
    for system in campaign.campaign["not_reviewed"]:
        print(f"WARNING: not in the campaign: {system['dataset']}: {system['reason']}", file=sys.stderr)
    print(f"campaign bundle: {bundle}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from evidence_pipeline.reviews.campaigns import import_packet

    result = import_packet(Paths.from_env(), args.file, args.imported_by)
    for row in result.rejected:
        rejected = f"{args.file.name}: row {row['row']} ({row['account_key']}): {row['rejection']}"
        print(f"rejected: {rejected}", file=sys.stderr)
    print(
        f"{result.campaign_id}: {len(result.accepted)} decision(s) of {result.reviewer} accepted, "
        f"{len(result.rejected)} rejected, {result.undecided} row(s) still undecided"
    )
    print(f"decisions bundle: {result.bundle}")
    return 0


def _import_entra(args: argparse.Namespace) -> int:
    from evidence_pipeline.reviews.entra import import_entra_review

    result = import_entra_review(Paths.from_env(), args.campaign, args.definition, imported_by=args.imported_by)
    for row in result.rejected:
        print(f"rejected: {row['account_key']} (decided by {row['decided_by'] or 'nobody'}): {row['rejection']}")
    print(
        f"{result.campaign_id}: {len(result.accepted)} Entra decision(s) accepted, {len(result.rejected)} rejected, "
        f"{result.undecided} Entra account(s) without an Approve or Deny"
    )
    print(f"decisions bundle: {result.bundle}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from evidence_pipeline.reviews.campaigns import CampaignError, campaigns_root, read_campaigns

    campaigns = read_campaigns(campaigns_root(Paths.from_env()))
    if args.campaign:
        campaigns = [c for c in campaigns if c.campaign_id == args.campaign]
        if not campaigns:
            raise CampaignError(f"--campaign {args.campaign}: no such campaign")
    if not campaigns:
        print("no access-review campaign yet (evidence-pipeline review start --quarter ...)")
        return 0
    today = datetime.now(UTC).date()
    for campaign in campaigns:
        progress = campaign.progress(today)
        decided = sum(p.decided for p in progress)
        state = "complete" if decided == campaign.population_count else "OVERDUE" if today > campaign.due else "open"
        print(f"{campaign.campaign_id}: {decided} of {campaign.population_count} decided, due {campaign.due} ({state})")
        for reviewer in progress:
            late = " OVERDUE" if reviewer.overdue else ""
            print(f"  {reviewer.reviewer}: {reviewer.decided} of {reviewer.total}{late}")
        overdue = [p.reviewer for p in progress if p.overdue]
        if overdue:
            print(f"  overdue reviewers: {', '.join(overdue)}")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"review": _review}
