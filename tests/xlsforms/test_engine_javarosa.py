"""The JavaRosa driver (tests/xlsforms/engines/javarosa.py) against the real engine.

A small hand-written XForm pins the driver's semantics (statuses, typed values, repeats, the
default language, engine errors); a few scenarios on the built PPKS form show it on the real
survey. The scenario suite proper is test_scenarios.py.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.xlsforms.engines.javarosa import JavaRosa, compile_driver, javarosa_missing_reason
from xlsforms.build import build_form

pytestmark = pytest.mark.slow  # JavaRosa runs in a JVM

XF = "{http://www.w3.org/2002/xforms}"


# --- a small form that pins the driver's semantics ------------------------------------------

DRIVER_FORM = """<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
    xmlns:jr="http://openrosa.org/javarosa" xmlns:odk="http://www.opendatakit.org/xforms">
  <h:head>
    <h:title>driver</h:title>
    <model odk:xforms-version="1.0.0">
      <itext>
        <translation lang="English (en)">
          <text id="umur:c"><value>Age is 0 to 120</value></text>
        </translation>
        <translation lang="Indonesia (id)" default="true()">
          <text id="umur:c"><value>Umur 0 sampai 120</value></text>
          <text id="kode:c"><value>Tiga angka, bukan <output value="/data/pesan"/></value></text>
          <text id="kode2:c">
            <value>Tiga angka, bukan <output value="/data/layar/pesan2"/></value>
          </text>
        </translation>
      </itext>
      <instance>
        <data id="driver">
          <nama/><umur/><lahir/><tinggi/><lokasi/><ikut/><catatan/><prov/><kab/><hobi/>
          <anggota jr:template=""><nik/><sebut/></anggota>
          <anggota><nik/><sebut/></anggota>
          <jumlah/>
          <kode/><pesan/>
          <layar><kode2/><pesan2/></layar>
          <meta><instanceID/></meta>
        </data>
      </instance>
      <instance id="kab">
        <root>
          <item><name>k1</name><label>K1</label><prov>p1</prov></item>
          <item><name>k2</name><label>K2</label><prov>p1</prov></item>
          <item><name>k3</name><label>K3</label><prov>p2</prov></item>
        </root>
      </instance>
      <bind nodeset="/data/nama" type="string" required="true()"/>
      <bind nodeset="/data/umur" type="int" constraint=". &gt;= 0 and . &lt;= 120"
          jr:constraintMsg="jr:itext('umur:c')"/>
      <bind nodeset="/data/lahir" type="date"/>
      <bind nodeset="/data/tinggi" type="decimal"/>
      <bind nodeset="/data/lokasi" type="geopoint"/>
      <bind nodeset="/data/ikut" type="string"/>
      <bind nodeset="/data/catatan" type="string" readonly="true()" relevant="/data/ikut = 'ya'"/>
      <bind nodeset="/data/prov" type="string" required="true()" relevant="/data/ikut = 'ya'"/>
      <bind nodeset="/data/kab" type="string" required="true()" relevant="/data/ikut = 'ya'"/>
      <bind nodeset="/data/hobi" type="string"/>
      <bind nodeset="/data/anggota/nik" type="string" constraint="string-length(.) = 3"
          jr:constraintMsg="Tiga angka"/>
      <bind nodeset="/data/anggota/sebut" type="string"
          constraint="count(/data/anggota[sebut = current()]) = 1"/>
      <bind nodeset="/data/jumlah" type="string" calculate="count(/data/anggota)"/>
      <bind nodeset="/data/kode" type="string" constraint="string-length(.) = 3"
          jr:constraintMsg="jr:itext('kode:c')"/>
      <bind nodeset="/data/pesan" type="string" calculate="string-length(/data/kode)"/>
      <bind nodeset="/data/layar/kode2" type="string" constraint="string-length(.) = 3"
          jr:constraintMsg="jr:itext('kode2:c')"/>
      <bind nodeset="/data/layar/pesan2" type="string"
          calculate="string-length(/data/layar/kode2)"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/nama"><label>Nama</label></input>
    <input ref="/data/umur"><label>Umur</label></input>
    <input ref="/data/lahir"><label>Lahir</label></input>
    <input ref="/data/tinggi"><label>Tinggi</label></input>
    <input ref="/data/lokasi"><label>Lokasi</label></input>
    <select1 ref="/data/ikut"><label>Ikut</label>
      <item><label>Ya</label><value>ya</value></item>
      <item><label>Tidak</label><value>tidak</value></item>
    </select1>
    <input ref="/data/catatan"><label>Catatan</label></input>
    <select1 ref="/data/prov"><label>Prov</label>
      <item><label>P1</label><value>p1</value></item>
      <item><label>P2</label><value>p2</value></item>
    </select1>
    <select1 ref="/data/kab"><label>Kab</label>
      <itemset nodeset="instance('kab')/root/item[prov = /data/prov]">
        <value ref="name"/><label ref="label"/>
      </itemset>
    </select1>
    <select ref="/data/hobi"><label>Hobi</label>
      <item><label>A</label><value>a</value></item>
      <item><label>B</label><value>b</value></item>
      <item><label>C</label><value>c</value></item>
    </select>
    <group ref="/data/anggota"><label>Anggota</label>
      <repeat nodeset="/data/anggota">
        <input ref="/data/anggota/nik"><label>NIK</label></input>
        <input ref="/data/anggota/sebut"><label>Sebut</label></input>
      </repeat>
    </group>
    <input ref="/data/kode"><label>Kode</label></input>
    <group ref="/data/layar" appearance="field-list"><label>Layar</label>
      <input ref="/data/layar/kode2"><label>Kode</label></input>
    </group>
  </h:body>
</h:html>
"""


@pytest.fixture(scope="module")
def driver_form(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jr-driver") / "driver.xml"
    path.write_text(DRIVER_FORM, encoding="utf-8")
    return path


def test_typed_answers_land_in_the_instance(javarosa: JavaRosa, driver_form: Path):
    steps = [
        ("nama", "Budi"),
        ("umur", "30"),
        ("lahir", "2020-02-29"),
        ("tinggi", "1.5"),
        ("lokasi", "0.9 109.5 10 5"),
        ("hobi", "c a"),
    ]
    fill = javarosa.fill(driver_form, steps)
    assert fill.error is None
    assert set(fill.statuses().values()) == {"answered"}
    assert fill.complete, (fill.required_missing, fill.constraint_violations)
    values = fill.leaves()
    assert values["nama"] == "Budi" and values["umur"] == "30" and values["lahir"] == "2020-02-29"
    assert values["tinggi"] == "1.5"
    assert values["lokasi"] == "0.9 109.5 10.0 5.0"  # JavaRosa writes the numbers as doubles
    assert values["hobi"] == "a c"  # in the choices' order, as Collect's widget answers
    assert values["meta/instanceID"].startswith("uuid:")
    assert fill.step("hobi").choices == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("path", "value"),
    [("umur", "abc"), ("umur", "2.5"), ("lahir", "2021-02-29"), ("lahir", "15/01/1990"),
     ("tinggi", "tinggi"), ("lokasi", "95 10"), ("lokasi", "1")],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_invalid(javarosa: JavaRosa, driver_form: Path, path, value):
    fill = javarosa.fill(driver_form, [("nama", "Budi"), (path, value)])
    assert fill.step(path).status == "invalid_value"
    assert fill.leaves()[path] == ""


def test_constraint_message_in_the_default_language_and_the_value_is_not_kept(
    javarosa: JavaRosa, driver_form: Path
):
    fill = javarosa.fill(driver_form, [("nama", "Budi"), ("umur", "30"), ("umur", "200")])
    step = fill.step("umur")
    assert (step.status, step.message) == ("constraint", "Umur 0 sampai 120")
    assert fill.leaves()["umur"] == "30"  # the earlier answer stays, as in Collect
    assert fill.complete


def test_a_message_worded_from_the_value_sees_the_value_stored_not_the_refused_one(
    javarosa: JavaRosa, driver_form: Path
):
    # As Collect (constraint check on swipe): a refused value never reaches the instance, so an
    # <output> in the message that reads the instance (here a calculate of the question's value)
    # still sees the value stored before. Only on a field-list screen, where Collect saves the
    # widget's value unchecked as it changes, does the message see the refused value, which then
    # stays in the instance.
    steps = [("nama", "Budi"), ("kode", "123"), ("kode", "12345"), ("layar/kode2", "12345")]
    fill = javarosa.fill(driver_form, steps)
    assert fill.step("kode").message == "Tiga angka, bukan 3"
    assert fill.step("layar/kode2").message == "Tiga angka, bukan 5"
    values = fill.leaves()
    assert (values["kode"], values["layar/kode2"]) == ("123", "12345")
    assert fill.constraint_violations == [{"path": "layar/kode2", "message": "Tiga angka, bukan 5"}]


def test_not_relevant_notes_calculates_and_unknown_paths(javarosa: JavaRosa, driver_form: Path):
    steps = [
        ("nama", "Budi"),
        ("ikut", "tidak"),
        ("prov", "p1"),
        ("catatan", "x"),
        ("jumlah", "3"),
        ("tidak/ada", "x"),
        ("anggota/nik", "123"),  # a repeat's segment needs its index
        ("nama[1]", "x"),  # and only a repeat's
        ("anggota[0]/nik", "123"),
        ("", "x"),
        ("/nama", "x"),
    ]
    fill = javarosa.fill(driver_form, steps)
    assert fill.error is None
    assert fill.statuses() == {
        "nama": "answered",
        "ikut": "answered",
        "prov": "not_relevant",
        "catatan": "no_such_question",
        "jumlah": "no_such_question",
        "tidak/ada": "no_such_question",
        "anggota/nik": "no_such_question",
        "nama[1]": "no_such_question",
        "anggota[0]/nik": "no_such_question",
        "": "no_such_question",
        "/nama": "no_such_question",
    }
    assert fill.complete  # prov and kab are required only when relevant
    assert fill.step("ikut").choices == ["ya", "tidak"]


def test_required_missing_and_clearing_an_answer(javarosa: JavaRosa, driver_form: Path):
    fill = javarosa.fill(driver_form, [("nama", "Budi"), ("nama", ""), ("ikut", "ya")])
    assert fill.step("nama").status == "answered"
    assert fill.required_missing == ["nama", "prov", "kab"]
    assert not fill.complete


def test_filtered_choices_and_a_choice_not_offered(javarosa: JavaRosa, driver_form: Path):
    steps = [("nama", "Budi"), ("ikut", "ya"), ("prov", "p1"), ("kab", "k3"), ("hobi", "a z")]
    fill = javarosa.fill(driver_form, steps)
    assert fill.step("kab").status == "choice_not_offered"
    assert fill.step("kab").choices == ["k1", "k2"]
    assert fill.step("hobi").status == "choice_not_offered"
    assert fill.leaves()["hobi"] == ""
    assert fill.required_missing == ["kab"]


def test_a_stale_filtered_choice_is_dropped_at_finalize(javarosa: JavaRosa, driver_form: Path):
    # JavaRosa re-filters kab's choices when it is shown or validated, and drops an answer that
    # is no longer offered (ItemsetBinding.getChoices); changing prov alone leaves kab stored.
    steps = [("nama", "Budi"), ("ikut", "ya"), ("prov", "p1"), ("kab", "k1"), ("prov", "p2")]
    fill = javarosa.fill(driver_form, steps)
    assert set(fill.statuses().values()) == {"answered"}
    assert fill.required_missing == ["kab"]
    assert fill.leaves()["kab"] == ""


def test_repeats_are_added_on_demand_and_no_more(javarosa: JavaRosa, driver_form: Path):
    steps = [("nama", "Budi"), ("anggota[3]/nik", "333"), ("anggota[1]/nik", "111")]
    fill = javarosa.fill(driver_form, steps)
    assert set(fill.statuses().values()) == {"answered"}
    values = fill.leaves()
    assert [values[f"anggota[{i}]/nik"] for i in (1, 2, 3)] == ["111", "", "333"]
    assert "anggota[4]/nik" not in values
    assert values["jumlah"] == "3"
    bad = javarosa.fill(driver_form, [("nama", "Budi"), ("anggota[2]/nik", "12")])
    assert (bad.step("anggota[2]/nik").status, bad.step("anggota[2]/nik").message) == (
        "constraint",
        "Tiga angka",
    )


def test_an_engine_exception_is_reported_and_the_process_goes_on(
    javarosa: JavaRosa, driver_form: Path
):
    # A bare current() is what JavaRosa cannot evaluate (ODK Validate does not see it: it only
    # evaluates constraints on empty values).
    fill = javarosa.fill(driver_form, [("nama", "Budi"), ("anggota[1]/sebut", "x"), ("umur", "5")])
    assert fill.error is not None and "XPathUnhandledException" in fill.error
    assert "current" in fill.error
    assert fill.step("anggota[1]/sebut").status == "constraint"
    assert fill.step("umur").status == "answered"  # later steps still run
    assert fill.leaves()["anggota[1]/sebut"] == ""
    again = javarosa.fill(driver_form, [("nama", "Budi")])
    assert again.error is None and again.complete


def test_bad_requests_never_end_the_process(javarosa: JavaRosa, driver_form: Path, tmp_path):
    missing = javarosa.fill(tmp_path / "nope.xml", [("nama", "x")])
    assert missing.error and "no form file" in missing.error and not missing.complete
    broken = tmp_path / "broken.xml"
    broken.write_text("<h:html><nope", encoding="utf-8")
    assert javarosa.fill(broken, []).error
    proc = javarosa._proc  # the raw protocol: lines that are not requests
    assert proc.stdin is not None and proc.stdout is not None
    for line in ("not json", "[1, 2]", json.dumps({"form": str(driver_form), "steps": [[1]]})):
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        json.loads(proc.stdout.readline())
    assert javarosa.fill(driver_form, [("nama", "Budi")]).complete


def test_a_dead_jvm_is_started_again(driver_form: Path):
    if reason := javarosa_missing_reason():
        pytest.skip(reason)
    engine = JavaRosa()
    try:
        engine._proc.kill()
        engine._proc.wait()
        assert engine.fill(driver_form, [("nama", "Budi")]).complete
    finally:
        engine.close()


def test_the_driver_is_compiled_once_per_version(tmp_path: Path):
    if reason := javarosa_missing_reason():
        pytest.skip(reason)
    first = compile_driver(tmp_path)
    stamp = (first / "JavaRosaDriver.class").stat().st_mtime_ns
    assert compile_driver(tmp_path) == first
    assert (first / "JavaRosaDriver.class").stat().st_mtime_ns == stamp
    assert not any(p.name.startswith(".build-") for p in tmp_path.iterdir())


# --- the built PPKS form ----------------------------------------------------------------------

KECAMATAN = "61.07.01"
M = "keluarga/anggota[1]/"


@pytest.fixture(scope="module")
def ppks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = build_form("ppks", tmp_path_factory.mktemp("jr-ppks"), validate=False)
    assert result.ok and result.xml, [str(e) for e in result.errors]
    return result.xml


def desa_of(form: Path, kecamatan: str) -> list[str]:
    """The desa codes of a kecamatan, as the form's own `desa` choice list has them."""
    model = ET.parse(form).getroot().find(f"{{http://www.w3.org/1999/xhtml}}head/{XF}model")  # noqa: S314
    assert model is not None
    instance = next(i for i in model.findall(f"{XF}instance") if i.get("id") == "desa")
    return [
        item.findtext(f"{XF}name", "")
        for item in instance.iter(f"{XF}item")
        if item.findtext(f"{XF}kecamatan") == kecamatan
    ]


def default_text(form: Path, text_id: str) -> str:
    """An itext of the form in its default language."""
    for tr in ET.parse(form).getroot().iter(f"{XF}translation"):  # noqa: S314
        if tr.get("default") == "true()":
            for text in tr.iter(f"{XF}text"):
                if text.get("id") == text_id:
                    return "".join(text.itertext()).strip()
    raise AssertionError(f"no default-language itext {text_id}")


def visit(form: Path, persetujuan: str = "ya") -> list[tuple[str, str]]:
    return [
        ("wilayah/kecamatan", KECAMATAN),
        ("wilayah/desa", desa_of(form, KECAMATAN)[0]),
        ("wilayah/dusun", "Dusun I"),
        ("wilayah/rt", "001"),
        ("kunjungan/nama_petugas", "Budi"),
        ("kunjungan/hp_petugas", "081234567890"),
        ("kunjungan/persetujuan", persetujuan),
    ]


def household(form: Path) -> list[tuple[str, str]]:
    """A consenting household of one, valid for the current form."""
    return [
        *visit(form),
        ("tempat/alamat", "Jl. Merdeka 1"),
        ("keluarga/status_kk", "ada"),
        ("keluarga/no_kk", "6107010302210007"),
        ("keluarga/jumlah_anggota", "1"),
        (M + "status_nik", "ada"),
        (M + "nik", "6107011501900001"),
        (M + "nama", "Ali"),
        (M + "jenis_kelamin", "L"),
        (M + "tempat_lahir", "Bengkayang"),
        (M + "tanggal_lahir_diketahui", "ya"),
        (M + "tanggal_lahir", "1990-01-15"),
        (M + "hubungan", "kepala_keluarga"),
        (M + "status_perkawinan", "kawin_tercatat"),
        (M + "pendidikan", "sd"),
        (M + "pekerjaan", "petani_pekebun"),
    ]


def test_ppks_valid_household_completes_with_every_answer(javarosa: JavaRosa, ppks: Path):
    steps = household(ppks)
    fill = javarosa.fill(ppks, steps)
    assert fill.error is None
    assert [s for s in fill.steps if s.status != "answered"] == []
    assert fill.complete, (fill.required_missing, fill.constraint_violations)
    values = fill.leaves()
    assert {path: values.get(path) for path, _ in steps} == dict(steps)
    assert values["end"] and values["meta/instanceID"].startswith("uuid:")


def test_ppks_bad_phone_gets_the_forms_message(javarosa: JavaRosa, ppks: Path):
    fill = javarosa.fill(ppks, [*household(ppks), ("kunjungan/hp_petugas", "12345")])
    step = fill.step("kunjungan/hp_petugas")
    assert step.status == "constraint"
    assert step.message == default_text(ppks, "/data/kunjungan/hp_petugas:jr:constraintMsg")
    assert fill.complete  # the refused value was not kept: the good one is still there


def test_ppks_refusal_skips_the_household_and_completes(javarosa: JavaRosa, ppks: Path):
    fill = javarosa.fill(ppks, [*visit(ppks, "tidak"), (M + "nama", "Ali")])
    assert fill.step(M + "nama").status == "not_relevant"
    assert fill.complete, fill.required_missing
    assert not any(p.startswith("keluarga/") for p in fill.leaves())


def test_ppks_desa_offered_are_those_of_the_kecamatan(javarosa: JavaRosa, ppks: Path):
    other = desa_of(ppks, "61.07.02")[0]
    fill = javarosa.fill(ppks, [("wilayah/kecamatan", KECAMATAN), ("wilayah/desa", other)])
    step = fill.step("wilayah/desa")
    assert step.status == "choice_not_offered"
    assert step.choices == desa_of(ppks, KECAMATAN)


def test_ppks_changing_kecamatan_empties_the_desa(javarosa: JavaRosa, ppks: Path):
    fill = javarosa.fill(ppks, [*household(ppks), ("wilayah/kecamatan", "61.07.02")])
    assert fill.required_missing == ["wilayah/desa"]
    assert fill.leaves()["wilayah/desa"] == ""


def test_ppks_member_without_name_is_missing(javarosa: JavaRosa, ppks: Path):
    steps = [s for s in household(ppks) if s[0] != M + "nama"]
    fill = javarosa.fill(ppks, steps)
    assert fill.required_missing == [M + "nama"]
    assert not fill.complete
