"""One definition per survey: what every layer needs to know of a form, in one place.

A new member field is one `Answer` in `PPKS.member_answers` plus its column in `registry.models`
and a migration: the mapping, the API and the export follow from here. A third survey is one more
`Survey` in `SURVEYS` (and its xlsx, its tables and a mapper for its main row).
"""

from __future__ import annotations

from dataclasses import dataclass

from surveys import paths as p


def N_(text: str) -> str:
    """Marks text the webapp shows for `pybabel extract` (its catalogue translates it on screen)."""
    return text


@dataclass(frozen=True)
class Answer:
    """One answer stored whole, as text, in one registry column."""

    column: str  # the column of the row it fills (registry.models)
    path: str  # the data path as Kobo returns it (surveys.paths)
    label: str  # the column's heading in exports and the API's documentation (Bahasa Indonesia)


@dataclass(frozen=True)
class Survey:
    name: str  # "ppks": the form's key in the database, settings, URLs and files
    title: str  # shown in the app (Bahasa Indonesia; the webapp's catalogue translates it)
    xlsx: str  # the XLSForm's file name in xlsforms/
    asset_setting: str  # the environment variable holding its Kobo asset uid
    paths: tuple[str, ...]  # every data path of the built form (the form tests check both ways)
    message_paths: tuple[str, ...]  # calculates that only word a constraint message
    canonical: dict[str, str]  # a few well-known names -> paths (deploy checks, the simulator)
    member_repeat: str | None = None  # the repeat of persons, if the survey has one
    member_answers: tuple[Answer, ...] = ()  # per member, each stored in a Person column

    @property
    def member_columns(self) -> tuple[str, ...]:
        """The Person columns the member answers fill, in the form's order."""
        return tuple(answer.column for answer in self.member_answers)


PERSON_ANSWERS = (
    Answer("nik", p.NIK, "NIK"),
    Answer("nama", p.NAMA, "Nama"),
    Answer("jenis_kelamin", p.JENIS_KELAMIN, "Jenis kelamin"),
    Answer("tempat_lahir", p.TEMPAT_LAHIR, "Tempat lahir"),
    Answer("tanggal_lahir", p.TANGGAL_LAHIR, "Tanggal lahir"),
    Answer("hubungan", p.HUBUNGAN, "Hubungan dengan kepala keluarga"),
    Answer("status_perkawinan", p.STATUS_PERKAWINAN, "Status perkawinan"),
    Answer("pendidikan", p.PENDIDIKAN, "Pendidikan"),
    Answer("pekerjaan", p.PEKERJAAN, "Pekerjaan"),
    Answer("nama_ibu_kandung", p.NAMA_IBU_KANDUNG, "Nama ibu kandung"),
    Answer("jenis_disabilitas", p.JENIS_DISABILITAS, "Jenis disabilitas"),
    Answer("kategori_ppks", p.KATEGORI_PPKS, "Kategori PPKS"),
)

PPKS = Survey(
    name="ppks",
    title=N_("PPKS (rumah tangga)"),
    xlsx="ppks.xlsx",
    asset_setting="BABALE_KOBO_ASSET_PPKS",
    paths=p.PPKS_PATHS,
    message_paths=p.MESSAGE_PATHS_PPKS,
    canonical=p.PPKS_CANONICAL,
    member_repeat=p.ANGGOTA,
    member_answers=PERSON_ANSWERS,
)
PSKS = Survey(
    name="psks",
    title=N_("PSKS"),
    xlsx="psks.xlsx",
    asset_setting="BABALE_KOBO_ASSET_PSKS",
    paths=p.PSKS_PATHS,
    message_paths=p.MESSAGE_PATHS_PSKS,
    canonical=p.PSKS_CANONICAL,
)

SURVEYS = {s.name: s for s in (PPKS, PSKS)}
FORMS = tuple(SURVEYS)  # ("ppks", "psks"), in the order screens and files list them
