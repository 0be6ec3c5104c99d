"""Both forms built once per test session (pyxform + ODK Validate when Java is there)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.xlsforms.xform import XForm
from xlsforms.build import FORMS, SOURCE_DIR, BuildResult, build_form


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
