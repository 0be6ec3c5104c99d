"""What passes between the socket server and the endpoints: a parsed request, a response, and
the small DRF conventions (JSON bodies, `{"detail": ...}` errors, truthy strings) both the API and
the imports endpoint use. Nothing here knows the store or the server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass
class Request:
    method: str
    path: str  # without the query string, `.json` suffix removed
    query: dict[str, str]  # last value of each parameter, like Django's QueryDict.dict()
    url: str  # absolute URL as the client asked for it (for next/previous links)
    base: str  # scheme://host of the request
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    username: str = ""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, **headers: str) -> Response:
    return Response(status, dumps(data).encode(), headers=dict(headers))


def not_found() -> Response:
    return json_response(404, {"detail": "Not found."})


class BadRequest(Exception):
    def __init__(self, data: Any, status: int = 400) -> None:
        super().__init__(str(data))
        self.data = data
        self.status = status


def body_data(req: Request) -> dict[str, Any]:
    """A JSON or form-encoded request body as a dict (DRF accepts both)."""
    if not req.body:
        return {}
    ctype = req.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in ctype:
        return {k: v[-1] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
    try:
        data = json.loads(req.body)
    except ValueError:
        raise BadRequest({"detail": "JSON parse error - Expecting value"}) from None
    if not isinstance(data, dict):
        raise BadRequest({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    return data


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
