"""Switchable faults: what a flaky network between Bengkayang and a Kobo server does to requests.

A fault applies to requests whose method and path match; it lets the first `skip` matching
requests through, then hits the next `times` of them (None: every one until removed), e.g. "the
3rd data page fails twice with 503, then succeeds":

    sim.faults.error(503, path="/data/$", skip=2, times=2)
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

KINDS = ("error", "rate_limit", "slow", "cut", "reset")


@dataclass
class Fault:
    kind: str  # one of KINDS
    status: int = 503  # error: the HTTP status (500, 502, 503, 504, ...)
    retry_after: int | None = None  # the Retry-After header, in seconds (rate_limit: 1)
    delay: float = 0.0  # slow: seconds before the reply
    fraction: float = 0.5  # cut: share of the body sent before the connection closes
    path: str | None = None  # regex searched in the request path
    method: str | None = None
    skip: int = 0
    times: int | None = 1
    hits: int = 0  # requests this fault has hit so far
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        self._pattern = re.compile(self.path) if self.path else None
        if self.kind == "rate_limit":
            self.status = 429
            self.retry_after = 1 if self.retry_after is None else self.retry_after

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class Faults:
    """The fault queue of one simulator (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []

    def add(self, kind: str, **options: object) -> Fault:
        fault = Fault(kind, **options)  # type: ignore[arg-type]
        with self._lock:
            self._queue.append(fault)
        return fault

    def error(self, status: int = 503, **options: object) -> Fault:
        """Answer with this HTTP status (nginx's small HTML page; `retry_after=N` adds the
        Retry-After header)."""
        return self.add("error", status=status, **options)

    def rate_limit(self, retry_after: int = 1, **options: object) -> Fault:
        """429 Too Many Requests with `Retry-After: retry_after`."""
        return self.add("rate_limit", retry_after=retry_after, **options)

    def slow(self, delay: float, **options: object) -> Fault:
        """Wait `delay` seconds, then answer normally."""
        return self.add("slow", delay=delay, **options)

    def cut(self, fraction: float = 0.5, **options: object) -> Fault:
        """Send the headers with the full Content-Length, part of the body, then close.

        fraction >= 1 sends the whole body but announces more than it sends."""
        return self.add("cut", fraction=fraction, **options)

    def reset(self, **options: object) -> Fault:
        """Read the request, then reset the connection (TCP RST) without an answer."""
        return self.add("reset", **options)

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._queue:
                self._queue.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._queue if not f.exhausted]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any; counts skips and hits."""
        with self._lock:
            chosen = None
            for fault in self._queue:
                if fault.exhausted or not fault.matches(method, path):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                elif chosen is None:
                    chosen = fault
            if chosen is not None:
                chosen.hits += 1
                if chosen.exhausted:
                    self._queue.remove(chosen)
            return chosen
