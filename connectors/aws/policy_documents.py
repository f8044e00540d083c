"""IAM policy documents judged for broad grants: the columns AWS posture B adds to `authorization_details` records
(GetAccountAuthorizationDetails already returns every document, so no second walk). Pure functions, no AWS calls:
connectors/aws/streams.py calls `policy_grant_columns` for each record."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _document(value: Any) -> dict[str, Any] | None:
    """A policy document as boto3 returns it (decoded to a dict); text is parsed; anything else is unreadable."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:  # the wire form is URL-encoded JSON; boto3 decodes it, a raw reader may not
            parsed = json.loads(unquote(value) if value.lstrip().startswith("%") else value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def broad_grants(document: Any) -> list[str] | None:
    """The statements of a policy document that allow (nearly) everything, each described in words, or None when the
    document cannot be read. `Statement` may be one object or a list, `Action`/`Resource` a string or a list:
    - Allow with Action `*` or `*:*` on Resource `*`: every action on every resource;
    - Allow with NotAction on Resource `*` (AWS's PowerUserAccess), or Action `*` with NotResource: everything
      except what is listed.
    A Condition does not narrow the verdict: it is named in the description."""
    doc = _document(document)
    if doc is None:
        return None
    found = []
    for statement in _as_list(doc.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        every_action = any(a in ("*", "*:*") for a in actions)
        every_resource = "*" in resources
        condition = " (with a Condition)" if statement.get("Condition") else ""
        sid = f" [{statement['Sid']}]" if statement.get("Sid") else ""
        if every_action and every_resource:
            found.append(f"Allow * on *{sid}{condition}")
        elif "NotAction" in statement and (every_resource or "NotResource" in statement):
            excluded = ", ".join(str(a) for a in _as_list(statement["NotAction"]))
            found.append(f"Allow every action except {excluded} on *{sid}{condition}")
        elif every_action and "NotResource" in statement:
            excluded = ", ".join(str(r) for r in _as_list(statement["NotResource"]))
            found.append(f"Allow * on every resource except {excluded}{sid}{condition}")
    return found


def policy_grant_columns(kind: str, raw: dict[str, Any], inline: list[dict[str, Any]]) -> dict[str, Any]:
    """The extension columns of an authorization_details record:
    - `broad_grants`: its own documents' broad grants, "<policy name>: <statement>" (a managed policy: its default
      version; a user, group or role: its inline policies); [] when none; NULL when a document could not be read.
    - `unreadable_policies`: the names of the documents that could not be read (missing or not JSON)."""
    grants: list[str] = []
    unreadable: list[str] = []
    if kind == "policy":
        default = next((v for v in raw.get("PolicyVersionList") or [] if v.get("IsDefaultVersion")), None)
        documents = [(raw.get("PolicyName") or "", (default or {}).get("Document"))]
    else:
        documents = [(p.get("PolicyName") or "", p.get("PolicyDocument")) for p in inline]
    for name, document in documents:
        found = broad_grants(document)
        if found is None:
            unreadable.append(name)
        else:
            grants.extend(f"{name}: {grant}" for grant in found)
    return {"broad_grants": None if unreadable else grants, "unreadable_policies": unreadable}
