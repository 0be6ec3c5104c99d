"""Keyset paging over Kobo's data endpoint (pure: no I/O).

Ask for `_id > watermark` sorted by `_id` and move the watermark to the last `_id` of each page.
Unlike `start` offsets this never skips or repeats a row when rows are deleted while we page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

MAX_LIMIT = 1000  # Kobo caps `limit` at 1000 (API.md §1)


@dataclass
class KeysetCursor:
    after_id: int = 0
    limit: int = MAX_LIMIT
    fields: tuple[str, ...] | None = None
    done: bool = False

    def params(self) -> dict[str, str]:
        """Query parameters of the next page."""
        params = {
            "format": "json",
            "query": json.dumps({"_id": {"$gt": self.after_id}}, separators=(",", ":")),
            "sort": json.dumps({"_id": 1}, separators=(",", ":")),
            "limit": str(min(self.limit, MAX_LIMIT)),
            "start": "0",
        }
        if self.fields is not None:
            params["fields"] = json.dumps(list(self.fields), separators=(",", ":"))
        return params

    def advance(self, page: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one response envelope; return its rows and move past them.

        The last page is the one whose `next` is null (or that is empty), so a run with nothing
        new costs exactly one request.
        """
        results = page.get("results")
        if not isinstance(results, list):
            raise ValueError("Kobo data page has no 'results' list")
        if results:
            last = max(int(row["_id"]) for row in results)
            if last <= self.after_id:
                raise ValueError(f"Kobo data page did not advance past _id {self.after_id}")
            self.after_id = last
        if not results or page.get("next") is None:
            self.done = True
        return results


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size` (Kobo's `$in` queries, bulk updates)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
