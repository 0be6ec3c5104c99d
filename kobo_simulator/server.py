"""HTTP plumbing: a threading HTTP/1.1 server (standard library) that logs, applies faults, and
hands each request to `api.handle` with the store it serves."""

from __future__ import annotations

import socket
import struct
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kobo_simulator import api
from kobo_simulator.faults import Fault, Faults
from kobo_simulator.store import Store
from kobo_simulator.wire import Request, Response, json_response

REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}  # fmt: skip


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int | None = None  # None when the connection was reset or cut
    fault: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RequestLog:
    """Every request received (thread-safe), and the tracebacks of those the simulator itself
    failed on (its bugs, which a test should see)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []
        self.errors: list[str] = []

    def add(self, method: str, path: str, query: dict[str, str]) -> LoggedRequest:
        entry = LoggedRequest(method, path, query)
        with self._lock:
            self._entries.append(entry)
        return entry

    @property
    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], store: Store, faults: Faults, log: RequestLog
    ) -> None:
        self.store = store
        self.faults = faults
        self.log = log
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)
        self.authority = f"{address[0]}:{self.server_address[1]}"  # the Host of a bare request

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeouts, resets, a stopping server) is no error of ours;
        anything else is kept in the log's `errors` instead of being printed."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError | OSError):
            return
        self.log.errors.append(traceback.format_exc())

    def close_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as behind Kobo's nginx
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK would
    # hold every small response back by ~40 ms.
    disable_nagle_algorithm = True
    server_version = "nginx"
    sys_version = ""
    server: SimServer

    def version_string(self) -> str:
        return "nginx"

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry queries with personal data."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        server = self.server
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        body = self._read_body()
        entry = server.log.add(self.command, path, query)
        fault = server.faults.take(self.command, path)
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind == "reset":
                self._reset()
                return
            if fault.kind in ("error", "rate_limit"):
                self._send(entry, self._fault_response(fault))
                return
            if fault.kind == "slow":
                server.stopping.wait(fault.delay)
        host = self.headers.get("Host") or server.authority
        base = f"http://{host}"
        api_path = path
        if api_path.endswith(".json"):  # DRF format suffix: data.json, data/5.json
            api_path = api_path[: -len(".json")] + "/"
            query.setdefault("format", "json")
        elif api_path.endswith(".json/"):
            api_path = api_path[: -len(".json/")] + "/"
            query.setdefault("format", "json")
        request = Request(
            method=self.command,
            path=api_path,
            query=query,
            url=base + self.path,
            base=base,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = api.handle(server.store, request)
        except Exception:
            server.log.errors.append(traceback.format_exc())
            response = Response(500, b"<h1>Server Error (500)</h1>", "text/html")
        if fault is not None and fault.kind == "cut":
            self._cut(entry, response, fault.fraction)
            return
        self._send(entry, response)

    def _fault_response(self, fault: Fault) -> Response:
        if fault.kind == "rate_limit":
            return json_response(
                429,
                {
                    "detail": "Request was throttled. "
                    f"Expected available in {fault.retry_after} seconds."
                },
                **{"Retry-After": str(fault.retry_after)},
            )
        reason = REASONS.get(fault.status, "Error")
        page = f"<html><head><title>{fault.status} {reason}</title></head><body>"
        page += f"<center><h1>{fault.status} {reason}</h1></center><hr><center>nginx</center>"
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        return Response(fault.status, (page + "</body></html>").encode(), "text/html", headers)

    def _headers(self, response: Response, length: int | None) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, entry: LoggedRequest, response: Response) -> None:
        entry.status = response.status
        no_body = response.status in (204, 304) or self.command == "HEAD"
        self._headers(response, None if no_body else len(response.body))
        if not no_body:
            self.wfile.write(response.body)

    def _cut(self, entry: LoggedRequest, response: Response, fraction: float) -> None:
        """Announce the whole body, send part of it, close: the client sees a short read."""
        body = response.body
        sent = body[: int(len(body) * fraction)] if fraction < 1 else body
        self._headers(response, len(body) if fraction < 1 else len(body) + 1024)
        self.wfile.write(sent)
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the peer gets a TCP RST (ConnectionResetError)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
