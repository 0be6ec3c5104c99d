"""Who is asking, and the one role decorator. Which roles may do what is in registry.roles;
wilayah scope lives in registry.queries.scope().

Pages use the session cookie (Flask-Login); the API uses only `Authorization: Bearer <token>`,
so a browser's cookie can never drive the API (which is why the API may skip CSRF).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, g, request
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user

from registry import queries
from registry import users as accounts
from registry.models import User
from webapp.db import get_db

F = TypeVar("F", bound=Callable[..., Any])


class Account(UserMixin):
    """The logged-in User as Flask-Login wants it (the model itself stays free of Flask)."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        # The id changes with the password, so changing it ends every other session.
        return f"{self.user.id}:{_password_mark(self.user)}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.is_active)


def _password_mark(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:12]


def current_actor() -> User | None:
    """The User behind this request (session or Bearer token), or None."""
    if current_user.is_authenticated:
        return current_user.user  # type: ignore[no-any-return]
    return None


def actor() -> User:
    """The User behind a request that role_required already let through."""
    user = current_actor()
    if user is None:  # pragma: no cover - guarded by role_required
        abort(401)
    return user


def is_api_request() -> bool:
    return request.blueprint == "api"


def role_required(*roles: str) -> Callable[[F], F]:
    """The one role check of every view: not logged in -> login (401 for the API), else 403."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_actor()
            if user is None:
                if is_api_request():
                    abort(401)
                from webapp.extensions import login_manager

                return login_manager.unauthorized()
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def load_token_user() -> None:
    """Before every API request: the Bearer token decides who is asking, nothing else does."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = accounts.user_for_token(get_db(), token.strip())
    # Flask-Login reads the request's user from g._login_user; set it so the cookie is ignored.
    g._login_user = Account(user) if user is not None else AnonymousUserMixin()
    if user is None:
        abort(401)


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Silakan masuk untuk membuka halaman ini.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str) -> Account | None:
        raw_id, _, mark = user_id.partition(":")
        account_id = queries.row_id(raw_id)
        if account_id is None:
            return None
        user = get_db().get(User, account_id)
        if user is None or not user.is_active or mark != _password_mark(user):
            return None
        return Account(user)
