"""JavaRosa, the engine of ODK Collect and KoboCollect, run from the ODK_Validate.jar pyxform ships.

JavaRosaDriver.java (beside this file) is compiled with `javac` against that jar, once per
version of the source and of the jar, into a cache folder under the system temp dir (never into
the repository), then run as one long-lived `java` child process per test session.

Needs a JDK (`javac`), not just a Java runtime: on Debian, `default-jdk-headless`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.xlsforms.engines import DEFAULT_TIMEOUT, ENGINES_DIR, Engine, EngineError

SOURCE = ENGINES_DIR / "JavaRosaDriver.java"
MAIN_CLASS = "JavaRosaDriver"
# Small, short-lived heap needs: the serial collector and a capped heap start fastest on 2 cores.
JVM_OPTIONS = ("-Djava.awt.headless=true", "-Dfile.encoding=UTF-8", "-XX:+UseSerialGC", "-Xmx1g")


def jar() -> Path | None:
    """pyxform's ODK_Validate.jar (JavaRosa, Jackson and their dependencies), if installed."""
    try:
        from pyxform.validators import odk_validate
    except ImportError:
        return None
    path = Path(odk_validate.ODK_VALIDATE_PATH)
    return path if path.is_file() else None


def javarosa_missing_reason() -> str | None:
    """Why the JavaRosa engine cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "java not found (install a JDK, e.g. Debian's default-jdk-headless)"
    if shutil.which("javac") is None:
        return (
            "javac not found: a Java runtime alone cannot compile the driver"
            " (install a JDK, e.g. Debian's default-jdk-headless)"
        )
    if jar() is None:
        return "pyxform's ODK_Validate.jar is missing (pip install pyxform)"
    return None


def _digest(jar_path: Path) -> str:
    h = hashlib.sha256(SOURCE.read_bytes())
    with jar_path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def compile_driver(cache_dir: Path | None = None) -> Path:
    """The folder holding the compiled driver; compiles it unless that version is cached.

    Safe with several test processes at once: each compiles into its own folder and renames it
    into place; a loser of that race uses the winner's classes.
    """
    reason = javarosa_missing_reason()
    if reason:
        raise EngineError(f"JavaRosa: {reason}")
    jar_path = jar()
    assert jar_path is not None
    base = cache_dir or Path(tempfile.gettempdir()) / "babale-javarosa-driver"
    out = base / _digest(jar_path)
    if (out / f"{MAIN_CLASS}.class").is_file():
        return out
    base.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
    try:
        javac = ["javac", "-encoding", "UTF-8", "-nowarn", "-d", str(build), "-cp", str(jar_path)]
        done = subprocess.run(
            [*javac, str(SOURCE)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise EngineError(f"javac failed on {SOURCE.name}:\n{done.stdout}{done.stderr}")
        try:
            os.rename(build, out)
        except OSError:  # another process put the same version in place first
            if not (out / f"{MAIN_CLASS}.class").is_file():
                raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return out


def driver_argv(java: str = "java") -> list[str]:
    """The command line that starts the driver (compiling it first if needed)."""
    classes = compile_driver()
    jar_path = jar()
    assert jar_path is not None
    return [java, *JVM_OPTIONS, "-cp", f"{jar_path}{os.pathsep}{classes}", MAIN_CLASS]


class JavaRosa(Engine):
    """JavaRosa 5.x (as in ODK Collect) filling forms in one `java` child process.

    `JavaRosa()` compiles the driver if needed and starts the JVM (restarts: see `Engine`).
    """

    name = "javarosa"

    def __init__(self, argv: Sequence[str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(argv if argv is not None else driver_argv(), timeout=timeout)

    @classmethod
    def start(cls, timeout: float = DEFAULT_TIMEOUT) -> JavaRosa:
        return cls(timeout=timeout)
