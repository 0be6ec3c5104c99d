"""Bahasa Indonesia by default, English on request (Flask-Babel).

Only the .po catalogues are kept in git. The app compiles them into the instance folder when a
.mo is missing or older than its .po, with Babel's own compiler: no network, no build step.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import get_locale

from registry.wilayah import TIMEZONE
from webapp.extensions import babel

SOURCE_DIR = Path(__file__).with_name("translations")
LOCALES = {"id": "Bahasa Indonesia", "en": "English"}


def compile_catalogues(source: Path, target: Path) -> Path:
    """Compile every `<locale>/LC_MESSAGES/*.po` under `source` into `target`; return `target`."""
    for po_path in source.glob("*/LC_MESSAGES/*.po"):
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo_path)  # atomic: two workers starting at once never read half a file
    return target


def select_locale() -> str:
    """The language the user chose (link in the footer), else Bahasa Indonesia."""
    chosen = session.get("lang")
    return str(chosen) if chosen in LOCALES else "id"


def return_path() -> str:
    """Where the language switch leads back to: this page, or for a page that answered a form
    (a refused decision, a new token) the page the form was on, since a GET there is a 405."""
    if request.method == "GET":
        return request.full_path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return "/"


def init_app(app: Flask) -> None:
    compiled = compile_catalogues(SOURCE_DIR, Path(app.config["TRANSLATIONS_CACHE"]))
    babel.init_app(
        app,
        default_locale="id",
        default_timezone=TIMEZONE,
        default_translation_directories=str(compiled),
        locale_selector=select_locale,
    )
    app.jinja_env.globals.update(LOCALES=LOCALES, get_locale=get_locale, return_path=return_path)
