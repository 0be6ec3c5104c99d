"""Reconcile: find the edits, deletions and validation changes made on Kobo since rows were stored.

Kobo's light index (`_id`, `_uuid`, `_validation_status`) comes in `_id` order, page by page; each
page is compared with the local rows in the same `_id` range, so memory stays one page however
many submissions there are. Edited or missing submissions are fetched again and stored like a
harvest's pages; a submission gone from Kobo is marked deleted on the server, never removed.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from formserver.kobo import KoboClient, KoboError
from formserver.paging import batches
from harvester import runs
from harvester.lock import HarvestLease
from harvester.mapping import VALIDATION_COLUMNS, map_submission, validation_of
from harvester.store import commit_page
from registry import duplicates, persons
from registry.models import HarvestState, Submission, utcnow

RECONCILE_FIELDS = ["_id", "_uuid", "_validation_status"]
REFETCH_BATCH = 200  # ids per `$in` query when reconcile re-reads edited or missing rows
Validation = tuple[str | None, str | None, int | None]


class Reconcile:
    """One reconcile run of one form (its own `HarvestRun` row, kind "reconcile")."""

    def __init__(
        self,
        client: KoboClient,
        sessions: sessionmaker[Session],
        lease: HarvestLease,
        form: str,
        asset_uid: str,
        thresholds: duplicates.Thresholds = duplicates.DEFAULT,
    ) -> None:
        self.thresholds = thresholds
        self.client = client
        self.sessions = sessions
        self.lease = lease
        self.form = form
        self.asset_uid = asset_uid

    def run(self) -> int:
        """Reconcile the form; the id of the run row (its error, if any, is recorded there)."""
        run_id = runs.start(self.sessions, self.form, "reconcile")
        error = None
        try:
            low, seen = 0, 0
            for rows in self.client.iter_pages(self.asset_uid, fields=RECONCILE_FIELDS):
                remote = {int(r["_id"]): (str(r.get("_uuid")), validation_of(r)) for r in rows}
                high = max(remote)
                self._range(run_id, remote, low, high)
                low, seen = high, seen + len(remote)
            if seen == 0 and self._stored() > 0:
                # An empty answer for a form we hold rows of is more likely a permission or
                # server problem than every submission deleted at once: mark nothing.
                raise KoboError(
                    f"Kobo listed no submissions for {self.asset_uid}; nothing was marked deleted"
                )
            self._range(run_id, {}, low, None)
            with self.sessions.begin() as session:
                state = session.get(HarvestState, self.asset_uid)
                if state is not None:
                    state.last_reconciled_at = utcnow()
        except KoboError as exc:
            error = str(exc)
        finally:
            runs.finish(self.sessions, run_id, error)
        return run_id

    def _stored(self) -> int:
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Submission)
                    .where(
                        Submission.asset_uid == self.asset_uid,
                        Submission.is_deleted_on_server.is_(False),
                    )
                )
                or 0
            )

    def _range(
        self,
        run_id: int,
        remote: dict[int, tuple[str, Validation]],
        low: int,
        high: int | None,
    ) -> None:
        """Compare Kobo's ids in (low, high] with ours: refetch edits and missing rows, record
        validation changes, mark the vanished as deleted on the server."""
        where = [Submission.asset_uid == self.asset_uid, Submission.kobo_id > low]
        if high is not None:
            where.append(Submission.kobo_id <= high)
        with self.sessions() as session:
            local = {
                r.kobo_id: r
                for r in session.execute(
                    select(
                        Submission.id,
                        Submission.kobo_id,
                        Submission.uuid,
                        Submission.is_deleted_on_server,
                        Submission.kobo_validation_uid,
                        Submission.kobo_validation_by,
                        Submission.kobo_validation_timestamp,
                    ).where(*where)
                )
            }
        refetch = sorted(
            kid for kid, (uuid, _) in remote.items() if kid not in local or local[kid].uuid != uuid
        )
        status_only = [
            {"id": local[kid].id, **dict(zip(VALIDATION_COLUMNS, val, strict=True))}
            for kid, (uuid, val) in remote.items()
            if kid in local
            and local[kid].uuid == uuid
            and (
                local[kid].kobo_validation_uid,
                local[kid].kobo_validation_by,
                local[kid].kobo_validation_timestamp,
            )
            != val
        ]
        vanished = [
            r.id for kid, r in local.items() if kid not in remote and not r.is_deleted_on_server
        ]
        for batch in batches(refetch, REFETCH_BATCH):
            page = [map_submission(self.form, r) for r in self._fetch_ids(list(batch))]
            if page:
                commit_page(
                    self.sessions,
                    self.lease,
                    self.form,
                    self.asset_uid,
                    page,
                    run_id,
                    watermark=False,
                    thresholds=self.thresholds,
                )
        if status_only or vanished:
            with self.sessions.begin() as session:
                self.lease.heartbeat(session)
                if status_only:
                    session.execute(update(Submission), status_only)
                if vanished:
                    session.execute(
                        update(Submission)
                        .where(Submission.id.in_(vanished))
                        .values(is_deleted_on_server=True, deleted_on_server_at=utcnow())
                    )
                    persons.forget(session, vanished)
                    duplicates.forget(session, vanished)
                runs.count(session, run_id, deleted=len(vanished), updated=len(status_only))

    def _fetch_ids(self, ids: list[int]) -> list[dict[str, Any]]:
        page = self.client.get_json(
            self.client.url("data", uid=self.asset_uid),
            params={
                "format": "json",
                "query": json.dumps({"_id": {"$in": ids}}),
                "sort": json.dumps({"_id": 1}),
                "limit": str(len(ids)),
            },
        )
        rows = page.get("results") if isinstance(page, dict) else None
        if not isinstance(rows, list):
            raise KoboError(f"Kobo data page for {self.asset_uid} is malformed")
        return rows
