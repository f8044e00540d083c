"""The sandbox at scale: a school district's students live in Google only, in the excluded unit, and the fakes keep
no state in proportion to people that the pipeline never reads."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox.aws.model import REGION
from sandbox.aws.serve import seed_moto
from sandbox.google.model import STUDENTS_OU
from sandbox.org import build_org

DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def district():
    return build_org(size=2000, today=DAY, profile="district")


def test_a_district_is_five_percent_staff_and_the_rest_students(district) -> None:
    assert (district.size, district.students) == (100, 1900)
    assert len(district.people) == 100  # the HR roster: staff only
    google = district.systems["google"]
    students = [u for u in google.users if u.org_unit_path == STUDENTS_OU]
    assert len(students) == 1900
    assert STUDENTS_OU in google.excluded_org_units
    assert all(u.person_email is None for u in students)  # nobody on the roster


def test_students_have_no_account_outside_google(district) -> None:
    student_emails = {u.primary_email for u in district.systems["google"].users if u.org_unit_path == STUDENTS_OU}
    elsewhere = [a for a in district.accounts if a.system != "google_workspace" and a.email in student_emails]
    assert elsewhere == []
    # every other system is in proportion to the staff
    assert len(district.systems["entra"].users) <= 2 * district.size
    assert len(district.systems["knowbe4"].enrollments) <= 3 * district.size


def test_a_district_has_aws_accounts_of_its_own() -> None:
    company = build_org(size=100, today=DAY)
    district = build_org(size=2000, today=DAY, profile="district")  # 100 staff, as many as the company's people
    company_ids = {a.account_id for a in company.systems["aws"].accounts}
    assert company_ids.isdisjoint(a.account_id for a in district.systems["aws"].accounts)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox profile 'city'"):
        build_org(size=10, profile="city")


def test_moto_keeps_no_rds_snapshot() -> None:
    """moto snapshots every new RDS instance and refuses the 1,001st snapshot: a 40,000-person company could not
    be served. The pipeline reads no snapshot, so the sandbox keeps none."""
    from moto.rds.models import rds_backends

    account = build_org(size=200, today=DAY).systems["aws"].production
    seed_moto(account)
    backend = rds_backends[account.account_id][REGION]
    assert len(backend.databases) == len(account.db_instances) >= 4
    assert backend.database_snapshots == {}
