"""Choice lists the build fills from registry/data (wilayah and categories): never typed by hand.

Choice names are the codes the registry keys on (Kemendagri codes with their dots, category
codes); labels are names, which may repeat (two desa are called "Suka Maju").
"""

from __future__ import annotations

from collections.abc import Callable

from registry import kategori, wilayah

# One row of the choices sheet: column header -> value.
ChoiceRow = dict[str, str]

LABEL_ID = "label::Indonesia (id)"
LABEL_EN = "label::English (en)"
FILTER_COLUMN = "kecamatan"  # the desa list's cascade column (choice_filter kecamatan = ...)


def _row(list_name: str, name: str, label_id: str, label_en: str, **extra: str) -> ChoiceRow:
    return {"list_name": list_name, "name": name, LABEL_ID: label_id, LABEL_EN: label_en, **extra}


def kecamatan_rows() -> list[ChoiceRow]:
    return [_row("kecamatan", k.kode, k.nama, k.nama) for k in wilayah.kecamatan().values()]


def desa_rows() -> list[ChoiceRow]:
    out = []
    for d in wilayah.desa().values():
        label = f"{d.nama} (kelurahan)" if d.jenis == "kelurahan" else d.nama
        out.append(_row("desa", d.kode, label, label, **{FILTER_COLUMN: d.kode_kecamatan}))
    return out


def kategori_ppks_rows() -> list[ChoiceRow]:
    return [
        _row("kategori_ppks", k.kode, f"{k.nama} ({k.singkatan})", f"{k.nama_en} ({k.singkatan})")
        for k in kategori.ppks().values()
    ]


def kategori_psks_rows() -> list[ChoiceRow]:
    return [
        _row("kategori_psks", k.kode, f"{k.nama} ({k.singkatan})", f"{k.nama_en} ({k.singkatan})")
        for k in kategori.psks().values()
    ]


# List name -> generator. A list is filled only when a question of the form uses it.
MANAGED_LISTS: dict[str, Callable[[], list[ChoiceRow]]] = {
    "kecamatan": kecamatan_rows,
    "desa": desa_rows,
    "kategori_ppks": kategori_ppks_rows,
    "kategori_psks": kategori_psks_rows,
}
