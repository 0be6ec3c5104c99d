"""One Settings object read from the environment (BABALE_*). Secrets never appear in repr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from surveys.spec import SURVEYS


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it in one line."""


def instance_dir() -> Path:
    """Where local state lives (SQLite file, media) unless a setting says otherwise."""
    return Path(os.environ.get("BABALE_INSTANCE_DIR", "instance")).resolve()


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DUPLIKAT_NAMA_MIN = 0.85  # likely duplicates: names at least this alike (registry.duplicates)
DUPLIKAT_SKOR_MIN = 0.88  # and the whole score at least this


@dataclass(frozen=True)
class Settings:
    database_url: str
    media_dir: Path
    kobo_url: str | None = None
    kobo_token: str | None = field(default=None, repr=False)
    asset_ppks: str | None = None
    asset_psks: str | None = None
    harvest_interval_minutes: int = 15
    secret_key: str | None = field(default=None, repr=False)
    env: str = "production"
    instance_dir: Path = field(default_factory=instance_dir)
    # The review app.
    preferred_url_scheme: str = "http"  # https: session cookies are sent over HTTPS only
    behind_proxy: bool = False  # trust one proxy's X-Forwarded-For/-Proto/-Host
    login_rate_limit: str = "10 per minute"  # failed logins per address (Flask-Limiter syntax)
    ratelimit_storage_uri: str = "memory://"  # where the login counters live (limits storage)
    map_tile_url: str = OSM_TILES  # "" for no map tiles (offline)
    xlsforms_dir: Path | None = None  # the forms whose labels the app shows (default xlsforms/)
    duplikat_nama_min: float = DUPLIKAT_NAMA_MIN
    duplikat_skor_min: float = DUPLIKAT_SKOR_MIN

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        inst = Path(env.get("BABALE_INSTANCE_DIR", "instance")).resolve()
        database_url = env.get("BABALE_DATABASE_URL") or f"sqlite:///{inst / 'babale.db'}"
        if "://" not in database_url:
            raise SettingsError(
                f"BABALE_DATABASE_URL is not a database URL: {database_url!r} "
                "(expected sqlite:///path or postgresql+psycopg://user@host/db)"
            )
        interval_raw = env.get("BABALE_HARVEST_INTERVAL", "15")
        try:
            interval = int(interval_raw)
        except ValueError:
            raise SettingsError(
                f"BABALE_HARVEST_INTERVAL must be a whole number of minutes, got {interval_raw!r}"
            ) from None
        if interval < 1:
            raise SettingsError(
                f"BABALE_HARVEST_INTERVAL must be at least 1 minute, got {interval}"
            )
        kobo_url = (env.get("BABALE_KOBO_URL") or "").strip().rstrip("/") or None
        if kobo_url:
            parsed = urlparse(kobo_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise SettingsError(
                    f"BABALE_KOBO_URL must be an http(s) URL such as https://kf.kobotoolbox.org, "
                    f"got {kobo_url!r}"
                )
        return cls(
            database_url=database_url,
            media_dir=Path(env.get("BABALE_MEDIA_DIR") or inst / "media").resolve(),
            kobo_url=kobo_url,
            kobo_token=(env.get("BABALE_KOBO_TOKEN") or "").strip() or None,
            asset_ppks=(env.get("BABALE_KOBO_ASSET_PPKS") or "").strip() or None,
            asset_psks=(env.get("BABALE_KOBO_ASSET_PSKS") or "").strip() or None,
            harvest_interval_minutes=interval,
            secret_key=env.get("BABALE_SECRET_KEY") or None,
            env=env.get("BABALE_ENV", "production"),
            instance_dir=inst,
            duplikat_nama_min=_fraction(env, "BABALE_DUPLIKAT_NAMA_MIN", DUPLIKAT_NAMA_MIN),
            duplikat_skor_min=_fraction(env, "BABALE_DUPLIKAT_SKOR_MIN", DUPLIKAT_SKOR_MIN),
            **_web_settings(env),
        )

    def require_kobo(self) -> tuple[str, str]:
        """The Kobo URL and token, or a SettingsError naming the missing one."""
        if not self.kobo_url:
            raise SettingsError("BABALE_KOBO_URL is not set (e.g. https://kf.kobotoolbox.org)")
        if not self.kobo_token:
            raise SettingsError("BABALE_KOBO_TOKEN is not set (Kobo: Account Settings > Security)")
        return self.kobo_url, self.kobo_token

    def asset_uid(self, form: str) -> str:
        """The Kobo asset uid for form ``ppks`` or ``psks``, or a SettingsError naming it."""
        uid = {"ppks": self.asset_ppks, "psks": self.asset_psks}.get(form)
        if not uid:
            raise SettingsError(f"{SURVEYS[form].asset_setting} is not set (the Kobo asset uid)")
        return uid


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise SettingsError(
            f"{name} must be a number above 0 and at most 1 (e.g. 0.85), got {raw!r}"
        )
    return value


def _web_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The review app's settings (BABALE_PREFERRED_URL_SCHEME ... BABALE_XLSFORMS_DIR)."""
    from limits import parse_many
    from limits.storage import SCHEMES

    scheme = (env.get("BABALE_PREFERRED_URL_SCHEME") or "http").strip().lower() or "http"
    if scheme not in ("http", "https"):
        raise SettingsError(f"BABALE_PREFERRED_URL_SCHEME must be http or https, got {scheme!r}")
    proxy = (env.get("BABALE_BEHIND_PROXY") or "0").strip()
    if proxy not in ("0", "1"):
        raise SettingsError(f"BABALE_BEHIND_PROXY must be 1 (behind a proxy) or 0, got {proxy!r}")
    rate = (env.get("BABALE_LOGIN_RATE_LIMIT") or "").strip() or "10 per minute"
    try:
        parse_many(rate)
    except ValueError:
        raise SettingsError(
            f"BABALE_LOGIN_RATE_LIMIT must be a rate such as '10 per minute', got {rate!r}"
        ) from None
    storage = (env.get("BABALE_RATELIMIT_STORAGE_URI") or "").strip() or "memory://"
    if storage.partition("://")[0] not in SCHEMES or "://" not in storage:
        raise SettingsError(
            "BABALE_RATELIMIT_STORAGE_URI must be a limits storage URI such as memory:// or "
            f"redis://host:6379, got {storage!r}"
        )
    # Set but empty means no tiles (a map without background, e.g. offline).
    tiles = env.get("BABALE_MAP_TILE_URL", OSM_TILES).strip()
    if tiles and (
        urlparse(tiles).scheme not in ("http", "https")
        or not all(part in tiles for part in ("{z}", "{x}", "{y}"))
    ):
        raise SettingsError(
            "BABALE_MAP_TILE_URL must be an http(s) tile URL with {z}, {x} and {y} "
            f"(or empty for no tiles), got {tiles!r}"
        )
    forms = (env.get("BABALE_XLSFORMS_DIR") or "").strip()
    if forms and not Path(forms).is_dir():
        raise SettingsError(f"BABALE_XLSFORMS_DIR is not a folder: {forms!r}")
    return {
        "preferred_url_scheme": scheme,
        "behind_proxy": proxy == "1",
        "login_rate_limit": rate,
        "ratelimit_storage_uri": storage,
        "map_tile_url": tiles,
        "xlsforms_dir": Path(forms).resolve() if forms else None,
    }
