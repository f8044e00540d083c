"""The fewest requests each Google Workspace dataset needs at the Directory API's maximum maxResults (the
discovery document's): what the contract tests and the bench hold the connector to. The token exchange is a
client's fixed call, outside the counts; the discovery document ships with googleapiclient. orgunits.list is not
paginated (one response holds every unit); the Policy API's policies.list pages at its maximum pageSize, 100."""

from __future__ import annotations

from connectors.google_workspace.policies import OrgUnits, Policies
from connectors.google_workspace.streams import DirectoryStream, RoleAssignments, Roles, Users
from connectors.stream import pages

STREAMS: dict[str, type[DirectoryStream]] = {
    stream.dataset: stream for stream in (Users, RoleAssignments, Roles, OrgUnits, Policies)
}
#: datasets read in one response whatever their size
SINGLE_RESPONSE = frozenset({OrgUnits.dataset})


def min_requests(dataset: str, records: int) -> int:
    """Requests for `records` records of `dataset`, a page of the stream's `max_page_size` each."""
    if dataset in SINGLE_RESPONSE:
        return 1
    return pages(records, STREAMS[dataset].max_page_size)
