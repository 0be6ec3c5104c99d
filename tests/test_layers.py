"""The packages stack: each imports only the layers below it, and the product never imports the
development packages. Read from the source (every import, including those inside functions), so a
lazy import cannot hide an arrow back up."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top; a package may import those listed for it and nothing else of ours.
BELOW = {
    "surveys": set(),
    "registry": {"surveys"},
    "formserver": {"surveys", "registry"},
    "harvester": {"surveys", "registry", "formserver"},
    "xlsforms": {"surveys", "registry", "formserver"},
    "webapp": {"surveys", "registry", "formserver", "harvester", "xlsforms"},
    "babale": {"surveys", "registry", "formserver", "harvester", "xlsforms", "webapp"},
}
DEVELOPMENT = {"kobo_simulator", "tests", "benchmarks"}
OURS = set(BELOW) | DEVELOPMENT


def imported_packages(package: str) -> dict[str, set[str]]:
    """Our top-level packages imported by each module of `package` (module path -> packages)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        tops: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            tops |= {name.partition(".")[0] for name in names} & OURS
        found[str(path.relative_to(ROOT))] = tops - {package}
    return found


@pytest.mark.parametrize("package", list(BELOW))
def test_each_layer_imports_only_the_layers_below_it(package: str) -> None:
    wrong = {
        module: sorted(tops - BELOW[package])
        for module, tops in imported_packages(package).items()
        if tops - BELOW[package]
    }
    assert wrong == {}, f"{package} may import only {sorted(BELOW[package])}"


def test_every_package_is_placed_in_the_stack() -> None:
    packages = {
        p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "docs"
    }
    assert packages == set(BELOW) | {"kobo_simulator", "tests"}


def test_the_simulator_imports_no_layer_above_the_forms() -> None:
    """The simulator is a Kobo server: it may know the surveys and the reference data (and build
    forms), never the harvester or the app it stands in front of."""
    used = set().union(*imported_packages("kobo_simulator").values())
    assert used <= {"surveys", "registry", "xlsforms"}


@pytest.mark.slow
def test_the_wheel_holds_the_product_and_no_development_package(tmp_path: Path) -> None:
    # Built from a copy, so a stale build/ folder in the checkout cannot leak into the wheel.
    source = tmp_path / "src"
    skip = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "build", "instance", "*.egg-info"
    )
    shutil.copytree(ROOT, source, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("babale-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {
        n.partition("/")[0] for n in names if not n.partition("/")[0].endswith(".dist-info")
    }
    assert packages == set(BELOW)
    assert "xlsforms/ppks.xlsx" in names
    assert "registry/data/wilayah_bengkayang.csv" in names
