"""`python -m kobo_simulator --port 8765 --ppks 100000 --psks 2000 --seed 1`

Generates the scene, then prints one JSON line (base URL, token, asset uids) once it is ready to
serve, and serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from kobo_simulator.core import DEFAULT_TOKEN, KoboSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kobo_simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--ppks", type=int, default=1000, help="PPKS household submissions")
    parser.add_argument("--psks", type=int, default=100, help="PSKS submissions")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    if args.ppks < 0 or args.psks < 0:
        parser.error("--ppks and --psks must not be negative")

    seed: int | str = int(args.seed) if args.seed.isdigit() else args.seed
    sim = KoboSimulator(host=args.host, port=args.port, seed=seed, token=args.token)
    assets = {"ppks": sim.add_asset("ppks"), "psks": sim.add_asset("psks")}
    # Generate in slices so the ids of both forms interleave as uploads from the field would.
    remaining = {"ppks": args.ppks, "psks": args.psks}
    while any(remaining.values()):
        for form, left in remaining.items():
            step = min(
                left, 1000 if form == "ppks" else max(1, 1000 * args.psks // max(1, args.ppks))
            )
            if step:
                sim.generate(assets[form], step)
                remaining[form] -= step
    try:
        base_url = sim.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(
        json.dumps(
            {
                "base_url": base_url,
                "token": sim.token,
                "assets": assets,
                "submissions": {form: sim.count(uid) for form, uid in assets.items()},
            }
        ),
        flush=True,
    )
    done.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
