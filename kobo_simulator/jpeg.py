"""A tiny valid JPEG (8x8 grey, baseline) to stand in for a house photo.

Built by hand so the simulator needs no imaging library. A comment segment carries a label (the
submission's id), so every photo has its own bytes and a test can tell two downloads apart.
"""

from __future__ import annotations

import struct


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def _huffman_one_symbol(table_class_and_id: int) -> bytes:
    # One code of length 1 ("0") for symbol 0x00: DC difference 0, or AC end-of-block.
    counts = bytes([1] + [0] * 15)
    return _segment(0xC4, bytes([table_class_and_id]) + counts + b"\x00")


def tiny_jpeg(label: str = "") -> bytes:
    """An 8x8 mid-grey baseline JPEG (about 170 bytes) with `label` in a COM segment."""
    jfif = b"JFIF\x00" + bytes([1, 1, 0]) + struct.pack(">HH", 1, 1) + b"\x00\x00"
    parts = [
        b"\xff\xd8",  # SOI
        _segment(0xE0, jfif),
    ]
    if label:
        parts.append(_segment(0xFE, label.encode("ascii", "replace")[:200]))
    parts += [
        _segment(0xDB, b"\x00" + bytes([1] * 64)),  # DQT: table 0, all ones
        _segment(0xC0, bytes([8]) + struct.pack(">HH", 8, 8) + bytes([1, 1, 0x11, 0])),  # SOF0
        _huffman_one_symbol(0x00),  # DC table 0
        _huffman_one_symbol(0x10),  # AC table 0
        _segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0])),  # SOS
        b"\x3f",  # DC diff 0 ("0"), EOB ("0"), padded with ones
        b"\xff\xd9",  # EOI
    ]
    return b"".join(parts)
