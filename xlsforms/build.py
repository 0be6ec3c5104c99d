"""Build one survey: fill the XLSForm from registry data, convert with pyxform, run ODK Validate.

Everything happens in a temporary folder next to the output; the .xlsx and .xml are moved into
place only when the whole build succeeded, so a broken form is never left looking like a good one
(and an older good build of that form is removed, since it no longer matches the source).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pyxform.errors import PyXFormError
from pyxform.validators import odk_validate
from pyxform.xls2xform import convert

from xlsforms import workbook
from xlsforms.issues import FormIssue, WorkbookIndex, from_pyxform, from_validate

SOURCE_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = Path("build/forms")


@dataclass
class BuildResult:
    name: str
    xlsx: Path | None = None  # set only on success
    xml: Path | None = None
    errors: list[FormIssue] = field(default_factory=list)
    warnings: list[FormIssue] = field(default_factory=list)
    validated: bool = False  # ODK Validate ran and passed
    validate_skipped: str | None = None  # why ODK Validate did not run
    removed: list[Path] = field(default_factory=list)  # stale outputs deleted after a failure

    @property
    def ok(self) -> bool:
        return not self.errors


def java_missing_reason() -> str | None:
    """Why ODK Validate cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "java not found (install a Java runtime, e.g. Debian's default-jre-headless)"
    if not odk_validate.install_exists():
        return "pyxform's ODK_Validate.jar is missing"
    return None


def _convert(filled: Path, xml_out: Path, result: BuildResult, index: WorkbookIndex) -> bool:
    warnings: list[str] = []
    try:
        converted = convert(str(filled), warnings=warnings, validate=False, pretty_print=True)
    except PyXFormError as exc:
        result.errors.append(from_pyxform("error", str(exc), index))
        return False
    except Exception as exc:  # pyxform lets some plain exceptions through (bad cell types)
        result.errors.append(from_pyxform("error", f"{type(exc).__name__}: {exc}", index))
        return False
    result.warnings += [from_pyxform("warning", w, index) for w in warnings]
    xml_out.write_text(converted.xform, encoding="utf-8")
    return True


def _validate(xml: Path, result: BuildResult, index: WorkbookIndex, validate: bool | None) -> bool:
    reason = java_missing_reason()
    if validate is False:
        result.validate_skipped = "not requested"
        return True
    if reason:
        if validate:  # asked for explicitly: not being able to is an error
            result.errors.append(FormIssue("error", f"cannot run ODK Validate: {reason}"))
            return False
        result.validate_skipped = reason
        return True
    try:
        messages = odk_validate.check_xform(str(xml))
    except odk_validate.ODKValidateError as exc:
        result.errors.append(from_validate("error", str(exc), index))
        return False
    result.warnings += [from_validate("warning", m, index) for m in messages]
    result.validated = True
    return True


def build_form(
    name: str,
    out_dir: Path | str = DEFAULT_OUT,
    *,
    source_dir: Path | str = SOURCE_DIR,
    validate: bool | None = None,
) -> BuildResult:
    """Build `<source_dir>/<name>.xlsx` into `<out_dir>/<name>.xlsx` and `<out_dir>/<name>.xml`.

    validate: None runs ODK Validate when Java is present; True requires it; False skips it.
    """
    result = BuildResult(name)
    source = Path(source_dir) / f"{name}.xlsx"
    out = Path(out_dir)
    if not source.is_file():
        result.errors.append(FormIssue("error", f"no source form {source}"))
        return result
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out))
    try:
        filled, xml = work / f"{name}.xlsx", work / f"{name}.xml"
        result.errors += workbook.fill(source, filled)
        if result.ok:
            index = WorkbookIndex(filled)
            if _convert(filled, xml, result, index):
                _validate(xml, result, index, validate)
        if result.ok:
            result.xlsx, result.xml = out / filled.name, out / xml.name
            os.replace(filled, result.xlsx)
            os.replace(xml, result.xml)
        else:
            for stale in (out / filled.name, out / xml.name):
                if stale.exists():
                    stale.unlink()
                    result.removed.append(stale)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result
