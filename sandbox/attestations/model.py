"""The sandbox company's attestations file, its artefacts and its vendor register.

Planted (org.expected):
- the DR exercise is expired (performed 400 days ago, valid 12 months): a1_3_dr_exercise_current fails on it;
- the tabletop exercise has an expired entry and a current one (the current one counts);
- a vendor added to the register last month was never reviewed: cc9_2_vendor_reviews_current fails on it;
- the first active person of the roster has no background check, the second an expired confidentiality agreement
  (a 24-month term, never re-signed). Both hold IAM Identity Center accounts (sandbox/aws/model.py gives the first
  active people ENABLED users), which puts them in the production scope; tests/test_attestations.py checks that
  against the accounts' truth, so a change there cannot quietly empty these cases.
Every other active person has both, performed around their start date, in one screening report per start month.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sandbox.company import SandboxOrg

ORGANISATION_CONTROLS = {
    "tabletop_exercise": "cc7_4_tabletop_exercise_current",
    "penetration_test": "cc4_1_penetration_test_current",
    "dr_exercise": "a1_3_dr_exercise_current",
    "policy_review": "cc5_3_policy_review_current",
    "risk_assessment": "cc3_1_risk_assessment_current",
}
PERSON_CONTROLS = {
    "background_check": "cc1_4_background_checks",
    "confidentiality_agreement": "cc1_1_confidentiality_agreements",
}
VENDOR_CONTROL = "cc9_2_vendor_reviews_current"
NEW_VENDOR = "Acme Analytics"


@dataclass
class AttestationsData:
    #: the entries as attestations.yaml holds them (artefact paths relative to the file's folder)
    entries: list[dict] = field(default_factory=list)
    #: artefact path (relative) -> its bytes
    artefacts: dict[str, bytes] = field(default_factory=dict)
    #: the vendor register's rows
    vendors: list[dict[str, str]] = field(default_factory=list)
    #: case name -> subjects (kinds, e-mails, vendors)
    planted: dict[str, set[str]] = field(default_factory=dict)


def build(org: SandboxOrg, rng: random.Random) -> AttestationsData:
    data = AttestationsData()
    security, cto = f"security@{org.domain}", f"cto@{org.domain}"

    def attest(
        kind: str, performed: date, months: int, artefact: str, subject: str | None = None, **extra: str
    ) -> None:
        content = data.artefacts.setdefault(artefact, f"{artefact}\nsandbox report, {performed}\n".encode())
        entry = {"kind": kind, **({"subject": subject} if subject else {})}
        entry |= {"summary": extra.get("summary", f"sandbox {kind.replace('_', ' ')}"), "performed": performed}
        entry |= {"performer": extra.get("performer", security), "approver": cto, "artefact": artefact}
        if len(data.entries) % 2 == 0:  # as `evidence-pipeline attest` writes it; the others are hand-written
            entry["artefact_sha256"] = hashlib.sha256(content).hexdigest()
        data.entries.append({**entry, "valid_months": months})

    today = org.today
    attest("tabletop_exercise", today - timedelta(days=430), 12, "reports/tabletop-old.txt")
    attest("tabletop_exercise", today - timedelta(days=60), 12, "reports/tabletop.txt")
    attest("penetration_test", today - timedelta(days=150), 12, "reports/pentest.txt", performer="tester@pentest.test")
    attest("dr_exercise", today - timedelta(days=400), 12, "reports/dr-exercise.txt")
    attest("policy_review", today - timedelta(days=200), 12, "reports/policy-review.txt")
    attest("risk_assessment", today - timedelta(days=90), 12, "reports/risk-register.txt")
    data.planted["expired"] = {"dr_exercise"}

    vendors = [("Amazon Web Services", "hosting", "customer data"), ("GitHub", "source code", "source code")]
    vendors += [("Google Workspace", "e-mail and documents", "staff data"), ("KnowBe4", "training", "staff data")]
    for number, (vendor, *_) in enumerate(vendors):
        attest("vendor_review", today - timedelta(days=30 + 40 * number), 12, f"vendors/{vendor}.txt", vendor)
    vendors.append((NEW_VENDOR, "product analytics", "customer data"))  # added last month, not yet reviewed
    data.vendors = [{"vendor": v, "service": s, "data_access": a, "owner": security} for v, s, a in vendors]
    data.planted["unreviewed_vendor"] = {NEW_VENDOR}

    active = [p for p in org.people if p.status == "active"]
    unchecked, unsigned = active[:1], active[1:2]
    for person in active:
        report = f"screening/{person.start_date:%Y-%m}.txt"  # one screening provider report per start month
        if person not in unchecked:
            attest("background_check", person.start_date - timedelta(days=7), 120, report, person.email)
        if person in unsigned:
            attest("confidentiality_agreement", today - timedelta(days=800), 24, report, person.email)
        else:
            attest("confidentiality_agreement", person.start_date, 120, report, person.email)
    data.planted["no_background_check"] = {p.email for p in unchecked}
    data.planted["confidentiality_expired"] = {p.email for p in unsigned}

    for kind, control in ORGANISATION_CONTROLS.items():
        org.expected[control] = {kind} & data.planted["expired"]
    org.expected[VENDOR_CONTROL] = set(data.planted["unreviewed_vendor"])
    org.expected[PERSON_CONTROLS["background_check"]] = set(data.planted["no_background_check"])
    org.expected[PERSON_CONTROLS["confidentiality_agreement"]] = set(data.planted["confidentiality_expired"])
    return data
