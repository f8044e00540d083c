"""A fake Cloudflare API v4 (developers.cloudflare.com/api) serving the sandbox's account.

What it reproduces: bearer-token authentication (Cloudflare's 10000 "Authentication error" without a valid token),
the envelope {success, errors, messages, result, result_info} on every answer, page/per_page paging with
result_info {page, per_page, count, total_count, total_pages} (per_page 5-50 for zones, default 20), the all-settings
call, a 404 with the envelope for a phase without an entrypoint ruleset, and GET-only access (the token is read-only:
anything else is refused as Cloudflare refuses a token without the edit permission).
"""

from __future__ import annotations

import math
import re

from werkzeug.wrappers import Request, Response

from sandbox.cloudflare.model import CloudflareData
from sandbox.server import json_response

PREFIX = "/client/v4"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 50
_ENTRYPOINT = re.compile(rf"^{PREFIX}/zones/([0-9a-f]{{32}})/rulesets/phases/([a-z_]+)/entrypoint$")
_SETTINGS = re.compile(rf"^{PREFIX}/zones/([0-9a-f]{{32}})/settings$")
_MEMBERS = re.compile(rf"^{PREFIX}/accounts/([0-9a-f]{{32}})/members$")


def envelope(result, result_info=None, status: int = 200) -> Response:
    body = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return json_response(body, status)


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(
        {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None},
        status,
        headers,
    )


class CloudflareApp:
    def __init__(self, data: CloudflareData, tokens: set[str]) -> None:
        self.data = data
        self.tokens = tokens
        self.zones = {z.id: z for z in data.zones}

    def __call__(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ").strip() not in self.tokens:
            return error(403, 10000, "Authentication error")
        if request.method != "GET":
            return error(403, 10000, "Authentication error: the token is read-only")
        path = request.path.rstrip("/")
        if path == f"{PREFIX}/zones":
            account = request.args.get("account.id")
            zones = [z for z in self.data.zones if account in (None, self.data.account_id)]
            return self.paged(request, [z.to_api(self.data.account_name) for z in zones], minimum=5)
        if match := _SETTINGS.match(path):
            zone = self.zones.get(match.group(1))
            return envelope(zone.settings) if zone else error(404, 1001, "Invalid zone identifier")
        if match := _ENTRYPOINT.match(path):
            zone = self.zones.get(match.group(1))
            if zone is None:
                return error(404, 1001, "Invalid zone identifier")
            ruleset = zone.entrypoints.get(match.group(2))
            if ruleset is None:
                return error(404, 10003, f"could not find entrypoint ruleset in the '{match.group(2)}' phase")
            return envelope(ruleset)
        if match := _MEMBERS.match(path):
            if match.group(1) != self.data.account_id:
                return error(403, 9109, "Unauthorized to access requested resource")
            status = request.args.get("status")
            members = [m.to_api() for m in self.data.members if status in (None, m.status)]
            return self.paged(request, members, minimum=5)
        return error(404, 7003, "Could not route to " + path + ", perhaps your object identifier is invalid?")

    def paged(self, request: Request, items: list, minimum: int) -> Response:
        try:
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("per_page", str(DEFAULT_PER_PAGE)))
        except ValueError:
            return error(400, 1004, "page and per_page must be numbers")
        if page < 1 or not minimum <= per_page <= MAX_PER_PAGE:
            return error(400, 1004, f"per_page must be between {minimum} and {MAX_PER_PAGE}")
        start = (page - 1) * per_page
        chunk = items[start : start + per_page]
        info = {
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(items),
            "total_pages": math.ceil(len(items) / per_page),
        }
        return envelope(chunk, info)

    def fault_response(self, kind: str, retry_after: float) -> Response | None:
        """HTTP faults in Cloudflare's own error envelope; the transport faults are the base server's."""
        if kind == "429":
            return error(
                429, 971, "Please wait and consider throttling your request speed", {"Retry-After": str(retry_after)}
            )
        if kind == "5xx":
            return error(503, 10013, "Service unavailable, please retry")
        if kind == "401":
            return error(401, 10000, "Authentication error")
        if kind == "403":
            return error(403, 10000, "Authentication error")
        return None
