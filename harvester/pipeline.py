"""Prepared pages: what the database writer needs from each Kobo submission, computed apart.

`prepare()` does the pure work of one submission (hash, mapping, quality flags, attachments).
For a long harvest, `prepared_pages()` runs fetching, parsing and preparing in a second process
while this one writes to the database, so that on a two-core machine the halves overlap
(benchmarks/harvest.py measures it). Short runs, and the first page of every run, stay in this
process: a run that finds nothing new starts no process at all.

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
import operator
import pickle
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import orjson

from formserver.kobo import KoboClient, KoboError
from formserver.paging import KeysetCursor
from harvester.mapping import (
    PERSON_COLUMNS,
    Mapped,
    map_submission,
    payload_hash,
    validation_of,
)
from registry import jsonio
from registry.columns import PERSON_DATES, SUBMISSION_DATETIMES

T = TypeVar("T")
FLAG_COLUMNS = ("field", "code", "message", "severity")
VOLATILE_KEYS = frozenset({"_validation_status"})
GC_YOUNG_THRESHOLD = 10_000  # see tune_gc()
PARALLEL_MIN_ROWS = 5000  # below this many rows to fetch, a second process costs more than it saves


def answers_hash(payload: dict[str, Any]) -> str:
    """The hash of a submission version. `_validation_status` is left out: it changes when a
    reviewer's decision is written back, which is not an edit of the answers."""
    if VOLATILE_KEYS.isdisjoint(payload):
        return payload_hash(payload)
    answers = dict(payload)
    for key in VOLATILE_KEYS:
        answers.pop(key, None)
    return payload_hash(answers)


def attachment_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items = payload.get("_attachments")
    if not isinstance(items, list):
        return []
    rows = []
    for item in items:
        if not isinstance(item, dict) or not item.get("uid") or not item.get("download_url"):
            continue
        rows.append(
            {
                "uid": str(item["uid"]),
                "filename": str(item.get("media_file_basename") or item["uid"]),
                "mimetype": item.get("mimetype"),
                "question_xpath": item.get("question_xpath"),
                "download_url": str(item["download_url"]),
                "is_deleted_on_server": bool(item.get("is_deleted")),
            }
        )
    return rows


@dataclass
class Prepared:
    """One submission ready for the writer. Across processes the payload travels as JSON bytes
    (pickling the parsed tree costs several times more)."""

    kobo_id: int
    digest: str
    mapped: Mapped  # its persons and flags are moved into the plain tuples below
    validation: tuple[str | None, str | None, int | None]
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # Values in PERSON_COLUMNS order; PERSON_DATES as ISO text.
    persons: list[Sequence[Any]] = field(default_factory=list)
    kategori: list[list[str]] = field(default_factory=list)  # PPKS codes, one list per person
    flags: list[Sequence[str]] = field(default_factory=list)  # values in FLAG_COLUMNS order
    payload: dict[str, Any] | None = None
    payload_json: bytes | None = None

    def payload_text(self) -> str:
        """The payload as JSON text, serialised once."""
        if self.payload_json is not None:
            return self.payload_json.decode("utf-8")
        return jsonio.dumps(self.payload)

    def payload_dict(self) -> dict[str, Any]:
        if self.payload is not None:
            return self.payload
        value = jsonio.loads(self.payload_json or b"{}")
        return value if isinstance(value, dict) else {"_raw": value}


_PERSON_VALUES = operator.itemgetter(*PERSON_COLUMNS)  # a person dict -> its values in order


def _dates_as_text(persons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Date columns as ISO text, which both databases take as a date (SQLite stores exactly
    this text), so the writer binds them without a per-value conversion."""
    for person in persons:
        for name in PERSON_DATES:
            value = person[name]
            if value is not None:
                person[name] = value.isoformat()
    return persons


def prepare(form: str, payload: dict[str, Any], *, portable: bool = False) -> Prepared:
    mapped = map_submission(form, payload)
    # Plain tuples: they cross the process boundary and reach executemany without dict work.
    prepared = Prepared(
        kobo_id=int(payload["_id"]),
        digest=answers_hash(payload),
        mapped=mapped,
        validation=validation_of(payload),
        attachments=attachment_rows(payload),
        persons=list(map(_PERSON_VALUES, _dates_as_text(mapped.persons))),
        kategori=[list(dict.fromkeys(p.get("kategori") or [])) for p in mapped.persons],
        flags=[(f.field, f.code, f.message, f.severity) for f in mapped.flags],
    )
    mapped.persons, mapped.flags = [], []
    if portable:
        prepared.payload_json = jsonio.dumps(payload).encode("utf-8")
    else:
        prepared.payload = payload
    return prepared


def tune_gc() -> None:
    """Let the young generation grow to 10,000 objects (Python's default is 700) before a
    collection. A page of 1,000 households makes some 100,000 short-lived dicts and tuples, and at
    the default the collector ran about 150 times per page: a fifth of the writer's time, measured.
    Cycles are still collected, only in larger batches; memory stays flat."""
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(GC_YOUNG_THRESHOLD, _young), older, oldest)


def encode_page(page: list[Prepared]) -> tuple[str, bytes, list[bytes]]:
    """A page of portable `Prepared` for the trip to the writer process.

    Pickling a thousand dataclasses with their dicts and tuples costs several times more, on
    both sides, than one orjson document: (kind, rows as JSON, payloads as their own bytes).
    Dates and datetimes travel as ISO text and are revived by `decode_page`. A value orjson
    refuses (an integer past 64 bits, a lone surrogate) sends that page by pickle instead.
    """
    payloads = [p.payload_json or b"{}" for p in page]
    rows = [
        (
            p.kobo_id,
            p.digest,
            p.validation,
            p.mapped.system,
            p.mapped.submission,
            p.mapped.household,
            p.mapped.psks_entry,
            p.persons,
            p.kategori,
            p.flags,
            p.attachments,
        )
        for p in page
    ]
    try:
        return "json", orjson.dumps(rows), payloads
    except (TypeError, orjson.JSONEncodeError):
        return "pickle", pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL), []


def _revive(values: dict[str, Any]) -> dict[str, Any]:
    """Submission values with their timestamps back as datetimes (they cross as ISO text; person
    dates stay text, see `_dates_as_text`; households and PSKS entries hold neither)."""
    for name in SUBMISSION_DATETIMES:
        text = values.get(name)
        if type(text) is str:
            values[name] = dt.datetime.fromisoformat(text)
    return values


def decode_page(encoded: tuple[str, bytes, list[bytes]]) -> list[Prepared]:
    """The page `encode_page` sent, as the `Prepared` it was."""
    kind, body, payloads = encoded
    if kind == "pickle":
        page: list[Prepared] = pickle.loads(body)  # noqa: S301 (our own child process wrote it)
        return page
    page = []
    for row, payload in zip(orjson.loads(body), payloads, strict=True):
        kobo_id, digest, validation, system, submission, household, psks, persons, *rest = row
        kategori, flags, attachments = rest
        page.append(
            Prepared(
                kobo_id=kobo_id,
                digest=digest,
                mapped=Mapped(
                    submission=_revive(submission),
                    household=household,
                    psks_entry=psks,
                    system=_revive(system),
                ),
                validation=tuple(validation),  # type: ignore[arg-type]
                attachments=attachments,
                persons=persons,
                kategori=kategori,
                flags=flags,
                payload_json=payload,
            )
        )
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
    base_url: str,
    token: str,
    client_options: dict[str, Any],
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
            with KoboClient(base_url, token, **client_options) as client:
                for rows in client.iter_pages(asset_uid, after_id=after_id):
                    yield "page", encode_page([prepare(form, r, portable=True) for r in rows])
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


def prepared_pages(
    client: KoboClient,
    form: str,
    asset_uid: str,
    after_id: int,
    *,
    parallel_min_rows: int = PARALLEL_MIN_ROWS,
) -> Iterator[list[Prepared]]:
    """Yield prepared pages of submissions with `_id > after_id`, in `_id` order."""
    cursor = KeysetCursor(after_id=after_id, limit=client.page_limit)
    rows, remaining = client.next_page(asset_uid, cursor)
    if cursor.done or remaining is None or remaining < parallel_min_rows:
        if rows:
            yield [prepare(form, r) for r in rows]
        if not cursor.done:
            for rows in prefetched(client.iter_pages(asset_uid, after_id=cursor.after_id)):
                yield [prepare(form, r) for r in rows]
        return
    # The second process starts first, so that it boots while this one stores the first page.
    preparer = _Preparer(client, form, asset_uid, cursor.after_id)
    try:
        if rows:
            yield [prepare(form, r) for r in rows]
        yield from preparer.pages()
    finally:
        preparer.stop()


class _Preparer:
    """The second process (spawned, see the module's docstring): it fetches and prepares the
    pages after `after_id` and hands them over through a pipe."""

    def __init__(self, client: KoboClient, form: str, asset_uid: str, after_id: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.inbox, outbox = context.Pipe(duplex=False)
        self.worker = context.Process(
            target=_produce,
            args=(client.base_url, client._token, client.options(), form, asset_uid, after_id),
            kwargs={"out": outbox},
            name="babale-prepare",
            daemon=True,
        )
        self.worker.start()
        outbox.close()  # the child holds its own end: its exit is then seen as end of file

    def pages(self) -> Iterator[list[Prepared]]:
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
