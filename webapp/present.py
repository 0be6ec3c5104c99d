"""How values look on screen and in the API: masked NIK, names of wilayah, WIB times, labels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from registry import kategori, wilayah
from registry.adjudication import GROUP_STATUS_LABEL, REASON_LABEL
from registry.models import QualityFlag, Submission
from registry.quality import CODES
from registry.review import ALASAN_DITOLAK
from registry.roles import (
    ACCOUNT_ROLES,
    ACTION_LABEL,
    ADJUDICATING_ROLES,
    PERSONAL_DATA_ROLES,
    Role,
    Status,
)
from registry.severity import Severity
from registry.wilayah import WIB
from surveys.spec import SURVEYS

# The words come from registry.roles and surveys.spec; they are this catalogue's msgids.
STATUS_TEXT: dict[str, Any] = {status: _l(status.label) for status in Status}
ACTION_TEXT = {status: _l(label) for status, label in ACTION_LABEL.items()}
ROLE_TEXT = {role: _l(role.label) for role in Role}
FORM_TEXT = {name: _l(survey.title) for name, survey in SURVEYS.items()}
SEVERITY_TEXT = {severity: _l(severity.label) for severity in Severity}
GROUP_STATUS_TEXT = {str(status): _l(label) for status, label in GROUP_STATUS_LABEL.items()}
REASON_TEXT = {code: _l(label) for code, label in REASON_LABEL.items()}
JENIS_KELAMIN_TEXT = {"L": _l("Laki-laki"), "P": _l("Perempuan")}  # the forms' choice names
# The calculated `jenis_subjek` of a PSKS (registry/data/psks_kategori.csv).
JENIS_SUBJEK_TEXT = {
    "perorangan": _l("Perorangan"),
    "keluarga": _l("Keluarga"),
    "lembaga": _l("Lembaga"),
    "badan_usaha": _l("Badan usaha"),
}


def sentence(message: str) -> str:
    """A one-line message from the registry as a sentence: capital first letter, final stop."""
    message = message.strip()
    if not message:
        return message
    return message[0].upper() + message[1:] + ("" if message.endswith((".", "!", "?")) else ".")


def mask_nik(nik: str | None) -> str:
    """`6107010101800001` -> `6107********0001`: enough to tell people apart, not to copy."""
    if not nik:
        return ""
    nik = nik.strip()
    if len(nik) <= 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def subject(sub: Submission) -> tuple[str, str]:
    """(name, NIK) of who a submission is about: the first household member, or the PSKS."""
    if sub.household is not None and sub.household.persons:
        head = sub.household.persons[0]
        return head.nama or "", head.nik or ""
    if sub.psks_entry is not None:
        entry = sub.psks_entry
        return entry.nama or entry.nama_lembaga or "", entry.nik or ""
    return "", ""


def nama_wilayah(kode: str | None) -> str:
    if not kode:
        return ""
    if kode in wilayah.desa():
        return wilayah.desa()[kode].nama
    if kode in wilayah.kecamatan():
        return wilayah.kecamatan()[kode].nama
    return kode


def nama_kategori(kode: str | None) -> str:
    if not kode:
        return ""
    item = kategori.ppks().get(kode) or kategori.psks().get(kode)
    return item.nama if item else kode


def jenis_subjek(kode: str | None) -> str:
    return str(JENIS_SUBJEK_TEXT.get(kode or "", kode or ""))


def waktu(value: dt.datetime | None) -> str:
    """A timestamp as Bengkayang reads it (WIB)."""
    if value is None:
        return ""
    return value.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def tanggal(value: dt.datetime | None) -> str:
    return value.astimezone(WIB).strftime("%d-%m-%Y") if value else ""


def status_text(status: str) -> str:
    return str(STATUS_TEXT.get(status, status))


def group_status_text(status: str) -> str:
    return str(GROUP_STATUS_TEXT.get(status, status))


def reason_text(code: str) -> str:
    """Why a duplicate group was proposed (adjudication.REASON_LABEL), in the reader's language."""
    return str(REASON_TEXT.get(code, code))


def jenis_kelamin(code: str | None) -> str:
    return str(JENIS_KELAMIN_TEXT.get(code or "", code or ""))


def percent(score: float | None) -> str:
    """A 0..1 score as a whole percentage (`0.873` -> `87%`)."""
    return "" if score is None else f"{round(score * 100)}%"


def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def flag_message(flag: QualityFlag) -> str:
    """A flag's message in the reader's language (the English text where there is one)."""
    if _english() and flag.message_en:
        return flag.message_en
    return flag.message


def flag_label(code: str) -> str:
    """The short name of a flag code (CODES), in the reader's language."""
    entry = CODES.get(code)
    if entry is None:
        return code
    return entry[2] if _english() else entry[1]


def severity_text(severity: str) -> str:
    return str(SEVERITY_TEXT.get(severity, severity))  # type: ignore[call-overload]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        mask_nik=mask_nik,
        nama_wilayah=nama_wilayah,
        nama_kategori=nama_kategori,
        waktu=waktu,
        tanggal=tanggal,
        status_text=status_text,
        flag_message=flag_message,
        flag_label=flag_label,
        severity_text=severity_text,
        group_status_text=group_status_text,
        reason_text=reason_text,
        jenis_kelamin=jenis_kelamin,
        percent=percent,
    )
    # Globals (not a context processor) so that imported macros see them too.
    app.jinja_env.globals.update(
        STATUS_TEXT=STATUS_TEXT,
        ACTION_TEXT=ACTION_TEXT,
        FORM_TEXT=FORM_TEXT,
        ROLE_TEXT=ROLE_TEXT,
        ALASAN_DITOLAK=ALASAN_DITOLAK,
        PERSONAL_DATA_ROLES=PERSONAL_DATA_ROLES,
        ACCOUNT_ROLES=ACCOUNT_ROLES,
        ADJUDICATING_ROLES=ADJUDICATING_ROLES,
        FLAG_CODES=CODES,
        GROUP_STATUS_TEXT=GROUP_STATUS_TEXT,
        subject=subject,
    )
