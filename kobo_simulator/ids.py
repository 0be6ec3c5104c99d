"""Kobo-style identifiers drawn from a seeded generator, so a scene is the same on every run."""

from __future__ import annotations

import random
import uuid

# ShortUUID's alphabet (no 0/1/I/O/l), which kpi uses for asset, version and attachment uids.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def make_rng(seed: int | str | None) -> random.Random:
    """A private generator: test data, not secrets (hence no `secrets`)."""
    return random.Random(seed)


def short_uid(rng: random.Random, prefix: str, length: int = 21) -> str:
    """`a…` asset, `v…` version, `att…` attachment, `i…` import: prefix + 21 chars (kpi)."""
    return prefix + "".join(rng.choice(ALPHABET) for _ in range(length))


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string (an instanceID without its `uuid:` prefix)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex32(rng: random.Random) -> str:
    """A 32-character hex id, like `formhub/uuid` / `deployment__uuid`."""
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def kuid(rng: random.Random) -> str:
    """The 8-hex `$kuid` of a content row."""
    return f"{rng.getrandbits(32):08x}"
