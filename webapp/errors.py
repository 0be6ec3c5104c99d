"""Friendly error pages in Bahasa Indonesia; JSON with one clear line for the API."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("Permintaan tidak dapat diproses. Periksa isian lalu coba lagi."),
    401: _l("Anda belum masuk atau token API tidak sah."),
    403: _l("Anda tidak berwenang membuka halaman ini."),
    404: _l("Halaman atau data yang dicari tidak ditemukan."),
    405: _l("Cara permintaan ini tidak didukung."),
    429: _l("Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi."),
    500: _l("Terjadi kesalahan pada server. Coba lagi nanti atau hubungi admin Dinas Sosial."),
}
CSRF_MESSAGE = _l(
    "Formulir ini sudah kedaluwarsa atau tidak sah. Muat ulang halaman, lalu kirim lagi."
)
TITLES = {
    400: _l("Permintaan tidak sah"),
    401: _l("Perlu masuk"),
    403: _l("Akses ditolak"),
    404: _l("Tidak ditemukan"),
    405: _l("Tidak didukung"),
    429: _l("Terlalu banyak percobaan"),
    500: _l("Kesalahan server"),
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _render(code: int, message: str | None = None) -> tuple[Response, int]:
    text = message or str(MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400]))
    if _is_api():
        response = jsonify(error=text)
        if code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="babale"'
        return response, code
    title = TITLES.get(code, TITLES[500 if code >= 500 else 400])
    page = render_template("error.html", code=code, title=title, message=text)
    return make_response(page), code


def handle_http(exc: HTTPException) -> tuple[Response, int]:
    return _render(exc.code or 500)


def handle_csrf(exc: CSRFError) -> tuple[Response, int]:
    return _render(400, str(CSRF_MESSAGE))


def handle_unexpected(exc: Exception) -> tuple[Response, int]:
    if isinstance(exc, HTTPException):
        return handle_http(exc)
    # The frames, not the message: a database error's message can carry the row's values (a NIK).
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "unexpected %s on %s %s\n%s", type(exc).__name__, request.method, request.path, frames
    )
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
