"""Errors and warnings of a form build, each tied to a sheet and row of the XLSForm when known.

pyxform names the row in most messages ("[row : 12] On the 'survey' sheet, ..."), but not all
(an unknown ${name}, ODK Validate's XPath errors). For those we look the name up in the filled
workbook, so that a designer always learns where to look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openpyxl import load_workbook

Level = Literal["error", "warning"]

_PYXFORM_ROW = re.compile(r"\[row\s*:\s*(\d+)\]\s*")
_PYXFORM_SHEET = re.compile(r"[Oo]n the '(\w+)' sheet,?\s*")
_REFERENCE = re.compile(r"\$\{(\w+)\}")
_XPATH_NODE = re.compile(r"/\w+((?:/[\w.-]+)+)")  # /data/group/name -> /group/name
_QUOTED = re.compile(r"'([\w.-]+)'")
_FIELD = re.compile(r"(?:field|node) \[?'?\$?\{?([\w.-]+)")  # how ODK Validate names the node


@dataclass(frozen=True)
class FormIssue:
    level: Level
    message: str
    sheet: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = []
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.row:
            where.append(f"row {self.row}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{self.level}: {prefix}{self.message}"


class WorkbookIndex:
    """Where names and text sit in an XLSForm: for messages that do not say."""

    def __init__(self, path: Path) -> None:
        wb = load_workbook(path, read_only=True, data_only=True)
        self.cells: dict[str, list[tuple[int, list[str]]]] = {}
        self.names: dict[str, int] = {}
        try:
            for ws in wb.worksheets:
                rows = [
                    (i, ["" if v is None else str(v) for v in values])
                    for i, values in enumerate(ws.iter_rows(values_only=True), start=1)
                ]
                self.cells[ws.title] = rows
            survey = self.cells.get("survey", [])
            if survey:
                header = [h.strip() for h in survey[0][1]]
                if "name" in header:
                    col = header.index("name")
                    for i, values in survey[1:]:
                        if col < len(values) and values[col].strip():
                            self.names.setdefault(values[col].strip(), i)
        finally:
            wb.close()

    def row_of_name(self, name: str) -> int | None:
        return self.names.get(name)

    def first_containing(self, text: str) -> tuple[str, int] | None:
        for sheet, rows in self.cells.items():
            for i, values in rows[1:]:
                if any(text in v for v in values):
                    return sheet, i
        return None


_NOISE = (">>", "The following files", "Result:", "Caused by", "...", "at ")
_BAD_NODE = re.compile(r",?\s*Bad node: \S+")


def _validate_summary(message: str) -> str:
    """The two lines of ODK Validate's output that say what is wrong (no Java noise)."""
    lines = []
    for line in message.splitlines():
        line = _BAD_NODE.sub("", line.strip()).lstrip(": ").strip()
        if not line or line.startswith(_NOISE) or line.endswith(".xml") or "ODK Validate" in line:
            continue
        if line not in lines:
            lines.append(line)
    return " ".join(lines[:2]) if lines else " ".join(message.split())


def from_pyxform(level: Level, message: str, index: WorkbookIndex | None) -> FormIssue:
    """A pyxform (or ODK Validate) message as a FormIssue with sheet and row where findable."""
    text = " ".join(message.split())
    row: int | None = None
    sheet: str | None = None
    if m := _PYXFORM_ROW.search(text):
        row = int(m.group(1))
        text = _PYXFORM_ROW.sub("", text, count=1)
    if m := _PYXFORM_SHEET.search(text):
        sheet = m.group(1)
        text = _PYXFORM_SHEET.sub("", text, count=1)
        text = text[:1].upper() + text[1:]
    if row is not None and sheet is None:
        sheet = "survey"  # pyxform's unnamed rows are survey rows
    if row is None and index is not None:
        sheet, row = _locate(text, index)
    return FormIssue(level, text.strip(), sheet, row)


def _locate(text: str, index: WorkbookIndex) -> tuple[str | None, int | None]:
    for name in _FIELD.findall(text):
        if (row := index.row_of_name(name)) is not None:
            return "survey", row
    for ref in reversed(_REFERENCE.findall(text)):  # the last one is the node in question
        if (row := index.row_of_name(ref)) is not None:  # ODK Validate: ${b} is node b
            return "survey", row
        if hit := index.first_containing("${" + ref + "}"):
            return hit
    for path in _XPATH_NODE.findall(text):
        name = path.rstrip("/").rsplit("/", 1)[-1].split("[", 1)[0]
        if (row := index.row_of_name(name)) is not None:
            return "survey", row
    for name in _QUOTED.findall(text):
        if (row := index.row_of_name(name)) is not None:
            return "survey", row
    return None, None


def from_validate(level: Level, message: str, index: WorkbookIndex | None) -> FormIssue:
    """ODK Validate output (several lines of Java noise) as one located issue."""
    issue = from_pyxform(level, _validate_summary(message), index)
    return FormIssue(level, "ODK Validate: " + issue.message, issue.sheet, issue.row)
