"""Fill a source XLSForm: generated choice lists in, {{markers}} replaced; the rest untouched.

The designer's workbook stays what it is (formatting, extra columns, their own lists); only the
managed lists (choices.MANAGED_LISTS) and the markers (rules.MARKERS) come from registry data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from xlsforms.choices import MANAGED_LISTS, ChoiceRow
from xlsforms.issues import FormIssue
from xlsforms.rules import MARKERS

REQUIRED_SHEETS = ("survey", "choices", "settings")
MARKER = re.compile(r"\{\{\s*([\w-]*)\s*\}\}")
_SELECT = re.compile(r"^\s*(select_one|select_multiple)\s+(\S+)")


def _header(ws: Worksheet) -> list[str]:
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    return ["" if v is None else str(v).strip() for v in first]


def _used_lists(survey: Worksheet) -> set[str]:
    header = _header(survey)
    if "type" not in header:
        return set()
    col = header.index("type")
    used = set()
    for values in survey.iter_rows(min_row=2, values_only=True):
        if col < len(values) and isinstance(values[col], str):
            if m := _SELECT.match(values[col]):
                used.add(m.group(2))
    return used


def _replace_markers(ws: Worksheet) -> list[FormIssue]:
    errors = []
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if not isinstance(cell.value, str) or "{{" not in cell.value:
                continue
            unknown = [m for m in MARKER.findall(cell.value) if m not in MARKERS]
            if unknown:
                errors.append(
                    FormIssue(
                        "error",
                        f"unknown build marker {{{{{unknown[0]}}}}} in column "
                        f"{cell.column_letter}; known: {', '.join(sorted(MARKERS))}",
                        ws.title,
                        cell.row,
                    )
                )
                continue
            cell.value = MARKER.sub(lambda m: MARKERS[m.group(1)](), cell.value)
    return errors


def _fill_choices(ws: Worksheet, used: set[str]) -> list[FormIssue]:
    header = _header(ws)
    if "list_name" not in header or "name" not in header:
        return [
            FormIssue("error", "the choices sheet needs list_name and name columns", ws.title, 1)
        ]
    generated = {name: make() for name, make in MANAGED_LISTS.items() if name in used}
    needed = {col for rows in generated.values() for row in rows for col in row}
    for col in sorted(needed - set(header)):
        header.append(col)
        ws.cell(row=1, column=len(header), value=col)
    list_col = header.index("list_name")

    kept: list[list[Any]] = []
    placed: set[str] = set()
    for values in ws.iter_rows(min_row=2, max_col=len(header), values_only=True):
        padded = [*values, *([None] * (len(header) - len(values)))]
        list_name = str(padded[list_col] or "").strip()
        if list_name in MANAGED_LISTS:
            # Placeholder or stale rows: the generated list goes where the first one was.
            if list_name in generated and list_name not in placed:
                kept.extend(_as_values(r, header) for r in generated[list_name])
                placed.add(list_name)
            continue
        kept.append(padded)
    for name, rows in generated.items():
        if name not in placed:
            kept.extend(_as_values(r, header) for r in rows)

    if ws.max_row > 1:
        ws.delete_rows(2, ws.max_row - 1)
    for i, values in enumerate(kept, start=2):
        for j, value in enumerate(values, start=1):
            ws.cell(row=i, column=j, value=value)
    return []


def _as_values(row: ChoiceRow, header: list[str]) -> list[Any]:
    return [row.get(col) for col in header]


def fill(source: Path, dest: Path) -> list[FormIssue]:
    """Write the filled copy of `source` to `dest`; return the errors (nothing written if any)."""
    try:
        wb = load_workbook(source)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        return [FormIssue("error", f"cannot open {source.name} as an .xlsx workbook: {exc}")]
    missing = [s for s in REQUIRED_SHEETS if s not in wb.sheetnames]
    if missing:
        return [FormIssue("error", f"{source.name} has no sheet named {', '.join(missing)}")]
    errors: list[FormIssue] = []
    errors += _replace_markers(wb["survey"])
    errors += _replace_markers(wb["settings"])
    errors += _fill_choices(wb["choices"], _used_lists(wb["survey"]))
    if errors:
        return errors
    wb.save(dest)
    return []
