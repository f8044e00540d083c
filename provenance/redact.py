"""The one redaction every recorded text goes through: credentials out, the rest kept.

A credential can reach a record three ways: as a named parameter (`{"api_key": ...}`), inside a URL
(`https://user:TOKEN@host/…`, `?access_token=…`, a pre-signed `X-Amz-Signature=…`), or inside an error message
that quotes such a URL. `redact_params` handles the first (and the URLs among its values), `redact_text` the
other two. Provenance applies them to whatever is assigned to it (see provenance/__init__.py), so the
collection log, the bundles and Dagster's metadata, which are made from provenance, never see a credential.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

REDACTED = "[redacted]"

#: parameter names holding a credential contain one of these (api_key, client_secret, X-Amz-Security-Token, ...)
SECRET_NAME_MARKERS = (
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "authorization",
    "assertion",
    "credential",
    "signature",
)
#: short credential names matched whole: Azure SAS `sig`, `auth`, OAuth's `code`, `pwd`, `pass`
SECRET_NAMES = frozenset({"sig", "auth", "code", "pwd", "pass"})
#: paging cursors named like tokens (Google pageToken, AWS NextToken, Graph $skiptoken): not credentials, and the
#: auditor needs them to follow the paging
PAGING_NAMES = frozenset(
    {
        "pagetoken",
        "nexttoken",
        "skiptoken",
        "deltatoken",
        "continuationtoken",
        "nextpagetoken",
        "next_page_token",
        "page_token",
        "next_token",
    }
)

#: `scheme://userinfo@`: everything between `//` and the last `@` before the path is the userinfo
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s@]*(?:@[^/?#\s@]*)*)@")
#: one `name=value` of a query string or fragment (`?a=1&b=2`, `#access_token=…`)
_QUERY_PAIR = re.compile(r"(?P<lead>[?&#;])(?P<name>[^=&#;?\s'\"<>]+)=(?P<value>[^&#;\s'\"<>]*)")


def is_secret_name(name: str) -> bool:
    """Does a parameter of this name carry a credential?"""
    lowered = unquote(name).strip().lower().lstrip("$")
    if lowered in PAGING_NAMES:
        return False
    return lowered in SECRET_NAMES or any(marker in lowered for marker in SECRET_NAME_MARKERS)


def redact_text(text: str) -> str:
    """`text` (a URL, or a message quoting URLs) without userinfo and with credential-like query values replaced."""
    if "@" not in text and "=" not in text:
        return text  # the common case: nothing that could hold a credential
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    return _QUERY_PAIR.sub(
        lambda m: f"{m['lead']}{m['name']}={REDACTED}" if is_secret_name(m["name"]) else m.group(), text
    )


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """Drop the values of parameters named like a credential, and credentials inside the other values' URLs."""
    return {name: REDACTED if is_secret_name(str(name)) else redact_value(value) for name, value in params.items()}


def redact_value(value: Any) -> Any:
    """A recorded value with the credentials inside its texts removed (texts nested in dicts and lists too)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {name: redact_value(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value
