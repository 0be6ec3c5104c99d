"""Accounts page for the administrator: create, disable or enable, issue an API token."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from registry import queries, wilayah
from registry import users as accounts
from registry.models import User
from registry.roles import ACCOUNT_ROLES
from webapp.access import actor, role_required
from webapp.db import get_db
from webapp.forms import UserForm
from webapp.present import sentence

bp = Blueprint("users", __name__, url_prefix="/pengguna")


def _page(
    form: UserForm, status: int = 200, token: tuple[str, str] | None = None
) -> tuple[str, int]:
    return render_template(
        "users/index.html",
        users=accounts.list_users(get_db()),
        form=form,
        token=token,
        kecamatan=wilayah.kecamatan().values(),
        desa=wilayah.desa().values(),
    ), status


@bp.get("/")
@role_required(*ACCOUNT_ROLES)
def index() -> tuple[str, int]:
    return _page(UserForm())


@bp.post("/")
@role_required(*ACCOUNT_ROLES)
def create_submit() -> tuple[str, int] | Response:
    form = UserForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    db = get_db()
    try:
        user = accounts.create_user(
            db,
            form.username.data or "",
            form.password.data or "",
            form.role.data or "",
            form.wilayah.data,
            nama_lengkap=form.nama_lengkap.data,
            actor=actor().username,
        )
    except accounts.UserError as exc:
        db.rollback()
        flash(sentence(str(exc)), "error")
        return _page(form, 422)
    db.commit()
    flash(_("Pengguna %(name)s dibuat.", name=user.username), "success")
    return redirect(url_for(".index"), code=303)


def _user_or_404(user_id: int) -> User:
    user = get_db().get(User, user_id) if queries.is_row_id(user_id) else None
    if user is None:
        abort(404)
    return user


@bp.post("/<int:user_id>/aktif")
@role_required(*ACCOUNT_ROLES)
def active_submit(user_id: int) -> Response:
    user = _user_or_404(user_id)
    active = request.form.get("aktif") == "1"
    if user.id == actor().id and not active:
        flash(_("Anda tidak dapat menonaktifkan akun Anda sendiri."), "error")
        return redirect(url_for(".index"), code=303)
    db = get_db()
    accounts.set_active(db, user, active, actor=actor().username)
    db.commit()
    flash(
        _("Akun %(name)s diaktifkan.", name=user.username)
        if active
        else _("Akun %(name)s dinonaktifkan.", name=user.username),
        "success",
    )
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:user_id>/token")
@role_required(*ACCOUNT_ROLES)
def token_submit(user_id: int) -> tuple[str, int] | Response:
    user = _user_or_404(user_id)
    db = get_db()
    try:
        token = accounts.issue_token(db, user, actor=actor().username)
    except accounts.UserError as exc:
        flash(sentence(str(exc)), "error")
        return _page(UserForm(), 409)
    db.commit()
    # Shown once on this page only (never stored in clear, never logged, never cached).
    response = make_response(_page(UserForm(), 200, token=(user.username, token)))
    response.headers["Cache-Control"] = "no-store"
    return response
