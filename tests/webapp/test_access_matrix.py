"""Every role x every route (pages and API) x own and foreign wilayah -> the status code.

Own = a submission in DESA_A (inside the kecamatan and desa accounts' wilayah); foreign = one in
DESA_B of another kecamatan. Kabupaten roles see both. One database per backend for the module;
routes that change state get a fresh submission of their own in each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import users as accounts
from registry.db import session_factory, upgrade
from registry.models import Submission
from tests.webapp import factories as fx
from tests.webapp.conftest import ROLES, make_app, reset_pg

# route -> {role: (code for own, code for foreign)}
KAB = {"admin", "dinsos"}


def codes(kab: int, kec_own: int, kec_foreign: int, desa_own: int, desa_foreign: int, pim: int):
    out = {r: (kab, kab) for r in KAB}
    out["kecamatan"] = (kec_own, kec_foreign)
    out["desa"] = (desa_own, desa_foreign)
    out["pimpinan"] = (pim, pim)
    return out


@dataclass(frozen=True)
class Route:
    method: str
    url: str  # {sub} and {att} are filled in
    expected: dict[str, tuple[int, int]]
    data: dict | None = None
    api: bool = False
    fresh: bool = False  # needs a fresh submission (the request may change it)


ROUTES = {
    "dashboard": Route("GET", "/", codes(200, 200, 200, 200, 200, 200)),
    "list": Route("GET", "/pengajuan/", codes(200, 200, 200, 200, 200, 403)),
    "detail": Route("GET", "/pengajuan/{sub}", codes(200, 200, 404, 200, 404, 403)),
    "photo": Route("GET", "/pengajuan/{sub}/lampiran/{att}", codes(200, 200, 404, 200, 404, 403)),
    "verify": Route(
        "POST",
        "/pengajuan/{sub}/keputusan",
        codes(303, 303, 404, 403, 403, 403),
        {"status": "terverifikasi"},
        fresh=True,
    ),
    "approve": Route(
        "POST",
        "/pengajuan/{sub}/keputusan",
        codes(303, 403, 404, 403, 403, 403),
        {"status": "disetujui"},
        fresh=True,
    ),
    "bulk_verify": Route(
        "POST",
        "/pengajuan/keputusan-massal",
        codes(303, 303, 303, 403, 403, 403),
        {"keputusan": "terverifikasi", "ids": "{sub}"},
        fresh=True,
    ),
    "users": Route(
        "GET", "/pengguna/", codes(403, 403, 403, 403, 403, 403) | {"admin": (200, 200)}
    ),
    "user_create": Route(
        "POST",
        "/pengguna/",
        codes(403, 403, 403, 403, 403, 403) | {"admin": (303, 303)},
        {"username": "baru{sub}", "role": "dinsos", "password": "kata-sandi-baru"},
        fresh=True,
    ),
    "password_page": Route("GET", "/akun/kata-sandi", codes(200, 200, 200, 200, 200, 200)),
    "api_list": Route("GET", "/api/v1/submissions", codes(200, 200, 200, 200, 200, 403), api=True),
    "api_detail": Route(
        "GET", "/api/v1/submissions/{sub}", codes(200, 200, 404, 200, 404, 403), api=True
    ),
    "api_verify": Route(
        "POST",
        "/api/v1/submissions/{sub}/decision",
        codes(200, 200, 404, 403, 403, 403),
        {"status": "terverifikasi"},
        api=True,
        fresh=True,
    ),
    "api_approve": Route(
        "POST",
        "/api/v1/submissions/{sub}/decision",
        codes(200, 403, 404, 403, 403, 403),
        {"status": "disetujui"},
        api=True,
        fresh=True,
    ),
    "api_stats": Route("GET", "/api/v1/stats", codes(200, 200, 200, 200, 200, 200), api=True),
}


@dataclass
class Matrix:
    app: Flask
    sessions: object
    clients: dict[str, FlaskClient]
    tokens: dict[str, str]
    subs: dict[str, tuple[int, int]]  # "own"/"foreign" -> (submission id, attachment id)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix(request, tmp_path_factory, pg_server_url) -> Iterator[Matrix]:
    tmp = tmp_path_factory.mktemp("matrix")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'babale.db'}"
    else:
        if pg_server_url is None:
            pytest.skip("BABALE_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
        url = pg_server_url
        reset_pg(url)
    upgrade(url)
    app = make_app(url, tmp)
    media = Path(app.config["MEDIA_DIR"])
    (media / "a").mkdir(parents=True, exist_ok=True)
    (media / "a" / "rumah.jpg").write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    sessions = session_factory(url)
    with sessions() as db:
        tokens = {}
        for role in ROLES:
            user = fx.make_user(db, role, username=f"m_{role}")
            tokens[role] = accounts.issue_token(db, user)
        subs = {}
        for key, desa in (("own", fx.DESA_A), ("foreign", fx.DESA_B)):
            sub = fx.make_submission(db, desa)
            subs[key] = (sub.id, fx.make_attachment(db, sub, "a/rumah.jpg").id)
        db.commit()
    clients = {}
    for role in ROLES:
        client = app.test_client()
        response = client.post("/masuk", data={"username": f"m_{role}", "password": fx.PASSWORD})
        assert response.status_code == 302
        clients[role] = client
    yield Matrix(app, sessions, clients, tokens, subs)
    from registry.db import engine_for

    engine_for(url).dispose()
    engine_for.cache_clear()


def _fresh(matrix: Matrix, where: str) -> int:
    with matrix.sessions() as db:  # type: ignore[operator]
        sub = fx.make_submission(db, fx.DESA_A if where == "own" else fx.DESA_B)
        db.commit()
        return sub.id


def _status(matrix: Matrix, sub_id: int) -> str:
    with matrix.sessions() as db:  # type: ignore[operator]
        return db.get(Submission, sub_id).status


@pytest.mark.parametrize("where", ["own", "foreign"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ROUTES))
def test_status_code(matrix: Matrix, name: str, role: str, where: str) -> None:
    route = ROUTES[name]
    sub_id, att_id = matrix.subs[where]
    if route.fresh:
        sub_id = _fresh(matrix, where)
    url = route.url.format(sub=sub_id, att=att_id)
    data = {k: v.format(sub=sub_id) for k, v in (route.data or {}).items()}
    expected = route.expected[role][0 if where == "own" else 1]
    if route.api:
        client = matrix.app.test_client()  # no session cookie: the token alone decides
        headers = {"Authorization": f"Bearer {matrix.tokens[role]}"}
        response = client.open(url, method=route.method, json=data or None, headers=headers)
    else:
        response = matrix.clients[role].open(url, method=route.method, data=data)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]

    if name in ("verify", "approve", "bulk_verify", "api_verify", "api_approve"):
        # A refused request changes nothing; an accepted one changes the status.
        target = data.get("status") or data.get("keputusan")
        changed = expected in (200, 303) and not (
            name == "bulk_verify" and where == "foreign" and role == "kecamatan"
        )
        assert (_status(matrix, sub_id) == target) is changed


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if not r.api])
def test_anonymous_is_sent_to_login(matrix: Matrix, name: str) -> None:
    route = ROUTES[name]
    sub_id, att_id = matrix.subs["own"]
    response = matrix.app.test_client().open(
        route.url.format(sub=sub_id, att=att_id), method=route.method, data=route.data
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/masuk")


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.api])
@pytest.mark.parametrize("header", [None, "Bearer salah-token", "Token abc"])
def test_api_without_a_valid_token_is_401(matrix: Matrix, name: str, header: str | None) -> None:
    route = ROUTES[name]
    sub_id, _ = matrix.subs["own"]
    # Even a logged-in browser session does not open the API.
    client = matrix.clients["admin"]
    headers = {"Authorization": header} if header else {}
    response = client.open(
        route.url.format(sub=sub_id), method=route.method, json=route.data, headers=headers
    )
    assert response.status_code == 401
    assert "error" in response.get_json()


def test_scoped_lists_hold_only_the_own_wilayah(matrix: Matrix) -> None:
    own, foreign = matrix.subs["own"][0], matrix.subs["foreign"][0]
    for role in ROLES:
        if role == "pimpinan":
            continue
        headers = {"Authorization": f"Bearer {matrix.tokens[role]}"}
        body = (
            matrix.app.test_client()
            .get("/api/v1/submissions?per_page=200", headers=headers)
            .get_json()
        )
        ids = {item["id"] for item in body["items"]}
        assert own in ids
        assert (foreign in ids) is (role in KAB), role
        kode = {item["kode_desa"] for item in body["items"]}
        if role == "desa":
            assert kode == {fx.DESA_A}
        if role == "kecamatan":
            assert all(k.startswith(fx.KEC_A + ".") for k in kode)
