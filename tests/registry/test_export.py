"""`babale export bnba`: a CSV row per person, spreadsheet-safe, recorded in the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import random

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from babale.commands.registry import export
from registry import export as registry_export
from registry import queries, wilayah
from registry.db import session_scope
from registry.models import AuditLog, User
from registry.queries import SubmissionFilter
from surveys import paths as f
from surveys.spec import PPKS
from tests.registry.factories import member, ppks_payload, psks_payload, random_household, store
from tests.webapp.factories import make_user

REQUIRED = (
    "kode_kecamatan, kecamatan, kode_desa, desa, alamat, rt, rw, no_kk, nik, nama, jenis_kelamin, "
    "tempat_lahir, tanggal_lahir, kategori_ppks, status, kobo_id"
).split(", ")


def run(database_url: str, *args: str):
    return CliRunner().invoke(export, ["bnba", *args], env={"BABALE_DATABASE_URL": database_url})


def read(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def expected_rows(payload, status: str) -> list[dict[str, str]]:
    """The export rows of one stored payload, from the payload and the reference data."""
    desa = wilayah.desa()[payload[f.DESA]]
    return [
        {
            "kode_kecamatan": payload[f.KECAMATAN],
            "kecamatan": wilayah.kecamatan()[payload[f.KECAMATAN]].nama,
            "kode_desa": desa.kode,
            "desa": desa.nama,
            "alamat": payload[f.ALAMAT],
            "rt": payload[f.RT],
            "rw": payload[f.RW],
            "no_kk": payload[f.NO_KK],
            "nik": m[f.NIK],
            "nama": m[f.NAMA],
            "jenis_kelamin": m[f.JENIS_KELAMIN],
            "tempat_lahir": m[f.TEMPAT_LAHIR],
            "tanggal_lahir": m[f.TANGGAL_LAHIR],
            "kategori_ppks": " ".join(m.get(f.KATEGORI_PPKS, "").split()),
            "status": status,
            "kobo_id": str(payload["_id"]),
        }
        for m in payload[f.ANGGOTA]
    ]


@pytest.fixture
def households(database_url):
    rng = random.Random(11)
    payloads = [(random_household(rng, i), "baru" if i % 2 else "disetujui") for i in range(1, 9)]
    payloads.append((ppks_payload(50), "terverifikasi"))  # with PPKS categories
    with session_scope(database_url) as session:
        for payload, status in payloads:
            store(session, "ppks", payload, status=status)
        store(session, "ppks", ppks_payload(60), is_deleted_on_server=True)
        store(session, "psks", psks_payload(70))
    return payloads


def by_person(rows):
    return sorted(rows, key=lambda r: (r["kobo_id"], r["nik"]))


def test_one_row_per_person_with_the_required_columns(database_url, households, tmp_path):
    out = tmp_path / "bnba.csv"
    result = run(database_url, "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert set(REQUIRED) <= set(rows[0])
    want = [row for payload, status in households for row in expected_rows(payload, status)]
    got = [{k: r[k] for k in REQUIRED} for r in rows]
    assert by_person(got) == by_person(want)
    assert f"{len(want)} rows" in result.stdout


def test_rows_come_in_wilayah_order_and_kategori_is_space_separated(
    database_url, households, tmp_path
):
    out = tmp_path / "bnba.csv"
    assert run(database_url, "--out", str(out)).exit_code == 0
    rows = read(out)
    keys = [(r["kode_kecamatan"], r["kode_desa"], int(r["kobo_id"])) for r in rows]
    assert keys == sorted(keys)
    head = next(r for r in rows if r["kobo_id"] == "50" and r["kategori_ppks"])
    assert head["kategori_ppks"] == "lansia_telantar"


@pytest.mark.parametrize("status", ["baru", "disetujui", "ditolak"])
def test_status_filter(database_url, households, tmp_path, status):
    out = tmp_path / "bnba.csv"
    assert run(database_url, "--out", str(out), "--status", status).exit_code == 0
    want = [r for p, s in households if s == status for r in expected_rows(p, s)]
    assert len(read(out)) == len(want)
    assert {r["status"] for r in read(out)} <= {status}


def test_deleted_on_kobo_and_psks_are_not_exported(database_url, households, tmp_path):
    out = tmp_path / "bnba.csv"
    run(database_url, "--out", str(out))
    assert {"60", "70"}.isdisjoint({r["kobo_id"] for r in read(out)})


def test_cells_that_a_spreadsheet_would_run_are_quoted(database_url, tmp_path):
    evil = [
        member('=HYPERLINK("http://x","klik")', born=dt.date(1980, 1, 1), sex="L", serial=1),
        member("+62 Budi", born=dt.date(1981, 1, 1), sex="L", serial=2),
        member("@SUM(A1)", born=dt.date(1982, 1, 1), sex="L", serial=3),
        member("Budi - Anyeng", born=dt.date(1983, 1, 1), sex="L", serial=4),
    ]
    payload = ppks_payload(1, members=evil, **{f.ALAMAT: "-2+3", f.RT: "\t=1"})
    with session_scope(database_url) as session:
        store(session, "ppks", payload)
    out = tmp_path / "bnba.csv"
    assert run(database_url, "--out", str(out)).exit_code == 0
    rows = sorted(read(out), key=lambda r: r["nik"])
    assert [r["nama"] for r in rows] == [
        '\'=HYPERLINK("http://x","klik")',
        "'+62 Budi",
        "'@SUM(A1)",
        "Budi - Anyeng",
    ]
    assert {r["alamat"] for r in rows} == {"'-2+3"}
    assert {r["rt"] for r in rows} == {"'\t=1"}


def test_bom_only_when_asked(database_url, households, tmp_path):
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    run(database_url, "--out", str(plain))
    run(database_url, "--out", str(excel), "--bom")
    assert plain.read_bytes()[:3] != b"\xef\xbb\xbf"
    assert excel.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert excel.read_bytes()[3:] == plain.read_bytes()


def test_each_export_is_recorded_in_the_audit_log(database_url, households, tmp_path):
    out = tmp_path / "bnba.csv"
    run(database_url, "--out", str(out), "--status", "baru")
    with session_scope(database_url) as session:
        (log,) = session.scalars(select(AuditLog)).all()
    assert (log.actor, log.action) == (f"cli:{getpass.getuser()}", "export")
    assert log.detail == {
        "kind": "bnba",
        "format": "csv",
        "filters": {"status": "baru"},
        "rows": len(read(out)),
        "file": str(out.resolve()),
    }


def test_a_folder_that_does_not_exist_is_one_line_and_no_audit_row(database_url, tmp_path):
    result = run(database_url, "--out", str(tmp_path / "nope" / "bnba.csv"))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "nope" in result.output
    assert "Traceback" not in result.output
    with session_scope(database_url) as session:
        assert session.scalars(select(AuditLog)).all() == []


def test_rows_across_many_fetch_batches_are_all_written_in_order(
    database_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(registry_export, "BATCH", 7)  # many round trips on a small table
    rng = random.Random(5)
    payloads = [random_household(rng, i) for i in range(1, 41)]
    with session_scope(database_url) as session:
        for payload in payloads:
            store(session, "ppks", payload)
    out = tmp_path / "bnba.csv"
    count = registry_export.export_bnba(database_url, out, user=queries.operator("cli:test"))
    rows = read(out)
    assert count == len(rows) == sum(len(p[f.ANGGOTA]) for p in payloads)
    want = [r for p in payloads for r in expected_rows(p, "baru")]
    assert by_person([{k: r[k] for k in REQUIRED} for r in rows]) == by_person(want)
    keys = [(r["kode_kecamatan"], r["kode_desa"], int(r["kobo_id"])) for r in rows]
    assert keys == sorted(keys)


def test_a_failed_export_leaves_no_file_and_no_audit_row(database_url, households, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(registry_export.ExportError):
        registry_export.export_bnba(
            database_url, folder / "bnba.csv", registry_export.bnba_filter("semua")
        )
    (folder / "bnba.csv").mkdir()  # the target cannot be replaced: fails after the rows are read
    with pytest.raises(OSError):
        registry_export.export_bnba(database_url, folder / "bnba.csv")
    assert [p.name for p in folder.iterdir()] == ["bnba.csv"]
    assert list((folder / "bnba.csv").iterdir()) == []
    with session_scope(database_url) as session:
        assert session.scalars(select(AuditLog)).all() == []


def test_every_member_answer_of_the_form_spec_is_a_column_with_its_answer(database_url, tmp_path):
    """A member answer declared in surveys.spec (with its Person column) reaches the file."""
    extra = {
        a.path: f"nilai {a.column}" for a in PPKS.member_answers if a.column != "kategori_ppks"
    }
    people = [
        member(n, born=dt.date(1980 + i, 1, 1), sex="L", serial=i + 1, **extra)
        for i, n in enumerate(["Ani", "Budi"])
    ]
    payload = ppks_payload(1, members=people)
    with session_scope(database_url) as session:
        store(session, "ppks", payload)
    out = tmp_path / "bnba.csv"
    assert run(database_url, "--out", str(out)).exit_code == 0
    columns = [a.column for a in PPKS.member_answers]
    with out.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert [c for c in header if c in columns] == columns  # in the form spec's order
    for row, sent in zip(sorted(read(out), key=lambda r: r["nik"]), people, strict=True):
        assert {c: row[c] for c in columns if c != "kategori_ppks"} == {
            a.column: sent[a.path] for a in PPKS.member_answers if a.column != "kategori_ppks"
        }


def test_the_filter_and_the_scope_choose_the_rows_as_on_the_list(database_url, tmp_path):
    """The export takes the list's SubmissionFilter and the user's scope, not rules of its own."""
    rng = random.Random(23)
    payloads = [random_household(rng, i) for i in range(1, 30)]
    desa = payloads[0][f.DESA]
    with session_scope(database_url) as session:
        for payload in payloads:
            store(session, "ppks", payload)
        desa_user_id = make_user(session, "desa", desa).id
    kecamatan = payloads[0][f.KECAMATAN]
    out = tmp_path / "bnba.csv"

    count = registry_export.export_bnba(database_url, out, SubmissionFilter(kecamatan=kecamatan))
    assert count == sum(len(p[f.ANGGOTA]) for p in payloads if p[f.KECAMATAN] == kecamatan)
    assert {r["kode_kecamatan"] for r in read(out)} == {kecamatan}

    with session_scope(database_url) as session:
        user = session.get(User, desa_user_id)
        count = registry_export.export_bnba(database_url, out, user=user)
        username = user.username
    assert count == sum(len(p[f.ANGGOTA]) for p in payloads if p[f.DESA] == desa)
    assert {r["kode_desa"] for r in read(out)} == {desa}
    with session_scope(database_url) as session:
        actors = session.scalars(select(AuditLog.actor).where(AuditLog.action == "export")).all()
    assert actors[-1] == username


def test_the_audit_log_names_every_filter_of_the_file(database_url, households, tmp_path):
    out = tmp_path / "bnba.csv"
    kecamatan = households[0][0][f.KECAMATAN]
    registry_export.export_bnba(
        database_url, out, SubmissionFilter(status="baru", kecamatan=kecamatan, q="Budi")
    )
    with session_scope(database_url) as session:
        (log,) = session.scalars(select(AuditLog)).all()
    assert log.detail["filters"] == {"status": "baru", "kecamatan": kecamatan, "q": "Budi"}
