"""ODK Web Forms' engine (@getodk/xforms-engine from npm), under Node with jsdom for DOM globals.

The driver is webforms/driver.mjs, run as one long-lived `node` child process per test session.
Its packages are pinned by webforms/package-lock.json and installed into webforms/node_modules
(never committed) by `npm ci` there, which scripts/setup runs (with BABALE_SETUP_BROWSER=1, as
scripts/test sets it). The engine declares Node.js ^20.19.3 || ^22.12 || ^24.11.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence

from tests.xlsforms.engines import DEFAULT_TIMEOUT, ENGINES_DIR, Engine

DRIVER_DIR = ENGINES_DIR / "webforms"
DRIVER = DRIVER_DIR / "driver.mjs"
NODE_MODULES = DRIVER_DIR / "node_modules"
LOCK = DRIVER_DIR / "package-lock.json"
MIN_NODE = (20, 19)
# The packages whose installed version must be the one package-lock.json pins.
PINNED = ("@getodk/xforms-engine", "jsdom")
SETUP = "run scripts/setup (BABALE_SETUP_BROWSER=1, as scripts/test does)"


def _node_version(node: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run(
            [node, "-p", "process.versions.node"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return tuple(int(p) for p in out.strip().split("."))
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _stale_package() -> str | None:
    """A pinned package missing from node_modules or not at the locked version, or None."""
    try:
        locked = json.loads(LOCK.read_text(encoding="utf-8"))["packages"]
    except (OSError, ValueError, KeyError) as exc:
        return f"{LOCK.name} unreadable ({exc})"
    for name in PINNED:
        want = locked.get(f"node_modules/{name}", {}).get("version")
        manifest = NODE_MODULES / name / "package.json"
        try:
            have = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            return f"{name} is not installed in {NODE_MODULES}"
        if have != want:
            return f"{name} {have} is installed, package-lock.json pins {want}"
    return None


def webforms_missing_reason() -> str | None:
    """Why ODK Web Forms cannot run here, or None when it can."""
    node = shutil.which("node")
    if node is None:
        return f"node not found: {SETUP}"
    version = _node_version(node)
    if version is None:
        return f"{node} does not run: {SETUP}"
    if version[:2] < MIN_NODE:
        shown = ".".join(map(str, version))
        return f"Node.js {shown} is older than 20.19, which the engine needs"
    stale = _stale_package()
    if stale:
        return f"{stale}: {SETUP}"
    return None


class WebForms(Engine):
    """@getodk/xforms-engine filling forms in one `node driver.mjs` child process (restarts: see
    `Engine`)."""

    name = "webforms"

    def __init__(self, argv: Sequence[str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        node = [shutil.which("node") or "node", DRIVER.name]
        super().__init__(argv if argv is not None else node, cwd=DRIVER_DIR, timeout=timeout)
