"""How much a quality flag weighs: `blokir` stops approval, `peringatan` is only shown."""

from __future__ import annotations

import enum

from surveys.spec import N_


class Severity(enum.StrEnum):
    BLOKIR = "blokir"  # approval refused until corrected on Kobo or overridden by dinsos/admin
    PERINGATAN = "peringatan"  # shown to reviewers; does not block

    @property
    def label(self) -> str:
        return SEVERITY_LABEL[self]


SEVERITY_LABEL: dict[Severity, str] = {
    Severity.BLOKIR: N_("Blokir"),
    Severity.PERINGATAN: N_("Peringatan"),
}
