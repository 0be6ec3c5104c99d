"""The dashboard: totals by status, form, kecamatan and category (no personal data)."""

from __future__ import annotations

from flask import Blueprint, render_template

from registry import queries
from registry.roles import ROLES, WRITEBACK_ROLES
from webapp.access import actor, role_required
from webapp.db import get_db

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@role_required(*ROLES)
def index() -> str:
    user = actor()
    db = get_db()
    waiting = queries.pending_writeback(db) if user.role in WRITEBACK_ROLES else None
    return render_template(
        "dashboard.html",
        stats=queries.stats(db, user),
        kategori_counts=queries.kategori_counts(db, user),
        flag_counts=queries.flag_counts(db, user),
        waiting=waiting,
        may_list=queries.may_see_personal_data(user),
    )
