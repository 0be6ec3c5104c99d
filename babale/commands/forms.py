"""`babale forms build` and `babale forms deploy`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from xlsforms.build import BuildResult

FORM_NAMES = ("ppks", "psks")
DEFAULT_OUT = "build/forms"


@click.group()
def forms() -> None:
    """Build and deploy the PPKS and PSKS XLSForms."""


def _report(result: BuildResult, *, quiet: bool = False) -> bool:
    """Print one build's issues and outcome; True when it succeeded.

    quiet: the success line goes to stderr too (deploy keeps stdout for the asset uid).
    """
    for issue in result.errors + result.warnings:
        click.echo(f"{result.name}.xlsx: {issue}", err=True)
    for path in result.removed:
        click.echo(f"{result.name}: removed the stale {path}", err=True)
    if not result.ok:
        click.echo(
            f"{result.name}: FAILED ({len(result.errors)} error(s)); nothing written", err=True
        )
        return False
    check = (
        "ODK Validate passed"
        if result.validated
        else f"ODK Validate skipped: {result.validate_skipped}"
    )
    click.echo(f"{result.name}: {result.xlsx} and {result.xml} ({check})", err=quiet)
    return True


@forms.command("build")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for the filled .xlsx and the XForm .xml.",
)
@click.option(
    "--form",
    "form_names",
    type=click.Choice(FORM_NAMES),
    multiple=True,
    help="Build only this form (repeatable). Default: all.",
)
@click.option(
    "--src",
    "source_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder holding the source ppks.xlsx/psks.xlsx (default: xlsforms/).",
)
def build_cmd(out_dir: Path, form_names: tuple[str, ...], source_dir: Path | None) -> None:
    """Fill the forms from registry/data, convert with pyxform and run ODK Validate."""
    from xlsforms.build import SOURCE_DIR, build_form

    ok = True
    for name in form_names or FORM_NAMES:
        result = build_form(name, out_dir, source_dir=source_dir or SOURCE_DIR)
        ok = _report(result) and ok
    if not ok:
        raise SystemExit(1)


@forms.command("deploy")
@click.argument("form_name", metavar="ppks|psks", type=click.Choice(FORM_NAMES))
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Where the form is built before upload.",
)
def deploy_cmd(form_name: str, build_dir: Path) -> None:
    """Build the form, upload it to Kobo and deploy it; print the asset uid.

    Uses BABALE_KOBO_URL and BABALE_KOBO_TOKEN; updates the asset BABALE_KOBO_ASSET_PPKS or
    BABALE_KOBO_ASSET_PSKS when set, otherwise creates a new one.
    """
    from formserver.kobo import KoboClient, KoboError
    from registry.settings import Settings, SettingsError
    from xlsforms.build import build_form
    from xlsforms.deploy import DeployError, deploy_form

    try:
        settings = Settings.from_env()
        url, token = settings.require_kobo()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    asset_uid = {"ppks": settings.asset_ppks, "psks": settings.asset_psks}[form_name]

    # Always deploy what the source says now, never an older file lying in the build folder.
    result = build_form(form_name, build_dir)
    if not _report(result, quiet=True) or result.xlsx is None:
        raise SystemExit(1)

    # An interactive command: fail within seconds rather than retry for minutes.
    with KoboClient(url, token, retries=2, backoff=0.5, timeout=(10.0, 120.0)) as client:
        try:
            deployed = deploy_form(client, result.xlsx, asset_uid=asset_uid)
        except (KoboError, DeployError) as exc:
            raise click.ClickException(str(exc)) from None
    how = "first deployment" if deployed.first_deployment else "redeployed"
    click.echo(
        f"{form_name}: Kobo asset {deployed.asset_uid} {how} (version {deployed.version_id})",
        err=True,
    )
    if deployed.created:
        click.echo(
            f"{form_name}: new asset; set "
            f"BABALE_KOBO_ASSET_{form_name.upper()}={deployed.asset_uid} "
            "so that the next deploy updates it",
            err=True,
        )
    click.echo(deployed.asset_uid)
