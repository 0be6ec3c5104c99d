"""`babale forms deploy` against the project's Kobo simulator, over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from babale.cli import main
from kobo_simulator import DEFAULT_TOKEN, KoboSimulator
from registry import wilayah
from surveys import paths as fields

pytestmark = pytest.mark.slow  # each deploy builds the forms (ODK Validate runs in a JVM)


@pytest.fixture()
def kobo() -> Iterator[KoboSimulator]:
    """A Kobo server with no assets yet, whose imports still answer "processing" once."""
    with KoboSimulator(seed=9) as sim:
        sim.import_polls = 1
        yield sim
    if sim.errors:
        pytest.fail("the Kobo simulator failed on a request:\n" + sim.errors[-1], pytrace=False)


def _deploy(
    tmp_path: Path,
    url: str,
    *,
    token: str = DEFAULT_TOKEN,
    asset: str | None = None,
    form: str = "ppks",
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


def _deployments(kobo: KoboSimulator) -> list[str]:
    """The methods of the requests to a deployment endpoint, in order."""
    return [r.method for r in kobo.requests if r.path.endswith("/deployment/")]


def test_first_deploy_creates_the_asset_and_deploys_it(tmp_path: Path, kobo: KoboSimulator):
    result = _deploy(tmp_path, kobo.base_url)
    assert result.exit_code == 0, result.output
    (uid,) = kobo.store.assets
    asset = kobo.asset(uid)
    assert result.stdout.strip() == uid, "stdout is the asset uid alone (for scripts)"
    assert asset.deployed_version_id == asset.version_id
    # One POST, and with active=true (kpi's default is false): the form is open for data.
    assert _deployments(kobo) == ["POST"] and asset.deployment_status == "deployed"
    assert f"BABALE_KOBO_ASSET_PPKS={uid}" in result.stderr

    (upload,) = kobo.imports.values()
    assert upload.data["library"] is False and asset.asset_type == "survey"
    assert upload.data["destination"] is None and "created" in upload.messages
    assert upload.data["filename"] == "ppks.xlsx"
    # What went up is the built form: choices filled from registry/data, contract names present.
    assert len(asset.spec.choices["desa"]) == len(wilayah.desa())
    assert fields.NIK in asset.spec.questions
    # The import was polled until it completed, then the asset read for its version.
    assert [r.method for r in kobo.requests if r.path.startswith("/api/v2/imports/i")] == [
        "GET",
        "GET",
    ]


def test_redeploy_updates_the_configured_asset(tmp_path: Path, kobo: KoboSimulator):
    first = _deploy(tmp_path, kobo.base_url, form="psks")
    assert first.exit_code == 0, first.output
    uid = first.stdout.strip()
    first_version = kobo.asset(uid).version_id

    again = _deploy(tmp_path, kobo.base_url, asset=uid, form="psks")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == uid
    assert list(kobo.store.assets) == [uid], "a redeploy must not create a second asset"
    asset = kobo.asset(uid)
    assert asset.version_id != first_version
    # Redeployed by PATCH naming the new version (a PATCH of `active` alone only unarchives).
    assert _deployments(kobo) == ["POST", "PATCH"]
    assert asset.deployed_version_id == asset.version_id
    assert asset.deployment_status == "deployed"
    upload = list(kobo.imports.values())[-1]
    assert upload.data["destination"] == f"{kobo.base_url}/api/v2/assets/{uid}/"
    assert "updated" in upload.messages
    assert "BABALE_KOBO_ASSET_PSKS=" not in again.stderr


def test_wrong_token_is_one_clear_line(tmp_path: Path, kobo: KoboSimulator):
    result = _deploy(tmp_path, kobo.base_url, token="not-the-token")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "401" in line and "BABALE_KOBO_TOKEN" in line
    assert "not-the-token" not in result.output
    assert kobo.store.assets == {}


def test_unreachable_server_is_one_clear_line(tmp_path: Path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _deploy(tmp_path, f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "cannot reach Kobo" in line and str(port) in line
    assert "Traceback" not in result.output


def test_unknown_asset_uid_is_one_clear_line(tmp_path: Path, kobo: KoboSimulator):
    result = _deploy(tmp_path, kobo.base_url, asset="aNoSuchAsset")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "404" in line and "asset" in line
    assert kobo.imports == {}, "nothing is uploaded to a uid that does not exist"


def test_failed_import_is_reported_and_not_deployed(tmp_path: Path, kobo: KoboSimulator):
    kobo.import_error = "[row : 3] Invalid type"  # Kobo's importer refuses what ours built
    result = _deploy(tmp_path, kobo.base_url)
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "could not import" in line and "Invalid type" in line
    (upload,) = kobo.imports.values()
    assert upload.messages == {"error": "[row : 3] Invalid type", "error_type": "PyXFormError"}
    assert _deployments(kobo) == [] and kobo.store.assets == {}


def test_missing_kobo_url_is_one_clear_line(tmp_path: Path):
    result = _deploy(tmp_path, "")
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert "BABALE_KOBO_URL" in line
