"""The review app for Dinas Sosial (Flask): create_app(test_config=None), as in Flask's tutorial."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

from registry.settings import Settings, SettingsError


def _config(settings: Settings) -> dict[str, Any]:
    """Flask's config from the one Settings object (a test's `test_config` may override any)."""
    return {
        "SECRET_KEY": settings.secret_key,
        "BABALE_ENV": settings.env,
        "DATABASE_URL": settings.database_url,
        "MEDIA_DIR": str(settings.media_dir),
        "BABALE_SETTINGS": settings,
        "PREFERRED_URL_SCHEME": settings.preferred_url_scheme,
        "BEHIND_PROXY": settings.behind_proxy,
        "LOGIN_RATE_LIMIT": settings.login_rate_limit,
        "RATELIMIT_STORAGE_URI": settings.ratelimit_storage_uri,
        "RATELIMIT_HEADERS_ENABLED": True,
        # Send decisions to Kobo right after they are taken (when Kobo is configured).
        "WRITEBACK_ENABLED": bool(settings.kobo_url and settings.kobo_token),
        "MAP_TILE_URL": settings.map_tile_url,
        "XLSFORMS_DIR": str(settings.xlsforms_dir) if settings.xlsforms_dir else None,
        "TRANSLATIONS_CACHE": str(settings.instance_dir / "translations"),
    }


def _finish_config(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        if app.config.get("BABALE_ENV") != "development":
            raise SettingsError(
                "BABALE_SECRET_KEY is not set: set it to a long random value "
                "(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or BABALE_ENV=development for a throwaway key"
            )
        # Development only: a throwaway key, so sessions end when the server restarts.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    https = app.config["PREFERRED_URL_SCHEME"] == "https"
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https,
    )


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    settings = Settings.from_env()
    app.config.from_mapping(_config(settings))
    if test_config is not None:
        app.config.from_mapping(test_config)
    _finish_config(app)

    if app.config["BEHIND_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    from webapp import (
        access,
        api,
        auth,
        dashboard,
        db,
        duplicates,
        errors,
        headers,
        i18n,
        present,
        submissions,
        users,
    )
    from webapp.extensions import csrf, limiter, login_manager

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    access.init_app(app, login_manager)
    i18n.init_app(app)
    present.init_app(app)
    duplicates.init_app(app)
    errors.init_app(app)
    headers.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(submissions.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(duplicates.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API takes only Bearer tokens, never the session cookie
    return app
