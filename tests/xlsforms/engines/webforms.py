"""ODK Web Forms' engine (@getodk/xforms-engine from npm), under Node with jsdom for DOM globals.

The driver is webforms/driver.mjs; its node_modules come from `npm ci` in that folder
(scripts/setup). The engine declares Node.js ^20.19.3 || ^22.12 || ^24.11.
"""

from __future__ import annotations

import shutil
import subprocess

from tests.xlsforms.engines import ENGINES_DIR, Engine

DRIVER_DIR = ENGINES_DIR / "webforms"
NODE_MODULES = DRIVER_DIR / "node_modules"
MIN_NODE = (20, 19)


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


def webforms_missing_reason() -> str | None:
    """Why ODK Web Forms cannot run here, or None when it can."""
    node = shutil.which("node")
    if node is None:
        return "node not found: run scripts/setup"
    version = _node_version(node)
    if version is None or version[:2] < MIN_NODE:
        return f"Node.js {version} is older than 20.19 (the engine needs it): run scripts/setup"
    engine = NODE_MODULES / "@getodk" / "xforms-engine" / "package.json"
    if not engine.is_file() or not (NODE_MODULES / "jsdom").is_dir():
        return f"{NODE_MODULES} is missing: run scripts/setup"
    return None


class WebForms(Engine):
    name = "webforms"

    def __init__(self) -> None:
        super().__init__([shutil.which("node") or "node", "driver.mjs"], cwd=DRIVER_DIR)
