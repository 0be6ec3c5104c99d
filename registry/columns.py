"""What the harvest's page preparer needs to know of the schema, without SQLAlchemy.

The preparer is a second process that maps Kobo submissions to rows; importing the models would
load SQLAlchemy's ORM into it for a few names and lengths (about 25 MB, and a fifth of a second
at start). These are the facts it uses; tests/registry/test_columns.py checks each against
`registry.models`, so a model change that forgets them fails there.
"""

from __future__ import annotations

from surveys.spec import PPKS

# Mapped columns, without the ids the writer fills in (rows are dicts: the order is free).
HOUSEHOLD_COLUMNS = (
    "no_kk",
    "kode_kecamatan",
    "kode_desa",
    "dusun",
    "rt",
    "rw",
    "alamat",
    "latitude",
    "longitude",
    "gps_accuracy",
    "foto_rumah",
)
# Person columns: the member answers of the survey definition (a new `Answer` there needs no
# change here), plus the position, the valid NIK, the parsed birth date and the
# likely-duplicate block keys.
PERSON_COLUMNS = (
    "position",
    *PPKS.member_columns,
    "nik_sah",
    "tanggal_lahir_date",
    "kunci_duplikat",
    "kunci_duplikat_akhir",
)
PSKS_COLUMNS = (
    "kategori_psks",
    "jenis_subjek",
    "kode_kecamatan",
    "kode_desa",
    "alamat",
    "latitude",
    "longitude",
    "nik",
    "nik_sah",
    "nama",
    "jenis_kelamin",
    "tanggal_lahir",
    "no_hp",
    "pelatihan",
    "no_kk",
    "nama_lembaga",
    "no_registrasi",
    "nama_ketua",
    "jumlah_anggota",
    "bidang_layanan",
)

# String(n) lengths of the Submission columns the mapper fills from Kobo's answers.
SUBMISSION_LENGTHS = {
    "uuid": 64,
    "root_uuid": 80,
    "submitted_by": 150,
    "form_version": 64,
    "kobo_validation_uid": 64,
    "kobo_validation_by": 150,
    "kode_kecamatan": 16,
    "kode_desa": 20,
}
KATEGORI_KODE_MAX = 64  # person_kategori.kode

# Columns holding a date or a timestamp (they cross between processes as ISO text).
SUBMISSION_DATETIMES = ("submitted_at", "first_seen_at", "last_seen_at", "deleted_on_server_at")
PERSON_DATES = ("tanggal_lahir_date",)
