"""KoboClient: the one way this project talks to a KoboToolbox server (API v2).

One requests.Session with Token auth, timeouts, and urllib3 Retry mounted on http:// and https://
(back-off on 429/500/502/503/504 honouring Retry-After, and on connection errors). A body cut short
after the headers arrived is retried here too, since urllib3 has already returned by then. Every
failure becomes one KoboError carrying the status and a short body, never the token.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from formserver.paging import KeysetCursor
from registry import jsonio

RETRY_STATUSES = (429, 500, 502, 503, 504)
# Methods safe to send twice. POST (an import) is not: a retried POST could create a second asset.
RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PATCH", "PUT", "DELETE"})

URLS = {
    "assets": "/api/v2/assets/",
    "asset": "/api/v2/assets/{uid}/",
    "data": "/api/v2/assets/{uid}/data/",
    "submission": "/api/v2/assets/{uid}/data/{id}/",
    "validation_status": "/api/v2/assets/{uid}/data/{id}/validation_status/",
    "validation_statuses": "/api/v2/assets/{uid}/data/validation_statuses/",
    "deployment": "/api/v2/assets/{uid}/deployment/",
    "imports": "/api/v2/imports/",
    "import": "/api/v2/imports/{uid}/",
}


@dataclass(frozen=True)
class KoboResponse:
    """A Kobo answer with its whole body read (see `_read_body`)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    encoding: str | None = None

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return jsonio.loads(self.content)


class KoboError(Exception):
    """A Kobo request failed: HTTP status (None for a network failure) and a short reason."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(response: KoboResponse) -> str:
    try:
        body = response.json()
    except ValueError:
        return _short(response.text)
    if isinstance(body, dict) and "detail" in body:
        return _short(str(body["detail"]))
    return _short(json.dumps(body, ensure_ascii=False))


_NETWORK_REASONS = (
    ("refused", "connection refused"),
    ("Name or service not known", "host name not found"),
    ("Temporary failure in name resolution", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("timed out", "timed out"),
    ("reset", "connection reset"),
    ("IncompleteRead", "the answer was cut short"),
    ("Connection broken", "the answer was cut short"),
    ("RemoteDisconnected", "the server closed the connection"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
)


def _network_reason(exc: Exception) -> str:
    """A short, human reason for a network failure (urllib3's own text is long and nested)."""
    text = str(exc)
    for needle, reason in _NETWORK_REASONS:
        if needle in text:
            return reason
    return _short(text, 120)


class KoboClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: tuple[float, float] = (10.0, 120.0),
        retries: int = 6,
        backoff: float = 1.0,
        backoff_max: float = 120.0,
        page_limit: int = 1000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.page_limit = page_limit
        self.requests_sent = 0
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": "babale-harvester/0.1",
            }
        )
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=retries,
            backoff_factor=backoff,
            backoff_max=backoff_max,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=RETRY_METHODS,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def options(self) -> dict[str, Any]:
        """The keyword options this client was made with (not the URL or token)."""
        return {
            "timeout": self.timeout,
            "retries": self.retries,
            "backoff": self.backoff,
            "backoff_max": self.backoff_max,
            "page_limit": self.page_limit,
        }

    def clone(self) -> KoboClient:
        """A client with the same settings and its own Session (one per thread)."""
        return KoboClient(self.base_url, self._token, **self.options())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (for the page preparer's process) as its settings; the copy opens its own
        Session."""
        return _rebuild, (self.base_url, self._token, self.options())

    def __repr__(self) -> str:
        return f"KoboClient({self.base_url!r})"  # never the token

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> KoboClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, name: str, **parts: Any) -> str:
        return self.base_url + URLS[name].format(**parts)

    def _absolute(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url + "/", path_or_url.lstrip("/"))

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> KoboResponse:
        """Send one request (with retries); raise KoboError unless the answer is 2xx.

        urllib3's Retry retries connecting, statuses and resets before an answer; it does not
        retry reading the body, so a body cut short is retried here (and only that: retrying a
        failed connection here as well multiplied the attempts).
        """
        url = self._absolute(path_or_url)
        kwargs.setdefault("timeout", self.timeout)
        attempts = self.retries + 1 if method.upper() in RETRY_METHODS else 1
        for attempt in range(1, attempts + 1):
            self.requests_sent += 1
            try:
                response = self.session.request(method, url, stream=True, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                raise KoboError(
                    f"cannot reach Kobo at {self.base_url}: {_network_reason(exc)}"
                ) from None
            except requests.exceptions.Timeout:
                raise KoboError(f"Kobo at {self.base_url} did not answer in time") from None
            except requests.exceptions.RequestException as exc:
                raise KoboError(f"request to Kobo failed: {_short(str(exc), 160)}") from None
            try:
                answer = _read_body(response)
            except requests.exceptions.RequestException as exc:
                if attempt < attempts:
                    time.sleep(min(self.backoff * 2 ** (attempt - 1), self.backoff_max))
                    continue
                raise KoboError(
                    f"Kobo at {self.base_url} kept cutting its answer short: {_network_reason(exc)}"
                ) from None
            if answer.status_code >= 400:
                raise self._error(method, url, answer)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, method: str, url: str, response: KoboResponse) -> KoboError:
        status = response.status_code
        path = url.removeprefix(self.base_url)
        if status in (401, 403):
            msg = f"Kobo refused the token (HTTP {status}): check BABALE_KOBO_TOKEN"
        elif status == 404 and "/attachments/" not in path:
            msg = f"Kobo has no {path} (HTTP 404): check the asset uid"
        elif status in RETRY_STATUSES and method.upper() in RETRY_METHODS:
            msg = (
                f"Kobo kept failing on {method} {path} (HTTP {status}) after {self.retries} retries"
            )
        else:
            msg = f"Kobo answered HTTP {status} to {method} {path}: {_reason(response)}"
        return KoboError(msg, status=status, body=_short(response.text, 1000))

    def _json(self, response: KoboResponse) -> Any:
        try:
            return response.json()
        except ValueError:
            raise KoboError(
                f"Kobo sent something that is not JSON (HTTP {response.status_code}): "
                f"{_short(response.text, 120)}",
                status=response.status_code,
            ) from None

    def get_json(self, path_or_url: str, params: dict[str, Any] | None = None) -> Any:
        for attempt in range(1, self.retries + 2):
            response = self.request("GET", path_or_url, params=params)
            try:
                return jsonio.loads(response.content)
            except ValueError:
                # A 200 with a body that does not parse was most likely cut short by a proxy.
                if attempt > self.retries:
                    return self._json(response)
                time.sleep(min(self.backoff * 2 ** (attempt - 1), self.backoff_max))
        raise AssertionError("unreachable")  # pragma: no cover

    def post_json(self, path_or_url: str, json_body: Any) -> Any:
        response = self.request("POST", path_or_url, json=json_body)
        return self._json(response) if response.content else None

    def patch_json(self, path_or_url: str, json_body: Any) -> Any:
        response = self.request("PATCH", path_or_url, json=json_body)
        return self._json(response) if response.content else None

    # --- data -----------------------------------------------------------------------------

    def next_page(
        self, asset_uid: str, cursor: KeysetCursor
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Fetch the page `cursor` points at and advance it past that page: (rows, Kobo's
        `count` of every submission the query matches, when it sends one)."""
        page = self.get_json(self.url("data", uid=asset_uid), params=cursor.params())
        if not isinstance(page, dict):
            raise KoboError(f"Kobo data page for {asset_uid} is not a JSON object")
        try:
            rows = cursor.advance(page)
        except (ValueError, KeyError, TypeError) as exc:
            raise KoboError(f"Kobo data page for {asset_uid} is malformed: {exc}") from None
        count = page.get("count")
        return rows, count if isinstance(count, int) else None

    def iter_pages(
        self, asset_uid: str, *, after_id: int = 0, fields: list[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the pages of submissions with `_id > after_id`, in `_id` order (keyset)."""
        cursor = KeysetCursor(
            after_id=after_id, limit=self.page_limit, fields=tuple(fields) if fields else None
        )
        while not cursor.done:
            rows, _count = self.next_page(asset_uid, cursor)
            if rows:
                yield rows

    def get_submission(self, asset_uid: str, kobo_id: int) -> dict[str, Any]:
        result = self.get_json(self.url("submission", uid=asset_uid, id=kobo_id))
        if not isinstance(result, dict):
            raise KoboError(f"Kobo submission {kobo_id} is not a JSON object")
        return result

    def download(self, url: str, dest: Path) -> int:
        """Fetch an attachment to `dest` atomically (temp file + rename); return its size."""
        response = self.request("GET", url, headers={"Accept": "*/*"})
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(response.content)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return len(response.content)


BODY_CHUNK = 1 << 20


def _read_body(response: requests.Response) -> KoboResponse:
    """The answer with its body read in 1 MB chunks.

    requests reads 10 kB at a time. Each read gives up the GIL, and while another thread of the
    process is busy (the page preparer, the database writer) taking it back can wait for the
    5 ms switch interval: a 3 MB page then took half a second instead of 50 ms (measured).
    `iter_content` still turns a cut or undecodable body into requests' own exceptions.
    """
    body = b"".join(response.iter_content(BODY_CHUNK)) if response.raw is not None else b""
    return KoboResponse(response.status_code, response.headers, body, response.encoding)


def _rebuild(base_url: str, token: str, options: dict[str, Any]) -> KoboClient:
    return KoboClient(base_url, token, **options)
