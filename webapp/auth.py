"""Log in, log out, change password, choose the language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from registry import users as accounts
from registry.roles import ROLES
from webapp.access import Account, actor, current_actor, role_required
from webapp.db import get_db
from webapp.extensions import limiter
from webapp.forms import LoginForm, PasswordForm
from webapp.i18n import LOCALES
from webapp.present import sentence

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never send someone to another host after login."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("dashboard.index")


@bp.get("/masuk")
def login() -> str | Response:
    if current_actor() is not None:
        return redirect(url_for("dashboard.index"))
    return render_template("auth/login.html", form=LoginForm())


@bp.post("/masuk")
# Only failed attempts count: a whole office behind one address logs in at eight o'clock.
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    deduct_when=lambda response: response.status_code != 302,
)
def login_submit() -> tuple[str, int] | Response:
    form = LoginForm()
    if form.validate_on_submit():
        db = get_db()
        user = accounts.authenticate(db, form.username.data or "", form.password.data or "")
        if user is not None:
            accounts.audit(db, user.username, "login", ok=True)
            db.commit()
            lang = session.get("lang")
            session.clear()  # a fresh session on login (no fixation)
            if lang:
                session["lang"] = lang
            login_user(Account(user))
            return redirect(_safe_next(request.args.get("next")))
        accounts.audit(db, (form.username.data or "")[:64], "login", ok=False)
        db.commit()
        flash(_("Nama pengguna atau kata sandi salah, atau akun nonaktif."), "error")
    return render_template("auth/login.html", form=form), 401


@bp.post("/keluar")
def logout() -> Response:
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:  # the language is the person's choice, not part of the login
        session["lang"] = lang
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/akun/kata-sandi")
@role_required(*ROLES)
def password() -> str:
    return render_template("auth/password.html", form=PasswordForm())


@bp.post("/akun/kata-sandi")
@role_required(*ROLES)
def password_submit() -> tuple[str, int] | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        db = get_db()
        user = actor()
        try:
            accounts.change_password(db, user, form.current.data or "", form.new.data or "")
        except accounts.UserError as exc:
            flash(sentence(str(exc)), "error")
        else:
            db.commit()
            login_user(Account(user))  # keep this session; the others end with the old password
            flash(_("Kata sandi sudah diganti."), "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form), 422


@bp.get("/bahasa/<code>")
def language(code: str) -> Response:
    if code in LOCALES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
