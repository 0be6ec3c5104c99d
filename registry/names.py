"""Names as the likely-duplicate search compares them, without SQLAlchemy (the harvest's page
preparer computes each member's blocking keys): `normal_name`, `block_keys`."""

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
    """The first of `block_keys` (migration 0004 filled person.kunci_duplikat with it)."""
    return block_keys(born, nama)[0]


def block_keys(born: dt.date | None, nama: str | None) -> tuple[str | None, str | None]:
    """The two blocks a member is compared in: the birth date with the first letter of the
    folded name ("1988-06-09v"), and with the first two letters of its last word
    ("1988-06-09/ra", the slash keeping the two kinds of block apart), so that a name written
    without its first word still meets it ("Bong Kim Fat" and "Kim Fat": a family name written
    first, as Chinese names are; "Muhammad Ramadhan" and "Ramadhan"). Two letters there, not
    one: a third fewer members per block at 300,000 persons, the same pairs found (a typo in
    the last word is met in the first block). (None, None) without a birth date: such a member
    is not compared."""
    if born is None:
        return None, None
    words = normal_name(nama if isinstance(nama, str) else None).split()
    first, last = (words[0][0], words[-1][:2]) if words else ("_", "_")
    day = born.isoformat()
    return f"{day}{first}", f"{day}/{last}"
