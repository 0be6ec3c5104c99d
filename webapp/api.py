"""JSON API v1 for other offices' systems and scripts: Bearer token, same roles and scope."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from registry import adjudication as adj
from registry import flags as registry_flags
from registry import queries, review
from registry.models import QualityFlag, Submission, User
from registry.roles import DECIDING_ROLES, PERSONAL_DATA_ROLES, ROLES
from registry.severity import Severity
from registry.users import audit
from surveys.spec import PPKS
from webapp import background
from webapp.access import actor, load_token_user, role_required
from webapp.db import get_db
from webapp.present import flag_message, mask_nik, subject

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# A member answer declared in the form spec (with its Person column) is served with no change here.
PERSON_COLUMNS = PPKS.member_columns
bp.before_request(load_token_user)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _item(sub: Submission) -> dict[str, Any]:
    nama, nik = subject(sub)
    return {
        "id": sub.id,
        "kobo_id": sub.kobo_id,
        "form": sub.form,
        "status": sub.status,
        "kode_kecamatan": sub.kode_kecamatan,
        "kode_desa": sub.kode_desa,
        "submitted_at": _iso(sub.submitted_at),
        "nama_petugas": sub.nama_petugas,
        "nama": nama,
        "nik": mask_nik(nik),
        "is_changed_after_review": sub.is_changed_after_review,
        "is_deleted_on_server": sub.is_deleted_on_server,
    }


def _flag(flag: QualityFlag, overridden: bool) -> dict[str, Any]:
    return {
        "code": flag.code,
        "severity": flag.severity,
        "message": flag_message(flag),
        "field": flag.field,
        "blocking": flag.severity == Severity.BLOKIR and not overridden,
    }


def _detail(sub: Submission) -> dict[str, Any]:
    out = _item(sub)
    overrides = registry_flags.overrides(get_db(), sub)
    by_position: dict[int | None, list[dict[str, Any]]] = {}
    for flag in sub.flags:
        by_position.setdefault(flag.position, []).append(
            _flag(flag, (flag.code, flag.field) in overrides)
        )
    out["flags"] = by_position.get(None, [])
    out["nik"] = subject(sub)[1]  # full NIK on the detail, for the roles allowed to see it
    out["household"] = None
    out["psks"] = None
    if sub.household is not None:
        hh = sub.household
        out["household"] = {
            "no_kk": hh.no_kk,
            "kode_kecamatan": hh.kode_kecamatan,
            "kode_desa": hh.kode_desa,
            "dusun": hh.dusun,
            "rt": hh.rt,
            "rw": hh.rw,
            "alamat": hh.alamat,
            "latitude": hh.latitude,
            "longitude": hh.longitude,
            "persons": [
                {
                    "position": p.position,
                    **{column: getattr(p, column) for column in PERSON_COLUMNS},
                    "kategori_ppks": sorted(k.kode for k in p.kategori),  # parsed, unknown kept
                    "flags": by_position.get(p.position, []),
                }
                for p in hh.persons
            ],
        }
    if sub.psks_entry is not None:
        e = sub.psks_entry
        out["psks"] = {
            col: getattr(e, col)
            for col in (
                "kategori_psks", "jenis_subjek", "kode_kecamatan", "kode_desa", "alamat",
                "latitude", "longitude", "nik", "nama", "jenis_kelamin", "tanggal_lahir",
                "no_hp", "no_kk", "nama_lembaga", "no_registrasi", "nama_ketua",
                "jumlah_anggota", "bidang_layanan",
            )
        }  # fmt: skip
    out["review_history"] = [
        {
            "at": _iso(e.created_at),
            "by": e.user.username if e.user else None,
            "from": e.from_status,
            "to": e.to_status,
            "catatan": e.catatan,
            "alasan": e.alasan,
            "payload_hash": e.payload_hash,
            "kind": e.kind,
        }
        for e in sub.review_events
    ]
    item = queries.latest_outbox(get_db(), sub.id)
    out["kobo_writeback"] = (
        None
        if item is None
        else {"validation_uid": item.validation_uid, "sent_at": _iso(item.sent_at)}
    )
    return out


@bp.get("/submissions")
@role_required(*PERSONAL_DATA_ROLES)
def submissions() -> ResponseReturnValue:
    f = queries.SubmissionFilter.from_args(request.args)
    if f.errors:
        return jsonify(error="; ".join(f.errors)), 422
    page = queries.page_submissions(get_db(), actor(), f)
    return jsonify(
        items=[_item(s) for s in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    )


@bp.get("/submissions/<int:submission_id>")
@role_required(*PERSONAL_DATA_ROLES)
def submission(submission_id: int) -> ResponseReturnValue:
    db = get_db()
    sub = queries.get_submission(db, actor(), submission_id)
    if sub is None:
        abort(404)
    body = _detail(sub)
    audit(db, actor().username, "view", submission_id=sub.id, via="api")
    db.commit()
    return jsonify(body)


@bp.post("/submissions/<int:submission_id>/decision")
@role_required(*DECIDING_ROLES)
def decision(submission_id: int) -> ResponseReturnValue:
    db = get_db()
    sub = queries.get_submission(db, actor(), submission_id)
    if sub is None:
        abort(404)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(
            error='kirim JSON: {"status": "...", "catatan": "...", "alasan": "..."}'
        ), 422
    try:
        event = review.decide(
            db,
            sub,
            actor(),
            str(data.get("status") or ""),
            catatan=str(data.get("catatan") or ""),
            alasan=str(data.get("alasan") or ""),
        )
    except review.MissingReason as exc:
        db.rollback()
        # A script cannot see the page's list: name the codes it may send.
        return jsonify(error=exc.message, alasan_pilihan=review.ALASAN_DITOLAK), exc.http_status
    except review.ReviewError as exc:
        db.rollback()
        return jsonify(error=exc.message), exc.http_status
    db.commit()
    background.send_decisions_soon(current_app)
    return jsonify(
        id=sub.id,
        status=sub.status,
        is_changed_after_review=sub.is_changed_after_review,
        event={
            "id": event.id,
            "from": event.from_status,
            "to": event.to_status,
            "catatan": event.catatan,
            "alasan": event.alasan,
            "at": _iso(event.created_at),
        },
        kobo_validation_uid=review.KOBO_VALIDATION_UID.get(sub.status),
    )


@bp.get("/stats")
@role_required(*ROLES)
def stats() -> ResponseReturnValue:
    return jsonify(queries.stats(get_db(), actor()))


def _adjudicator() -> User:
    user = actor()
    if not adj.may_adjudicate(user):
        abort(403)
    return user


def _group(view: adj.GroupView) -> dict[str, Any]:
    """A duplicate group with its members in the caller's scope (a list: NIKs masked, as in
    /submissions)."""
    g = view.group
    return {
        "id": g.id,
        "score": g.score,
        "status": g.status,
        "reasons": list(g.reasons or []),
        "persons": [
            {
                "person_id": m.orang_id,
                "submission_id": m.submission.id,
                "kobo_id": m.submission.kobo_id,
                "position": m.position,
                "nama": m.nama,
                "nik": mask_nik(m.nik),
            }
            for m in view.members
        ],
    }


def _positive(name: str, default: int) -> int | None:
    """A positive whole number from the query string, its default when absent, else None."""
    raw = request.args.get(name)
    return default if raw is None else queries.row_id(raw)


@bp.get("/duplicates")
@role_required(*PERSONAL_DATA_ROLES)
def duplicates() -> ResponseReturnValue:
    user = _adjudicator()
    status = request.args.get("status") or adj.GroupStatus.TERBUKA
    if status not in adj.GROUP_STATUSES:
        return jsonify(error=f"status harus salah satu dari: {', '.join(adj.GROUP_STATUSES)}"), 400
    page_no, per_page = _positive("page", 1), _positive("per_page", 25)
    if page_no is None or per_page is None:
        return jsonify(error="page dan per_page harus bilangan bulat positif"), 400
    page = adj.page_groups(get_db(), user, status, page_no, per_page)
    return jsonify(
        items=[_group(v) for v in page.items], total=page.total, page=page.page, pages=page.pages
    )


@bp.post("/duplicates/<int:group_id>/decision")
@role_required(*PERSONAL_DATA_ROLES)
def duplicate_decision(group_id: int) -> ResponseReturnValue:
    user = _adjudicator()
    db = get_db()
    view = adj.group_detail(db, user, group_id)
    if view is None:
        abort(404)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error='kirim JSON: {"keputusan": "sama" | "berbeda", "catatan": "..."}'), 422
    try:
        adj.decide_group(
            db, view.group, user, str(data.get("keputusan") or ""), str(data.get("catatan") or "")
        )
    except review.ReviewError as exc:
        db.rollback()
        return jsonify(error=exc.message), exc.http_status
    db.commit()
    return jsonify(_group(view))  # decide_group refreshed view.group: its new status
