"""The Kobo simulator over real HTTP, checked against shared/kobo/API.md and its fixtures."""

from __future__ import annotations

import ast
import datetime as dt
import graphlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
import requests

from kobo_simulator import KoboSimulator
from registry import kategori, wilayah
from surveys import paths as F

FIXTURES = Path(__file__).with_name("fixtures")  # copies of shared/kobo/fixtures
REPO = Path(__file__).resolve().parents[2]


def fixture(name: str) -> Any:
    path = FIXTURES / name
    if not path.exists():
        pytest.fail(f"reference fixture {path} is missing")
    return json.loads(path.read_text())


def session(sim: KoboSimulator) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Token {sim.token}"
    return s


def data_url(sim: KoboSimulator, uid: str, rest: str = "") -> str:
    return f"{sim.base_url}/api/v2/assets/{uid}/data/{rest}"


def get_page(sim: KoboSimulator, uid: str, **params: Any) -> dict[str, Any]:
    encoded = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
    r = session(sim).get(data_url(sim, uid), params={"format": "json", **encoded})
    assert r.status_code == 200, r.text
    return r.json()


def all_strings(value: Any) -> bool:
    if isinstance(value, list):
        return all(
            isinstance(row, dict) and all(all_strings(v) for v in row.values()) for row in value
        )
    return isinstance(value, str)


SYSTEM = re.compile(r"^(_|meta/|formhub/|__version__)")


@pytest.fixture
def ppks(kobo: KoboSimulator) -> str:
    uid = kobo.add_asset("ppks")
    kobo.generate(uid, 40)
    return uid


# --- envelope and submission shape ---------------------------------------------------------------


def test_envelope_and_next_links_follow_drf(kobo: KoboSimulator, ppks: str) -> None:
    real = fixture("data_page_household_welfare.json")
    first = get_page(kobo, ppks, limit=3)
    assert list(first) == list(real)  # count, next, previous, results in that order
    assert first["count"] == 40
    assert first["previous"] is None
    # Same shape as the fixture's next: sorted params, the offset is called start.
    real_query = urlsplit(real["next"]).query
    assert real_query == "format=json&limit=3&start=3"
    assert first["next"] == data_url(kobo, ppks, "?" + real_query)
    second = session(kobo).get(first["next"]).json()
    assert second["previous"] == data_url(kobo, ppks, "?format=json&limit=3")
    assert parse_qs(urlsplit(second["next"]).query)["start"] == ["6"]
    last = get_page(kobo, ppks, limit=3, start=39)
    assert last["next"] is None and len(last["results"]) == 1
    assert parse_qs(urlsplit(last["previous"]).query)["start"] == ["36"]


def test_submission_has_the_real_keys_and_formats(kobo: KoboSimulator, ppks: str) -> None:
    real = fixture("data_page_household_welfare.json")["results"][0]  # one with a photo
    detail = session(kobo).get(f"{kobo.base_url}/api/v2/assets/{ppks}/").json()
    rows = get_page(kobo, ppks, limit=40)["results"]
    with_photo = [r for r in rows if r["_attachments"]]
    assert with_photo, "some households should have a house photo"
    row = with_photo[0]
    assert {k for k in row if SYSTEM.match(k)} == {k for k in real if SYSTEM.match(k)}
    assert "_tags" not in row and "_notes" not in row
    assert row["formhub/uuid"] == detail["deployment__uuid"]
    assert row["_xform_id_string"] == ppks
    assert row["__version__"] == detail["deployed_version_id"]
    assert row["meta/instanceID"] == "uuid:" + row["_uuid"]
    assert row["meta/rootUuid"] == row["meta/instanceID"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row["_submission_time"])
    assert row["_status"] == "submitted_via_web"
    assert row["_validation_status"] == {}
    lat, lon = (float(x) for x in row[F.LOKASI].split()[:2])
    assert row["_geolocation"] == [lat, lon]
    for r in rows:
        assert all(all_strings(v) for k, v in r.items() if not SYSTEM.match(k)), r
        for member in r[F.ANGGOTA]:
            assert all(k.startswith(F.ANGGOTA + "/") for k in member)
        assert "" not in [v for v in r.values() if isinstance(v, str)]  # empty answers absent
    att, real_att = row["_attachments"][0], real["_attachments"][0]
    assert list(att) == list(real_att)  # keys in the documented order
    url = f"{kobo.base_url}/api/v2/assets/{ppks}/data/{row['_id']}/attachments/{att['uid']}/"
    assert att["download_url"] == url
    assert att["download_small_url"] == url + "small/"
    root = row["meta/rootUuid"].removeprefix("uuid:")
    assert (
        att["filename"]
        == f"dinsos_bky/attachments/{row['formhub/uuid']}/{root}/{row[F.FOTO_RUMAH]}"
    )
    assert att["media_file_basename"] == row[F.FOTO_RUMAH]
    assert re.fullmatch(r"att\w{21}", att["uid"])
    assert att["question_xpath"] == F.FOTO_RUMAH and att["is_deleted"] is False


def test_limit_is_capped_and_bad_parameters_get_kobos_400s(kobo: KoboSimulator) -> None:
    uid = kobo.add_asset("psks")
    kobo.generate(uid, 1100)
    assert len(get_page(kobo, uid)["results"]) == 100  # default page
    big = get_page(kobo, uid, limit=5000)
    assert len(big["results"]) == 1000
    assert parse_qs(urlsplit(big["next"]).query)["limit"] == ["1000"]
    s = session(kobo)
    for bad in ("0", "-1", "abc", "1.5"):
        r = s.get(data_url(kobo, uid), params={"limit": bad})
        assert (r.status_code, r.json()) == (400, {"limit": "A positive integer is required"})
    r = s.get(data_url(kobo, uid), params={"start": "-3"})
    assert (r.status_code, r.json()) == (400, {"start": "A positive integer is required."})
    for name in ("query", "sort", "fields"):
        r = s.get(data_url(kobo, uid), params={name: "{not json"})
        assert (r.status_code, r.json()) == (400, {name: "Value must be valid JSON."})
    r = s.get(data_url(kobo, uid), params={"count": "1"})
    assert r.status_code == 400 and "Use `count` property" in r.json()["count"]
    r = s.get(data_url(kobo, uid), params={"query": json.dumps({"$expr": {"$gt": [1, 0]}})})
    assert (r.status_code, r.json()) == (400, ["Unsupported query"])


# --- query, sort, fields ---------------------------------------------------------------------


def test_keyset_paging_returns_every_submission_once_in_order(
    kobo: KoboSimulator, ppks: str
) -> None:
    expected = kobo.ids(ppks)
    seen: list[int] = []
    watermark = 0
    while True:
        page = get_page(kobo, ppks, query={"_id": {"$gt": watermark}}, sort={"_id": 1}, limit=7)
        assert page["count"] == sum(1 for i in expected if i > watermark)
        if not page["results"]:
            break
        seen += [r["_id"] for r in page["results"]]
        watermark = seen[-1]
    assert seen == expected
    desc = get_page(kobo, ppks, sort={"_id": -1}, limit=5)["results"]
    assert [r["_id"] for r in desc] == sorted(expected, reverse=True)[:5]


def test_query_operators(kobo: KoboSimulator, ppks: str) -> None:
    ids = kobo.ids(ppks)
    docs = {i: kobo.get(ppks, i) for i in ids}

    def got(query: dict[str, Any]) -> list[int]:
        return [r["_id"] for r in get_page(kobo, ppks, query=query, limit=1000)["results"]]

    assert got({"_id": {"$gte": ids[3], "$lt": ids[8]}}) == ids[3:8]
    assert got({"_id": {"$lte": ids[1]}}) == ids[:2]
    assert got({"_id": {"$in": [ids[5], ids[2], 999999]}}) == [ids[2], ids[5]]
    assert got({"_id": ids[7]}) == [ids[7]]
    kec = docs[ids[0]][F.KECAMATAN]
    assert got({F.KECAMATAN: kec}) == [i for i in ids if docs[i][F.KECAMATAN] == kec]
    assert got({"$or": [{"_id": ids[0]}, {"_id": ids[-1]}]}) == [ids[0], ids[-1]]
    assert got({"_id": {"$eq": ids[0]}}) == []  # not whitelisted: escaped, matches nothing
    kobo.set_validation(ppks, ids[4], "validation_status_approved")
    assert got({"_validation_status.uid": "validation_status_approved"}) == [ids[4]]
    nik = docs[ids[6]][F.ANGGOTA][0][F.NIK]
    assert got({F.ANGGOTA: {"$elemMatch": {F.NIK: nik}}}) == [ids[6]]


def test_fields_always_bring_uuid_and_root_uuid(kobo: KoboSimulator, ppks: str) -> None:
    light = get_page(kobo, ppks, fields=["_id", "_uuid", "_validation_status"], limit=3)["results"]
    assert [set(r) for r in light] == [{"_id", "_uuid", "meta/rootUuid", "_validation_status"}] * 3
    one = get_page(kobo, ppks, fields=[F.DESA], limit=1)["results"][0]
    assert set(one) == {F.DESA, "_uuid", "meta/rootUuid"}
    assert one[F.DESA] == kobo.get(ppks, kobo.ids(ppks)[0])[F.DESA]


# --- edits and deletes ---------------------------------------------------------------------


def test_edit_keeps_id_root_and_time_and_chains_deprecated_id(
    kobo: KoboSimulator, ppks: str
) -> None:
    sid = kobo.ids(ppks)[0]
    before = kobo.get(ppks, sid)
    kobo.edit(ppks, sid, {F.DUSUN: "Dusun Baru"})
    first = session(kobo).get(data_url(kobo, ppks, f"{sid}/")).json()
    assert first["_id"] == sid and first[F.DUSUN] == "Dusun Baru"
    assert first["_uuid"] != before["_uuid"]
    assert first["meta/instanceID"] == "uuid:" + first["_uuid"]
    assert first["meta/deprecatedID"] == before["meta/instanceID"]
    assert first["meta/rootUuid"] == before["meta/rootUuid"]
    assert first["_submission_time"] == before["_submission_time"]
    kobo.edit(ppks, sid, {F.RT: "9"})
    second = kobo.get(ppks, sid)
    assert second["meta/deprecatedID"] == first["meta/instanceID"]
    assert second["meta/rootUuid"] == before["meta/rootUuid"]
    by_root = before["meta/rootUuid"].removeprefix("uuid:")
    assert session(kobo).get(data_url(kobo, ppks, f"{by_root}/")).json()["_uuid"] == second["_uuid"]


def test_deletes_are_hard(kobo: KoboSimulator, ppks: str) -> None:
    ids = kobo.ids(ppks)
    s = session(kobo)
    assert s.delete(data_url(kobo, ppks, f"{ids[0]}/")).status_code == 204
    assert s.get(data_url(kobo, ppks, f"{ids[0]}/")).status_code == 404
    r = s.delete(data_url(kobo, ppks, "bulk/"), json={"payload": {"submission_ids": ids[1:3]}})
    assert r.json() == {"detail": "2 submissions have been deleted"}
    kobo.delete(ppks, ids[3])
    assert get_page(kobo, ppks)["count"] == len(ids) - 4
    assert kobo.ids(ppks) == ids[4:]


# --- validation status -----------------------------------------------------------------------


def test_validation_status_single(kobo: KoboSimulator, ppks: str) -> None:
    examples = fixture("validation_status_single_and_bulk_examples.json")
    sid = kobo.ids(ppks)[0]
    url = data_url(kobo, ppks, f"{sid}/validation_status/")
    s = session(kobo)
    assert s.get(url).json() == examples["single_get_unset"]["response_body"]
    r = s.patch(url, json=examples["single_patch"]["request_body"])
    body = r.json()
    assert r.status_code == 200 and list(body) == list(examples["single_patch"]["response_body"])
    assert (body["uid"], body["by_whom"], body["label"]) == (
        "validation_status_approved",
        "dinsos_bky",
        "Approved",
    )
    assert kobo.get(ppks, sid)["_validation_status"] == body
    bad = s.patch(url, json=examples["single_patch_invalid_uid"]["request_body"])
    assert bad.status_code == 400
    assert bad.json() == examples["single_patch_invalid_uid"]["response_body"]
    assert s.delete(url).status_code == 204
    assert kobo.get(ppks, sid)["_validation_status"] == {}


def test_validation_status_bulk(kobo: KoboSimulator, ppks: str) -> None:
    ids = kobo.ids(ppks)
    url = data_url(kobo, ppks, "validation_statuses/")
    s = session(kobo)
    payload: dict[str, Any] = {
        "submission_ids": ids[:3],
        "validation_status.uid": "validation_status_not_approved",
    }
    r = s.patch(url, json={"payload": payload})
    assert (r.status_code, r.json()) == (200, {"detail": "3 submissions have been updated"})
    assert [kobo.get(ppks, i)["_validation_status"]["uid"] for i in ids[:3]] == [
        "validation_status_not_approved"
    ] * 3
    foreign: dict[str, Any] = {
        "submission_ids": [ids[5], 99999999],
        "validation_status.uid": "validation_status_approved",
    }
    r = s.patch(url, json={"payload": foreign})
    assert (r.status_code, r.json()) == (400, {"detail": "One or more submission ids are invalid"})
    assert kobo.get(ppks, ids[5])["_validation_status"] == {}  # nothing was updated
    r = s.patch(url, json={"payload": {"validation_status.uid": "validation_status_on_hold"}})
    assert (r.status_code, r.json()) == (400, {"payload": ["Confirmation is required"]})
    by_query = {
        "query": {"_id": {"$gt": ids[-3]}},
        "validation_status.uid": "validation_status_on_hold",
    }
    r = s.patch(url, json={"payload": json.dumps(by_query)})  # payload may be a JSON string
    assert r.json() == {"detail": "2 submissions have been updated"}
    assert kobo.get(ppks, ids[-1])["_validation_status"]["by_whom"] == "dinsos_bky"


# --- attachments -----------------------------------------------------------------------------


def test_attachment_downloads(kobo: KoboSimulator, ppks: str) -> None:
    s = session(kobo)
    with_photo = next(r for r in get_page(kobo, ppks, limit=40)["results"] if r["_attachments"])
    att = with_photo["_attachments"][0]
    for url in (att["download_url"], att["download_large_url"]):
        r = s.get(url)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        assert r.content[:2] == b"\xff\xd8" and r.content[-2:] == b"\xff\xd9"  # a JPEG
    own = b"%PDF-1.4 surat keterangan tidak mampu"
    sid = kobo.add_submission(
        ppks, {F.NO_KK: "6107011203150001", "dokumen": "sktm.pdf"}, {"sktm.pdf": own}
    )
    doc = kobo.get(ppks, sid)
    (item,) = doc["_attachments"]
    assert (item["mimetype"], item["question_xpath"]) == ("application/pdf", "dokumen")
    assert "download_large_url" not in item  # not an image: no thumbnails
    r = s.get(item["download_url"])
    assert (r.content, r.headers["Content-Type"]) == (own, "application/pdf")
    assert s.get(item["download_url"].replace(item["uid"], "attNOPE")).status_code == 404
    kobo.edit(ppks, sid, {"dokumen": "sktm2.pdf"}, {"sktm2.pdf": b"%PDF-1.4 baru"})
    names = [a["media_file_basename"] for a in kobo.get(ppks, sid)["_attachments"]]
    assert names == ["sktm2.pdf"]  # the replaced file is gone from _attachments


def test_raw_answers_are_served_exactly_as_given(kobo: KoboSimulator, ppks: str) -> None:
    bad = {
        F.NO_KK: "610701120315000",  # 15 digits
        F.ANGGOTA: {F.NIK: "not a list"},  # a dict where a repeat should be
        F.RT: 7,  # a number where text was expected
        F.ALAMAT: "x" * 10_000,
        F.TANGGAL_LAHIR: "31-02-1990",
        "lama/pertanyaan_lama": "from an older form version",
        "_submission_time": "kemarin",
    }
    sid = kobo.add_submission(ppks, bad, __version__="vOLDVERSION")
    doc = session(kobo).get(data_url(kobo, ppks, f"{sid}/")).json()
    assert {k: doc[k] for k in bad} == bad
    assert doc["__version__"] == "vOLDVERSION"
    assert doc["_geolocation"] == [None, None] and doc["_attachments"] == []
    assert sid == kobo.ids(ppks)[-1]


# --- faults ---------------------------------------------------------------------------------


def test_error_fault_hits_only_its_requests(kobo: KoboSimulator, ppks: str) -> None:
    fault = kobo.faults.error(503, path="/data/$", skip=2, times=2)
    s = session(kobo)
    assert s.get(f"{kobo.base_url}/api/v2/assets/{ppks}/").status_code == 200  # other path
    codes = [s.get(data_url(kobo, ppks), params={"limit": 5}).status_code for _ in range(5)]
    assert codes == [200, 200, 503, 503, 200]  # "the 3rd page fails twice, then succeeds"
    assert fault.hits == 2 and kobo.faults.pending == []
    assert [r.fault for r in kobo.requests if r.path.endswith("/data/")] == [
        None, None, "error", "error", None,
    ]  # fmt: skip


@pytest.mark.parametrize("status", [500, 502, 504])
def test_error_fault_statuses(kobo: KoboSimulator, ppks: str, status: int) -> None:
    kobo.faults.error(status, retry_after=3)
    r = session(kobo).get(data_url(kobo, ppks))
    assert (r.status_code, r.headers["Retry-After"]) == (status, "3")
    assert f"{status}" in r.text and r.headers["Content-Type"] == "text/html"


def test_rate_limit_fault_sends_retry_after(kobo: KoboSimulator, ppks: str) -> None:
    kobo.faults.rate_limit(retry_after=7, path="/data/")
    r = session(kobo).get(data_url(kobo, ppks))
    assert (r.status_code, r.headers["Retry-After"]) == (429, "7")
    assert session(kobo).get(data_url(kobo, ppks)).status_code == 200


def test_slow_fault_outlasts_a_short_client_timeout(kobo: KoboSimulator, ppks: str) -> None:
    kobo.faults.slow(5.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session(kobo).get(data_url(kobo, ppks), timeout=(5, 0.3))


@pytest.mark.parametrize("fraction", [0.5, 1.0])
def test_cut_fault_leaves_the_body_short(kobo: KoboSimulator, ppks: str, fraction: float) -> None:
    kobo.faults.cut(fraction, path="/data/")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session(kobo).get(data_url(kobo, ppks), params={"limit": 20})
    assert kobo.requests[-1].fault == "cut"
    assert get_page(kobo, ppks, limit=20)["count"] == 40  # the next try is whole


def test_reset_fault_resets_the_connection(kobo: KoboSimulator, ppks: str) -> None:
    kobo.faults.reset(times=None, method="GET")
    with pytest.raises(requests.exceptions.ConnectionError):
        session(kobo).get(data_url(kobo, ppks))
    kobo.faults.clear()
    assert session(kobo).get(data_url(kobo, ppks)).status_code == 200


# --- auth, formats, assets -----------------------------------------------------------------


def test_token_auth_and_unknown_asset(kobo: KoboSimulator, ppks: str) -> None:
    url = data_url(kobo, ppks)
    assert requests.get(url, timeout=10).status_code == 401
    r = requests.get(url, headers={"Authorization": "Token wrong"}, timeout=10)
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token."})
    assert session(kobo).get(data_url(kobo, "aNoSuchAsset")).status_code == 404


def test_format_suffixes_and_missing_slash(kobo: KoboSimulator, ppks: str) -> None:
    s = session(kobo)
    sid = kobo.ids(ppks)[0]
    assert s.get(f"{kobo.base_url}/api/v2/assets/{ppks}/data.json").json()["count"] == 40
    assert s.get(f"{kobo.base_url}/api/v2/assets/{ppks}/data/{sid}.json").json()["_id"] == sid
    r = s.get(f"{kobo.base_url}/api/v2/assets/{ppks}/data", allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"].endswith(f"/{ppks}/data/")


def test_asset_list_and_detail_look_like_kobo(kobo: KoboSimulator, ppks: str) -> None:
    real = fixture("asset_detail_excerpt.json")
    s = session(kobo)
    listing = s.get(f"{kobo.base_url}/api/v2/assets/", params={"q": "asset_type:survey"}).json()
    assert [a["uid"] for a in listing["results"]] == [ppks]
    detail = s.get(f"{kobo.base_url}/api/v2/assets/{ppks}/").json()
    assert set(real) - {"_comment"} <= set(detail)
    assert detail["data"] == data_url(kobo, ppks)
    assert detail["deployment__active"] is True and detail["deployment__submission_count"] == 40
    xpaths = {row.get("$xpath") for row in detail["content"]["survey"]}
    psks_groups = ("psks/", "perorangan/", "keluarga_psks/", "lembaga/")
    contract = {
        v
        for k, v in vars(F).items()
        if k.isupper()
        and isinstance(v, str)
        and not v.endswith("/")
        and not v.startswith(psks_groups)
    }
    assert F.NIK in contract and contract <= xpaths
    assert all(isinstance(r["label"], list) for r in detail["content"]["survey"] if "label" in r)


# --- imports and deployments ---------------------------------------------------------------


def _import(sim: KoboSimulator, data: bytes, **fields: str) -> dict[str, Any]:
    s = session(sim)
    r = s.post(
        f"{sim.base_url}/api/v2/imports/",
        files={"file": ("ppks.xlsx", data)},
        data=fields,
    )
    assert (r.status_code, r.json()["status"]) == (201, "processing")
    sim.import_polls = 1  # the first poll still finds it processing
    assert s.get(r.json()["url"]).json()["status"] == "processing"
    task = s.get(r.json()["url"]).json()
    assert set(task) == {"status", "uid", "messages", "date_created"}
    return task


def test_import_and_deploy_round_trip(kobo: KoboSimulator) -> None:
    source = (REPO / "xlsforms" / "ppks.xlsx").read_bytes()
    task = _import(kobo, source, library="false")
    assert task["status"] == "complete", task
    uid = task["messages"]["created"][0]["uid"]
    s = session(kobo)
    asset_url = f"{kobo.base_url}/api/v2/assets/{uid}/"
    detail = s.get(asset_url).json()
    assert (detail["asset_type"], detail["has_deployment"]) == ("survey", False)
    assert F.NIK in {row.get("$xpath") for row in detail["content"]["survey"]}
    deployed = s.post(asset_url + "deployment/", json={"active": True}).json()
    assert deployed["active"] is True and deployed["version_id"] == detail["version_id"]
    again = s.post(asset_url + "deployment/", json={"active": True})
    assert again.status_code == 405 and "Use PATCH" in again.json()["detail"]
    kobo.generate(uid, 3)  # the imported PPKS form can be filled in like ours
    assert get_page(kobo, uid)["count"] == 3

    update = _import(kobo, source, library="false", destination=asset_url)
    assert update["messages"]["updated"][0]["uid"] == uid
    fresh = s.get(asset_url).json()
    assert fresh["version_id"] != detail["version_id"]
    assert fresh["deployed_version_id"] == detail["version_id"]  # not redeployed yet
    stale = s.patch(asset_url + "deployment/", json={"version_id": detail["version_id"]})
    assert stale.status_code == 500  # kpi's NotImplementedError for a non-current version
    s.patch(asset_url + "deployment/", json={"version_id": fresh["version_id"], "active": True})
    assert s.get(asset_url).json()["deployed_version_id"] == fresh["version_id"]
    s.patch(asset_url + "deployment/", json={"active": False})
    assert s.get(asset_url).json()["deployment_status"] == "archived"


def test_import_errors_and_library_default(kobo: KoboSimulator) -> None:
    book = openpyxl.Workbook()
    book.active.title = "survey"
    book.active.append(["type", "name", "label"])
    book.active.append(["select_one nowhere", "q1", "Question"])  # a list that does not exist
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["ya_tidak", "ya", "Ya"])
    buf = io.BytesIO()
    book.save(buf)
    broken = _import(kobo, buf.getvalue(), library="false")
    # As in kpi, the import only reads the workbook; pyxform meets the form at deployment.
    assert broken["status"] == "complete", broken
    uid = broken["messages"]["created"][0]["uid"]
    deploy_url = f"{kobo.base_url}/api/v2/assets/{uid}/deployment/"
    r = session(kobo).post(deploy_url, json={"active": True})
    assert r.status_code == 400 and "nowhere" in r.json()["error"]
    assert not kobo.asset(uid).has_deployment

    garbage = _import(kobo, b"not a workbook", library="false")
    assert garbage["messages"] == {
        "error_type": "XlsFormatException",
        "error": "Unsupported format, or corrupt file",
    }

    psks = (REPO / "xlsforms" / "psks.xlsx").read_bytes()
    nowhere = _import(
        kobo, psks, library="false", destination=f"{kobo.base_url}/api/v2/assets/aNoSuchAsset/"
    )  # kpi resolves the destination first: Asset.objects.get raises DoesNotExist
    assert nowhere["status"] == "error" and nowhere["messages"] == {
        "error_type": "DoesNotExist",
        "error": "Asset matching query does not exist.",
    }

    block = _import(kobo, psks, name="psks.xlsx")  # library omitted: true, as in kpi
    uid = block["messages"]["created"][0]["uid"]
    assert kobo.imports[block["uid"]].data == {
        "library": True,
        "filename": "psks.xlsx",  # kpi takes it from `name`, not from the file part
        "destination": None,
        "desired_type": None,
    }
    s = session(kobo)
    assert s.get(f"{kobo.base_url}/api/v2/assets/{uid}/").json()["asset_type"] == "block"
    r = s.post(f"{kobo.base_url}/api/v2/assets/{uid}/deployment/", json={"active": True})
    assert r.status_code == 400


# --- generated data -------------------------------------------------------------------------


def _built_form(tmp_path: Path, name: str) -> tuple[dict[str, list[str]], dict[str, str], str]:
    """Choices by question path, question types by path, and the XForm, of the BUILT form."""
    from pyxform.xls2xform import get_xlsform

    from xlsforms.build import build_form

    result = build_form(name, tmp_path, validate=False)
    assert result.ok and result.xlsx and result.xml, result.errors
    book = get_xlsform(result.xlsx.read_bytes())
    lists: dict[str, list[str]] = {}
    for c in book.choices:
        lists.setdefault(c["list_name"], []).append(str(c["name"]))
    choices, types, stack = {}, {}, []
    for row in book.survey:
        raw = row.get("type", "").strip()
        kind = raw.replace("_", " ")
        if kind.startswith("begin "):
            stack.append(row["name"])
        elif kind.startswith("end "):
            stack.pop()
        elif row.get("name"):
            path = "/".join([*stack, row["name"]])
            types[path] = raw.split()[0]
            if raw.startswith("select_"):
                choices[path] = lists[raw.split()[1]]
    return choices, types, result.xml.read_text()


@pytest.mark.parametrize("form", ["ppks", "psks"])
def test_generated_select_values_are_choices_of_the_built_form(
    kobo: KoboSimulator, tmp_path: Path, form: str
) -> None:
    choices, types, _ = _built_form(tmp_path, form)
    uid = kobo.add_asset(form)
    checked = 0
    for sid in kobo.generate(uid, 300, seed=7):
        doc = kobo.get(uid, sid)
        for row in [doc, *doc.get(F.ANGGOTA, [])]:
            for path, value in row.items():
                if SYSTEM.match(path) or isinstance(value, list):
                    continue
                assert path in types, f"{path} is not a question of the built {form} form"
                if path in choices:
                    picked = value.split() if types[path] == "select_multiple" else [value]
                    assert set(picked) <= set(choices[path]), (path, value)
                    checked += 1
    assert checked > 300 * 3


def _nik_date(nik: str) -> tuple[dt.date, str]:
    day, sex = int(nik[6:8]), "L"
    if day > 40:
        day, sex = day - 40, "P"
    year = 2000 + int(nik[10:12])
    return dt.date(year if year <= 2026 else year - 100, int(nik[8:10]), day), sex


def test_generated_households_are_plausible_and_niks_are_well_formed(
    kobo: KoboSimulator, tmp_path: Path
) -> None:
    _, _, xform = _built_form(tmp_path, "ppks")
    nik_regex = re.search(r"nik\"[^>]*constraint=\"regex\(\., '([^']+)'\)", xform)
    assert nik_regex, "the built form carries a NIK regex"
    form_rule = re.compile(nik_regex.group(1))
    uid = kobo.add_asset("ppks")
    sizes, niks = [], set()
    for sid in kobo.generate(uid, 400, seed=3):
        doc = kobo.get(uid, sid)
        desa = wilayah.desa()[doc[F.DESA]]
        assert desa.kode_kecamatan == doc[F.KECAMATAN]
        today = dt.date.fromisoformat(doc[F.TODAY])
        kk = doc[F.NO_KK]
        assert re.fullmatch(r"6107\d{12}", kk) and kk[:6] == "6107" + doc[F.KECAMATAN][-2:]
        assert dt.datetime.strptime(kk[6:12], "%d%m%y").date() <= today and kk[12:] != "0000"
        members = doc[F.ANGGOTA]
        sizes.append(len(members))
        assert [m[F.HUBUNGAN] for m in members].count("kepala_keluarga") == 1
        codes = set()
        for m in members:
            nik = m[F.NIK]
            assert form_rule.fullmatch(nik) and nik.startswith("6107") and nik != kk
            assert 1 <= int(nik[4:6]) <= 17 and nik[12:] != "0000"
            born, sex = _nik_date(nik)
            assert (born.isoformat(), sex) == (m[F.TANGGAL_LAHIR], m[F.JENIS_KELAMIN])
            niks.add(nik)
            age = int(m[F.UMUR])
            for code in m.get(F.KATEGORI_PPKS, "").split():
                rule = kategori.ppks()[code]
                assert rule.age_ok(age) and rule.jenis_kelamin in (None, m[F.JENIS_KELAMIN])
                codes.add(code)
        assert (F.RUMAH_LANTAI in doc) == ("fakir_miskin" in codes)
        assert (F.BENCANA_JENIS in doc) == bool(
            codes & {"korban_bencana_alam", "korban_bencana_sosial"}
        )
    assert len(niks) == sum(sizes)  # every NIK is unique
    assert min(sizes) >= 1 and max(sizes) <= 7
    assert 3.0 <= sum(sizes) / len(sizes) <= 4.0


def test_generated_psks_entries_follow_their_subject_type(kobo: KoboSimulator) -> None:
    uid = kobo.add_asset("psks")
    kinds = set()
    for sid in kobo.generate(uid, 150, seed=11):
        doc = kobo.get(uid, sid)
        subjek = kategori.psks()[doc[F.KATEGORI_PSKS]].jenis_subjek
        assert doc[F.JENIS_SUBJEK] == subjek
        kinds.add(subjek)
        has_person = F.PSKS_NIK in doc
        assert has_person == (subjek in ("perorangan", "keluarga"))
        assert (F.LEMBAGA_NAMA in doc) == (subjek in ("lembaga", "badan_usaha"))
        assert (F.PSKS_NO_KK in doc) == (subjek == "keluarga")
        if has_person:
            born, sex = _nik_date(doc[F.PSKS_NIK])
            assert (born.isoformat(), sex) == (doc[F.PSKS_TANGGAL_LAHIR], doc[F.PSKS_JENIS_KELAMIN])
        if doc[F.KATEGORI_PSKS] == "wanita_pemimpin_kesos":
            assert doc[F.PSKS_JENIS_KELAMIN] == "P"
    assert kinds == {"perorangan", "keluarga", "lembaga", "badan_usaha"}


def test_same_seed_same_data(kobo: KoboSimulator) -> None:
    def scene() -> list[str]:
        with KoboSimulator(seed=5) as sim:
            uid = sim.add_asset("ppks")
            return [
                json.dumps(sim.get(uid, i)).replace(sim.base_url, "BASE")
                for i in sim.generate(uid, 20)
            ]

    assert scene() == scene()
    other = kobo.add_asset("ppks")
    assert kobo.get(other, kobo.generate(other, 1)[0])[F.NO_KK] != json.loads(scene()[0])[F.NO_KK]


# --- the package ----------------------------------------------------------------------------


def simulator_imports(package: Path = REPO / "kobo_simulator") -> dict[str, set[str]]:
    """Module -> the simulator's modules it imports, read from the source: every import, also
    those under TYPE_CHECKING or inside a function, so no trick can hide an arrow."""
    graph: dict[str, set[str]] = {}
    for path in sorted(package.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "kobo_simulator":
                names |= {f"kobo_simulator.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        modules = {n.split(".")[1] for n in names if n.startswith("kobo_simulator.")}
        graph[path.stem] = modules - {path.stem}
    return graph


def test_the_simulator_modules_stack_without_a_cycle() -> None:
    graph = simulator_imports()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"the simulator's modules import each other in a circle: {exc.args[1]}")
    # The layers the package is built as: the state under the endpoints under the server.
    assert order.index("store") < order.index("api") < order.index("server") < order.index("core")
    wiring = {"core", "__init__", "__main__"}  # on top: nothing below may reach up to them
    assert [m for m in graph if m not in wiring and graph[m] & wiring] == []


@pytest.mark.slow
def test_command_line_prints_one_json_line_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kobo_simulator", "--port", "0", "--ppks", "30", "--psks", "4"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    try:
        line = json.loads(proc.stdout.readline())
        assert set(line) >= {"base_url", "token", "assets"}
        r = requests.get(
            f"{line['base_url']}/api/v2/assets/{line['assets']['ppks']}/data/",
            headers={"Authorization": f"Token {line['token']}"},
            timeout=10,
        )
        assert r.json()["count"] == 30
        assert line["submissions"] == {"ppks": 30, "psks": 4}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
