"""One database session per request, closed at the end of it."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from registry.db import session_factory


def get_db() -> Session:
    if "db" not in g:
        g.db = session_factory(current_app.config["DATABASE_URL"])()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db", None)
    if session is not None:
        session.rollback()  # anything not committed by a view is dropped
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
