"""A fake KnowBe4 Reporting API (developer.knowbe4.com) serving the sandbox's enrollments.

What it reproduces: bearer-key authentication (401 without a valid key), the region-free
paths under /v1, `page` (from 1) and `per_page` (default 100, capped at 500) pagination
with a plain JSON array per page and no total, and GET-only access (the Reporting API has
no write endpoints; anything else is 405). Pages are sliced from the model's list, so a
40,000-enrollment account serves each page in milliseconds.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from sandbox.knowbe4.model import KnowBe4Data
from sandbox.server import json_response

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500


class KnowBe4App:
    def __init__(self, data: KnowBe4Data, api_keys: set[str], account_name: str = "Example Corp") -> None:
        self.data = data
        self.api_keys = api_keys
        self.account_name = account_name
        self._by_id = {e.enrollment_id: e for e in data.enrollments}

    def __call__(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ").strip() not in self.api_keys:
            return json_response({"message": "Unauthorized"}, 401)
        if request.method != "GET":
            return json_response({"message": "Method Not Allowed"}, 405)
        path = request.path.rstrip("/")
        if path == "/v1/account":
            return json_response(
                {
                    "name": self.account_name,
                    "type": "paid",
                    "subscription_level": "Diamond",
                    "number_of_seats": len({e.user_id for e in self.data.enrollments}),
                }
            )
        if path == "/v1/training/enrollments":
            return self.enrollments(request)
        prefix = "/v1/training/enrollments/"
        if path.startswith(prefix) and path[len(prefix) :].isdigit():
            found = self._by_id.get(int(path[len(prefix) :]))
            return json_response(found.to_api()) if found else json_response({"message": "Not Found"}, 404)
        return json_response({"message": "Not Found"}, 404)

    def enrollments(self, request: Request) -> Response:
        try:
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("per_page", str(DEFAULT_PER_PAGE)))
        except ValueError:
            return json_response({"message": "page and per_page must be integers"}, 400)
        if page < 1 or per_page < 1:
            return json_response({"message": "page and per_page must be positive"}, 400)
        per_page = min(per_page, MAX_PER_PAGE)
        start = (page - 1) * per_page
        return json_response([e.to_api() for e in self.data.enrollments[start : start + per_page]])
