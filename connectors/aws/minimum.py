"""The fewest requests each AWS dataset needs for one account (and one region for the regional datasets), at the
connector's page sizes: what the contract tests and the bench hold the connector to. Role assumption is session
setup, outside every dataset's count."""

from __future__ import annotations

from connectors.aws.streams import BACKUP_PAGE, IAM_PAGE, IDENTITY_STORE_PAGE, RDS_PAGE
from connectors.stream import pages

#: datasets of a fixed number of requests: the credential report is generated (STARTED), polled once (COMPLETE
#: when AWS has it ready by then) and fetched; the account summary and password policy are one call each
FIXED_REQUESTS = {"credential_report": 3, "account_summary": 1, "password_policy": 1}
#: the page size of each listed dataset
PAGE_SIZE = {
    "authorization_details": IAM_PAGE,
    "backup_jobs": BACKUP_PAGE,
    "restore_jobs": BACKUP_PAGE,
    "protected_resources": BACKUP_PAGE,
    "backup_plans": BACKUP_PAGE,
    "rds_instances": RDS_PAGE,
    "identity_center_users": IDENTITY_STORE_PAGE,
}


def min_requests(dataset: str, records: int) -> int:
    """Requests for `records` records of `dataset` in one account: for backup_jobs the jobs created after
    `backup_jobs_created_after(day, days)`, for authorization_details its users, groups, roles and policies. An
    account without an identity store is not asked for identity_center_users at all (0: leave it out)."""
    if dataset in FIXED_REQUESTS:
        return FIXED_REQUESTS[dataset]
    return pages(records, PAGE_SIZE[dataset])
