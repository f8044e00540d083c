"""Google Workspace identity policy: the organisational units (Admin SDK Directory orgunits.list) and the security
policies of the Cloud Identity Policy API (policies.list), both read with a token of their own (POLICY_SCOPES).

| dataset   | method                                              | page size          | requests for N |
|-----------|-----------------------------------------------------|--------------------|----------------|
| org_units | orgunits.list(type=allIncludingParent)              | one response       | 1              |
| policies  | cloudidentity policies.list(filter=settings/security.*) | 100 (the maximum) | ⌈P/100⌉     |

The Policy API returns the *explicitly set* policies per organisational unit or group, with their sortOrder: not the
effective value the Admin console shows. An OU without a policy inherits from its parent, and the root without one
has Google's default. The controls resolve that inheritance over the org units (whose ids the policies name:
`policyQuery.orgUnit` is `orgUnits/<id>`); the connector keeps every policy as set. Only a super administrator can
call the Policy API (the impersonated GOOGLE_WORKSPACE_ADMIN_SUBJECT).

Setting values read into typed columns (Google's "Policy API supported settings" page):
- security.two_step_verification_enforcement: `enforcedFrom` (Timestamp: 2SV is enforced from then on; Google's
  1970-01-01 epoch is its "no date" and stays NULL, with `enforced_from_sentinel`)
- security.password: `minimumLength`, `maximumLength`, `allowedStrength` (STRONG | WEAK),
  `enforceRequirementsAtLogin`, `allowReuse`, `expirationDuration`.
Every value is also kept whole as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from connectors.google_workspace.client import POLICY_SCOPES
from connectors.google_workspace.streams import DirectoryStream

#: policies.list's maximum pageSize (the discovery document: "The maximum allowed value is 100")
POLICIES_PAGE_SIZE = 100
#: CEL: every security setting (2-Step Verification, password, ...)
SECURITY_SETTINGS_FILTER = r"setting.type.matches('^settings/security\\..*$')"
#: Google's epoch "no date" (as lastLoginTime of an account that never signed in)
EPOCH = "1970-01-01T00:00:00"


def _utc(value: Any) -> str | None:
    """A Google Timestamp (RFC 3339) as naive UTC ISO text for a TIMESTAMP column; anything else is no date."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


class OrgUnits(DirectoryStream):
    """Every organisational unit, the root included (type allIncludingParent), with its id, path and parent."""

    dataset = "org_units"
    items_key = "organizationUnits"
    scopes = POLICY_SCOPES

    def list_method(self) -> Any:
        return self.directory.orgunits().list

    def query(self, cursor: Any) -> dict[str, Any]:
        return {"customerId": self.config.customer_id, "type": "allIncludingParent"}

    def next_cursor(self, payload: Any) -> Any:
        return None  # orgunits.list is not paginated: one response holds every unit

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for unit in self.items(payload):
            yield {
                "customer": self.config.customer_id,
                # the Directory writes "id:<id>"; the Policy API's policyQuery.orgUnit names "orgUnits/<id>"
                "org_unit_id": self.identifier(unit, "orgUnitId").removeprefix("id:"),
                "org_unit_path": self.identifier(unit, "orgUnitPath"),
                "name": unit.get("name"),
                "parent_org_unit_id": (unit.get("parentOrgUnitId") or "").removeprefix("id:") or None,
                "parent_org_unit_path": unit.get("parentOrgUnitPath"),
            }


class Policies(DirectoryStream):
    """Every explicitly set security policy (per OU or group), with its setting's value."""

    dataset = "policies"
    max_page_size = POLICIES_PAGE_SIZE
    items_key = "policies"
    scopes = POLICY_SCOPES

    def list_method(self) -> Any:
        return self.directory.policies().list

    def filter(self) -> str:
        if self.config.customer_id == "my_customer":
            return SECURITY_SETTINGS_FILTER  # the API defaults to customers/my_customer
        return f'customer == "customers/{self.config.customer_id}" && {SECURITY_SETTINGS_FILTER}'

    def query(self, cursor: Any) -> dict[str, Any]:
        query: dict[str, Any] = {"pageSize": self.page_size, "filter": self.filter()}
        if cursor:
            query["pageToken"] = cursor
        return query

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "filter": self.filter()}

    def parse(self, payload: Any) -> Iterable[dict[str, Any]]:
        for policy in self.items(payload):
            query = policy.get("policyQuery") or {}
            setting = policy.get("setting") or {}
            value = setting.get("value") if isinstance(setting.get("value"), dict) else {}
            enforced_from = value.get("enforcedFrom")
            sentinel = isinstance(enforced_from, str) and enforced_from.startswith(EPOCH)
            yield {
                "customer": self.config.customer_id,
                "name": self.identifier(policy, "name"),
                "policy_customer": policy.get("customer"),
                "policy_type": policy.get("type"),  # ADMIN | SYSTEM
                "org_unit_id": (query.get("orgUnit") or "").removeprefix("orgUnits/") or None,
                "group_id": (query.get("group") or "").removeprefix("groups/") or None,
                "query": query.get("query"),
                "sort_order": query.get("sortOrder"),
                "setting_type": str(setting.get("type") or "").removeprefix("settings/") or None,
                "value": json.dumps(value, sort_keys=True),
                "enforced_from": None if sentinel else _utc(enforced_from),
                "enforced_from_sentinel": sentinel,
                "minimum_length": _int(value.get("minimumLength")),
                "maximum_length": _int(value.get("maximumLength")),
                "allowed_strength": value.get("allowedStrength"),
                "enforce_requirements_at_login": _bool(value.get("enforceRequirementsAtLogin")),
                "allow_reuse": _bool(value.get("allowReuse")),
                "expiration_duration": value.get("expirationDuration"),
            }
