"""Fast JSON (orjson) with the standard library as the fallback for what orjson refuses
(lone surrogates, integers past 64 bits, non-string keys). Harvesting 100,000 submissions parses,
hashes and stores every payload, so this is on the hot path."""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (orjson.JSONDecodeError is one) on bad input."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # e.g. NaN, which Python's reader accepts


def dumps(obj: Any) -> str:
    """Compact JSON text, as stored in JSON columns."""
    try:
        return orjson.dumps(obj).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        # ensure_ascii escapes lone surrogates, which could not be stored as UTF-8 text.
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=str)


def canonical(obj: Any) -> bytes:
    """Sorted-key compact UTF-8 JSON: equal data give equal bytes (for hashing)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        return text.encode("utf-8", "surrogatepass")
