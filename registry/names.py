"""Names as the likely-duplicate search compares them, without SQLAlchemy (the harvest's page
preparer computes each member's blocking key): `normal_name` and `block_key`."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

# Old and foreign spellings that Indonesian names are written in side by side (Ejaan lama: dj,
# tj, oe; Dutch j for y), folded before comparing.
_SPELLING = (("dj", "j"), ("tj", "c"), ("oe", "u"), ("ch", "kh"), ("ph", "f"), ("th", "t"))
_NOT_LETTER = re.compile(r"[^a-z ]+")


@functools.lru_cache(maxsize=65536)  # names repeat: a registry holds a few thousand spellings
def normal_name(value: str | None) -> str:
    """Lower case, accents and punctuation gone, old spellings folded, one space between words."""
    text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    text = _NOT_LETTER.sub(" ", text.lower())
    words = []
    for word in text.split():
        for old, new in _SPELLING:
            word = word.replace(old, new)
        if word.startswith("j"):
            word = "y" + word[1:]
        words.append(word)
    return " ".join(words)


def block_key(born: dt.date | None, nama: str | None) -> str | None:
    """The block a member is compared in: birth date and the first letter of the folded name
    ("1988-06-09v"). None without a birth date: such a member is not compared."""
    if born is None:
        return None
    name = normal_name(nama if isinstance(nama, str) else None)
    return f"{born.isoformat()}{name[:1] or '_'}"
