"""Fixtures for harvester tests: a Kobo API v2 simulator on 127.0.0.1 (real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kobo_simulator import KoboSimulator


@pytest.fixture
def kobo() -> Iterator[KoboSimulator]:
    """A running simulator (free port, seed 0, token `kobo.token`), stopped after the test.

    Arrange a scene with its Python API: `uid = kobo.add_asset("ppks")`,
    `kobo.generate(uid, 250)`, `kobo.faults.error(503, path="/data/$", times=2)`, ...
    Fails the test if the simulator itself crashed on a request (`kobo.errors`).
    """
    sim = KoboSimulator(seed=0)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
    if sim.errors:
        pytest.fail("the Kobo simulator failed on a request:\n" + sim.errors[-1], pytrace=False)
