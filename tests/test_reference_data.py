"""The reference tables shipped in registry/data are complete and consistent."""

from __future__ import annotations

from registry import kategori, wilayah


def test_all_124_desa_in_17_kecamatan_with_kemendagri_codes():
    desa = wilayah.desa()
    assert len(desa) == 124
    assert len(wilayah.kecamatan()) == 17
    for kode, d in desa.items():
        assert kode.startswith(d.kode_kecamatan + ".")
        assert d.kode_kecamatan.startswith("61.07.")
    assert sum(1 for d in desa.values() if d.jenis == "kelurahan") == 2


def test_desa_sharing_a_name_are_told_apart_by_code():
    suka_maju = [d.kode for d in wilayah.desa().values() if d.nama == "Suka Maju"]
    assert sorted(suka_maju) == ["61.07.10.2003", "61.07.14.2004"]


def test_scope_containment_uses_code_prefix_not_string_prefix():
    assert wilayah.contains("61.07.01", "61.07.01.2001")
    assert not wilayah.contains("61.07.1", "61.07.10.2003")
    assert not wilayah.contains("61.07.01", None)


def test_26_ppks_and_12_psks_categories_with_rules():
    ppks = kategori.ppks()
    assert len(ppks) == 26
    assert [k.no_urut for k in ppks.values()] == list(range(1, 27))
    lansia = ppks["lansia_telantar"]
    assert not lansia.age_ok(30) and lansia.age_ok(60)
    assert ppks["perempuan_rawan_sosial_ekonomi"].jenis_kelamin == "P"
    psks = kategori.psks()
    assert len(psks) == 12
    assert psks["dunia_usaha"].jenis_subjek == "badan_usaha"
