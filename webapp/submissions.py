"""The list of submissions, one submission in detail, decisions (single and bulk), photos."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from registry import flags as registry_flags
from registry import kategori, persons, queries, review, roles, wilayah
from registry.models import Submission, User
from registry.roles import ADJUDICATING_ROLES, DECIDING_ROLES, PERSONAL_DATA_ROLES, Status
from registry.users import audit
from surveys import paths as F
from webapp import background
from webapp.access import actor, role_required
from webapp.db import get_db
from webapp.labels import describe, labels_for
from webapp.present import jenis_subjek, nama_kategori, nama_wilayah, status_text

bp = Blueprint("submissions", __name__, url_prefix="/pengajuan")
BULK_STATUSES = (Status.TERVERIFIKASI, Status.DISETUJUI)
NEWER_MESSAGE = _l("%(n)d data masuk setelah daftar dibuka dan belum diputuskan: periksa dulu.")
ANSWER_FORMATTERS = {
    F.KECAMATAN: nama_wilayah,
    F.DESA: nama_wilayah,
    F.KATEGORI_PPKS: nama_kategori,
    F.KATEGORI_PSKS: nama_kategori,
    F.JENIS_SUBJEK: jenis_subjek,
}


def registry_persons(submission: Submission) -> list[tuple[int, str]]:
    """(position, nama) of each member the person registry knows (a valid NIK, or an Orang of
    their own), for the links to their history; a PSKS entry is position 0."""
    e = submission.psks_entry
    members = submission.household.persons if submission.household else []
    named = {0: e.nama or e.nama_lembaga or ""} if e is not None else {}
    named.update({p.position: p.nama or "" for p in members})
    known = persons.known(get_db(), {(submission.id, position) for position in named})
    return [(pos, nama) for pos, nama in sorted(named.items()) if (submission.id, pos) in known]


def wilayah_choices(user: User) -> tuple[list[wilayah.Kecamatan], list[wilayah.Desa]]:
    """The kecamatan and desa a user may filter on (their own scope only)."""
    reach = roles.reach(user.role)
    if reach == "kecamatan" and user.wilayah:
        return [wilayah.kecamatan()[user.wilayah]], wilayah.desa_in(user.wilayah)
    if reach == "desa" and user.wilayah:
        own = wilayah.desa()[user.wilayah]
        return [wilayah.kecamatan()[own.kode_kecamatan]], [own]
    return list(wilayah.kecamatan().values()), list(wilayah.desa().values())


@bp.get("/")
@role_required(*PERSONAL_DATA_ROLES)
def index() -> str:
    user = actor()
    f = queries.SubmissionFilter.from_args(request.args)
    for message in f.errors:
        flash(message, "error")
    db = get_db()
    page = queries.page_submissions(db, user, f)
    kecamatan, desa = wilayah_choices(user)
    bulk = [s for s in BULK_STATUSES if review.may_decide(user, s)]
    return render_template(
        "submissions/list.html",
        page=page,
        f=f,
        counts=queries.status_counts(db, user, f),
        flag_summary=queries.flag_summary(db, [s.id for s in page.items]),
        kecamatan_choices=kecamatan,
        desa_choices=desa,
        ppks_kategori=kategori.ppks().values(),
        psks_kategori=kategori.psks().values(),
        bulk_statuses=bulk,
        newest_id=queries.newest_id(db, user, f) if bulk else None,
    )


def _detail(submission: Submission, status_code: int = 200) -> tuple[str, int]:
    user = actor()
    db = get_db()
    labels = labels_for(submission.form, current_app.config.get("XLSFORMS_DIR"), str(get_locale()))
    sections, tables = describe(submission.payload, labels, ANSWER_FORMATTERS)
    point = submission.household or submission.psks_entry
    outbox = queries.latest_outbox(db, submission.id)
    # Which decision Kobo holds (or will): after an edit it is no longer the current status.
    kobo_decision = next(
        (status_text(s) for s, uid in review.KOBO_VALIDATION_UID.items()
         if outbox is not None and uid == outbox.validation_uid),
        "",
    )  # fmt: skip
    overrides = registry_flags.overrides(db, submission)
    household = submission.household
    names = {p.position: p.nama for p in household.persons} if household else {}
    flag_groups: dict[int | None, list[Any]] = {}
    for flag in submission.flags:
        flag_groups.setdefault(flag.position, []).append(flag)
    return render_template(
        "submissions/detail.html",
        sub=submission,
        flag_groups=sorted(flag_groups.items(), key=lambda kv: -1 if kv[0] is None else kv[0]),
        member_names=names,
        registry_persons=registry_persons(submission),
        overrides=overrides,
        ov_events={e.id: e for e in submission.review_events},
        may_override=user.role in ADJUDICATING_ROLES and not submission.is_deleted_on_server,
        sections=sections,
        tables=tables,
        point=(point.latitude, point.longitude)
        if point is not None and point.latitude is not None and point.longitude is not None
        else None,
        outbox=outbox,
        kobo_decision=kobo_decision,
        decisions=review.allowed_decisions(user, submission),
    ), status_code


def _get_or_404(submission_id: int) -> Submission:
    submission = queries.get_submission(get_db(), actor(), submission_id)
    if submission is None:
        abort(404)
    return submission


@bp.get("/<int:submission_id>")
@role_required(*PERSONAL_DATA_ROLES)
def detail(submission_id: int) -> tuple[str, int]:
    submission = _get_or_404(submission_id)
    db = get_db()
    # UU 27/2022 Pasal 31: record who opened which person's data.
    audit(db, actor().username, "view", submission_id=submission.id)
    db.commit()
    return _detail(submission)


@bp.post("/<int:submission_id>/keputusan")
@role_required(*DECIDING_ROLES)
def decide_submit(submission_id: int) -> tuple[str, int] | Response:
    submission = _get_or_404(submission_id)
    db = get_db()
    try:
        review.decide(
            db,
            submission,
            actor(),
            request.form.get("status", ""),
            catatan=request.form.get("catatan"),
            alasan=request.form.get("alasan"),
        )
    except review.ReviewError as exc:
        db.rollback()
        if exc.http_status in (403, 404):
            abort(exc.http_status)
        flash(exc.message, "error")
        return _detail(_get_or_404(submission_id), exc.http_status)
    db.commit()
    background.send_decisions_soon(current_app)
    flash(
        _("Status diubah menjadi %(status)s.", status=status_text(submission.status)),
        "success",
    )
    return redirect(url_for(".detail", submission_id=submission.id), code=303)


@bp.post("/<int:submission_id>/tanda/<int:flag_id>/abaikan")
@role_required(*ADJUDICATING_ROLES)
def override_submit(submission_id: int, flag_id: int) -> tuple[str, int] | Response:
    """Let approval go past one blokir flag, with a note (the form is on the detail page)."""
    submission = _get_or_404(submission_id)
    db = get_db()
    try:
        review.override_flag(db, submission, actor(), flag_id, request.form.get("catatan"))
    except review.ReviewError as exc:
        db.rollback()
        if exc.http_status in (403, 404):
            abort(exc.http_status)
        flash(exc.message, "error")
        return _detail(_get_or_404(submission_id), exc.http_status)
    db.commit()
    flash(_("Tanda blokir diabaikan untuk data ini; catatan tersimpan."), "success")
    return redirect(url_for(".detail", submission_id=submission.id), code=303)


@bp.post("/keputusan-massal")
@role_required(*DECIDING_ROLES)
def bulk_submit() -> Response:
    user = actor()
    db = get_db()
    form = request.form
    # `keputusan` is the action; `status` etc. are the filter the list showed, which travels
    # with the form so that "all that match" means what the user saw.
    to_status = form.get("keputusan", "")
    f = queries.SubmissionFilter.from_args(MultiDict(form))
    back = redirect(url_for(".index", **f.args()), code=303)
    if to_status not in BULK_STATUSES:
        flash(_("Tindakan massal hanya untuk verifikasi atau persetujuan."), "error")
        return back
    if not review.may_decide(user, to_status):
        abort(403)
    newer = 0
    if form.get("semua") == "1":
        # "All that match" means all the reviewer was shown: data harvested since the list was
        # opened (higher ids) is left for a look first.
        limit = form.get("batas", "")
        up_to = queries.row_id(limit)
        ids = queries.matching_ids(db, user, f, up_to=up_to)
        if up_to is not None:
            newer = len(queries.matching_ids(db, user, f)) - len(ids)
    else:
        ids = sorted({i for v in form.getlist("ids") if (i := queries.row_id(v)) is not None})
    if not ids:
        flash(_("Belum ada data yang dipilih."), "error")
        if newer:
            flash(str(NEWER_MESSAGE) % {"n": newer}, "info")
        return back
    found = list(
        db.scalars(
            select(Submission)
            .where(Submission.id.in_(ids), queries.scope(user))
            .order_by(Submission.id)
        )
    )
    result = review.decide_many(db, found, user, to_status)
    db.commit()
    background.send_decisions_soon(current_app)
    missing = len(ids) - len(found)
    flash(
        _(
            "%(done)d data diubah menjadi %(status)s.",
            done=len(result.done),
            status=status_text(to_status),
        ),
        "success" if result.done else "info",
    )
    if newer:
        flash(str(NEWER_MESSAGE) % {"n": newer}, "info")
    if result.refused or missing:
        flash(
            _(
                "%(n)d data dilewati (status tidak memungkinkan atau di luar wilayah Anda).",
                n=len(result.refused) + missing,
            ),
            "error",
        )
    return back


@bp.get("/<int:submission_id>/lampiran/<int:attachment_id>")
@role_required(*PERSONAL_DATA_ROLES)
def attachment(submission_id: int, attachment_id: int) -> Response:
    submission = _get_or_404(submission_id)
    att = next((a for a in submission.attachments if a.id == attachment_id), None)
    if att is None or not att.is_downloaded or not att.local_path:
        abort(404)
    # The type comes from whoever submitted the form: only plain images are shown inline, so a
    # file sent as text/html or SVG can never run a script on this site.
    inline = att.is_photo
    mimetype = att.media_type
    response = send_from_directory(
        current_app.config["MEDIA_DIR"],
        att.local_path,
        mimetype=mimetype if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=att.filename or None,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
