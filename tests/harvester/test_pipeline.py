"""Mapped pages cross from the preparing process to the writer unchanged.

The writer stores exactly what `map_submission()` computed in its own process, whichever way the
page travelled (JSON, or pickle for values JSON refuses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from harvester.mapping import Mapped, map_submission
from harvester.pipeline import decode_page, encode_page
from kobo_simulator import KoboSimulator
from surveys import paths as f


def as_written(m: Mapped) -> dict[str, Any]:
    """Everything of a mapped submission that reaches the database, person dates as ISO text
    (the writer binds that text as it is), and the payload as the data its JSON text holds."""
    values = dataclasses.asdict(m)
    values["persons"] = [
        {
            **p,
            "tanggal_lahir_date": p["tanggal_lahir_date"].isoformat()
            if isinstance(p["tanggal_lahir_date"], dt.date)
            else p["tanggal_lahir_date"],
        }
        for p in m.persons
    ]
    values["payload_json"] = json.loads(m.payload_json)
    return values


def travelled(form: str, payloads: list[dict[str, Any]]) -> tuple[str, list[Mapped]]:
    encoded = encode_page([map_submission(form, p) for p in payloads])
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
def test_a_generated_page_arrives_as_mapped_in_process(sim, form):
    payloads = submissions(sim, form, 150)
    kind, arrived = travelled(form, payloads)
    assert kind == "json"
    assert [as_written(m) for m in arrived] == [
        as_written(map_submission(form, p)) for p in payloads
    ]
    # The payload stored is the payload Kobo sent.
    assert [json.loads(m.payload_json) for m in arrived] == payloads
    if form == "ppks":
        born = [p["tanggal_lahir_date"] for m in arrived for p in m.persons]
        assert born and all(b is None or dt.date.fromisoformat(b) for b in born)  # ISO dates
    assert all(isinstance(m.system["submitted_at"], dt.datetime) for m in arrived)


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
    assert kind == "json"  # payloads travel as their own text; mapped values are cleaned
    assert [as_written(m) for m in arrived] == [
        as_written(map_submission("ppks", p)) for p in [good, *odd]
    ]
    assert arrived[2].validation == {
        "kobo_validation_uid": "x",
        "kobo_validation_by": None,
        "kobo_validation_timestamp": None,  # 1e30 is no timestamp, and no crash
    }
    # what the columns cannot hold (String(64), NUL) is not sent to the database
    assert set(arrived[6].validation.values()) == {None}
    assert json.loads(arrived[5].payload_json)["extra"] == 2**70  # kept whole

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
    assert [as_written(m) for m in arrived] == [
        as_written(map_submission("ppks", p)) for p in [good, surrogate]
    ]
    assert arrived[1].attachments[0]["filename"] == "foto\ud800.jpg"


def test_the_validation_status_is_not_part_of_the_payload_hash(sim):
    """A decision written back to Kobo changes `_validation_status`, not the answers: the hash
    that change detection compares stays the same, and any answer changes it."""
    [payload] = submissions(sim, "ppks", 1)
    decided = {**payload, "_validation_status": {"uid": "validation_status_not_approved"}}
    edited = {**payload, f.ALAMAT: "Jalan baru"}
    digest = map_submission("ppks", payload).payload_hash
    assert map_submission("ppks", decided).payload_hash == digest
    assert map_submission("ppks", edited).payload_hash != digest


def test_members_with_other_columns_than_the_pages_first_still_arrive_whole(sim):
    """Members travel as value lists under the page's first member's column names; a page
    whose members differ (no mapping makes one today) goes by pickle instead of losing a value."""
    uid = sim.add_asset("ppks")
    payloads = [sim.get(uid, i) for i in sim.generate(uid, 3)]
    page = [map_submission("ppks", p) for p in payloads]
    page[1].persons[0] = {**page[1].persons[0], "catatan": "kolom lain"}
    encoded = encode_page(page)
    assert encoded[0] == "pickle"
    arrived = decode_page(encoded)
    assert arrived[1].persons[0]["catatan"] == "kolom lain"
    assert [as_written(m) for m in arrived] == [as_written(m) for m in page]
