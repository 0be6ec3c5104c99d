"""`babale forms build`: the forms convert, validate, carry every reference code and every path."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from babale.cli import main
from registry import kategori, wilayah
from surveys import paths as fields
from surveys.spec import FORMS
from tests.xlsforms.xform import XForm
from xlsforms.build import BuildResult, build_form, java_missing_reason

pytestmark = pytest.mark.slow  # ODK Validate runs in a JVM

PATHS = {"ppks": fields.PPKS_PATHS, "psks": fields.PSKS_PATHS}
CANONICAL = {"ppks": fields.PPKS_CANONICAL, "psks": fields.PSKS_CANONICAL}


@pytest.mark.parametrize("name", FORMS)
def test_form_converts_without_errors_or_warnings(built: dict[str, BuildResult], name: str):
    result = built[name]
    assert [str(e) for e in result.errors] == []
    assert [str(w) for w in result.warnings] == []
    assert result.xml is not None and result.xml.read_text("utf-8").startswith("<?xml")
    assert result.xlsx is not None and result.xlsx.name == f"{name}.xlsx"


@pytest.mark.parametrize("name", FORMS)
def test_odk_validate_passes(built: dict[str, BuildResult], name: str):
    if reason := java_missing_reason():
        pytest.skip(f"ODK Validate cannot run: {reason}")
    assert built[name].validated, built[name].validate_skipped


def test_all_ppks_codes_are_choices(xforms: dict[str, XForm]):
    form = xforms["ppks"]
    list_name, _ = form.itemset(fields.KATEGORI_PPKS)
    names = [item["name"] for item in form.items(list_name)]
    assert names == list(kategori.ppks())
    assert len(set(names)) == 26


def test_all_psks_codes_are_choices(xforms: dict[str, XForm]):
    form = xforms["psks"]
    list_name, _ = form.itemset(fields.KATEGORI_PSKS)
    names = [item["name"] for item in form.items(list_name)]
    assert names == list(kategori.psks())
    assert len(set(names)) == 12


@pytest.mark.parametrize("name", FORMS)
def test_all_kecamatan_are_choices(xforms: dict[str, XForm], name: str):
    list_name, predicate = xforms[name].itemset(fields.KECAMATAN)
    names = [item["name"] for item in xforms[name].items(list_name)]
    assert names == list(wilayah.kecamatan()) and len(names) == 17
    assert predicate is None


@pytest.mark.parametrize("name", FORMS)
def test_every_desa_is_a_choice_tagged_with_its_kecamatan(xforms: dict[str, XForm], name: str):
    """What each kecamatan offers is judged by the engines (test_scenarios.py)."""
    form = xforms[name]
    list_name, predicate = form.itemset(fields.DESA)
    items = form.items(list_name)
    assert {i["name"]: i["kecamatan"] for i in items} == {
        kode: d.kode_kecamatan for kode, d in wilayah.desa().items()
    }
    assert predicate, "the desa select has no choice_filter"


@pytest.mark.parametrize("name", FORMS)
def test_every_contract_path_exists_and_nothing_else_holds_data(
    xforms: dict[str, XForm], name: str
):
    form = xforms[name]
    expected = set(PATHS[name])
    assert set(CANONICAL[name].values()) <= expected
    actual = form.data_paths()
    assert expected - actual == set(), "paths in fields.py missing from the form"
    assert actual - expected == set(), "questions of the form missing from fields.py"


def test_members_are_a_repeat_with_the_canonical_person_fields(xforms: dict[str, XForm]):
    form = xforms["ppks"]
    assert form.is_repeat(fields.ANGGOTA)
    for path in (fields.NIK, fields.NAMA, fields.JENIS_KELAMIN, fields.KATEGORI_PPKS):
        assert path.startswith(fields.ANGGOTA + "/")
    assert form.control(fields.KATEGORI_PPKS).tag.endswith("}select")  # select_multiple
    assert form.control(fields.JENIS_KELAMIN).tag.endswith("}select1")
    assert form.binds[fields.TANGGAL_LAHIR]["type"] == "date"


@pytest.mark.parametrize("name", FORMS)
def test_geopoint_asks_for_accuracy_and_photo_is_downsized(xforms: dict[str, XForm], name: str):
    form = xforms[name]
    assert form.binds[fields.LOKASI]["type"] == "geopoint"
    lokasi = form.control(fields.LOKASI)
    assert float(lokasi.attrib["accuracyThreshold"]) > 0
    foto = form.binds[fields.FOTO_RUMAH]
    assert foto["type"] == "binary"
    assert int(foto["{http://openrosa.org/xforms}max-pixels"]) > 0


@pytest.mark.parametrize("name", FORMS)
def test_built_xlsx_has_the_lists_filled_and_no_markers_left(
    built: dict[str, BuildResult], name: str
):
    wb = load_workbook(built[name].xlsx, read_only=True)
    cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row]
    assert not [c for c in cells if "{{" in c or "diisi_build" in c]
    choices = list(wb["choices"].iter_rows(values_only=True))
    header = list(choices[0])
    desa_rows = [r for r in choices[1:] if r[header.index("list_name")] == "desa"]
    assert len(desa_rows) == 124
    wb.close()


def test_codes_named_in_relevants_and_filters_exist(xforms: dict[str, XForm]):
    codes = xforms["ppks"].codes_in_selected() | xforms["psks"].codes_in_selected()
    known = set(kategori.ppks()) | set(kategori.psks())
    for form in xforms.values():
        for list_name in ("jenis_disabilitas", "ya_tidak", "pelatihan", "bidang_layanan"):
            try:
                known |= {i["name"] for i in form.items(list_name)}
            except AssertionError:
                continue
    assert "fakir_miskin" in codes  # the check sees the housing block's condition
    assert codes - known == set()


# --- broken sources: non-zero exit, sheet and row, nothing written ---------------------------


def _set_cell(src: Path, form: str, question: str, column: str, value: str) -> int:
    """Change one survey cell of `question`; return its spreadsheet row."""
    path = src / f"{form}.xlsx"
    wb = load_workbook(path)
    ws = wb["survey"]
    header = [c.value for c in ws[1]]
    if column not in header:
        ws.cell(row=1, column=len(header) + 1, value=column)
        header.append(column)
    for row in ws.iter_rows(min_row=2):
        if row[header.index("name")].value == question:
            ws.cell(row=row[0].row, column=header.index(column) + 1, value=value)
            wb.save(path)
            return row[0].row
    raise AssertionError(f"no question {question}")


def _build_cli(src: Path, out: Path, form: str = "ppks") -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["forms", "build", "--src", str(src), "--out", str(out), "--form", form]
    )
    return result.exit_code, result.output


def test_unknown_reference_fails_with_sheet_and_row_and_writes_nothing(
    source_copy: Path, tmp_path: Path
):
    row = _set_cell(source_copy, "ppks", "dusun", "relevant", "${tidak_ada} = 'x'")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ppks.xml").write_text("<old/>")  # a stale earlier build must not survive
    code, output = _build_cli(source_copy, out)
    assert code != 0
    assert f"sheet survey, row {row}" in output
    assert "tidak_ada" in output
    assert "Traceback" not in output
    assert sorted(p.name for p in out.iterdir()) == []


def test_xpath_error_found_by_odk_validate_names_the_row(source_copy: Path, tmp_path: Path):
    if reason := java_missing_reason():
        pytest.skip(f"ODK Validate cannot run: {reason}")
    row = _set_cell(source_copy, "psks", "no_hp", "relevant", "selected(${nama})")
    result = build_form("psks", tmp_path / "out", source_dir=source_copy)
    assert not result.ok and result.xml is None
    assert [(e.sheet, e.row) for e in result.errors] == [("survey", row)]
    assert "ODK Validate" in result.errors[0].message
    assert list((tmp_path / "out").iterdir()) == []


def test_unknown_build_marker_is_reported_where_it_is(source_copy: Path, tmp_path: Path):
    row = _set_cell(source_copy, "ppks", "kategori_ppks", "constraint", "{{aturan_salah_ketik}}")
    code, output = _build_cli(source_copy, tmp_path / "out")
    assert code != 0
    assert f"sheet survey, row {row}" in output and "aturan_salah_ketik" in output


def test_bad_type_fails_and_the_other_form_still_builds(source_copy: Path, tmp_path: Path):
    row = _set_cell(source_copy, "ppks", "rt", "type", "select_one daftar_yang_tidak_ada")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["forms", "build", "--src", str(source_copy), "--out", str(out)]
    )
    assert result.exit_code != 0
    assert f"row {row}" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["psks.xlsx", "psks.xml"]


def test_not_a_workbook_is_one_clear_error(source_copy: Path, tmp_path: Path):
    (source_copy / "psks.xlsx").write_text("this is not a spreadsheet")
    code, output = _build_cli(source_copy, tmp_path / "out", form="psks")
    assert code != 0
    assert "psks.xlsx" in output and "Traceback" not in output


def test_without_java_the_build_says_validation_was_skipped(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # a PATH without java
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["forms", "build", "--form", "psks", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ODK Validate skipped: java not found" in result.output
    assert (out / "psks.xml").exists()
    required = build_form("psks", tmp_path / "strict", validate=True)
    assert not required.ok and "java not found" in required.errors[0].message


@pytest.mark.parametrize("name", FORMS)
def test_categories_have_real_english_labels(built: dict[str, BuildResult], name: str):
    wb = load_workbook(built[name].xlsx, read_only=True)
    rows = list(wb["choices"].iter_rows(values_only=True))
    wb.close()
    header = list(rows[0])
    col = {h: header.index(h) for h in ("list_name", "name", "label::Indonesia (id)")}
    en = header.index("label::English (en)")
    list_name = f"kategori_{name}"
    labels = {r[col["name"]]: (r[col["label::Indonesia (id)"]], r[en]) for r in rows[1:]}
    codes = [r[col["name"]] for r in rows[1:] if r[col["list_name"]] == list_name]
    assert len(codes) == (26 if name == "ppks" else 12)
    for code in codes:
        label_id, label_en = labels[code]
        assert label_en and label_en != label_id, code
    assert labels["lansia_telantar" if name == "ppks" else "tksk"][1] in (
        "Neglected older person (LUT)",
        "Sub-district social welfare worker (TKSK)",
    )
