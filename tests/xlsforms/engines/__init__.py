"""Real form engines, driven from pytest: JavaRosa (ODK Collect, KoboCollect) and ODK Web Forms.

Each engine runs as one long-lived child process per test session that reads one JSON request per
line on stdin and writes one JSON report per line on stdout (protocol below). The
drivers fill a built XForm as an enumerator would; nothing here evaluates XPath itself.

Request:  {"form": "/abs/path/ppks.xml", "steps": [["kunjungan/nama_petugas", "Budi"], ...]}
Report:   {"steps": [{"path", "value", "status", "message", "choices"}...],
           "required_missing": [path...], "constraint_violations": [{"path", "message"}...],
           "complete": bool, "xml": "<data ...>...</data>", "error": null | "text"}

Paths leave out the root element; a repeat instance carries its 1-based index on the repeat's
own segment only: ``keluarga/anggota[2]/nik``. A step's status is one of STATUSES.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENGINES_DIR = Path(__file__).resolve().parent

# answered: the value is in the instance. constraint: refused by the question's constraint (message
# = its constraint message in the form's default language); the value is not kept, as in Collect.
# not_relevant: the question exists but is not asked now. choice_not_offered: a select value not in
# the choices offered at that moment (after choice_filter). invalid_value: not of the question's
# type (e.g. "abc" for an integer). no_such_question: no question has that path.
STATUSES = (
    "answered",
    "constraint",
    "not_relevant",
    "choice_not_offered",
    "invalid_value",
    "no_such_question",
)


@dataclass
class Step:
    path: str
    value: str
    status: str
    message: str | None = None
    choices: list[str] | None = None  # select questions: the names offered when answered


@dataclass
class Fill:
    """What an engine made of one scenario."""

    steps: list[Step]
    required_missing: list[str]
    constraint_violations: list[dict[str, str]]
    complete: bool
    xml: str
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def step(self, path: str) -> Step:
        """The last step that answered `path` (a scenario may answer a question twice)."""
        found = [s for s in self.steps if s.path == path]
        assert found, f"no step for {path}"
        return found[-1]


class EngineError(RuntimeError):
    pass


class Engine:
    """One engine child process; `fill` sends a scenario and waits for its report."""

    name = "engine"

    def __init__(self, argv: Sequence[str], cwd: Path | None = None) -> None:
        self._proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def fill(self, form: Path, steps: Sequence[tuple[str, str]]) -> Fill:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        request = {"form": str(Path(form).resolve()), "steps": [list(s) for s in steps]}
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise EngineError(f"{self.name} exited: {''.join(self._stderr)[-4000:]}")
        raw = json.loads(line)
        return Fill(
            steps=[Step(**s) for s in raw.get("steps", [])],
            required_missing=raw.get("required_missing", []),
            constraint_violations=raw.get("constraint_violations", []),
            complete=bool(raw.get("complete")),
            xml=raw.get("xml", ""),
            error=raw.get("error"),
            raw=raw,
        )

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
