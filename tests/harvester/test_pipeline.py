"""Prepared pages cross from the preparing process to the writer unchanged.

The writer stores exactly what `prepare()` computed in its own process, whichever way the page
travelled (JSON, or pickle for values JSON refuses).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from harvester.mapping import PERSON_COLUMNS
from harvester.pipeline import Prepared, decode_page, encode_page, prepare
from kobo_simulator import KoboSimulator
from surveys import paths as f


def as_written(p: Prepared) -> dict[str, Any]:
    """Everything of a prepared submission that reaches the database."""
    return {
        "kobo_id": p.kobo_id,
        "digest": p.digest,
        "validation": tuple(p.validation),
        "system": p.mapped.system,
        "submission": p.mapped.submission,
        "household": p.mapped.household,
        "psks_entry": p.mapped.psks_entry,
        "persons": [tuple(row) for row in p.persons],
        "kategori": p.kategori,
        "flags": [tuple(flag) for flag in p.flags],
        "attachments": p.attachments,
        "payload": p.payload_dict(),
        "payload_text_is_json_of_payload": p.payload_text() is not None,
    }


def travelled(form: str, payloads: list[dict[str, Any]]) -> tuple[str, list[Prepared]]:
    encoded = encode_page([prepare(form, p, portable=True) for p in payloads])
    return encoded[0], decode_page(encoded)


@pytest.fixture(scope="module")
def sim() -> KoboSimulator:
    return KoboSimulator(seed=7)  # not started: only its generator is used


def submissions(sim: KoboSimulator, form: str, n: int) -> list[dict[str, Any]]:
    uid = sim.add_asset(form)
    ids = sim.generate(uid, n)
    sim.set_validation(uid, ids[0], "validation_status_approved", "dinsos")
    return [sim.get(uid, i) for i in ids]


@pytest.mark.parametrize("form", ["ppks", "psks"])
def test_a_generated_page_arrives_as_prepared_in_process(sim, form):
    payloads = submissions(sim, form, 150)
    kind, arrived = travelled(form, payloads)
    assert kind == "json"
    assert [as_written(p) for p in arrived] == [as_written(prepare(form, p)) for p in payloads]
    if form == "ppks":
        born = [
            row[PERSON_COLUMNS.index("tanggal_lahir_date")] for p in arrived for row in p.persons
        ]
        assert born and all(b is None or dt.date.fromisoformat(b) for b in born)  # ISO dates
    assert all(isinstance(p.mapped.system["submitted_at"], dt.datetime) for p in arrived)


def test_bad_values_and_values_json_refuses_arrive_unchanged(sim):
    uid = sim.add_asset("ppks")
    good = sim.get(uid, sim.generate(uid, 1)[0])
    odd = [
        {**good, "_id": good["_id"] + 1, f.ALAMAT: "jalan " * 1700, f.NO_KK: 6107012345},
        {**good, "_id": good["_id"] + 2, "_validation_status": {"uid": "x", "timestamp": 1e30}},
        {**good, "_id": good["_id"] + 3, f.ANGGOTA: [{f.NIK: "61070\ud800", f.NAMA: "A\x00"}]},
        {**good, "_id": good["_id"] + 4, "_submission_time": "kemarin"},
        {**good, "_id": good["_id"] + 5, "extra": 2**70},
        {
            **good,
            "_id": good["_id"] + 6,
            "_validation_status": {"uid": "v" * 100, "by_whom": "a\x00"},
        },
    ]
    kind, arrived = travelled("ppks", [good, *odd])
    assert kind == "json"  # payloads travel as their own bytes; mapped values are cleaned
    assert [as_written(p) for p in arrived] == [
        as_written(prepare("ppks", p)) for p in [good, *odd]
    ]
    assert arrived[2].validation == ("x", None, None)  # 1e30 is no timestamp, and no crash
    # what the columns cannot hold (String(64), NUL) is not sent to the database
    assert arrived[6].validation == (None, None, None)
    assert arrived[6].mapped.system["kobo_validation_uid"] is None

    photo = {
        "uid": "attX1",
        "download_url": "http://kobo/api/v2/assets/a/data/1/attachments/attX1/",
        "media_file_basename": "foto\ud800.jpg",
        "mimetype": "image/jpeg",
        "question_xpath": f.FOTO_RUMAH,
    }
    surrogate = {**good, "_id": good["_id"] + 7, "_attachments": [photo]}
    kind, arrived = travelled("ppks", [good, surrogate])
    assert kind == "pickle"  # orjson refuses the lone surrogate; the page still arrives
    assert [as_written(p) for p in arrived] == [
        as_written(prepare("ppks", p)) for p in [good, surrogate]
    ]
