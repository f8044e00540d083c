"""The identity-policy streams against what Graph documents: a tenant without Entra ID P1 answers Conditional Access
with a 403 naming the premium licence (recorded as an unknown row, not a failed read and never an empty policy list),
while any other 403 still fails the dataset; GET /settings is paged to its end before "no Password Rule Settings
object" is concluded; Graph's 0001-01-01 sentinel is no date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.entra import EntraConfig, make_graph
from connectors.entra.client import GraphClient, GraphError
from connectors.entra.policies import (
    AuthenticationStrengthPolicies,
    ConditionalAccessPolicies,
    PasswordRuleSettings,
)
from connectors.stream import SourceError
from sandbox.entra.policy import PASSWORD_RULE_SETTINGS_TEMPLATE
from sandbox.launch import start_sandbox
from tests.truth.entra_graph import _client


class ScriptedGraph(GraphClient):
    """A Graph client answering each GET with the next scripted payload or error (no network, no token)."""

    def __init__(self, answers: list[dict[str, Any] | Exception]) -> None:
        super().__init__(_client().config)
        self.answers = answers

    def get(self, url: str, params: Any = None) -> dict[str, Any]:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


PREMIUM = GraphError(
    403,
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    "Neither tenant is B2C or tenant doesn't have premium license",
)


@pytest.mark.parametrize("kind", [ConditionalAccessPolicies, AuthenticationStrengthPolicies])
def test_an_unlicensed_tenant_is_one_row_saying_so(kind) -> None:
    stream = kind(ScriptedGraph([PREMIUM]))
    records = list(stream.records())
    assert len(records) == 1 and records[0]["id"] is None
    assert "premium license" in records[0]["unreadable_reason"] and "Entra ID P1" in records[0]["unreadable_reason"]
    assert stream.provenance.status == "succeeded" and "unlicensed" in stream.provenance.parameters


def test_a_permission_refusal_still_fails_the_dataset() -> None:
    refused = GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    stream = ConditionalAccessPolicies(ScriptedGraph([refused]))
    with pytest.raises(SourceError, match="Authorization_RequestDenied"):
        list(stream.records())


def test_the_password_rule_settings_on_a_later_page_are_found() -> None:
    link = f"{_client().graph_root}/settings?$skiptoken=2"
    first = {
        "value": [{"id": "u", "templateId": "62375ab9-6b52-47ed-826b-58e47e0e304b", "values": []}],
        "@odata.nextLink": link,
    }
    second = {
        "value": [
            {
                "id": "p",
                "displayName": None,
                "templateId": PASSWORD_RULE_SETTINGS_TEMPLATE,
                "values": [
                    {"name": "LockoutThreshold", "value": "7"},
                    {"name": "LockoutDurationInSeconds", "value": "90"},
                ],
            }
        ]
    }
    records = list(PasswordRuleSettings(ScriptedGraph([first, second])).records())
    assert records == [
        {
            "tenant_id": "contoso-tenant-id",
            "settings_id": "p",
            "template_id": PASSWORD_RULE_SETTINGS_TEMPLATE,
            "defaults_apply": False,
            "lockout_threshold": 7,
            "lockout_duration_seconds": 90,
            "enable_banned_password_check": None,
            "banned_password_count": 0,
            "enable_banned_password_check_on_premises": None,
            "banned_password_check_on_premises_mode": None,
        }
    ]
    assert list(PasswordRuleSettings(ScriptedGraph([{"value": []}])).records())[0]["defaults_apply"] is True


def test_the_no_date_sentinel_and_a_null_modification_are_no_dates() -> None:
    payload = {
        "value": [
            {
                "id": "a",
                "displayName": "a",
                "state": "enabled",
                "createdDateTime": "0001-01-01T00:00:00Z",
                "modifiedDateTime": None,
                "conditions": None,
                "grantControls": None,
            },
        ]
    }
    (record,) = ConditionalAccessPolicies(ScriptedGraph([payload])).records()
    assert record["created_at"] is None and record["modified_at"] is None
    assert record["grant_controls_present"] is False and record["requires_mfa"] is False


def test_the_fake_refuses_an_unlicensed_tenant_as_graph_does(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path, size=0, systems=("entra",))
    try:
        sandbox.org.systems["entra"].policy.licensed = False
        stream = ConditionalAccessPolicies(make_graph(EntraConfig.from_env(sandbox.env)))
        (record,) = stream.records()
        assert record["unreadable_reason"].startswith("HTTP 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant")
    finally:
        sandbox.stop()
