"""Question and choice labels read from the XLSForms (xlsforms/ppks.xlsx, psks.xlsx).

Reviewers read "Nomor Kartu Keluarga", not `keluarga/no_kk`. The `survey` sheet gives each
question's data path (groups nest with begin/end rows) and label; the `choices` sheet gives the
labels of select answers. A form that is missing or unreadable falls back to field names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

import xlsforms
from surveys import paths as F

log = logging.getLogger(__name__)
DEFAULT_DIR = Path(xlsforms.__file__).parent
BEGIN = ("begin group", "begin_group", "begin repeat", "begin_repeat")
END = ("end group", "end_group", "end repeat", "end_repeat")
NO_ANSWER = ("note", "start", "end", "today", "deviceid", "username", "phonenumber", "audit")
# Keys Kobo adds to every submission: not answers.
SYSTEM_PREFIXES = ("_", "meta/", "formhub/")
SYSTEM_KEYS = frozenset(
    {"start", "end", "today", "deviceid", "username", "__version__"}
    | set(F.MESSAGE_PATHS_PPKS)  # the calculates that word constraint messages on the phone
    | set(F.MESSAGE_PATHS_PSKS)
)
# Calculated questions carry no label in the forms; reviewers still read words, not names.
UNLABELLED = {
    F.UMUR: _l("Umur (tahun)"),
    F.JENIS_SUBJEK: _l("Jenis subjek"),
}


@dataclass
class FormLabels:
    questions: dict[str, str] = field(default_factory=dict)  # data path -> label
    groups: dict[str, str] = field(default_factory=dict)  # group path -> label
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> value -> label
    order: dict[str, int] = field(default_factory=dict)  # path -> position in the form

    def label(self, path: str) -> str:
        found = self.questions.get(path) or self.groups.get(path)
        if found:
            return found
        if path in UNLABELLED:
            return str(UNLABELLED[path])
        return path.rsplit("/", 1)[-1]

    def answer(self, path: str, value: Any) -> str:
        """A select answer as its labels (space-separated choices for select_multiple)."""
        text = "" if value is None else str(value)
        options = self.choices.get(path)
        if not options:
            return text
        return ", ".join(options.get(part, part) for part in text.split())


def _label_column(header: list[str], lang: str) -> int | None:
    """The label column in `lang` (`label::Indonesia (id)`), else plain `label`, else the
    Indonesian one, else any label column."""
    for wanted in (f"({lang})", None, "(id)", ""):
        for i, name in enumerate(header):
            if wanted is None:
                if name == "label":
                    return i
            elif name.startswith("label") and name.endswith(wanted):
                return i
    return None


def _rows(sheet: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return [], []
    header = [str(c or "").strip().lower() for c in rows[0]]
    return header, rows[1:]


def read_labels(path: Path, lang: str = "id") -> FormLabels:
    """Labels of one XLSForm; empty when the file is missing or not an XLSForm."""
    from openpyxl import load_workbook

    out = FormLabels()
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("no labels from %s: %s", path.name, exc)
        return out
    try:
        if "survey" not in book.sheetnames:
            return out
        choice_lists: dict[str, dict[str, str]] = {}
        if "choices" in book.sheetnames:
            header, rows = _rows(book["choices"])
            lc = _label_column(header, lang)
            if "list_name" in header and "name" in header and lc is not None:
                li, ni = header.index("list_name"), header.index("name")
                for row in rows:
                    if row[li] and row[ni] is not None:
                        choice_lists.setdefault(str(row[li]).strip(), {})[str(row[ni]).strip()] = (
                            str(row[lc] or row[ni]).strip()
                        )
        header, rows = _rows(book["survey"])
        lc = _label_column(header, lang)
        if "type" not in header or "name" not in header:
            return out
        ti, ni = header.index("type"), header.index("name")
        stack: list[str] = []
        for row in rows:
            kind = " ".join(str(row[ti] or "").split()).lower()
            name = str(row[ni] or "").strip()
            label = str(row[lc] or "").strip() if lc is not None and lc < len(row) else ""
            if kind.startswith(BEGIN):
                stack.append(name)
                out.groups["/".join(stack)] = label or name
                continue
            if kind.startswith(END):
                if stack:
                    stack.pop()
                continue
            if not name or not kind or kind.split()[0] in NO_ANSWER:
                continue
            data_path = "/".join([*stack, name])
            if label:
                out.questions[data_path] = label
            out.order[data_path] = len(out.order)
            parts = kind.split()
            if parts[0] in ("select_one", "select_multiple") and len(parts) > 1:
                out.choices[data_path] = choice_lists.get(parts[1], {})
    finally:
        book.close()
    return out


@cache
def _cached(path: str, mtime: float, lang: str) -> FormLabels:
    return read_labels(Path(path), lang)


def labels_for(form: str, directory: str | Path | None = None, lang: str = "id") -> FormLabels:
    """The labels of `form` (ppks or psks) in `lang`, cached until the file changes."""
    path = Path(directory or DEFAULT_DIR) / f"{form}.xlsx"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return FormLabels()
    return _cached(str(path), mtime, lang)


@dataclass
class Section:
    title: str
    answers: list[tuple[str, str]] = field(default_factory=list)  # (label, answer)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


def is_answer(key: str) -> bool:
    return not key.startswith(SYSTEM_PREFIXES) and key not in SYSTEM_KEYS


def describe(
    payload: dict[str, Any],
    labels: FormLabels,
    formatters: Mapping[str, Callable[[str], str]] | None = None,
) -> tuple[list[Section], list[Table]]:
    """Every answer of `payload` with its label, grouped as in the form; repeats as tables.

    `formatters` show some answers better than the form can (wilayah and category codes, whose
    choices are filled in only when the form is built)."""
    formatters = formatters or {}

    def show(path: str, value: Any) -> str:
        if path in formatters and value not in (None, ""):
            return ", ".join(formatters[path](part) for part in str(value).split())
        return labels.answer(path, value)

    position = {k: i for i, k in enumerate(payload)}
    keys = sorted(
        (k for k in payload if is_answer(k)),
        key=lambda k: (labels.order.get(k, len(labels.order)), position[k]),
    )
    sections: dict[str, Section] = {}
    tables: list[Table] = []
    for key in keys:
        value = payload[key]
        group = key.rsplit("/", 1)[0] if "/" in key else ""
        if isinstance(value, list):  # a repeat: a list of dicts with full-path keys
            columns: list[str] = []
            for entry in value:
                for col in entry if isinstance(entry, dict) else ():
                    if col not in columns and is_answer(col) and is_answer(col.rsplit("/", 1)[-1]):
                        columns.append(col)
            columns.sort(key=lambda c: labels.order.get(c, len(labels.order)))
            rows = [[show(c, e.get(c, "")) for c in columns] for e in value if isinstance(e, dict)]
            tables.append(Table(labels.label(key), [labels.label(c) for c in columns], rows))
            continue
        if group not in sections:
            sections[group] = Section(labels.label(group) if group else "")
        sections[group].answers.append((labels.label(key), show(key, value)))
    return list(sections.values()), tables
