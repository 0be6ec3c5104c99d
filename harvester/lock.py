"""A lease in the database so that two harvests never run at once, on SQLite and PostgreSQL alike.

The holder refreshes a heartbeat while it works. A lease is taken over when its heartbeat is
stale, or at once when its holder was a process on this machine that no longer exists (a run
killed with SIGKILL must not block the next one for the whole stale period).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, Result, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from registry.models import HarvestLock, utcnow

STALE_AFTER = dt.timedelta(minutes=10)


class AlreadyRunning(RuntimeError):
    """Another harvest holds the lock."""


def _holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _is_dead_local(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class HarvestLease:
    def __init__(self, sessions: sessionmaker[Session], name: str = "harvest") -> None:
        self.sessions = sessions
        self.name = name
        self.holder = _holder_id()
        self.held = False

    def _ensure_row(self, session: Session) -> None:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(HarvestLock).values(name=self.name).on_conflict_do_nothing())

    def acquire(self) -> None:
        now = utcnow()
        with self.sessions.begin() as session:
            self._ensure_row(session)
        with self.sessions.begin() as session:
            current = session.scalar(
                select(HarvestLock.holder).where(HarvestLock.name == self.name)
            )
            free = or_(HarvestLock.holder.is_(None), HarvestLock.heartbeat_at < now - STALE_AFTER)
            if current and _is_dead_local(current):
                free = or_(free, HarvestLock.holder == current)
            taken = _rowcount(
                session.execute(
                    update(HarvestLock)
                    .where(HarvestLock.name == self.name, free)
                    .values(holder=self.holder, acquired_at=now, heartbeat_at=now)
                )
            )
        if taken != 1:
            raise AlreadyRunning("a harvest is already running (another process holds the lock)")
        self.held = True

    def heartbeat(self, session: Session) -> None:
        """Refresh the lease inside the caller's transaction (one page = one transaction)."""
        refreshed = _rowcount(
            session.execute(
                update(HarvestLock)
                .where(HarvestLock.name == self.name, HarvestLock.holder == self.holder)
                .values(heartbeat_at=utcnow())
            )
        )
        if refreshed != 1:
            # Someone took the lease over (ours went stale): stop before writing anything.
            raise AlreadyRunning("the harvest lock was taken over by another run")

    def release(self) -> None:
        if not self.held:
            return
        with self.sessions.begin() as session:
            session.execute(
                update(HarvestLock)
                .where(HarvestLock.name == self.name, HarvestLock.holder == self.holder)
                .values(holder=None, heartbeat_at=None)
            )
        self.held = False

    def __enter__(self) -> HarvestLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched (a DML statement's result is a CursorResult)."""
    return cast("CursorResult[Any]", result).rowcount
