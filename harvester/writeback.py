"""The outbox of review decisions -> Kobo validation statuses (kobo/API.md §4).

Pending items are grouped per asset and target uid and sent with the bulk endpoint. The uid is
checked against Kobo's three values BEFORE sending: in bulk mode Kobo accepts any uid and a typo
would silently clear the status of every listed submission. When Kobo refuses a whole batch
because one id is gone ("One or more submission ids are invalid"), the batch is sent again one
by one so the others still arrive. An item is marked sent only after Kobo accepted it, and a
lease in the database keeps two senders (the web app's thread, a harvest run) from overlapping,
so each decision reaches Kobo once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from formserver.kobo import KoboClient, KoboError
from formserver.paging import batches
from harvester.lock import AlreadyRunning, HarvestLease
from registry.db import session_factory
from registry.models import OutboxItem, Submission, utcnow
from registry.settings import Settings

ALLOWED_UIDS = frozenset(
    {"validation_status_approved", "validation_status_not_approved", "validation_status_on_hold"}
)
INVALID_IDS = "One or more submission ids are invalid"
BATCH_SIZE = 500
LEASE_NAME = "writeback"


@dataclass(frozen=True)
class Pending:
    item_id: int
    asset_uid: str
    kobo_id: int
    uid: str


class KoboUnavailable(Exception):
    """Kobo cannot be reached or keeps failing: stop this flush, keep everything queued."""


def pending(session: Session) -> list[Pending]:
    """The newest unsent item of each submission still on Kobo, oldest first."""
    rows = session.execute(
        select(
            OutboxItem.id,
            OutboxItem.submission_id,
            OutboxItem.validation_uid,
            Submission.asset_uid,
            Submission.kobo_id,
        )
        .join(Submission, Submission.id == OutboxItem.submission_id)
        .where(OutboxItem.sent_at.is_(None), Submission.is_deleted_on_server.is_(False))
        .order_by(OutboxItem.id)
    ).all()
    newest = {row.submission_id: row for row in rows}  # later ids overwrite earlier ones
    return [
        Pending(row.id, row.asset_uid, row.kobo_id, row.validation_uid)
        for row in sorted(newest.values(), key=lambda r: r.id)
    ]


class _Flush:
    def __init__(self, sessions: sessionmaker[Session], client: KoboClient, lease: HarvestLease):
        self.sessions = sessions
        self.client = client
        self.lease = lease
        self.counts: Counter[str] = Counter(sent=0, failed=0, refused=0)

    def _mark(self, items: Sequence[Pending], error: str | None) -> None:
        ids = [i.item_id for i in items]
        values: dict[str, object] = {"attempts": OutboxItem.attempts + 1, "last_error": error}
        if error is None:
            values["sent_at"] = utcnow()
        with self.sessions.begin() as session:
            self.lease.heartbeat(session)
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids), OutboxItem.sent_at.is_(None))
                .values(**values)
            )
        self.counts["sent" if error is None else "failed"] += len(items)

    def send_group(self, asset_uid: str, uid: str, items: Sequence[Pending]) -> None:
        if uid not in ALLOWED_UIDS:
            # Never send: Kobo would clear the statuses instead of refusing.
            self._mark(items, f"not a Kobo validation status: {uid!r}")
            self.counts["failed"] -= len(items)
            self.counts["refused"] += len(items)
            return
        url = self.client.url("validation_statuses", uid=asset_uid)
        for chunk in batches(items, BATCH_SIZE):
            body = {
                "payload": {
                    "submission_ids": [i.kobo_id for i in chunk],
                    "validation_status.uid": uid,
                }
            }
            try:
                self.client.patch_json(url, body)
            except KoboError as exc:
                if exc.status == 400 and INVALID_IDS in (exc.body or str(exc)):
                    self.send_singly(asset_uid, uid, chunk)
                    continue
                self._fail_or_stop(chunk, exc)
            else:
                self._mark(chunk, None)

    def send_singly(self, asset_uid: str, uid: str, items: Sequence[Pending]) -> None:
        for item in items:
            url = self.client.url("validation_status", uid=asset_uid, id=item.kobo_id)
            try:
                self.client.patch_json(url, {"validation_status.uid": uid})
            except KoboError as exc:
                self._fail_or_stop([item], exc)
            else:
                self._mark([item], None)

    def _fail_or_stop(self, items: Sequence[Pending], exc: KoboError) -> None:
        self._mark(items, str(exc))
        if exc.status is None or exc.status >= 500 or exc.status in (401, 403, 429):
            raise KoboUnavailable(str(exc))  # the rest would fail the same way


def flush(
    db: str | sessionmaker[Session],
    client: KoboClient | None = None,
    settings: Settings | None = None,
    *,
    wait_for_lease: float = 0.0,
) -> dict[str, int]:
    """Send every pending decision; return counts sent/failed/refused (and busy=1 if another
    sender holds the lease). Kobo errors are recorded on the items, never raised."""
    sessions = session_factory(db) if isinstance(db, str) else db
    if client is None:
        if settings is None:
            settings = Settings.from_env()
        url, token = settings.require_kobo()
        with KoboClient(url, token) as own:
            return flush(sessions, own, settings, wait_for_lease=wait_for_lease)
    lease = HarvestLease(sessions, name=LEASE_NAME)
    deadline = time.monotonic() + wait_for_lease
    while True:
        try:
            lease.acquire()
            break
        except AlreadyRunning:
            if time.monotonic() >= deadline:
                return {"sent": 0, "failed": 0, "refused": 0, "busy": 1}
            time.sleep(0.5)
    job = _Flush(sessions, client, lease)
    try:
        with sessions() as session:
            items = pending(session)
        groups: dict[tuple[str, str], list[Pending]] = {}
        for item in items:
            groups.setdefault((item.asset_uid, item.uid), []).append(item)
        for (asset_uid, uid), group in groups.items():
            job.send_group(asset_uid, uid, group)
    except KoboUnavailable:
        pass  # recorded on the item that hit it; the rest stay queued for the next run
    finally:
        lease.release()
    return dict(job.counts)
