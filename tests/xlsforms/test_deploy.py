"""`babale forms deploy` against a local HTTP double of Kobo's import and deployment endpoints."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from babale.cli import main
from registry import wilayah
from surveys import paths as fields
from tests.xlsforms.kobo_double import TOKEN, KoboDouble

pytestmark = pytest.mark.slow  # each deploy builds the forms (ODK Validate runs in a JVM)


@pytest.fixture()
def kobo() -> Iterator[KoboDouble]:
    with KoboDouble() as double:
        yield double


def _deploy(
    tmp_path: Path, url: str, *, token: str = TOKEN, asset: str | None = None, form: str = "ppks"
) -> Result:
    env = {
        "BABALE_KOBO_URL": url,
        "BABALE_KOBO_TOKEN": token,
        "BABALE_KOBO_ASSET_PPKS": asset if form == "ppks" else None,
        "BABALE_KOBO_ASSET_PSKS": asset if form == "psks" else None,
    }
    return CliRunner().invoke(
        main, ["forms", "deploy", form, "--build-dir", str(tmp_path / "build")], env=env
    )


def _error_lines(result: Result) -> list[str]:
    """The error lines (the rest of stderr is the build's progress)."""
    assert "Traceback" not in result.output
    return [line for line in result.stderr.splitlines() if line.startswith("Error")]


def test_first_deploy_creates_the_asset_and_deploys_it(tmp_path: Path, kobo: KoboDouble):
    result = _deploy(tmp_path, kobo.url)
    assert result.exit_code == 0, result.output
    assert len(kobo.assets) == 1
    asset = next(iter(kobo.assets.values()))
    assert result.stdout.strip() == asset.uid, "stdout is the asset uid alone (for scripts)"
    assert asset.deployed_version_id == asset.version_id
    assert asset.deploy_calls == [("POST", {"active": True})]
    assert f"BABALE_KOBO_ASSET_PPKS={asset.uid}" in result.stderr

    (upload,) = kobo.uploads
    assert upload.fields["library"] == "false"
    assert "destination" not in upload.fields
    assert upload.filename == "ppks.xlsx"
    # What went up is the built form: choices filled from registry/data, contract names present.
    assert upload.choice_count("desa") == len(wilayah.desa())
    assert fields.NIK.rsplit("/", 1)[-1] in upload.survey_names()
    # The import was polled until it completed, then the asset read for its version.
    assert [m for m, p in kobo.requests if p.startswith("/api/v2/imports/i")] == ["GET", "GET"]


def test_redeploy_updates_the_configured_asset(tmp_path: Path, kobo: KoboDouble):
    first = _deploy(tmp_path, kobo.url, form="psks")
    assert first.exit_code == 0, first.output
    uid = first.stdout.strip()
    first_version = kobo.assets[uid].version_id

    again = _deploy(tmp_path, kobo.url, asset=uid, form="psks")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == uid
    assert list(kobo.assets) == [uid], "a redeploy must not create a second asset"
    asset = kobo.assets[uid]
    assert asset.version_id != first_version
    assert asset.deploy_calls[-1] == ("PATCH", {"version_id": asset.version_id, "active": True})
    assert asset.deployed_version_id == asset.version_id
    assert kobo.uploads[-1].fields["destination"] == f"{kobo.url}/api/v2/assets/{uid}/"
    assert "BABALE_KOBO_ASSET_PSKS=" not in again.stderr


def test_wrong_token_is_one_clear_line(tmp_path: Path, kobo: KoboDouble):
    result = _deploy(tmp_path, kobo.url, token="not-the-token")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "401" in line and "BABALE_KOBO_TOKEN" in line
    assert "not-the-token" not in result.output
    assert kobo.assets == {}


def test_unreachable_server_is_one_clear_line(tmp_path: Path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _deploy(tmp_path, f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "cannot reach Kobo" in line and str(port) in line
    assert "Traceback" not in result.output


def test_unknown_asset_uid_is_one_clear_line(tmp_path: Path, kobo: KoboDouble):
    result = _deploy(tmp_path, kobo.url, asset="aNoSuchAsset")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "404" in line and "asset" in line
    assert kobo.uploads == [], "nothing is uploaded to a uid that does not exist"


def test_failed_import_is_reported_and_not_deployed(tmp_path: Path):
    with KoboDouble(import_error="[row : 3] Invalid type") as kobo:
        result = _deploy(tmp_path, kobo.url)
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "could not import" in line and "Invalid type" in line
    assert all(not a.deploy_calls for a in kobo.assets.values())


def test_missing_kobo_url_is_one_clear_line(tmp_path: Path):
    result = _deploy(tmp_path, "")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "BABALE_KOBO_URL" in line
