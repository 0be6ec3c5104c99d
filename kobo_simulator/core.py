"""KoboSimulator: a Kobo API v2 server on 127.0.0.1 with a Python API to arrange a scene.

The wiring on top of the stack: the store (state), the faults, the request log and the socket
server; the endpoints themselves know only the store (api.py, imports.py).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from kobo_simulator.faults import Faults
from kobo_simulator.forms import project_spec
from kobo_simulator.server import LoggedRequest, RequestLog, SimServer
from kobo_simulator.store import Asset, ImportTask, Store, render

DEFAULT_TOKEN = "test-token"  # noqa: S105 - the simulator's own fake credential
DEFAULT_USER = "dinsos_bky"


class KoboSimulator:
    """A small Kobo server for tests and the demo.

        with KoboSimulator(seed=1) as sim:
            uid = sim.add_asset("ppks")
            ids = sim.generate(uid, 250)
            sim.faults.error(503, path="/data/$", skip=2, times=2)
            ...  # harvest from sim.base_url with token sim.token

    Everything is deterministic for a given seed and sequence of calls.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | str = 0,
        token: str = DEFAULT_TOKEN,
        username: str = DEFAULT_USER,
    ) -> None:
        self.host = host
        self.port = port
        self.store = Store(seed)
        self.store.tokens[token] = username
        self.faults = Faults()
        self._log = RequestLog()
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        """Listen (port 0 picks a free one) and serve in a thread; return the base URL."""
        if self._server is not None:
            return self.base_url
        self._server = SimServer((self.host, self.port), self.store, self.faults, self._log)
        self.port = self._server.server_address[1]
        self._base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"kobo-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()  # wakes slow faults
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> KoboSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the simulator is not started: call start() first")
        return self._base_url

    @property
    def token(self) -> str:
        """The first valid token (by default "test-token" for user dinsos_bky)."""
        return next(iter(self.tokens))

    @property
    def tokens(self) -> dict[str, str]:
        """Valid API tokens -> username; add one to let a second user in."""
        return self.store.tokens

    @property
    def errors(self) -> list[str]:
        """Tracebacks of requests the simulator itself failed on (its bugs)."""
        return self._log.errors

    # --- the import worker ------------------------------------------------------------------

    @property
    def imports(self) -> dict[str, ImportTask]:
        """Every import task so far, by uid (what was sent in `data`, what it reported)."""
        return self.store.imports

    @property
    def import_polls(self) -> int:
        """How many GETs of a new import still answer "processing" (default 0)."""
        return self.store.import_polls

    @import_polls.setter
    def import_polls(self, polls: int) -> None:
        self.store.import_polls = polls

    @property
    def import_error(self) -> str | None:
        """When set, every import ends in status "error" with this message (as PyXFormError),
        as when Kobo's importer refuses a form ours accepted; None (default) imports normally."""
        return self.store.import_error

    @import_error.setter
    def import_error(self, message: str | None) -> None:
        self.store.import_error = message

    # --- arranging a scene ------------------------------------------------------------------

    def add_asset(
        self,
        form: str,
        uid: str | None = None,
        owner: str = DEFAULT_USER,
        *,
        name: str | None = None,
        deployed: bool = True,
    ) -> str:
        """A deployed asset holding our own "ppks" or "psks" form; returns its uid."""
        spec = project_spec(form, self.store.rng)
        return self.store.add_asset(
            spec, form, uid=uid, owner=owner, name=name, deployed=deployed
        ).uid

    def asset(self, asset_uid: str) -> Asset:
        return self.store.asset(asset_uid)

    def redeploy(self, asset_uid: str) -> str:
        """Make and deploy a new form version (later submissions carry its `__version__`)."""
        asset = self.store.asset(asset_uid)
        version = self.store.new_version(asset)
        self.store.deploy(asset, active=True)
        return version

    def generate(self, asset_uid: str, n: int, seed: int | str | None = None) -> list[int]:
        """Add `n` realistic submissions; return their new `_id`s (increasing, server-unique).

        With `seed`, the answers come from that seed (and the server state); without it, from
        the simulator's own seeded generator."""
        return self.store.generate(asset_uid, n, seed)

    def add_submission(
        self,
        asset_uid: str,
        answers: dict[str, Any],
        attachments: dict[str, bytes] | None = None,
        **overrides: Any,
    ) -> int:
        """Store `answers` verbatim (bad values welcome); return the new `_id`.

        `attachments` maps a file name used in the answers to its bytes. `_submission_time`,
        `_submitted_by` and `__version__` may be given in `answers` or as keyword arguments
        (`_submission_time=...`) to set what the server reports."""
        return self.store.add(asset_uid, answers, attachments, dict(overrides))

    def get(self, asset_uid: str, submission_id: int | str) -> dict[str, Any]:
        """The submission exactly as GET .../data/{id}/ returns it."""
        asset = self.store.asset(asset_uid)
        record = self.store.find(asset, submission_id)
        doc: dict[str, Any] = json.loads(render(self._render_base(), asset, record))
        return doc

    def edit(
        self,
        asset_uid: str,
        submission_id: int | str,
        changes: dict[str, Any],
        attachments: dict[str, bytes] | None = None,
    ) -> str:
        """Edit as Enketo does: same `_id`, rootUuid and `_submission_time`; a new `_uuid` and
        `meta/deprecatedID` = the previous instanceID. A value of None removes an answer.
        Returns the new `_uuid`."""
        return self.store.edit(asset_uid, submission_id, changes, attachments).uuid

    def delete(self, asset_uid: str, submission_id: int | str) -> None:
        """Hard delete, as Kobo does."""
        asset = self.store.asset(asset_uid)
        record = self.store.find(asset, submission_id)
        self.store.delete(asset, record.id)

    def set_validation(
        self, asset_uid: str, submission_id: int | str, uid: str | None, by_whom: str | None = None
    ) -> dict[str, Any]:
        """Set (or with None clear) a validation status as a reviewer on Kobo would."""
        asset = self.store.asset(asset_uid)
        record = self.store.find(asset, submission_id)
        return self.store.set_validation(asset, record.id, uid, by_whom or asset.owner)

    def ids(self, asset_uid: str) -> list[int]:
        with self.store.lock:
            return list(self.store.asset(asset_uid).ids)

    def count(self, asset_uid: str) -> int:
        with self.store.lock:
            return len(self.store.asset(asset_uid).ids)

    def _render_base(self) -> str:
        return self._base_url or f"http://{self.host}:{self.port}"

    # --- request log ------------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received so far: method, path, query, status, fault."""
        return self._log.entries

    def request_count(self, path: str | None = None, method: str | None = None) -> int:
        """How many requests had `path` in their path (and this method)."""
        return sum(
            1
            for r in self.requests
            if (path is None or path in r.path) and (method is None or r.method == method)
        )

    def clear_requests(self) -> None:
        self._log.clear()
