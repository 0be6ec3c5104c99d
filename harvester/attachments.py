"""Photo downloads: fetch the attachments not downloaded yet, after a form's data is stored.

A few downloads run at once (each thread with its own KoboClient). A failure is recorded on the
attachment and counted on the run (`HarvestRun.failed`); the next run tries again, and a photo
never holds up the data.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from formserver.kobo import KoboClient, KoboError
from harvester import runs
from registry.models import Attachment, Submission, utcnow

DOWNLOAD_WORKERS = 4  # photos fetched at once: hides round-trip time without crowding Kobo
DOWNLOAD_BATCH = 200  # attachment rows updated per transaction


def download(
    client: KoboClient,
    sessions: sessionmaker[Session],
    media: Path,
    form: str,
    run_id: int,
) -> None:
    """Fetch the form's photos not downloaded yet into `media`; failures are added to `run_id`."""
    local = threading.local()
    clients: list[KoboClient] = []

    def fetch(att: Any) -> dict[str, Any]:
        own = getattr(local, "client", None)
        if own is None:
            own = local.client = client.clone()
            clients.append(own)
        relative = Path(att.asset_uid) / str(att.kobo_id) / f"{att.uid}_{safe_name(att.filename)}"
        try:
            own.download(att.download_url, media / relative)
        except (KoboError, OSError) as exc:
            return {"id": att.id, "last_error": str(exc)[:500]}
        return {
            "id": att.id,
            "is_downloaded": True,
            "local_path": relative.as_posix(),
            "downloaded_at": utcnow(),
            "last_error": None,
        }

    after = 0  # keyset over attachment ids: memory stays one batch, however many photos
    try:
        with ThreadPoolExecutor(DOWNLOAD_WORKERS, thread_name_prefix="media") as pool:
            while True:
                with sessions() as session:
                    batch = session.execute(
                        select(
                            Attachment.id,
                            Attachment.uid,
                            Attachment.filename,
                            Attachment.download_url,
                            Submission.kobo_id,
                            Submission.asset_uid,
                        )
                        .join(Submission, Submission.id == Attachment.submission_id)
                        .where(
                            Submission.form == form,
                            Attachment.id > after,
                            Attachment.is_downloaded.is_(False),
                            Attachment.is_deleted_on_server.is_(False),
                        )
                        .order_by(Attachment.id)
                        .limit(DOWNLOAD_BATCH)
                    ).all()
                if not batch:
                    return
                after = batch[-1].id
                outcomes = list(pool.map(fetch, batch))
                ok = [r for r in outcomes if "is_downloaded" in r]
                failed = [r for r in outcomes if "is_downloaded" not in r]
                with sessions.begin() as session:
                    for rows in (ok, failed):
                        if rows:
                            session.execute(
                                update(Attachment).values(attempts=Attachment.attempts + 1),
                                rows,
                            )
                    runs.count(session, run_id, failed=len(failed))
    finally:
        for own in clients:
            own.close()


def safe_name(name: str) -> str:
    """A file name that cannot climb out of the media directory."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)
    return cleaned.lstrip(".") or "file"
