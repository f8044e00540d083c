"""The base of every fake API: a threaded local HTTP(S) server that records each
request (so tests can assert read-only use and exact request counts), injects
latency and faults on demand, and serves a WSGI app built from the sandbox org."""

from __future__ import annotations

import contextlib
import inspect
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

#: Fault names a test can inject; see `FakeServer.inject`. "repeat_cursor" answers a page request with the
#: previous page's body again (a server whose pagination cursor repeats); an empty organisation is
#: `start_sandbox(size=0, systems=(...))`, per system.
FAULTS = ("429", "5xx", "reset", "timeout", "malformed", "401", "403", "repeat_cursor")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]
    #: time.monotonic() on arrival, so tests can measure pacing from the server's side
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    kind: str
    times: int
    path_prefix: str = ""
    retry_after: float = 0.05


@dataclass
class FakeServer:
    """Serve `app` on 127.0.0.1 at a free port, optionally over TLS."""

    name: str
    app: Callable[[Request], Response]
    tls: tuple[Path, Path] | None = None
    latency: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    _server: Any = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: call -> (status, headers, body) of the last successful answer to it, for "repeat_cursor"
    _last_answer: dict[str, tuple[int, list[tuple[str, str]], bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        ssl_context = None
        if self.tls:
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True, ssl_context=ssl_context)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def inject(self, kind: str, times: int = 1, path_prefix: str = "", retry_after: float = 0.05) -> None:
        """Make the next `times` requests under `path_prefix` fail with `kind` (one of FAULTS)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose from {FAULTS}")
        with self._lock:
            self.faults.append(Fault(kind, times, path_prefix, retry_after))

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def methods(self) -> set[str]:
        return {r.method for r in self.requests}

    def writes(self) -> list[RecordedRequest]:
        """Requests that would change the system. Apps may refine with `is_write(recorded)`."""
        judge = getattr(self.app, "is_write", None)
        if judge is not None:
            return [r for r in self.requests if judge(r)]
        return [r for r in self.requests if r.method not in ("GET", "HEAD", "OPTIONS")]

    def _repeat_pending(self) -> bool:
        """Answers are kept for replay only while a "repeat_cursor" fault waits (the bench serves 10^5 pages)."""
        with self._lock:
            return any(f.kind == "repeat_cursor" and f.times > 0 for f in self.faults)

    def _take_fault(self, path: str, call: str = "") -> Fault | None:
        with self._lock:
            for fault in self.faults:
                # a cursor can only repeat once a page of the same call has been served
                if fault.kind == "repeat_cursor" and call not in self._last_answer:
                    continue
                if fault.times > 0 and path.startswith(fault.path_prefix):
                    fault.times -= 1
                    return fault
        return None

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    request.method, request.path, request.query_string.decode(), body, dict(request.headers)
                )
            )
        if self.latency:
            time.sleep(self.latency)
        call = _call_of(request, body)
        fault = self._take_fault(request.path, call)
        if fault is not None and fault.kind == "repeat_cursor":
            with self._lock:
                status, headers, body = self._last_answer[call]
            response = Response(body, status=status, headers=headers)
        elif fault is not None:
            # Apps may answer HTTP faults in their API's own error shape (e.g. Graph's error JSON); an app
            # whose shape depends on the call (AWS: XML for IAM, JSON for Backup) takes the request too.
            shaped = getattr(self.app, "fault_response", None)
            if shaped is not None and "request" in inspect.signature(shaped).parameters:
                response = shaped(fault.kind, fault.retry_after, request=request)
            else:
                response = shaped(fault.kind, fault.retry_after) if shaped else None
            response = response or self._fault_response(fault, environ)
            if response is None:
                # the connection is gone: werkzeug's write fails with BrokenPipe, which it treats as a dropped client
                start_response("500 Connection Reset", [])
                return []
        else:
            response = self.app(request)
            if response.status_code == 200 and not response.is_streamed and self._repeat_pending():
                with self._lock:
                    self._last_answer[call] = (200, list(response.headers.items()), response.get_data())
        return response(environ, start_response)

    def _fault_response(self, fault: Fault, environ: dict[str, Any]) -> Response | None:
        if fault.kind == "429":
            return json_response({"message": "rate limited"}, 429, {"Retry-After": str(fault.retry_after)})
        if fault.kind == "5xx":
            return json_response({"message": "upstream unavailable"}, 503)
        if fault.kind == "401":
            return json_response({"message": "Bad credentials"}, 401)
        if fault.kind == "403":
            return json_response({"message": "Resource not accessible by integration"}, 403)
        if fault.kind == "malformed":
            return Response('{"data": {"truncated', status=200, content_type="application/json")
        if fault.kind == "timeout":
            time.sleep(fault.retry_after)
            return json_response({"message": "late"}, 504)
        # "reset": abort the connection without an answer. SO_LINGER 0 makes the final close send RST; the
        # shutdown takes effect at once although werkzeug's file objects still hold the socket open.
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return None


def _call_of(request: Request, body: bytes) -> str:
    """What a page request asks for, without its cursor: the path plus the AWS query Action or the GraphQL
    query text (many calls share one path), so a replayed answer is the previous page of the same call."""
    operation = ""
    if request.mimetype == "application/x-www-form-urlencoded":
        operation = request.form.get("Action", "")
    elif request.mimetype == "application/json" and body:
        with contextlib.suppress(ValueError, AttributeError):
            operation = str(json.loads(body).get("query", ""))
    return f"{request.path}|{operation}"


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload, default=str),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )
