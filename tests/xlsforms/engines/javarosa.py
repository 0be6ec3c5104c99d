"""JavaRosa, the engine of ODK Collect and KoboCollect, from the ODK_Validate.jar pyxform ships.

The driver (JavaRosaDriver.java) is compiled once per source version into a cache folder outside
the repository; `javac` comes from a JDK (scripts/setup installs one where only a JRE is present).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from pyxform.validators import odk_validate

from tests.xlsforms.engines import ENGINES_DIR, Engine

SOURCE = ENGINES_DIR / "JavaRosaDriver.java"


def jar() -> Path:
    return Path(odk_validate.ODK_VALIDATE_PATH)


def javarosa_missing_reason() -> str | None:
    """Why JavaRosa cannot run here, or None when it can."""
    if shutil.which("java") is None or shutil.which("javac") is None:
        return "java/javac not found: scripts/setup installs a JDK (default-jdk-headless)"
    if not jar().is_file():
        return f"pyxform's ODK_Validate.jar is missing at {jar()}"
    return None


def _compiled() -> Path:
    digest = hashlib.sha256(SOURCE.read_bytes() + str(jar().stat().st_size).encode()).hexdigest()
    out = Path(tempfile.gettempdir()) / f"babale-javarosa-{digest[:16]}"
    if not (out / "JavaRosaDriver.class").is_file():
        build = Path(tempfile.mkdtemp(prefix="babale-javarosa-build-"))
        subprocess.run(
            ["javac", "-encoding", "UTF-8", "-d", str(build), "-cp", str(jar()), str(SOURCE)],
            check=True,
            capture_output=True,
        )
        shutil.rmtree(out, ignore_errors=True)
        build.rename(out)
    return out


class JavaRosa(Engine):
    name = "javarosa"

    def __init__(self) -> None:
        classes = _compiled()
        super().__init__(["java", "-cp", f"{jar()}:{classes}", "JavaRosaDriver"])
