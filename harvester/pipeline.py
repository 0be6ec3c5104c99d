"""Mapped pages: Kobo pages fetched and mapped, optionally in a second process (the preparer).

`mapped_pages()` yields each page of submissions above the watermark as `Mapped` results. With
`preparer=True`, a long harvest fetches, parses and maps its pages in a second process while this
one writes to the database, so that on a two-core machine the halves overlap (benchmarks/harvest.py
measures it, `--preparer on|off|both`). Short runs, and the first page of every run, stay in this
process: a run that finds nothing new starts no process at all. Without the preparer, the next page
is fetched in a thread while this one is mapped and stored.

The second process is a fresh interpreter (spawn), not a copy of ours with its threads and
database connections. Like any multiprocessing start method but fork, it imports the main module
of the calling program: a script that drives `Harvester` itself needs the usual
`if __name__ == "__main__":` guard (the `babale` command has it). Pages go over a pipe that
holds one at a time, so memory stays the same however many submissions there are.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import orjson

from formserver.kobo import KoboClient, KoboError
from formserver.paging import KeysetCursor
from harvester.mapping import Mapped, map_submission
from registry.columns import SUBMISSION_DATETIMES
from registry.quality import Flag

T = TypeVar("T")
GC_YOUNG_THRESHOLD = 10_000  # see tune_gc()
PARALLEL_MIN_ROWS = 5000  # below this many rows to fetch, a second process costs more than it saves
Encoded = tuple[str, bytes, list[str]]


def _map_page(form: str, rows: list[dict[str, Any]]) -> list[Mapped]:
    return [map_submission(form, r) for r in rows]


def tune_gc() -> None:
    """Let the young generation grow to 10,000 objects (Python's default is 700) before a
    collection. A page of 1,000 households makes some 100,000 short-lived dicts and tuples, and at
    the default the collector ran about 150 times per page: a fifth of the writer's time, measured.
    Cycles are still collected, only in larger batches; memory stays flat."""
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(GC_YOUNG_THRESHOLD, _young), older, oldest)


def encode_page(page: list[Mapped]) -> Encoded:
    """A page of `Mapped` for the trip to the writer process.

    Pickling a thousand dataclasses with their dicts costs several times more, on both sides,
    than one orjson document: (kind, the results as JSON without their payloads, the payloads
    as the text they already are, which the pipe pickles once with no copy made here). Members,
    most of a page's rows, travel as value lists under one list of column names for the page,
    not as dicts that repeat every name: a seventh less to send, and less to parse. Dates and
    datetimes travel as ISO text; `decode_page` revives the submission timestamps, and person
    dates stay text, which the writer binds as they are. A value orjson refuses (a lone
    surrogate) sends that page by pickle instead.
    """
    columns = next((list(p) for m in page for p in m.persons), [])
    items = []
    for m in page:
        item = {**vars(m), "payload_json": None}
        persons = m.persons
        if persons and any(list(p) != columns for p in persons):
            return _pickled(page)  # members with other columns than the page's first
        item["persons"] = [list(p.values()) for p in persons]
        items.append(item)
    try:
        body = orjson.dumps({"person_columns": columns, "items": items})
    except (TypeError, orjson.JSONEncodeError):
        return _pickled(page)
    return "json", body, [m.payload_json for m in page]


def _pickled(page: list[Mapped]) -> Encoded:
    return "pickle", pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL), []


def _revive(values: dict[str, Any]) -> dict[str, Any]:
    """Submission values with their timestamps back as datetimes (households and PSKS entries
    hold none, person dates stay ISO text)."""
    for name in SUBMISSION_DATETIMES:
        text = values.get(name)
        if type(text) is str:
            values[name] = dt.datetime.fromisoformat(text)
    return values


def decode_page(encoded: Encoded) -> list[Mapped]:
    """The page `encode_page` sent, as the `Mapped` results it was."""
    kind, body, payloads = encoded
    if kind == "pickle":
        page: list[Mapped] = pickle.loads(body)  # noqa: S301 (our own child process wrote it)
        return page
    document = orjson.loads(body)
    columns = document["person_columns"]
    page = []
    for item, payload in zip(document["items"], payloads, strict=True):
        item["system"] = _revive(item["system"])
        item["persons"] = [dict(zip(columns, values, strict=True)) for values in item["persons"]]
        item["flags"] = [Flag(**flag) for flag in item["flags"]]
        item["payload_json"] = payload
        page.append(Mapped(**item))
    return page


def prefetched(pages: Iterator[T]) -> Iterator[T]:
    """Fetch the next page in a background thread while the caller stores this one, so that
    network and database work overlap. At most one page waits in memory."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        box.put(("page", page), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(("error", exc))

    worker = threading.Thread(target=produce, name="kobo-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def _produce(
    client: KoboClient,
    form: str,
    asset_uid: str,
    after_id: int,
    out: Connection,
) -> None:
    """The second process: fetch pages after `after_id`, prepare them, hand them over.

    The next page is prepared while this one is sent; sending waits for the writer to take it,
    so this process holds two or three pages at most."""
    tune_gc()

    def messages() -> Iterator[tuple[str, Any]]:
        try:
            with client:
                for rows in client.iter_pages(asset_uid, after_id=after_id):
                    yield "page", encode_page(_map_page(form, rows))
            yield "end", None
        except KoboError as exc:
            yield "kobo_error", (str(exc), exc.status)
        except BaseException as exc:  # reported to the writer, which fails the run with it
            yield "crash", f"{type(exc).__name__}: {exc}"

    try:
        # A page is sent (which waits for the writer to take it) while the next is prepared.
        for message in prefetched(messages()):
            out.send(message)
    except BrokenPipeError:
        return  # the writer stopped reading (it failed, or was interrupted)
    finally:
        out.close()


def mapped_pages(
    client: KoboClient,
    form: str,
    asset_uid: str,
    after_id: int,
    *,
    preparer: bool = True,
    parallel_min_rows: int = PARALLEL_MIN_ROWS,
) -> Iterator[list[Mapped]]:
    """Yield the mapped pages of submissions with `_id > after_id`, in `_id` order. With
    `preparer`, pages after the first are mapped in a second process when at least
    `parallel_min_rows` rows are left to fetch."""
    cursor = KeysetCursor(after_id=after_id, limit=client.page_limit)
    rows, remaining = client.next_page(asset_uid, cursor)
    parallel = preparer and remaining is not None and remaining >= parallel_min_rows
    if cursor.done or not parallel:
        if rows:
            yield _map_page(form, rows)
        if not cursor.done:
            for rows in prefetched(client.iter_pages(asset_uid, after_id=cursor.after_id)):
                yield _map_page(form, rows)
        return
    # The second process starts first, so that it boots while this one stores the first page.
    second = _Preparer(client, form, asset_uid, cursor.after_id)
    try:
        if rows:
            yield _map_page(form, rows)
        yield from second.pages()
    finally:
        second.stop()


class _Preparer:
    """The second process (spawned, see the module's docstring): it fetches and prepares the
    pages after `after_id` and hands them over through a pipe."""

    def __init__(self, client: KoboClient, form: str, asset_uid: str, after_id: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.inbox, outbox = context.Pipe(duplex=False)
        self.worker = context.Process(
            target=_produce,
            args=(client, form, asset_uid, after_id),  # the client is pickled as its settings
            kwargs={"out": outbox},
            name="babale-prepare",
            daemon=True,
        )
        self.worker.start()
        outbox.close()  # the child holds its own end: its exit is then seen as end of file

    def pages(self) -> Iterator[list[Mapped]]:
        while True:
            try:
                kind, item = self.inbox.recv()
            except EOFError:  # the child's end of the pipe closed without an "end"
                raise KoboError("the page preparer stopped unexpectedly") from None
            if kind == "page":
                page = decode_page(item)
                del item  # the encoded page is not kept while this one is stored
                yield page
                del page  # nor this one while the next is received
            elif kind == "end":
                return
            elif kind == "kobo_error":
                message, status = item
                raise KoboError(message, status=status)
            else:
                raise RuntimeError(f"preparing pages failed: {item}")

    def stop(self) -> None:
        self.inbox.close()
        if self.worker.is_alive():
            self.worker.terminate()
        self.worker.join(timeout=5)
