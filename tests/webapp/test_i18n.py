"""Bahasa Indonesia by default, English on request; catalogues compiled without a build step."""

from __future__ import annotations

import html
import os
import re

import pandas as pd
import pytest
from babel.messages.pofile import read_po

from registry import adjudication, roles, severity
from registry.roles import ACTION_LABEL, Role, Status
from surveys import spec
from tests.webapp import factories as fx
from webapp.i18n import SOURCE_DIR, compile_catalogues
from webapp.labels import DEFAULT_DIR

EN_PO = SOURCE_DIR / "en" / "LC_MESSAGES" / "messages.po"


def english(msgid: str) -> str:
    with EN_PO.open("rb") as fh:
        return read_po(fh).get(msgid).string


def test_indonesian_by_default_english_on_request(client, auth, world):
    auth.login("dinsos")
    page = client.get("/pengajuan/").get_data(as_text=True)
    assert 'lang="id"' in page and ">Data masuk<" in page and "Keluar" in page

    switched = client.get("/bahasa/en", query_string={"next": "/pengajuan/"})
    assert switched.headers["Location"] == "/pengajuan/"
    page = client.get("/pengajuan/").get_data(as_text=True)
    assert 'lang="en"' in page
    assert english("Data masuk") in page and english("Keluar") in page
    assert english("Baru") in page  # status labels too
    assert ">Data masuk<" not in page

    client.get("/bahasa/xx")  # unknown languages are ignored
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    client.get("/bahasa/id")
    assert 'lang="id"' in client.get("/").get_data(as_text=True)


def test_the_language_survives_logging_in(client, auth):
    auth.user("desa")
    client.get("/bahasa/en")
    assert english("Masuk ke Babale") in client.get("/masuk").get_data(as_text=True)
    auth.login("desa")
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_the_language_survives_logging_out(client, auth):
    auth.login("desa")
    client.get("/bahasa/en")
    page = client.post("/keluar", follow_redirects=True).get_data(as_text=True)
    assert 'lang="en"' in page
    assert english("Anda sudah keluar.") in page and english("Masuk ke Babale") in page


@pytest.mark.skipif(not (DEFAULT_DIR / "ppks.xlsx").exists(), reason="xlsforms/ppks.xlsx missing")
def test_question_labels_follow_the_language(client, auth, db):
    sub = fx.make_submission(db)
    db.commit()
    survey = pd.read_excel(DEFAULT_DIR / "ppks.xlsx", sheet_name="survey")
    row = survey.loc[survey["name"] == "no_kk"].iloc[0]
    english_label = next(row[c] for c in survey.columns if str(c).endswith("(en)"))
    auth.login("dinsos")
    client.get("/bahasa/en")
    assert str(english_label) in client.get(f"/pengajuan/{sub.id}").get_data(as_text=True)


def test_catalogues_compile_and_recompile_when_the_po_changes(tmp_path):
    source = tmp_path / "src"
    (source / "en" / "LC_MESSAGES").mkdir(parents=True)
    po = source / "en" / "LC_MESSAGES" / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Keluar"\nmsgstr "Log out"\n', encoding="utf-8")  # fmt: skip
    out = compile_catalogues(source, tmp_path / "out")
    mo = out / "en" / "LC_MESSAGES" / "messages.mo"
    assert b"Log out" in mo.read_bytes()
    po.write_text(po.read_text().replace("Log out", "Sign out"), encoding="utf-8")
    os.utime(po, (mo.stat().st_mtime + 5, mo.stat().st_mtime + 5))
    compile_catalogues(source, tmp_path / "out")
    assert b"Sign out" in mo.read_bytes()


def test_every_english_entry_is_translated():
    with EN_PO.open("rb") as fh:
        catalog = read_po(fh)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []


WTFORMS_ENGLISH = ("This field is required", "Field must be", "Not a valid choice", "characters")


def test_form_errors_are_in_indonesian(client, auth):
    auth.login("admin")
    created = client.post(
        "/pengguna/", data={"username": "", "role": "dinsos", "password": "pendek"}
    ).get_data(as_text=True)
    changed = client.post(
        "/akun/kata-sandi", data={"current": "", "new": "abc", "confirm": "abc"}
    ).get_data(as_text=True)
    client.get("/bahasa/en")
    english_page = client.post(
        "/akun/kata-sandi", data={"current": "", "new": "abc", "confirm": "abc"}
    ).get_data(as_text=True)
    for page in (created, changed):
        assert "Wajib diisi." in page and "Paling sedikit 8 karakter." in page
        assert not [w for w in WTFORMS_ENGLISH if w in page]
    assert english("Wajib diisi.") in english_page
    assert english("Paling sedikit %(min)d karakter.") % {"min": 8} in english_page


def test_every_string_of_the_pages_is_in_the_english_catalogue():
    """What pybabel extract finds in the code and templates, the English .po translates: the
    webapp's own strings, and the labels it shows from registry.roles and surveys.spec (N_)."""
    from babel.messages.extract import extract_from_dir, extract_from_file

    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    messages = [
        msg
        for _file, _line, msg, _comments, _context in extract_from_dir(
            SOURCE_DIR.parent, method_map, keywords=keywords
        )
    ]
    labels = [
        msg
        for module in (roles, spec, severity, adjudication)
        for _line, msg, _comments, _context in extract_from_file(
            "python", module.__file__, keywords={"N_": None}
        )
    ]
    found = {msg if isinstance(msg, str) else msg[0] for msg in [*messages, *labels]}
    with EN_PO.open("rb") as fh:
        catalog = read_po(fh)
    assert messages and labels, "nothing extracted: the check itself is broken"
    assert sorted(m for m in found if m not in catalog) == []
    shown = [*(s.label for s in Status), *(r.label for r in Role), *ACTION_LABEL.values()]
    assert set(shown) | {s.title for s in spec.SURVEYS.values()} <= set(labels)


def test_roles_statuses_and_forms_are_shown_in_english(client, auth, world):
    auth.login("admin")
    client.get("/bahasa/en")
    users_page = client.get("/pengguna/").get_data(as_text=True)
    for role in Role:
        assert html.escape(english(role.label)) in users_page
    dashboard = client.get("/").get_data(as_text=True)
    for status in Status:
        assert english(status.label) in dashboard
    detail = client.get(f"/pengajuan/{world.own}").get_data(as_text=True)
    assert html.escape(english(spec.PPKS.title)) in detail
    assert english(ACTION_LABEL[Status.DISETUJUI]) in detail


def test_switching_language_on_a_refused_decision_returns_to_the_detail(client, auth, world):
    auth.login("dinsos")
    detail = f"/pengajuan/{world.own}"
    refused = client.post(
        f"{detail}/keputusan",
        data={"status": "dikembalikan"},
        headers={"Referer": f"http://localhost{detail}"},
    )
    assert refused.status_code == 422
    link = re.search(r'href="(/bahasa/en[^"]*)"', refused.get_data(as_text=True)).group(1)
    switched = client.get(html.unescape(link))
    assert switched.headers["Location"] == detail
    assert client.get(switched.headers["Location"]).status_code == 200
