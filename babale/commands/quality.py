"""`babale quality recheck` and `babale quality report [--json]`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from babale.commands.registry import _database_url, _ready

REPORT_GROUPS = 50  # open duplicate groups listed by the report (all are counted)


@click.group()
def quality() -> None:
    """Quality flags and likely duplicates over the whole registry."""


@quality.command()
@click.option("--no-progress", is_flag=True, help="No progress bar (e.g. in a log).")
def recheck(no_progress: bool) -> None:
    """Run every quality rule again over the stored submissions, then look for likely
    duplicates across the registry. A run that stopped resumes where it stopped."""
    from tqdm import tqdm

    from harvester.lock import AlreadyRunning
    from harvester.recheck import recheck as run_recheck
    from registry import db as registry_db
    from registry.duplicates import Thresholds
    from registry.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    url = _database_url()
    _ready(url)
    bar = tqdm(unit=" pengajuan", disable=no_progress or None, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        result = run_recheck(
            registry_db.session_factory(url),
            limits=Thresholds.of(settings),
            progress=progress,
        )
    except AlreadyRunning as exc:
        click.echo(f"babale quality recheck: {exc}; try again when it has finished", err=True)
        sys.exit(3)
    finally:
        bar.close()
    click.echo(
        json.dumps(
            {
                "run": result.run_id,
                "resumed": result.resumed,
                "checked": result.checked,
                "flags": result.flags,
                "duplicate_groups_opened": result.groups_opened,
                "duplicate_groups_closed": result.groups_closed,
            }
        )
    )


def _report(session: Any) -> dict[str, Any]:
    from registry import adjudication, quality, queries
    from registry.users import cli_actor

    everyone = queries.operator(cli_actor())
    counts = queries.flag_counts(session, everyone)
    flags = [
        {"code": code, "label": quality.CODES.get(code, (None, code, code))[1], **entry}
        for code, entry in counts.items()
    ]
    page = adjudication.page_groups(
        session, everyone, adjudication.GroupStatus.TERBUKA, per_page=REPORT_GROUPS
    )
    by_reason = adjudication.open_reason_counts(session, everyone)
    groups = [
        {
            "id": view.group.id,
            "score": view.group.score,
            "reasons": list(view.group.reasons),
            "members": [
                {
                    "submission_id": m.submission.id,
                    "kobo_id": m.submission.kobo_id,
                    "position": m.position,
                    "kode_desa": m.kode_desa,
                }
                for m in view.members
            ],
        }
        for view in page.items
    ]
    return {
        "flags": flags,
        "duplicates": {"open": page.total, "by_reason": by_reason, "groups": groups},
    }


@quality.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
def report(as_json: bool) -> None:
    """Flags per code over the live submissions, and the open duplicate groups (ids only: no
    names or NIKs in a terminal or a log)."""
    from registry import db as registry_db

    url = _database_url()
    _ready(url)
    with registry_db.session_scope(url) as session:
        data = _report(session)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(f"{'kode':<28} {'tingkat':<11} {'tanda':>8} {'menahan':>8}  keterangan")
    for row in data["flags"]:
        click.echo(
            f"{row['code']:<28} {row['severity']:<11} {row['count']:>8} {row['blocking']:>8}"
            f"  {row['label']}"
        )
    if not data["flags"]:
        click.echo("(tidak ada tanda mutu)")
    dup = data["duplicates"]
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(dup["by_reason"].items()))
    click.echo(
        f"\nkelompok data ganda terbuka: {dup['open']}" + (f" ({reasons})" if reasons else "")
    )
    for g in dup["groups"]:
        members = "; ".join(
            f"pengajuan {m['submission_id']} (Kobo {m['kobo_id']}) anggota ke-{m['position']}"
            for m in g["members"]
        )
        click.echo(f"  #{g['id']} skor {g['score']:.2f} [{', '.join(g['reasons'])}]: {members}")
    if dup["open"] > len(dup["groups"]):
        click.echo(f"  ... dan {dup['open'] - len(dup['groups'])} lagi (lihat /duplikat/)")
