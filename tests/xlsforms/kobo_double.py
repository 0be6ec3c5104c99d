"""A small stand-in for Kobo's import and deployment endpoints (API.md §7), over real HTTP.

It keeps state like kpi does: an import task goes processing -> complete and creates or updates
an asset; every import makes a new asset version; the first deployment is a POST, a second POST
is refused with 405, and a PATCH must name the asset's current version_id. Answers are shaped
like ../shared/kobo/fixtures (import_task_complete.json, asset_detail_excerpt.json).
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from openpyxl import load_workbook

TOKEN = "double-token-0123456789abcdef"


def _uid(prefix: str) -> str:
    return prefix + secrets.token_hex(11)


@dataclass
class Asset:
    uid: str
    content: bytes
    version_id: str = field(default_factory=lambda: _uid("v"))
    deployed_version_id: str | None = None
    deploy_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class ImportTask:
    uid: str
    asset_uid: str
    key: str  # "created" or "updated"
    polls: int = 0


@dataclass
class Upload:
    fields: dict[str, str]
    filename: str | None
    content: bytes

    def survey_names(self) -> list[str]:
        wb = load_workbook(io.BytesIO(self.content), read_only=True)
        rows = list(wb["survey"].iter_rows(values_only=True))
        wb.close()
        col = list(rows[0]).index("name")
        return [str(r[col]) for r in rows[1:] if r[col]]

    def choice_count(self, list_name: str) -> int:
        wb = load_workbook(io.BytesIO(self.content), read_only=True)
        rows = list(wb["choices"].iter_rows(values_only=True))
        wb.close()
        return sum(1 for r in rows[1:] if r[0] == list_name)


class KoboDouble:
    def __init__(self, processing_polls: int = 1, import_error: str | None = None) -> None:
        self.import_error = import_error  # when set, every import ends in status "error"
        self.assets: dict[str, Asset] = {}
        self.imports: dict[str, ImportTask] = {}
        self.uploads: list[Upload] = []
        self.requests: list[tuple[str, str]] = []
        self.processing_polls = processing_polls
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KoboDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the endpoints -----------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((method, path))
            if headers.get("Authorization") != f"Token {TOKEN}":
                return 401, {"detail": "Invalid token."}
            if path == "/api/v2/imports/" and method == "POST":
                return self._import(headers.get("Content-Type", ""), body)
            if m := re.fullmatch(r"/api/v2/imports/(\w+)/", path):
                return self._import_status(m.group(1))
            if m := re.fullmatch(r"/api/v2/assets/(\w+)/", path):
                asset = self.assets.get(m.group(1))
                return (200, self._asset_json(asset)) if asset else (404, {"detail": "Not found."})
            if m := re.fullmatch(r"/api/v2/assets/(\w+)/deployment/", path):
                return self._deployment(method, m.group(1), body)
            return 404, {"detail": "Not found."}

    def _import(self, content_type: str, body: bytes) -> tuple[int, Any]:
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        fields: dict[str, str] = {}
        upload = None
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if name == "file":
                upload = Upload(fields, part.get_filename(), payload)
            elif isinstance(name, str):
                fields[name] = payload.decode()
        if upload is None:
            return 400, {"error": "`file` is required"}
        self.uploads.append(upload)
        destination = fields.get("destination")
        if destination:
            m = re.search(r"/api/v2/assets/(\w+)/$", urlparse(destination).path)
            asset = self.assets.get(m.group(1)) if m else None
            if asset is None:
                return 400, {"error": "destination not found"}
            key = "updated"
        else:
            asset = Asset(_uid("a"), upload.content)
            self.assets[asset.uid] = asset
            key = "created"
        task = ImportTask(_uid("i"), asset.uid, key)
        self.imports[task.uid] = task
        # The import itself happens "in the background": content and version change now.
        asset.content = upload.content
        asset.version_id = _uid("v")
        return 201, {
            "uid": task.uid,
            "url": f"{self.url}/api/v2/imports/{task.uid}/",
            "status": "processing",
        }

    def _import_status(self, uid: str) -> tuple[int, Any]:
        task = self.imports.get(uid)
        if task is None:
            return 404, {"detail": "Not found."}
        task.polls += 1
        base = {"uid": task.uid, "date_created": "2026-11-28T08:02:11.482913Z"}
        if task.polls <= self.processing_polls:
            return 200, {**base, "status": "processing", "messages": {}}
        if self.import_error:
            messages = {"error_type": "PyXFormError", "error": self.import_error}
            return 200, {**base, "status": "error", "messages": messages}
        item = {
            "uid": task.asset_uid,
            "summary": {"row_count": 40, "languages": ["Indonesia (id)", "English (en)"]},
            "kind": "asset",
            "owner__username": "dinsos_bky",
        }
        return 200, {**base, "status": "complete", "messages": {task.key: [item]}}

    def _asset_json(self, asset: Asset) -> dict[str, Any]:
        return {
            "url": f"{self.url}/api/v2/assets/{asset.uid}/",
            "uid": asset.uid,
            "asset_type": "survey",
            "version_id": asset.version_id,
            "has_deployment": asset.deployed_version_id is not None,
            "deployed_version_id": asset.deployed_version_id,
        }

    def _deployment(self, method: str, uid: str, body: bytes) -> tuple[int, Any]:
        asset = self.assets.get(uid)
        if asset is None:
            return 404, {"detail": "Not found."}
        data = json.loads(body or b"{}")
        asset.deploy_calls.append((method, data))
        if method == "POST":
            if asset.deployed_version_id is not None:
                return 405, {"detail": "Method not allowed. Use PATCH"}
            if data.get("active") is not True:
                return 200, {"backend": "openrosa", "active": False}
        elif method == "PATCH":
            if asset.deployed_version_id is None:
                return 400, {"error": "not deployed"}
            if "version_id" in data and data["version_id"] != asset.version_id:
                return 500, {"detail": "NotImplementedError"}  # what kpi does (API.md §7)
        else:
            return 405, {"detail": f'Method "{method}" not allowed.'}
        asset.deployed_version_id = asset.version_id
        return 200, {"backend": "openrosa", "active": True, "version_id": asset.version_id}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlparse(self.path).path
                status, payload = double.handle(self.command, path, self.headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler
