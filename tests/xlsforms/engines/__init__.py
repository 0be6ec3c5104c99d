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
import xml.etree.ElementTree as ET
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

    def statuses(self) -> dict[str, str]:
        """path -> status of the last step that answered it."""
        return {s.path: s.status for s in self.steps}

    def leaves(self, repeats: tuple[str, ...] = ("anggota",)) -> dict[str, str]:
        """The finished instance: path -> text of every leaf, elements named in `repeats`
        indexed as in step paths (``keluarga/anggota[2]/nik``)."""
        return instance_leaves(self.xml, repeats)

    def step(self, path: str) -> Step:
        """The last step that answered `path` (a scenario may answer a question twice)."""
        found = [s for s in self.steps if s.path == path]
        assert found, f"no step for {path}"
        return found[-1]


def instance_leaves(xml: str, repeats: tuple[str, ...] = ("anggota",)) -> dict[str, str]:
    """path -> text of every leaf of an instance (see `Fill.leaves`)."""
    out: dict[str, str] = {}

    def walk(el: ET.Element, prefix: str) -> None:
        seen: dict[str, int] = {}
        for child in el:
            tag = child.tag.split("}")[-1]
            seen[tag] = seen.get(tag, 0) + 1
            name = f"{tag}[{seen[tag]}]" if tag in repeats else tag
            path = f"{prefix}/{name}" if prefix else name
            if len(child):
                walk(child, path)
            else:
                out[path] = child.text or ""

    walk(ET.fromstring(xml), "")  # noqa: S314 - the engine's own output, not a download
    return out


class EngineError(RuntimeError):
    pass


DEFAULT_TIMEOUT = 120.0  # seconds without a report: the engine is taken as hung


class Engine:
    """One engine child process; `fill` sends a scenario and waits for its report.

    A request that gets no report within `timeout` seconds (an engine hang) kills the process and
    raises EngineError; the next request, like any after the process died, starts a fresh one.
    """

    name = "engine"

    def __init__(
        self, argv: Sequence[str], cwd: Path | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._argv = list(argv)
        self._cwd = cwd
        self.timeout = timeout
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            self._argv,
            cwd=self._cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True).start()

    def _drain_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def _close_pipes(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass

    def fill(self, form: Path, steps: Sequence[tuple[str, str]]) -> Fill:
        if self._proc.poll() is not None:  # died or was killed on an earlier request
            self._close_pipes()
            self._start()
        proc, timed_out = self._proc, threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(self.timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            return self._request(form, steps)
        except EngineError:
            if timed_out.is_set():
                proc.wait(timeout=10)
                raise EngineError(
                    f"{self.name}: no report within {self.timeout:g} s; the process was killed"
                    " and the next request starts a new one"
                ) from None
            raise
        finally:
            timer.cancel()

    def _request(self, form: Path, steps: Sequence[tuple[str, str]]) -> Fill:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        request = {"form": str(Path(form).resolve()), "steps": [list(s) for s in steps]}
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise EngineError(f"{self.name} is not running: {exc}") from None
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
                self._proc.wait()
        self._close_pipes()
