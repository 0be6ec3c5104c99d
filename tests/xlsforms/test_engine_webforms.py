"""The ODK Web Forms driver (tests/xlsforms/engines/webforms) against the real engine.

A small hand-written XForm pins the driver's semantics (statuses, typed values, relevance through
ancestors, repeats added on demand and jr:count ones left to the engine, the constraint check
emulated as Collect's, engine errors, bad requests); a few scenarios on the built PPKS form show it
on the real survey. The scenario suite proper (test_scenarios.py) runs on top of it.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from registry import wilayah
from surveys import paths as F
from tests.xlsforms import scenarios as S
from tests.xlsforms.engines import EngineError
from tests.xlsforms.engines import webforms as wf
from tests.xlsforms.engines.webforms import WebForms, webforms_missing_reason
from xlsforms.build import build_form

pytestmark = pytest.mark.slow  # ODK Web Forms runs in Node


def needs_webforms() -> None:
    if reason := webforms_missing_reason():
        pytest.skip(f"ODK Web Forms: {reason}")


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
          <nama/><umur/><lahir/><tinggi/><lokasi/><jam/><foto/><ikut/><catatan/><prov/><kab/>
          <hobi/><urut/>
          <anggota jr:template=""><nik/><sebut/></anggota>
          <anggota><nik/><sebut/></anggota>
          <jumlah/>
          <kode/><pesan/>
          <layar><kode2/><pesan2/></layar>
          <kerja><usaha/></kerja>
          <kerabat jr:template=""><siapa/><info/></kerabat>
          <jml_anak/>
          <anak><umur_anak/></anak>
          <kacau/>
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
      <bind nodeset="/data/jam" type="time"/>
      <bind nodeset="/data/foto" type="binary"/>
      <bind nodeset="/data/ikut" type="string"/>
      <bind nodeset="/data/catatan" type="string" readonly="true()" relevant="/data/ikut = 'ya'"/>
      <bind nodeset="/data/prov" type="string" required="true()" relevant="/data/ikut = 'ya'"/>
      <bind nodeset="/data/kab" type="string" required="true()" relevant="/data/ikut = 'ya'"/>
      <bind nodeset="/data/hobi" type="string"/>
      <bind nodeset="/data/urut" type="odk:rank"/>
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
      <bind nodeset="/data/kerja" relevant="/data/umur &gt;= 60"/>
      <bind nodeset="/data/kerja/usaha" type="string" required="true()"/>
      <bind nodeset="/data/kerabat" relevant="/data/ikut = 'ya'"/>
      <bind nodeset="/data/kerabat/siapa" type="string"/>
      <bind nodeset="/data/kerabat/info" type="string" readonly="true()"/>
      <bind nodeset="/data/jml_anak" type="int"/>
      <bind nodeset="/data/anak/umur_anak" type="int" required="true()"/>
      <bind nodeset="/data/kacau" type="string"
          constraint="if(. = '', true(), regex(., '('))"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/nama"><label>Nama</label></input>
    <input ref="/data/umur"><label>Umur</label></input>
    <input ref="/data/lahir"><label>Lahir</label></input>
    <input ref="/data/tinggi"><label>Tinggi</label></input>
    <input ref="/data/lokasi"><label>Lokasi</label></input>
    <input ref="/data/jam"><label>Jam</label></input>
    <upload ref="/data/foto" mediatype="image/*"><label>Foto</label></upload>
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
    <odk:rank ref="/data/urut"><label>Urut</label>
      <item><label>A</label><value>a</value></item>
      <item><label>B</label><value>b</value></item>
      <item><label>C</label><value>c</value></item>
    </odk:rank>
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
    <group ref="/data/kerja"><label>Kerja</label>
      <input ref="/data/kerja/usaha"><label>Usaha</label></input>
    </group>
    <group ref="/data/kerabat"><label>Kerabat</label>
      <repeat nodeset="/data/kerabat">
        <input ref="/data/kerabat/siapa"><label>Siapa</label></input>
        <input ref="/data/kerabat/info"><label>Info</label></input>
      </repeat>
    </group>
    <input ref="/data/jml_anak"><label>Jumlah anak</label></input>
    <group ref="/data/anak"><label>Anak</label>
      <repeat nodeset="/data/anak" jr:count="/data/jml_anak">
        <input ref="/data/anak/umur_anak"><label>Umur anak</label></input>
      </repeat>
    </group>
    <input ref="/data/kacau"><label>Kacau</label></input>
  </h:body>
</h:html>
"""

REPEATS = ("anggota", "kerabat", "anak")


@pytest.fixture(scope="module")
def driver_form(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wf-driver") / "driver.xml"
    path.write_text(DRIVER_FORM, encoding="utf-8")
    return path


def test_typed_answers_land_in_the_instance(webforms: WebForms, driver_form: Path):
    steps = [
        ("nama", "  Budi "),  # text is kept as typed
        ("umur", " 30 "),  # typed values are trimmed, as Collect's widgets do
        ("lahir", "2020-02-29"),
        ("tinggi", "1.50"),
        ("lokasi", "0.9 109.5 10 5"),
        ("jam", "10:30:00.000+07:00"),
        ("foto", "rumah.jpg"),
        ("hobi", "c a c"),
        ("urut", "c a b"),
    ]
    fill = webforms.fill(driver_form, steps)
    assert fill.error is None
    assert set(fill.statuses().values()) == {"answered"}, fill.steps
    assert fill.complete, (fill.required_missing, fill.constraint_violations)
    values = fill.leaves(REPEATS)
    assert values["nama"] == "  Budi " and values["umur"] == "30"
    assert (values["lahir"], values["tinggi"]) == ("2020-02-29", "1.5")
    assert values["lokasi"] == "0.9 109.5 10.0 5.0"  # as JavaRosa writes it too
    assert (values["jam"], values["foto"]) == ("10:30:00.000+07:00", "rumah.jpg")
    assert values["hobi"] == "a c"  # in the choices' order, as the widget answers
    assert values["urut"] == "c a b"  # a ranking: in the order given
    assert values["meta/instanceID"].startswith("uuid:")
    assert fill.step("hobi").choices == ["a", "b", "c"]
    assert fill.step("urut").choices == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("path", "value"),
    [("umur", "abc"), ("umur", "2.5"), ("umur", "99999999999"), ("umur", "1e3"),
     ("lahir", "2021-02-29"), ("lahir", "15/01/1990"), ("tinggi", "tinggi"), ("tinggi", "1e3"),
     ("lokasi", "95 10"), ("lokasi", "1"), ("lokasi", "1 2 3 -1"), ("lokasi", "a b"),
     ("jam", "25:00:00"), ("jam", "pagi")],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_invalid(webforms: WebForms, driver_form: Path, path, value):
    fill = webforms.fill(driver_form, [("nama", "Budi"), (path, value)])
    step = fill.step(path)
    assert step.status == "invalid_value", step
    assert step.message
    assert fill.leaves(REPEATS)[path] == ""


def test_an_invalid_value_keeps_the_answer_before(webforms: WebForms, driver_form: Path):
    fill = webforms.fill(driver_form, [("nama", "Budi"), ("jam", "10:30:00"), ("jam", "pagi")])
    assert [s.status for s in fill.steps] == ["answered", "answered", "invalid_value"]
    assert fill.leaves(REPEATS)["jam"] == "10:30:00"


def test_constraint_message_in_the_default_language_and_the_value_is_not_kept(
    webforms: WebForms, driver_form: Path
):
    fill = webforms.fill(driver_form, [("nama", "Budi"), ("umur", "30"), ("umur", "200")])
    step = fill.step("umur")
    assert (step.status, step.message) == ("constraint", "Umur 0 sampai 120")
    assert fill.leaves(REPEATS)["umur"] == "30"  # the earlier answer stays, as in Collect
    assert fill.complete


def test_a_message_worded_from_the_value_sees_the_refused_value_then_it_is_put_back(
    webforms: WebForms, driver_form: Path
):
    # The engine words the message from the instance as it is, so it is read while the refused
    # value is set (an <output> of a calculate of the question's own value sees the value typed);
    # then the value before is put back, on a field-list screen too.
    steps = [("nama", "Budi"), ("kode", "123"), ("kode", "12345"), ("layar/kode2", "12345")]
    fill = webforms.fill(driver_form, steps)
    assert fill.step("kode").message == "Tiga angka, bukan 5"
    assert fill.step("layar/kode2").message == "Tiga angka, bukan 5"
    values = fill.leaves(REPEATS)
    assert (values["kode"], values["pesan"]) == ("123", "3")  # calculates follow the put-back
    assert (values["layar/kode2"], values["layar/pesan2"]) == ("", "0")
    assert fill.constraint_violations == [] and fill.complete


def test_not_relevant_notes_calculates_and_unknown_paths(webforms: WebForms, driver_form: Path):
    steps = [
        ("nama", "Budi"),
        ("ikut", "tidak"),
        ("prov", "p1"),
        ("catatan", "x"),
        ("jumlah", "3"),
        ("layar", "x"),  # a group
        ("tidak/ada", "x"),
        ("anggota/nik", "123"),  # a repeat's segment needs its index
        ("nama[1]", "x"),  # and only a repeat's
        ("anggota[0]/nik", "123"),
        ("anggota[x]/nik", "123"),
        ("", "x"),
        ("/nama", "x"),
        ("nama/", "x"),
        ("meta/instanceID", "x"),
    ]
    fill = webforms.fill(driver_form, steps)
    assert fill.error is None
    assert fill.statuses() == {
        "nama": "answered",
        "ikut": "answered",
        "prov": "not_relevant",
        "catatan": "no_such_question",
        "jumlah": "no_such_question",
        "layar": "no_such_question",
        "tidak/ada": "no_such_question",
        "anggota/nik": "no_such_question",
        "nama[1]": "no_such_question",
        "anggota[0]/nik": "no_such_question",
        "anggota[x]/nik": "no_such_question",
        "": "no_such_question",
        "/nama": "no_such_question",
        "nama/": "no_such_question",
        "meta/instanceID": "no_such_question",
    }
    assert fill.complete  # prov and kab are required only when relevant
    assert fill.step("ikut").choices == ["ya", "tidak"]
    assert fill.leaves(REPEATS)["nama"] == "Budi"


def test_a_question_in_a_group_not_relevant_is_not_relevant(webforms: WebForms, driver_form: Path):
    fill = webforms.fill(driver_form, [("nama", "Budi"), ("umur", "30"), ("kerja/usaha", "tani")])
    assert fill.step("kerja/usaha").status == "not_relevant"
    assert fill.complete  # usaha is required, but not asked
    older = webforms.fill(driver_form, [("nama", "Budi"), ("umur", "70")])
    assert older.required_missing == ["kerja/usaha"]
    asked = webforms.fill(driver_form, [("nama", "Budi"), ("umur", "70"), ("kerja/usaha", "tani")])
    assert asked.complete and asked.leaves(REPEATS)["kerja/usaha"] == "tani"


def test_required_missing_and_clearing_an_answer(webforms: WebForms, driver_form: Path):
    steps = [("nama", "Budi"), ("nama", ""), ("ikut", "ya"), ("hobi", "a"), ("hobi", "")]
    fill = webforms.fill(driver_form, steps)
    assert set(fill.statuses().values()) == {"answered"}
    assert fill.required_missing == ["nama", "prov", "kab"]
    assert not fill.complete
    assert fill.leaves(REPEATS)["hobi"] == ""


def test_filtered_choices_and_a_choice_not_offered(webforms: WebForms, driver_form: Path):
    steps = [
        ("nama", "Budi"),
        ("ikut", "ya tidak"),  # a select_one takes one name
        ("ikut", "ya"),
        ("prov", "p1"),
        ("kab", "k3"),
        ("hobi", "a z"),
        ("urut", "a z"),
    ]
    fill = webforms.fill(driver_form, steps)
    assert [s.status for s in fill.steps] == [
        "answered",
        "choice_not_offered",
        "answered",
        "answered",
        "choice_not_offered",
        "choice_not_offered",
        "choice_not_offered",
    ]
    assert fill.step("kab").choices == ["k1", "k2"]
    values = fill.leaves(REPEATS)
    assert (values["ikut"], values["kab"], values["hobi"], values["urut"]) == ("ya", "", "", "")
    assert fill.required_missing == ["kab"]


def test_a_stale_filtered_choice_is_dropped(webforms: WebForms, driver_form: Path):
    # The engine drops kab's answer as soon as prov no longer offers it.
    steps = [("nama", "Budi"), ("ikut", "ya"), ("prov", "p1"), ("kab", "k1"), ("prov", "p2")]
    fill = webforms.fill(driver_form, steps)
    assert set(fill.statuses().values()) == {"answered"}
    assert fill.required_missing == ["kab"]
    assert fill.leaves(REPEATS)["kab"] == ""


def test_repeats_are_added_on_demand_and_no_more(webforms: WebForms, driver_form: Path):
    steps = [("nama", "Budi"), ("anggota[3]/nik", "333"), ("anggota[1]/nik", "111")]
    fill = webforms.fill(driver_form, steps)
    assert set(fill.statuses().values()) == {"answered"}
    values = fill.leaves(REPEATS)
    assert [values[f"anggota[{i}]/nik"] for i in (1, 2, 3)] == ["111", "", "333"]
    assert "anggota[4]/nik" not in values
    assert values["jumlah"] == "3"
    nothing = webforms.fill(driver_form, [("nama", "Budi"), ("anggota[3]/nope", "x")])
    assert nothing.step("anggota[3]/nope").status == "no_such_question"
    assert "anggota[2]/nik" not in nothing.leaves(REPEATS)  # no instance added for a wrong path
    bad = webforms.fill(driver_form, [("nama", "Budi"), ("anggota[2]/nik", "12")])
    assert (bad.step("anggota[2]/nik").status, bad.step("anggota[2]/nik").message) == (
        "constraint",
        "Tiga angka",
    )
    assert bad.leaves(REPEATS)["anggota[2]/nik"] == ""


def test_a_repeat_not_relevant_gets_no_instance(webforms: WebForms, driver_form: Path):
    steps = [
        ("nama", "Budi"),
        ("ikut", "tidak"),
        ("kerabat[1]/siapa", "x"),
        ("kerabat[1]/info", "x"),
    ]
    fill = webforms.fill(driver_form, steps)
    assert fill.statuses()["kerabat[1]/siapa"] == "not_relevant"
    assert fill.statuses()["kerabat[1]/info"] == "no_such_question"  # read-only: not a question
    assert not any(p.startswith("kerabat") for p in fill.leaves(REPEATS))
    steps = [
        ("nama", "Budi"),
        ("ikut", "ya"),
        ("prov", "p1"),
        ("kab", "k1"),
        ("kerabat[2]/siapa", "x"),
    ]
    asked = webforms.fill(driver_form, steps)
    assert asked.step("kerabat[2]/siapa").status == "answered"
    values = asked.leaves(REPEATS)
    assert (values["kerabat[1]/siapa"], values["kerabat[2]/siapa"]) == ("", "x")


def test_a_count_repeat_is_the_engines_own(webforms: WebForms, driver_form: Path):
    steps = [
        ("nama", "Budi"),
        ("anak[1]/umur_anak", "5"),  # no instance before jml_anak: none is added
        ("jml_anak", "2"),
        ("anak[1]/umur_anak", "5"),
        ("anak[3]/umur_anak", "1"),  # beyond the count: not asked
    ]
    fill = webforms.fill(driver_form, steps)
    assert [s.status for s in fill.steps] == [
        "answered",
        "not_relevant",
        "answered",
        "answered",
        "not_relevant",
    ]
    assert fill.required_missing == ["anak[2]/umur_anak"]
    values = fill.leaves(REPEATS)
    assert (values["anak[1]/umur_anak"], values["anak[2]/umur_anak"]) == ("5", "")
    assert "anak[3]/umur_anak" not in values
    fewer = webforms.fill(driver_form, [*steps, ("jml_anak", "1")])
    assert fewer.complete and "anak[2]/umur_anak" not in fewer.leaves(REPEATS)


def test_an_engine_exception_is_reported_and_the_process_goes_on(
    webforms: WebForms, driver_form: Path
):
    # regex() with a pattern JavaScript cannot compile: the engine throws as it checks the value.
    steps = [("nama", "Budi"), ("kacau", "x"), ("umur", "5")]
    fill = webforms.fill(driver_form, steps)
    assert fill.error is not None and "Invalid regular expression" in fill.error
    step = fill.step("kacau")
    assert step.status == "constraint" and step.message and "SyntaxError" in step.message
    assert fill.step("umur").status == "answered"  # later steps still run
    assert fill.leaves(REPEATS)["kacau"] == ""  # as Collect: an engine error keeps nothing
    again = webforms.fill(driver_form, [("nama", "Budi")])
    assert again.error is None and again.complete


def test_bad_requests_never_end_the_process(webforms: WebForms, driver_form: Path, tmp_path):
    missing = webforms.fill(tmp_path / "nope.xml", [("nama", "x")])
    assert missing.error and "no form file" in missing.error and not missing.complete
    broken = tmp_path / "broken.xml"
    broken.write_text("<h:html><nope", encoding="utf-8")
    assert webforms.fill(broken, []).error
    proc = webforms._proc  # the raw protocol: lines that are not requests
    assert proc.stdin is not None and proc.stdout is not None
    lines = ["not json", "[1, 2]", "{}", json.dumps({"form": str(driver_form), "steps": 3})]
    for line in lines:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        report = json.loads(proc.stdout.readline())
        assert report["error"] and report["complete"] is False, line
    odd = {"form": str(driver_form), "steps": [[1], ["nama", None], ["nama"], "nama", ["nama", 7]]}
    proc.stdin.write(json.dumps(odd) + "\n")
    proc.stdin.flush()
    report = json.loads(proc.stdout.readline())
    assert [s["status"] for s in report["steps"]] == ["no_such_question", *["answered"] * 4]
    assert report["steps"][-1]["value"] == "7"
    assert webforms.fill(driver_form, [("nama", "Budi")]).complete


def test_a_form_rewritten_in_place_is_read_again(webforms: WebForms, tmp_path: Path):
    form = tmp_path / "form.xml"
    form.write_text(DRIVER_FORM, encoding="utf-8")
    assert webforms.fill(form, [("nama", "Budi"), ("umur", "200")]).step("umur").status == (
        "constraint"
    )
    form.write_text(DRIVER_FORM.replace(". &lt;= 120", ". &lt;= 999"), encoding="utf-8")
    assert webforms.fill(form, [("nama", "Budi"), ("umur", "200")]).step("umur").status == (
        "answered"
    )


def test_a_dead_node_is_started_again(driver_form: Path):
    needs_webforms()
    engine = WebForms()
    try:
        engine._proc.kill()
        engine._proc.wait()
        assert engine.fill(driver_form, [("nama", "Budi")]).complete
    finally:
        engine.close()


def test_a_hung_request_kills_node_and_says_so(driver_form: Path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found")
    engine = WebForms(argv=[node, "-e", "setInterval(() => {}, 1000)"], timeout=1)
    try:
        with pytest.raises(EngineError, match="no report within 1 s"):
            engine.fill(driver_form, [("nama", "Budi")])
        assert engine._proc.poll() is not None
    finally:
        engine.close()


def test_the_missing_reason_says_what_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    needs_webforms()  # here it can run: None
    monkeypatch.setattr(wf, "NODE_MODULES", tmp_path / "node_modules")
    reason = webforms_missing_reason()
    assert reason and "not installed" in reason and "scripts/setup" in reason
    lock = json.loads(wf.LOCK.read_text(encoding="utf-8"))
    lock["packages"]["node_modules/@getodk/xforms-engine"]["version"] = "0.0.1"
    stale_lock = tmp_path / "package-lock.json"
    stale_lock.write_text(json.dumps(lock), encoding="utf-8")
    monkeypatch.setattr(wf, "NODE_MODULES", wf.DRIVER_DIR / "node_modules")
    monkeypatch.setattr(wf, "LOCK", stale_lock)
    reason = webforms_missing_reason()
    assert reason and "pins 0.0.1" in reason and "scripts/setup" in reason
    monkeypatch.setattr(wf.shutil, "which", lambda _name: None)
    assert (webforms_missing_reason() or "").startswith("node not found")


def test_the_lock_pins_every_package_and_names_no_host():
    lock = json.loads(wf.LOCK.read_text(encoding="utf-8"))
    manifest = json.loads((wf.DRIVER_DIR / "package.json").read_text(encoding="utf-8"))
    for name, version in manifest["dependencies"].items():
        assert version[0].isdigit(), f"{name} {version} is not an exact version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    for path, entry in lock["packages"].items():
        if path:
            assert entry.get("integrity"), path
            assert "resolved" not in entry, path
    ignored = (wf.DRIVER_DIR / ".gitignore").read_text(encoding="utf-8").split()
    assert "node_modules/" in ignored


# --- the built PPKS form ----------------------------------------------------------------------

OTHER_KECAMATAN = "61.07.02"


def _desa_of(kecamatan: str) -> set[str]:
    return {d.kode for d in wilayah.desa().values() if d.kode_kecamatan == kecamatan}


@pytest.fixture(scope="module")
def ppks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = build_form("ppks", tmp_path_factory.mktemp("wf-ppks"), validate=False)
    assert result.ok and result.xml, [str(e) for e in result.errors]
    return result.xml


def test_ppks_valid_household_completes_with_every_answer(webforms: WebForms, ppks: Path):
    steps = S.ppks_household()
    fill = webforms.fill(ppks, steps)
    assert fill.error is None
    assert [s.path for s in fill.steps if s.status != "answered"] == []
    assert fill.complete, (fill.required_missing, fill.constraint_violations)
    root = ET.fromstring(fill.xml)  # noqa: S314 - the engine's own output, not a download
    for path, value in steps:
        node = root.find(path)
        assert node is not None and (node.text or "") == value, path
    assert root.findtext("meta/instanceID", "").startswith("uuid:")
    assert root.findtext("end")


def test_ppks_bad_phone_is_refused_with_its_message(webforms: WebForms, ppks: Path):
    fill = webforms.fill(ppks, [*S.visit(), (F.HP_PETUGAS, "12345")])
    step = fill.step(F.HP_PETUGAS)
    assert step.status == "constraint"
    assert step.message and "08" in step.message  # the Indonesian constraint message
    root = ET.fromstring(fill.xml)  # noqa: S314 - the engine's own output, not a download
    assert root.findtext(F.HP_PETUGAS) == "081234567890"  # the previous value is kept


def test_ppks_refusal_skips_the_household_and_completes(webforms: WebForms, ppks: Path):
    fill = webforms.fill(ppks, [*S.visit("tidak"), (F.STATUS_KK, "ada")])
    assert fill.step(F.STATUS_KK).status == "not_relevant"
    assert fill.complete, (fill.required_missing, fill.constraint_violations)


def test_ppks_desa_choices_follow_the_kecamatan(webforms: WebForms, ppks: Path):
    other = sorted(_desa_of(OTHER_KECAMATAN))[0]
    fill = webforms.fill(ppks, [(F.KECAMATAN, S.KECAMATAN), (F.DESA, other), (F.DESA, S.DESA)])
    refused, chosen = fill.steps[1], fill.steps[2]
    assert refused.status == "choice_not_offered"
    assert set(refused.choices or []) == _desa_of(S.KECAMATAN)
    assert chosen.status == "answered"


def test_ppks_changing_kecamatan_clears_desa(webforms: WebForms, ppks: Path):
    fill = webforms.fill(ppks, [*S.ppks_household(), (F.KECAMATAN, OTHER_KECAMATAN)])
    assert fill.step(F.KECAMATAN).status == "answered"
    assert fill.required_missing == [F.DESA]  # the engine drops a value its filter no longer offers
    assert not fill.complete


def test_ppks_missing_name_is_required(webforms: WebForms, ppks: Path):
    name = S.member_path(F.NAMA, 1)
    fill = webforms.fill(ppks, [s for s in S.ppks_household() if s[0] != name])
    assert fill.required_missing == [name]


def test_ppks_wrong_type_and_unknown_paths(webforms: WebForms, ppks: Path):
    steps = [*S.visit(), (F.JUMLAH_ANGGOTA, "abc"), ("meta/instanceName", "x"), ("no/such", "1")]
    fill = webforms.fill(ppks, steps)
    assert [s.status for s in fill.steps[-3:]] == [
        "invalid_value",
        "no_such_question",
        "no_such_question",
    ]
