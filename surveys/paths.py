"""The data paths of the two surveys, as Kobo returns them (group/.../question).

This is the contract between the XLSForms, the simulator and the harvester's mapping: the form
tests check that the built XForms carry exactly these paths, and the mapping reads them.
"""

from __future__ import annotations

# Shared by both forms: location (asked first, so refusals are counted per desa), visit and
# consent, then address and GPS (only with consent).
START = "start"
END = "end"
TODAY = "today"
NAMA_PETUGAS = "kunjungan/nama_petugas"
HP_PETUGAS = "kunjungan/hp_petugas"
PERSETUJUAN = "kunjungan/persetujuan"  # "ya" / "tidak"
KECAMATAN = "wilayah/kecamatan"  # Kemendagri code, e.g. 61.07.01
DESA = "wilayah/desa"  # Kemendagri code, e.g. 61.07.01.2001
DUSUN = "wilayah/dusun"
RT = "wilayah/rt"
RW = "wilayah/rw"
ALAMAT = "tempat/alamat"
LOKASI = "tempat/lokasi"  # geopoint "lat lon alt acc"
FOTO_RUMAH = "tempat/foto_rumah"  # image file name (PSKS: persons and families only)


# PPKS: one submission per household visit.
# STATUS_*: "has a NIK / No KK?" (list status_dokumen): ada, or belum_punya / tidak_tahu with a
# reason in ALASAN_* (list alasan_tanpa_dokumen); the registry flags those for follow-up.
STATUS_KK = "keluarga/status_kk"
NO_KK = "keluarga/no_kk"
ALASAN_TANPA_KK = "keluarga/alasan_tanpa_kk"
JUMLAH_ANGGOTA = "keluarga/jumlah_anggota"  # asked first; the repeat has this many members
ANGGOTA = "keluarga/anggota"  # the repeat: a list of dicts with full-path keys
A = ANGGOTA + "/"
STATUS_NIK = A + "status_nik"
NIK = A + "nik"
ALASAN_TANPA_NIK = A + "alasan_tanpa_nik"
NAMA = A + "nama"
JENIS_KELAMIN = A + "jenis_kelamin"  # L / P
TEMPAT_LAHIR = A + "tempat_lahir"
TANGGAL_LAHIR_DIKETAHUI = A + "tanggal_lahir_diketahui"  # ya / tidak
TANGGAL_LAHIR = A + "tanggal_lahir"
UMUR_PERKIRAAN = A + "umur_perkiraan"  # years, when the birth date is unknown
UMUR = A + "umur"  # calculated: from the birth date, else the estimate
HUBUNGAN = A + "hubungan"
STATUS_PERKAWINAN = A + "status_perkawinan"
PENDIDIKAN = A + "pendidikan"
PEKERJAAN = A + "pekerjaan"
NAMA_IBU_KANDUNG = A + "nama_ibu_kandung"
KATEGORI_PPKS = A + "kategori_ppks"  # space-separated codes of ppks_kategori.csv
JENIS_DISABILITAS = A + "jenis_disabilitas"
JENIS_PERLINDUNGAN_KHUSUS = A + "jenis_perlindungan_khusus"  # AMPK situation (PP 78/2021)
RUMAH_LANTAI = "rumah/lantai"
RUMAH_DINDING = "rumah/dinding"
RUMAH_ATAP = "rumah/atap"
RUMAH_AIR = "rumah/sumber_air"
RUMAH_PENERANGAN = "rumah/penerangan"
RUMAH_LUAS_LANTAI = "rumah/luas_lantai"  # m2, decimal
BENCANA_JENIS = "bencana/jenis_bencana"
BENCANA_TANGGAL = "bencana/tanggal_bencana"
MUSDES_NOMOR = "musdes/nomor_ba"
MUSDES_TANGGAL = "musdes/tanggal_ba"

# PSKS: one submission per PSKS (a person, a family or an organisation).
KATEGORI_PSKS = "psks/kategori_psks"
JENIS_SUBJEK = "psks/jenis_subjek"  # calculated from the category: perorangan/keluarga/lembaga/...
P = "perorangan/"
PSKS_NIK = P + "nik"
PSKS_NAMA = P + "nama"
PSKS_JENIS_KELAMIN = P + "jenis_kelamin"
PSKS_TANGGAL_LAHIR = P + "tanggal_lahir"
PSKS_HP = P + "no_hp"
PSKS_PELATIHAN = P + "pelatihan"
PSKS_NO_KK = "keluarga_psks/no_kk"
PSKS_JUMLAH_ANGGOTA_KELUARGA = "keluarga_psks/jumlah_anggota_keluarga"
L = "lembaga/"
LEMBAGA_NAMA = L + "nama_lembaga"
LEMBAGA_NO_REGISTRASI = L + "no_registrasi"
LEMBAGA_KETUA = L + "nama_ketua"
LEMBAGA_JUMLAH_ANGGOTA = L + "jumlah_anggota"
LEMBAGA_BIDANG = L + "bidang_layanan"
LEMBAGA_STATUS_HUKUM = L + "status_hukum"  # berbadan_hukum / terdaftar / belum_terdaftar
LEMBAGA_HP_KONTAK = L + "hp_kontak"

# Calculates that only word the constraint message of the rule broken (Collect shows them); they
# travel in every submission and hold nothing for the registry.
MESSAGE_PATHS_PPKS = tuple(
    A + leaf
    for leaf in (
        "pesan_nik", "pesan_nik_en", "pesan_hubungan", "pesan_hubungan_en",
        "pesan_kategori", "pesan_kategori_en",
    )
)  # fmt: skip
MESSAGE_PATHS_PSKS = (P + "pesan_nik", P + "pesan_nik_en")

PPKS_CANONICAL = {
    "kecamatan": KECAMATAN,
    "desa": DESA,
    "lokasi": LOKASI,
    "no_kk": NO_KK,
    "nik": NIK,
    "nama": NAMA,
    "jenis_kelamin": JENIS_KELAMIN,
    "tanggal_lahir": TANGGAL_LAHIR,
    "kategori_ppks": KATEGORI_PPKS,
}
PSKS_CANONICAL = {
    "kecamatan": KECAMATAN,
    "desa": DESA,
    "lokasi": LOKASI,
    "kategori_psks": KATEGORI_PSKS,
    "nik": PSKS_NIK,
    "nama": PSKS_NAMA,
    "jenis_kelamin": PSKS_JENIS_KELAMIN,
    "tanggal_lahir": PSKS_TANGGAL_LAHIR,
    "nama_lembaga": LEMBAGA_NAMA,
}

# Every data path of each form (notes and meta/ excluded); the form tests check both directions.
SHARED_PATHS = (
    START, END, TODAY, NAMA_PETUGAS, HP_PETUGAS, PERSETUJUAN,
    KECAMATAN, DESA, DUSUN, RT, RW, ALAMAT, LOKASI, FOTO_RUMAH,
)  # fmt: skip
PPKS_PATHS = (
    *SHARED_PATHS,
    STATUS_KK, NO_KK, ALASAN_TANPA_KK, JUMLAH_ANGGOTA,
    STATUS_NIK, NIK, ALASAN_TANPA_NIK, NAMA, JENIS_KELAMIN, TEMPAT_LAHIR,
    TANGGAL_LAHIR_DIKETAHUI, TANGGAL_LAHIR, UMUR_PERKIRAAN, UMUR, HUBUNGAN,
    STATUS_PERKAWINAN, PENDIDIKAN, PEKERJAAN, NAMA_IBU_KANDUNG, KATEGORI_PPKS,
    JENIS_DISABILITAS, JENIS_PERLINDUNGAN_KHUSUS, *MESSAGE_PATHS_PPKS,
    RUMAH_LANTAI, RUMAH_DINDING, RUMAH_ATAP, RUMAH_AIR, RUMAH_PENERANGAN, RUMAH_LUAS_LANTAI,
    BENCANA_JENIS, BENCANA_TANGGAL, MUSDES_NOMOR, MUSDES_TANGGAL,
)  # fmt: skip
PSKS_PATHS = (
    *SHARED_PATHS,
    KATEGORI_PSKS, JENIS_SUBJEK, PSKS_NO_KK, PSKS_JUMLAH_ANGGOTA_KELUARGA,
    PSKS_NIK, *MESSAGE_PATHS_PSKS, PSKS_NAMA, PSKS_JENIS_KELAMIN, PSKS_TANGGAL_LAHIR, PSKS_HP,
    PSKS_PELATIHAN,
    LEMBAGA_NAMA, LEMBAGA_STATUS_HUKUM, LEMBAGA_NO_REGISTRASI, LEMBAGA_KETUA,
    LEMBAGA_HP_KONTAK, LEMBAGA_JUMLAH_ANGGOTA, LEMBAGA_BIDANG,
)  # fmt: skip
