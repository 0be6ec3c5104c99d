"""Rows for tests: Kobo-shaped payloads of our own forms, stored through the real mapping.

`ppks_payload` / `psks_payload` build a submission as Kobo returns it (full-path keys, answers as
strings, repeats as lists of dicts); `store` maps it with `harvester.mapping.map_submission` and
inserts the rows into a real database, as the harvester would.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid as uuidlib
from typing import Any

from sqlalchemy.orm import Session

from harvester.mapping import map_submission, payload_hash, system_fields
from registry import wilayah
from registry.models import (
    Household,
    Person,
    PersonKategori,
    PsksEntry,
    QualityFlag,
    Submission,
    utcnow,
)
from registry.roles import Status
from surveys import paths as f

VISIT = dt.date(2025, 3, 10)
ASSET = {"ppks": "aPpksTestAsset000000001", "psks": "aPsksTestAsset000000001"}

NAMA_DEPAN_L = ["Yohanes", "Agustinus", "Rudi", "Budi", "Ahmad", "Petrus", "Akhiong", "Fransiskus"]
NAMA_DEPAN_P = ["Maria", "Sri", "Yuliana", "Siti", "Theresia", "Lina", "Veronika", "Meiliana"]
NAMA_BELAKANG = ["Anyeng", "Jamal", "Sulaiman", "Tjhin", "Lusan", "Ramli", "Sidi", "Bujang"]


def make_nik(
    kec: str = "610701", born: dt.date = dt.date(1980, 5, 12), sex: str = "L", serial: int = 1
) -> str:
    """A NIK with the right structure: region, DDMMYY (+40 for women), serial."""
    day = born.day + (40 if sex == "P" else 0)
    return f"{kec}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def make_no_kk(
    kec: str = "610701", recorded: dt.date = dt.date(2015, 3, 2), serial: int = 1
) -> str:
    return f"{kec}{recorded.day:02d}{recorded.month:02d}{recorded.year % 100:02d}{serial:04d}"


def member(
    nama: str,
    *,
    born: dt.date,
    sex: str,
    kec: str = "610701",
    serial: int = 1,
    kategori: str | None = None,
    hubungan: str = "anak",
    **extra: str,
) -> dict[str, str]:
    """One item of the member repeat, with full-path keys as Kobo sends them."""
    item = {
        f.NIK: make_nik(kec, born, sex, serial),
        f.NAMA: nama,
        f.JENIS_KELAMIN: sex,
        f.TEMPAT_LAHIR: "Bengkayang",
        f.TANGGAL_LAHIR: born.isoformat(),
        f.UMUR: str(_age(born, VISIT)),
        f.HUBUNGAN: hubungan,
    }
    if kategori:
        item[f.KATEGORI_PPKS] = kategori
    item.update(extra)
    return item


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _system(kobo_id: int, when: dt.datetime) -> dict[str, Any]:
    instance = str(uuidlib.UUID(int=random.Random(kobo_id).getrandbits(128)))
    return {
        "__version__": "vTestVersion0000000001",
        "meta/instanceID": f"uuid:{instance}",
        "_xform_id_string": "aPpksTestAsset000000001",
        "_uuid": instance,
        "meta/rootUuid": f"uuid:{instance}",
        "_id": kobo_id,
        "_attachments": [],
        "_status": "submitted_via_web",
        "_geolocation": [0.82, 109.48],
        "_submission_time": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "_validation_status": {},
        "_submitted_by": "enum_bky_01",
    }


def ppks_payload(
    kobo_id: int,
    *,
    kode_desa: str = "61.07.01.2001",
    kode_kecamatan: str | None = None,
    members: list[dict[str, str]] | None = None,
    no_kk: str | None = None,
    **answers: Any,
) -> dict[str, Any]:
    """A clean PPKS household submission (override or add answers by data path via `answers`)."""
    kec_code = kode_kecamatan or wilayah.desa()[kode_desa].kode_kecamatan
    kec = kec_code.replace(".", "")
    if members is None:
        members = [
            member(
                "Yohanes Anyeng",
                born=dt.date(1958, 1, 20),
                sex="L",
                kec=kec,
                serial=1,
                kategori="lansia_telantar",
                hubungan="kepala_keluarga",
            ),
            member(
                "Maria Anyeng",
                born=dt.date(1962, 7, 3),
                sex="P",
                kec=kec,
                serial=2,
                hubungan="istri",
            ),
            member(
                "Petrus Anyeng",
                born=dt.date(2015, 2, 14),
                sex="L",
                kec=kec,
                serial=3,
                kategori="anak_telantar",
            ),
        ]
    payload: dict[str, Any] = {
        "formhub/uuid": "0123456789abcdef0123456789abcdef",
        f.START: f"{VISIT.isoformat()}T09:12:44.512+07:00",
        f.END: f"{VISIT.isoformat()}T09:41:02.077+07:00",
        f.TODAY: VISIT.isoformat(),
        f.NAMA_PETUGAS: "Stefanus Lumbu",
        f.HP_PETUGAS: "081234567890",
        f.PERSETUJUAN: "ya",
        f.KECAMATAN: kec_code,
        f.DESA: kode_desa,
        f.DUSUN: "Dusun Sebalo",
        f.RT: "003",
        f.RW: "001",
        f.ALAMAT: "Jl. Raya Bengkayang Km 5",
        f.LOKASI: "0.8213 109.4821 120.0 4.5",
        f.NO_KK: no_kk or make_no_kk(kec, serial=kobo_id % 9000 + 1),
        f.ANGGOTA: members,
        **_system(kobo_id, dt.datetime(2025, 3, 10, 2, 41, 19)),
    }
    payload.update(answers)
    return payload


def psks_payload(
    kobo_id: int, *, kategori: str = "tksk", kode_desa: str = "61.07.01.2001", **answers: Any
) -> dict[str, Any]:
    kec_code = wilayah.desa()[kode_desa].kode_kecamatan
    payload: dict[str, Any] = {
        f.TODAY: VISIT.isoformat(),
        f.NAMA_PETUGAS: "Stefanus Lumbu",
        f.PERSETUJUAN: "ya",
        f.KECAMATAN: kec_code,
        f.DESA: kode_desa,
        f.ALAMAT: "Jl. Merdeka 1",
        f.LOKASI: "0.7981 109.4702 95.0 6.0",
        f.KATEGORI_PSKS: kategori,
        f.JENIS_SUBJEK: "perorangan",
        f.PSKS_NIK: make_nik(kec_code.replace(".", ""), dt.date(1985, 4, 1), "P", 7),
        f.PSKS_NAMA: "Yuliana Sidi",
        f.PSKS_JENIS_KELAMIN: "P",
        f.PSKS_TANGGAL_LAHIR: "1985-04-01",
        f.PSKS_HP: "081299990000",
        **_system(kobo_id, dt.datetime(2025, 3, 11, 3, 0, 0)),
    }
    payload.update(answers)
    return payload


def random_household(rng: random.Random, kobo_id: int) -> dict[str, Any]:
    """A plausible household in a random desa of Bengkayang, 1-6 members, no categories."""
    desa = rng.choice(list(wilayah.desa().values()))
    kec = desa.kode_kecamatan.replace(".", "")
    members = []
    for i in range(1, rng.randint(1, 6) + 1):
        sex = rng.choice("LP")
        born = dt.date(rng.randint(1940, 2020), rng.randint(1, 12), rng.randint(1, 28))
        first = rng.choice(NAMA_DEPAN_L if sex == "L" else NAMA_DEPAN_P)
        members.append(
            member(
                f"{first} {rng.choice(NAMA_BELAKANG)}",
                born=born,
                sex=sex,
                kec=kec,
                serial=i + 10 * (kobo_id % 900),
                hubungan="kepala_keluarga" if i == 1 else "anak",
            )
        )
    return ppks_payload(kobo_id, kode_desa=desa.kode, members=members)


def store(
    session: Session,
    form: str,
    payload: dict[str, Any],
    *,
    status: str = Status.BARU,
    is_deleted_on_server: bool = False,
) -> Submission:
    """Map `payload` with the real mapping and insert the rows, as the harvester does."""
    mapped = map_submission(form, payload)
    submission = Submission(
        **system_fields(payload),
        **mapped.submission,
        form=form,
        asset_uid=ASSET[form],
        payload=payload,
        payload_hash=payload_hash(payload),
        status=status,
        is_deleted_on_server=is_deleted_on_server,
        deleted_on_server_at=utcnow() if is_deleted_on_server else None,
    )
    if mapped.household is not None:
        submission.household = Household(**mapped.household)
    if mapped.psks_entry is not None:
        submission.psks_entry = PsksEntry(**mapped.psks_entry)
    submission.flags = [
        QualityFlag(
            field=x.field,
            code=x.code,
            message=x.message,
            message_en=x.message_en,
            severity=x.severity,
            position=x.position,
        )
        for x in mapped.flags
    ]
    session.add(submission)
    session.flush()
    for row in mapped.persons:  # Person has no relationship to Submission, only the id
        values = {k: v for k, v in row.items() if k != "kategori"}
        person = Person(**values, submission_id=submission.id)
        person.kategori = [PersonKategori(kode=code) for code in row["kategori"]]
        submission.household.persons.append(person)  # type: ignore[union-attr]
    session.flush()
    return submission
