"""Both forms built once per test session (pyxform + ODK Validate when Java is there)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from surveys.spec import FORMS
from tests.xlsforms.engines import Engine
from tests.xlsforms.xform import XForm
from xlsforms.build import SOURCE_DIR, BuildResult, build_form


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuildResult]:
    out = tmp_path_factory.mktemp("forms")
    return {name: build_form(name, out) for name in FORMS}


@pytest.fixture(scope="session")
def xforms(built: dict[str, BuildResult]) -> dict[str, XForm]:
    for result in built.values():
        assert result.ok, [str(e) for e in result.errors]
    return {name: XForm(result.xml) for name, result in built.items() if result.xml}


@pytest.fixture()
def source_copy(tmp_path: Path) -> Path:
    """A private copy of the source forms, for tests that break them."""
    src = tmp_path / "src"
    src.mkdir()
    for name in FORMS:
        shutil.copy(SOURCE_DIR / f"{name}.xlsx", src / f"{name}.xlsx")
    return src


# --- the real form engines (tests/xlsforms/engines) ---------------------------------------------

ENGINE_NAMES = ("javarosa", "webforms")


def _start_engine(name: str) -> Engine:
    if name == "javarosa":
        from tests.xlsforms.engines.javarosa import JavaRosa, javarosa_missing_reason

        reason = javarosa_missing_reason()
        if reason:
            pytest.skip(f"JavaRosa: {reason}")
        return JavaRosa()
    try:
        from tests.xlsforms.engines.webforms import WebForms, webforms_missing_reason
    except ImportError as exc:  # pragma: no cover - the driver ships with the tests
        pytest.skip(f"ODK Web Forms driver not importable: {exc}")

    reason = webforms_missing_reason()
    if reason:
        pytest.skip(f"ODK Web Forms: {reason}")
    return WebForms()


@pytest.fixture(scope="session", params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each real engine in turn, one child process per session."""
    started = _start_engine(request.param)
    yield started
    started.close()


@pytest.fixture(scope="session")
def javarosa() -> Iterator[Engine]:
    """JavaRosa alone (for what only Collect does, and for instances fed to the harvester)."""
    started = _start_engine("javarosa")
    yield started
    started.close()


@pytest.fixture(scope="session")
def webforms() -> Iterator[Engine]:
    """ODK Web Forms alone (its driver's own tests)."""
    started = _start_engine("webforms")
    yield started
    started.close()


@pytest.fixture(scope="session")
def forms(built: dict[str, BuildResult]) -> dict[str, Path]:
    """The built XForms, by form name."""
    for result in built.values():
        assert result.ok, [str(e) for e in result.errors]
    return {name: result.xml for name, result in built.items() if result.xml}
