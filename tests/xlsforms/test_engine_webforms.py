"""The ODK Web Forms driver (tests/xlsforms/engines/webforms) against the real engine.

A few scenarios that prove the driver; the scenario suite proper runs on top of it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from registry import wilayah
from tests.xlsforms import scenarios as S
from tests.xlsforms.engines import Engine
from xlsforms import fields as F
from xlsforms.build import build_form

OTHER_KECAMATAN = "61.07.02"


def _desa_of(kecamatan: str) -> set[str]:
    return {d.kode for d in wilayah.desa().values() if d.kode_kecamatan == kecamatan}


@pytest.fixture(scope="session")
def ppks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = build_form("ppks", tmp_path_factory.mktemp("webforms"))
    assert result.ok and result.xml, [str(e) for e in result.errors]
    return result.xml


def test_valid_household_completes_with_every_answer(webforms: Engine, ppks: Path) -> None:
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


def test_bad_phone_is_refused_with_its_message(webforms: Engine, ppks: Path) -> None:
    fill = webforms.fill(ppks, [*S.visit(), (F.HP_PETUGAS, "12345")])
    step = fill.step(F.HP_PETUGAS)
    assert step.status == "constraint"
    assert step.message and "08" in step.message  # the Indonesian constraint message
    root = ET.fromstring(fill.xml)  # noqa: S314 - the engine's own output, not a download
    assert root.findtext(F.HP_PETUGAS) == "081234567890"  # the previous value is kept


def test_refusal_skips_the_household_and_completes(webforms: Engine, ppks: Path) -> None:
    fill = webforms.fill(ppks, [*S.visit("tidak"), (F.STATUS_KK, "ada")])
    assert fill.step(F.STATUS_KK).status == "not_relevant"
    assert fill.complete, (fill.required_missing, fill.constraint_violations)


def test_desa_choices_follow_the_kecamatan(webforms: Engine, ppks: Path) -> None:
    other = sorted(_desa_of(OTHER_KECAMATAN))[0]
    fill = webforms.fill(ppks, [(F.KECAMATAN, S.KECAMATAN), (F.DESA, other), (F.DESA, S.DESA)])
    refused, chosen = fill.steps[1], fill.steps[2]
    assert refused.status == "choice_not_offered"
    assert set(refused.choices or []) == _desa_of(S.KECAMATAN)
    assert chosen.status == "answered"


def test_changing_kecamatan_clears_desa(webforms: Engine, ppks: Path) -> None:
    fill = webforms.fill(ppks, [*S.ppks_household(), (F.KECAMATAN, OTHER_KECAMATAN)])
    assert fill.step(F.KECAMATAN).status == "answered"
    assert F.DESA in fill.required_missing  # the engine drops a value its filter no longer offers
    assert not fill.complete


def test_missing_name_is_required(webforms: Engine, ppks: Path) -> None:
    name = S.member_path(F.NAMA, 1)
    fill = webforms.fill(ppks, [s for s in S.ppks_household() if s[0] != name])
    assert fill.required_missing == [name]


def test_wrong_type_and_unknown_paths(webforms: Engine, ppks: Path) -> None:
    steps = [*S.visit(), (F.JUMLAH_ANGGOTA, "abc"), ("meta/instanceName", "x"), ("no/such", "1")]
    fill = webforms.fill(ppks, steps)
    assert [s.status for s in fill.steps[-3:]] == [
        "invalid_value",
        "no_such_question",
        "no_such_question",
    ]
