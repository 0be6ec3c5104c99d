"""Rows for tests, written through the real models into a real database (no mocks)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any

from sqlalchemy.orm import Session

from registry import users, wilayah
from registry.models import (
    Attachment,
    Household,
    Person,
    PersonKategori,
    PsksEntry,
    Submission,
    User,
)
from surveys import paths as F

PASSWORD = "rahasia-uji-123"
_ids = itertools.count(1000)

# Two desa in two different kecamatan: "own" and "foreign" for the scope tests.
DESA_A = "61.07.01.2001"  # Sungai Duri, kec. Sungai Raya
KEC_A = wilayah.desa()[DESA_A].kode_kecamatan
DESA_A2 = next(d.kode for d in wilayah.desa_in(KEC_A) if d.kode != DESA_A)  # same kecamatan
KEC_B = next(k for k in wilayah.kecamatan() if k != KEC_A)
DESA_B = wilayah.desa_in(KEC_B)[0].kode


def make_user(
    session: Session, role: str, kode: str | None = None, username: str | None = None
) -> User:
    if kode is None:
        kode = {"kecamatan": KEC_A, "desa": DESA_A}.get(role)
    name = username or f"{role}{next(_ids)}"
    user = users.create_user(session, name, PASSWORD, role, kode, nama_lengkap=name.title())
    session.flush()
    return user


def _payload(kobo_id: int, kode_desa: str, extra: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "_id": kobo_id,
        "_uuid": f"uuid-{kobo_id}",
        "meta/rootUuid": f"uuid:root-{kobo_id}",
        F.KECAMATAN: wilayah.desa()[kode_desa].kode_kecamatan,
        F.DESA: kode_desa,
        F.NAMA_PETUGAS: "Petugas Uji",
        F.PERSETUJUAN: "ya",
        F.LOKASI: "0.9 109.5 0 5",
        "_validation_status": {},
    }
    payload.update(extra)
    return payload


def make_submission(
    session: Session,
    kode_desa: str = DESA_A,
    *,
    form: str = "ppks",
    nama: str = "Budi Santoso",
    nik: str = "6107010101800001",
    kategori: str = "fakir_miskin",
    status: str = "baru",
    submitted_at: dt.datetime | None = None,
    petugas: str = "Petugas Uji",
    asset_uid: str | None = None,
    kobo_id: int | None = None,
    members: list[dict[str, str]] | None = None,
) -> Submission:
    """A PPKS household (head + optional members) or a PSKS person, with payload and rows."""
    kobo_id = kobo_id if kobo_id is not None else next(_ids)
    kode_kec = wilayah.desa()[kode_desa].kode_kecamatan
    when = submitted_at or dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC)
    extra: dict[str, Any]
    if form == "ppks":
        people = [{"nama": nama, "nik": nik, "kategori": kategori}, *(members or [])]
        extra = {
            F.NO_KK: "6107010101800099",
            F.ANGGOTA: [
                {F.NAMA: p["nama"], F.NIK: p["nik"], F.KATEGORI_PPKS: p.get("kategori", "")}
                for p in people
            ],
            F.RUMAH_LANTAI: "tanah",
        }
    else:
        extra = {
            F.KATEGORI_PSKS: kategori,
            F.JENIS_SUBJEK: "perorangan",
            F.PSKS_NAMA: nama,
            F.PSKS_NIK: nik,
        }
    payload = _payload(kobo_id, kode_desa, extra)
    payload[F.NAMA_PETUGAS] = petugas
    sub = Submission(
        form=form,
        asset_uid=asset_uid or f"a{form}test",
        kobo_id=kobo_id,
        uuid=payload["_uuid"],
        root_uuid=payload["meta/rootUuid"],
        submitted_at=when,
        submitted_by="enum1",
        payload=payload,
        payload_hash=hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest(),
        status=status,
        kode_kecamatan=kode_kec,
        kode_desa=kode_desa,
        nama_petugas=petugas,
    )
    session.add(sub)
    session.flush()
    if form == "ppks":
        hh = Household(
            submission_id=sub.id,
            no_kk="6107010101800099",
            kode_kecamatan=kode_kec,
            kode_desa=kode_desa,
            alamat="Jl. Uji No. 1",
            latitude=0.9,
            longitude=109.5,
        )
        session.add(hh)
        session.flush()
        for pos, p in enumerate(people, start=1):
            person = Person(
                household_id=hh.id,
                submission_id=sub.id,
                position=pos,
                nik=p["nik"],
                nama=p["nama"],
                jenis_kelamin="L",
                kategori_ppks=p.get("kategori") or None,
            )
            session.add(person)
            session.flush()
            for kode in (p.get("kategori") or "").split():
                session.add(PersonKategori(person_id=person.id, kode=kode))
    else:
        session.add(
            PsksEntry(
                submission_id=sub.id,
                kategori_psks=kategori,
                jenis_subjek="perorangan",
                kode_kecamatan=kode_kec,
                kode_desa=kode_desa,
                nik=nik,
                nama=nama,
                latitude=0.9,
                longitude=109.5,
            )
        )
    session.flush()
    return sub


def make_attachment(
    session: Session, submission: Submission, local_path: str | None, filename: str = "rumah.jpg"
) -> Attachment:
    att = Attachment(
        submission_id=submission.id,
        uid=f"att{next(_ids)}",
        filename=filename,
        mimetype="image/jpeg",
        question_xpath=F.FOTO_RUMAH,
        download_url="http://kobo.invalid/att",
        local_path=local_path,
        is_downloaded=local_path is not None,
    )
    session.add(att)
    session.flush()
    return att
