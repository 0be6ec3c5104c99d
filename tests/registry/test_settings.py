"""Every BABALE_* setting comes from one Settings object; a wrong value is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.settings import OSM_TILES, Settings, SettingsError


def test_the_review_app_settings_have_their_defaults(tmp_path):
    settings = Settings.from_env({"BABALE_INSTANCE_DIR": str(tmp_path)})
    assert settings.instance_dir == tmp_path.resolve()
    assert settings.preferred_url_scheme == "http"
    assert settings.behind_proxy is False
    assert settings.login_rate_limit == "10 per minute"
    assert settings.ratelimit_storage_uri == "memory://"
    assert settings.map_tile_url == OSM_TILES
    assert settings.xlsforms_dir is None


def test_the_review_app_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {
            "BABALE_PREFERRED_URL_SCHEME": " HTTPS ",
            "BABALE_BEHIND_PROXY": "1",
            "BABALE_LOGIN_RATE_LIMIT": "5 per minute;50 per day",
            "BABALE_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
            "BABALE_MAP_TILE_URL": "https://tiles.example.id/{z}/{x}/{y}.png",
            "BABALE_XLSFORMS_DIR": str(tmp_path),
        }
    )
    assert settings.preferred_url_scheme == "https"
    assert settings.behind_proxy is True
    assert settings.login_rate_limit == "5 per minute;50 per day"
    assert settings.ratelimit_storage_uri == "redis://127.0.0.1:6379"
    assert settings.map_tile_url == "https://tiles.example.id/{z}/{x}/{y}.png"
    assert settings.xlsforms_dir == Path(tmp_path).resolve()


def test_an_empty_tile_url_means_a_map_without_tiles():
    assert Settings.from_env({"BABALE_MAP_TILE_URL": ""}).map_tile_url == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BABALE_PREFERRED_URL_SCHEME", "ftp"),
        ("BABALE_BEHIND_PROXY", "yes"),
        ("BABALE_LOGIN_RATE_LIMIT", "ten per minute"),
        ("BABALE_LOGIN_RATE_LIMIT", "10 per fortnight"),
        ("BABALE_RATELIMIT_STORAGE_URI", "localhost:6379"),
        ("BABALE_RATELIMIT_STORAGE_URI", "postgres://db"),
        ("BABALE_MAP_TILE_URL", "tile.openstreetmap.org/{z}/{x}/{y}.png"),
        ("BABALE_MAP_TILE_URL", "https://tile.openstreetmap.org/tiles.png"),
        ("BABALE_XLSFORMS_DIR", "/tidak/ada"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_setting(name, value):
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({name: value})
    message = str(exc.value)
    assert name in message and repr(value) in message and "\n" not in message
