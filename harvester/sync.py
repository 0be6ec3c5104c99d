"""The `Harvester`: runs harvests, reconciles and photo downloads for the configured forms.

Orchestration only. One submission's way from Kobo to the database:
`harvester.pipeline` fetches pages and maps each submission (`harvester.mapping`, one `Mapped`
each), `harvester.store` writes a page in one transaction with the watermark (through
`registry.bulk`), `harvester.runs` counts it on the run row. `harvester.reconcile` finds edits
and deletions, `harvester.attachments` downloads the photos.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from formserver.kobo import KoboClient, KoboError
from harvester import attachments, runs
from harvester.lock import HarvestLease
from harvester.pipeline import PARALLEL_MIN_ROWS, mapped_pages
from harvester.reconcile import Reconcile
from harvester.runs import FormResult
from harvester.store import commit_page
from registry import duplicates
from registry.models import HarvestState
from registry.settings import Settings

__all__ = ["FormResult", "Harvester"]


class Harvester:
    """Runs harvests and reconciles for the forms configured in Settings.

    `preparer=False` maps every page in this process (see `harvester.pipeline`)."""

    def __init__(
        self,
        settings: Settings,
        client: KoboClient,
        sessions: sessionmaker[Session],
        *,
        progress: bool | None = None,
        preparer: bool = True,
        parallel_min_rows: int = PARALLEL_MIN_ROWS,
    ) -> None:
        self.settings = settings
        self.thresholds = duplicates.Thresholds.of(settings)
        self.preparer = preparer
        self.parallel_min_rows = parallel_min_rows
        self.client = client
        self.sessions = sessions
        self.progress = sys.stderr.isatty() if progress is None else progress

    def run(self, forms: Iterable[str], *, reconcile: bool = False) -> list[FormResult]:
        """Harvest (and optionally reconcile) each form under one database lease, then fetch
        its photos; one FormResult per form, read from its run rows."""
        results = []
        with HarvestLease(self.sessions) as lease:
            self._flush_outbox()
            for form in forms:
                asset_uid = self.settings.asset_uid(form)
                harvest_run = self.harvest(form, asset_uid, lease)
                run_ids = [harvest_run]
                if reconcile and FormResult.read(self.sessions, form, run_ids).ok:
                    run_ids.append(
                        Reconcile(
                            self.client, self.sessions, lease, form, asset_uid, self.thresholds
                        ).run()
                    )
                attachments.download(
                    self.client, self.sessions, self.settings.media_dir, form, harvest_run
                )
                results.append(FormResult.read(self.sessions, form, run_ids))
        return results

    def _flush_outbox(self) -> None:
        """Send review decisions still waiting for Kobo (write-back is retried by every run).
        Kobo errors stay on the outbox items; they never stop the data harvest."""
        from harvester import writeback

        writeback.flush(self.sessions, self.client, self.settings)

    def harvest(self, form: str, asset_uid: str, lease: HarvestLease) -> int:
        """Fetch everything above the watermark, one committed transaction per page; the id of
        the run row."""
        run_id = runs.start(self.sessions, form, "harvest")
        error = None
        with self.sessions() as session:
            state = session.get(HarvestState, asset_uid)
            watermark = state.last_kobo_id if state else 0
        bar = self._bar(form)
        try:
            pages = mapped_pages(
                self.client,
                form,
                asset_uid,
                watermark,
                preparer=self.preparer,
                parallel_min_rows=self.parallel_min_rows,
            )
            for page in pages:
                commit_page(
                    self.sessions,
                    lease,
                    form,
                    asset_uid,
                    page,
                    run_id,
                    watermark=True,
                    thresholds=self.thresholds,
                )
                if bar is not None:
                    bar.update(len(page))
                del page  # one page in memory: this one is released before the next arrives
        except KoboError as exc:
            error = str(exc)
        finally:
            if bar is not None:
                bar.close()
            runs.finish(self.sessions, run_id, error)
        return run_id

    def _bar(self, form: str) -> Any:
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(desc=f"harvest {form}", unit=" subm", file=sys.stderr, leave=False)
