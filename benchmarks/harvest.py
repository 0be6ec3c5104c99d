"""Harvest benchmark: `babale harvest --once` against the floor, on the project's Kobo simulator.

    .venv/bin/python benchmarks/harvest.py [--households 100000] [--database-url URL]
        [--preparer on|off|both] [--pairs 3]

This process hosts the simulator (so it can count requests); both contenders run as child
processes on equal terms, each into a fresh database:

(a) the floor: fetch the same keyset pages and insert the raw JSON plus one row per member with a
    plain DB-API executemany, one transaction per page;
(b) `babale harvest --once --form ppks` (mapping, quality flags, all tables, watermark, photos).

It prints both times, their ratio, submissions per second, (b)'s peak memory (also at a tenth of
the households, to show memory does not grow with them), and the time and data-request count of
an immediate second run that finds nothing new. Peak memory counts every process of the harvest:
the summed PSS of the command and its descendants (the page preparer), sampled four times a second.

`--preparer` chooses whether (b) maps long runs' pages in a second process (`on`, the default, as
`babale harvest` does) or in the harvest process (`off`); `both` alternates on and off runs,
`--pairs` pairs of them, each pair after its own floor run, and prints every run's figures and
the median of each.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 2.0
TARGET_PEAK_MB = 200
TARGET_NOCHANGE_S = 1.0
TARGET_NOCHANGE_REQUESTS = 2


# --- (a) the floor, run as a child process ---------------------------------------------------


def floor(base_url: str, token: str, asset_uid: str, database_url: str) -> None:
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})
    conn: Any
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        mark = "?"
    else:
        import psycopg

        conn = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        mark = "%s"
    cur = conn.cursor()
    cur.execute("CREATE TABLE raw (kobo_id BIGINT PRIMARY KEY, payload TEXT)")
    cur.execute("CREATE TABLE member (kobo_id BIGINT, pos INT, nik TEXT, nama TEXT)")
    conn.commit()
    after = 0
    while True:
        params = {
            "format": "json",
            "query": json.dumps({"_id": {"$gt": after}}),
            "sort": json.dumps({"_id": 1}),
            "limit": "1000",
            "start": "0",
        }
        url = f"{base_url}/api/v2/assets/{asset_uid}/data/"
        page = session.get(url, params=params, timeout=120).json()
        rows = page["results"]
        if rows:
            cur.executemany(
                f"INSERT INTO raw VALUES ({mark}, {mark})",
                [(r["_id"], json.dumps(r)) for r in rows],
            )
            members = [
                (r["_id"], i, m.get("keluarga/anggota/nik"), m.get("keluarga/anggota/nama"))
                for r in rows
                for i, m in enumerate(r.get("keluarga/anggota") or [], 1)
            ]
            cur.executemany(
                f"INSERT INTO member VALUES ({mark}, {mark}, {mark}, {mark})",
                members,
            )
            conn.commit()
            after = rows[-1]["_id"]
        if not rows or page.get("next") is None:
            break
    conn.close()


# --- the driver --------------------------------------------------------------------------------


# Children report their own peak from /proc/self/status at exit: VmHWM belongs to the process
# image (exec starts it afresh), unlike ru_maxrss, which keeps the pages of the parent that
# forked it: this driver, holding the simulator's 100,000 submissions.
PEAK_REPORTER = (
    "import atexit, sys\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('PEAK_KB ' + line.split()[1] + '\\n')\n"
    "atexit.register(_peak)\n"
)


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(stat.parent.name))
    return tree


def _pss_mb(pid: int) -> float:
    """Proportional set size: pages shared between processes are divided among them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeMemory(threading.Thread):
    """Samples the summed PSS of a process and all its descendants (the page preparer, and
    Python's multiprocessing helper) every quarter second; `peak` is the highest sum seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            tree, pids, todo = _children(), [], [self.pid]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo.extend(tree.get(pid, ()))
            self.peak = max(self.peak, sum(_pss_mb(p) for p in pids))


@dataclass
class ChildRun:
    seconds: float
    peak_mb: float  # the child process's own high-water mark (VmHWM)
    tree_peak_mb: float  # the child and its descendants together (sampled PSS)
    stdout: str


def timed_child(cmd: list[str], env: dict[str, str]) -> ChildRun:
    """Run `python -c CODE ...` with the peak reporter, its memory sampled."""
    if cmd[1] == "-c":
        cmd = [cmd[0], "-c", PEAK_REPORTER + cmd[2], *cmd[3:]]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    memory.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    memory.done.set()
    memory.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[3:6])} failed ({proc.returncode}):\n{stderr[-2000:]}")
    peaks = [int(x.split()[1]) for x in stderr.splitlines() if x.startswith("PEAK_KB ")]
    peak = peaks[-1] / 1024 if peaks else float("nan")
    return ChildRun(seconds, peak, max(memory.peak, peak), stdout)


def fresh_database(base: str | None, workdir: Path, name: str) -> str:
    if not base:
        return f"sqlite:///{workdir / (name + '.db')}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    dbname = f"babale_bench_{name}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    admin.dispose()
    return make_url(base).set(database=dbname).render_as_string(hide_password=False)


def data_pages(sim: Any) -> int:
    return sum(1 for r in sim.requests if r.method == "GET" and r.path.endswith("/data/"))


def harvest_env(sim: object, uid: str, database_url: str, media: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABALE_")}
    env.update(
        BABALE_DATABASE_URL=database_url,
        BABALE_MEDIA_DIR=str(media),
        BABALE_KOBO_URL=sim.base_url,  # type: ignore[attr-defined]
        BABALE_KOBO_TOKEN=sim.token,  # type: ignore[attr-defined]
        BABALE_KOBO_ASSET_PPKS=uid,
    )
    return env


def babale_once(env: dict[str, str], preparer: str = "on") -> tuple[ChildRun, dict[str, object]]:
    cmd = [sys.executable, "-c", "from babale.cli import main; main()", "harvest", "--once"]
    run = timed_child([*cmd, "--form", "ppks", "--preparer", preparer], env)
    return run, json.loads(run.stdout.splitlines()[-1])


def photo_seconds(database_url: str) -> float:
    """How long the run spent on photos: from the end of its data harvest (the run record)
    to the last download."""
    from sqlalchemy import func, select

    from registry import db
    from registry.models import Attachment, HarvestRun

    with db.session_scope(database_url) as s:
        data_done = s.scalar(select(func.max(HarvestRun.finished_at)))
        last_photo = s.scalar(select(func.max(Attachment.downloaded_at)))
    if data_done is None or last_photo is None:
        return 0.0
    return max(0.0, (last_photo - data_done).total_seconds())


@dataclass
class Figures:
    preparer: str
    floor_s: float
    data_s: float
    ratio: float
    peak_mb: float


def run_floor(sim: object, uid: str, base: str | None, workdir: Path, name: str) -> ChildRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABALE_")}
    floor_db = fresh_database(base, workdir, name)
    argv = [__file__, "--floor", sim.base_url, sim.token, uid, floor_db]  # type: ignore[attr-defined]
    floor_code = (
        f"import runpy, sys; sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    return timed_child([sys.executable, "-c", floor_code], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--preparer", choices=["on", "off", "both"], default="on")
    parser.add_argument("--pairs", type=int, default=3, help="with --preparer both")
    parser.add_argument(
        "--floor", nargs=4, metavar=("BASE", "TOKEN", "ASSET", "DB"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.floor:
        floor(*args.floor)
        return

    from kobo_simulator import KoboSimulator

    workdir = Path(tempfile.mkdtemp(prefix="babale-bench-"))
    sim = KoboSimulator(seed=1)
    uid = sim.add_asset("ppks")
    small_uid = sim.add_asset("ppks")
    t0 = time.perf_counter()
    for start in range(0, args.households, 5000):
        sim.generate(uid, min(5000, args.households - start))
    sim.generate(small_uid, max(1, args.households // 10))
    base_url = sim.start()
    members = sum(len(sim.get(uid, i).get("keluarga/anggota") or []) for i in sim.ids(uid)[:2000])
    print(
        f"simulator: {args.households:,} households (~{members / 2000:.2f} members each) "
        f"generated in {time.perf_counter() - t0:.1f} s at {base_url}"
    )
    rounds = [["on", "off"]] * args.pairs if args.preparer == "both" else [[args.preparer]]
    figures: list[Figures] = []
    try:
        for number, modes in enumerate(rounds, start=1):
            floor_run = run_floor(sim, uid, args.database_url, workdir, f"floor{number}")
            floor_s = floor_run.seconds
            print(
                f"(a) floor: {floor_s:.1f} s, {args.households / floor_s:,.0f} subm/s, "
                f"peak {floor_run.peak_mb:.0f} MB"
            )
            for preparer in modes:
                first = number == 1
                figures.append(
                    harvest_once(sim, uid, small_uid, args, workdir, preparer, floor_s, first)
                )
        if args.preparer == "both":
            for preparer in ("on", "off"):
                mine = [f for f in figures if f.preparer == preparer]
                print(
                    f"median of {len(mine)} runs, preparer {preparer}: "
                    f"data {statistics.median(f.data_s for f in mine):.1f} s, "
                    f"ratio {statistics.median(f.ratio for f in mine):.2f}, "
                    f"peak {statistics.median(f.peak_mb for f in mine):.0f} MB "
                    f"(floor median {statistics.median(f.floor_s for f in mine):.1f} s)"
                )
    finally:
        sim.stop()


def harvest_once(
    sim: Any,
    uid: str,
    small_uid: str,
    args: argparse.Namespace,
    workdir: Path,
    preparer: str,
    floor_s: float,
    first: bool,
) -> Figures:
    """One (b) run into a fresh database, with its figures printed; on the first round also
    the small run (memory at a tenth) and the no-change run."""
    tag = f"{preparer}{len(list(workdir.glob('*')))}"
    small = None
    if first:
        small_db = fresh_database(args.database_url, workdir, f"small_{tag}")
        small_env = harvest_env(sim, small_uid, small_db, workdir / f"media-small-{tag}")
        small, _line = babale_once(small_env, preparer)
    main_db = fresh_database(args.database_url, workdir, f"main_{tag}")
    henv = harvest_env(sim, uid, main_db, workdir / f"media-{tag}")
    sim.clear_requests()
    run, line = babale_once(henv, preparer)
    run_s = run.seconds
    attachments = sum(1 for r in sim.requests if "/attachments/" in r.path)
    assert line["new"] == args.households, line
    photos_s = photo_seconds(main_db)
    data_s = run_s - photos_s
    ratio = data_s / floor_s
    at_small = (
        f" ({small.tree_peak_mb:.0f} MB at {args.households // 10:,})" if small is not None else ""
    )
    alone_small = f" ({small.peak_mb:.0f} MB)" if small is not None else ""
    print(
        f"(b) babale harvest --once, preparer {preparer}: {run_s:.1f} s in all, "
        f"{args.households / run_s:,.0f} subm/s, peak memory {run.tree_peak_mb:.0f} MB "
        f"with its children{at_small}; harvest process alone {run.peak_mb:.0f} MB{alone_small}"
    )
    print(
        f"    of which data {data_s:.1f} s ({args.households / data_s:,.0f} subm/s) and "
        f"{attachments:,} house photos {photos_s:.1f} s (the floor fetches no photos)"
    )
    print(f"    ratio (b, data)/(a): {ratio:.2f} (target <= {TARGET_RATIO})")
    verdicts = {"ratio": ratio <= TARGET_RATIO, "peak_memory": run.tree_peak_mb < TARGET_PEAK_MB}
    if first:
        sim.clear_requests()
        again_run, again = babale_once(henv, preparer)
        again_s = again_run.seconds
        pages = data_pages(sim)
        print(
            f"no-change run: {again_s:.2f} s wall (process start included), {pages} data "
            f"request(s), {len(sim.requests)} request(s) in all, fetched {again['fetched']} "
            f"(target <= {TARGET_NOCHANGE_REQUESTS} data requests, < {TARGET_NOCHANGE_S} s)"
        )
        verdicts["no_change_requests"] = pages <= TARGET_NOCHANGE_REQUESTS
        verdicts["no_change_time"] = again_s < TARGET_NOCHANGE_S
    print("targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in verdicts.items()))
    return Figures(preparer, floor_s, data_s, ratio, run.tree_peak_mb)


if __name__ == "__main__":
    main()
