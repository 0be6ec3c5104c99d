"""The duplicates queue (data ganda): groups side by side, one decision per group, and a person's
history. The rules (who, what scope, what a decision changes) live in registry/adjudication.py."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from registry import adjudication as adj
from registry import persons, queries, review
from registry.models import User
from registry.roles import PERSONAL_DATA_ROLES
from registry.users import audit
from webapp.access import actor, current_actor, role_required
from webapp.db import get_db
from webapp.present import group_status_text

bp = Blueprint("duplicates", __name__)
PER_PAGE = 20


def adjudicator() -> User:
    """The user behind a request to the queue: only roles that decide duplicates get past."""
    user = actor()
    if not adj.may_adjudicate(user):
        abort(403)
    return user


def queue_status(value: str | None) -> str | None:
    """The tab asked for (`terbuka` when none), or None for a word that names no status."""
    value = value or adj.GroupStatus.TERBUKA
    return value if value in adj.GROUP_STATUSES else None


def page_number(value: str | None) -> int | None:
    return 1 if not value else queries.row_id(value)


@bp.get("/duplikat/")
@role_required(*PERSONAL_DATA_ROLES)
def index() -> str:
    user = adjudicator()
    status = queue_status(request.args.get("status"))
    page = page_number(request.args.get("page"))
    if status is None:
        flash(_("Status kelompok tidak dikenal; ditampilkan yang terbuka."), "error")
        status = adj.GroupStatus.TERBUKA
    db = get_db()
    return render_template(
        "duplicates/list.html",
        status=status,
        counts=adj.status_counts(db, user),
        page=adj.page_groups(db, user, status, page or 1, PER_PAGE),
    )


def _detail(group_id: int, status_code: int = 200) -> tuple[str, int]:
    user = adjudicator()
    db = get_db()
    view = adj.group_detail(db, user, group_id)
    if view is None:
        abort(404)
    # UU 27/2022 Pasal 31: the detail shows full NIKs, so it is recorded as a view of each one.
    for member in view.members:
        audit(db, user.username, "view", submission_id=member.submission.id, via="duplikat")
    db.commit()
    return render_template("duplicates/detail.html", view=view), status_code


@bp.get("/duplikat/<int:group_id>")
@role_required(*PERSONAL_DATA_ROLES)
def detail(group_id: int) -> tuple[str, int]:
    return _detail(group_id)


@bp.post("/duplikat/<int:group_id>/keputusan")
@role_required(*PERSONAL_DATA_ROLES)
def decide_submit(group_id: int) -> tuple[str, int] | Response:
    user = adjudicator()
    db = get_db()
    view = adj.group_detail(db, user, group_id)
    if view is None:
        abort(404)
    try:
        adj.decide_group(
            db, view.group, user, request.form.get("keputusan", ""), request.form.get("catatan")
        )
    except review.ReviewError as exc:
        db.rollback()
        if exc.http_status in (403, 404):
            abort(exc.http_status)
        flash(exc.message, "error")
        return _detail(group_id, exc.http_status)
    db.commit()
    flash(
        _(
            "Kelompok #%(id)d diputuskan: %(status)s.",
            id=group_id,
            status=group_status_text(view.group.status),
        ),
        "success",
    )
    # Back to what is still open: the next group is the reviewer's next piece of work.
    return redirect(url_for(".index"), code=303)


@bp.get("/orang/<int:orang_id>")
@role_required(*PERSONAL_DATA_ROLES)
def person(orang_id: int) -> str:
    user = actor()
    db = get_db()
    history = adj.adjudication_history(db, user, orang_id)
    if history is None:
        abort(404)
    audit(
        db,
        user.username,
        "view",
        orang_id=history.orang.id,
        submission_ids=sorted({e.submission.id for e in history.entries}),
        via="orang",
    )
    db.commit()
    return render_template(
        "duplicates/person.html", history=history, may_adjudicate=adj.may_adjudicate(user)
    )


@bp.get("/orang/kiriman/<int:submission_id>/<int:position>")
@role_required(*PERSONAL_DATA_ROLES)
def person_at(submission_id: int, position: int) -> Response:
    """The history of the person recorded at this place of a submission the user may see. The
    registry makes a person's Orang when first asked for (registry.persons)."""
    db = get_db()
    if queries.get_submission(db, actor(), submission_id) is None:
        abort(404)
    mention = (submission_id, position)
    if mention not in persons.known(db, {mention}):
        abort(404)
    orang_id = persons.ensure_orang(db, [mention])[mention]
    db.commit()
    return redirect(url_for(".person", orang_id=orang_id), code=303)


def open_duplicates() -> int | None:
    """The nav's count of open groups, or None for a user who does not decide them. A failed
    query (an error page after a database error) shows no count rather than a second error."""
    user = current_actor()
    if user is None or not adj.may_adjudicate(user):
        return None
    try:
        return adj.open_count(get_db(), user)
    except SQLAlchemyError:
        return None


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(open_duplicates=open_duplicates)
