"""Roles and review statuses: who may see and decide what, and the words for both.

The values are what the database stores (`User.role`, `Submission.status`); as `StrEnum` members
they compare equal to those strings. The labels are Bahasa Indonesia and are the webapp's msgids
(its English catalogue translates them), so they are marked with `N_` for `pybabel extract`.
`registry.queries.scope()` reads the wilayah reach, `registry.review` the decisions, the webapp's
decorators and pages the rest: a capability is changed here and nowhere else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from surveys.spec import N_


class Status(enum.StrEnum):
    """Where a submission is in review, in the order screens and files list them."""

    BARU = "baru"
    TERVERIFIKASI = "terverifikasi"
    DISETUJUI = "disetujui"
    DIKEMBALIKAN = "dikembalikan"
    DITOLAK = "ditolak"

    @property
    def label(self) -> str:
        return STATUS_LABEL[self]


STATUSES = tuple(Status)  # for `in` on stored strings (a str is never `in` an Enum class on 3.11)
STATUS_LABEL: dict[Status, str] = {
    Status.BARU: N_("Baru"),
    Status.TERVERIFIKASI: N_("Terverifikasi"),
    Status.DISETUJUI: N_("Disetujui"),
    Status.DIKEMBALIKAN: N_("Dikembalikan"),
    Status.DITOLAK: N_("Ditolak"),
}
# The button that leads to each state a person may decide (`baru` comes only from an edit on Kobo).
ACTION_LABEL: dict[Status, str] = {
    Status.TERVERIFIKASI: N_("Verifikasi"),
    Status.DISETUJUI: N_("Setujui"),
    Status.DIKEMBALIKAN: N_("Kembalikan ke desa"),
    Status.DITOLAK: N_("Tolak"),
}


class Role(enum.StrEnum):
    """What an account is for; its capabilities are in ROLE below."""

    ADMIN = "admin"
    DINSOS = "dinsos"
    KECAMATAN = "kecamatan"
    DESA = "desa"
    PIMPINAN = "pimpinan"

    @property
    def label(self) -> str:
        return ROLE[self].label


Reach = Literal["kabupaten", "kecamatan", "desa"]


@dataclass(frozen=True)
class Capabilities:
    label: str  # shown in the app
    reach: Reach  # the wilayah it sees: all of it, or the one kecamatan / desa of its account
    sees_personal_data: bool  # names, NIK, photos; otherwise totals only
    decides: frozenset[Status]  # the states it may move a submission to
    manages_accounts: bool = False
    watches_writeback: bool = False  # sees how many decisions Kobo has not accepted yet
    adjudicates: bool = False  # overrides blokir flags, decides the duplicate queue


_FINAL = frozenset({Status.DISETUJUI, Status.DIKEMBALIKAN, Status.DITOLAK})
ROLE: dict[Role, Capabilities] = {
    Role.ADMIN: Capabilities(
        N_("Administrator"),
        "kabupaten",
        sees_personal_data=True,
        decides=_FINAL | {Status.TERVERIFIKASI},
        manages_accounts=True,
        watches_writeback=True,
        adjudicates=True,
    ),
    Role.DINSOS: Capabilities(
        N_("Peninjau Dinas Sosial"),
        "kabupaten",
        sees_personal_data=True,
        decides=_FINAL | {Status.TERVERIFIKASI},
        watches_writeback=True,
        adjudicates=True,
    ),
    Role.KECAMATAN: Capabilities(
        N_("Verifikator kecamatan"),
        "kecamatan",
        sees_personal_data=True,
        decides=frozenset({Status.TERVERIFIKASI}),
    ),
    Role.DESA: Capabilities(
        N_("Operator desa"), "desa", sees_personal_data=True, decides=frozenset()
    ),
    Role.PIMPINAN: Capabilities(
        N_("Pimpinan"), "kabupaten", sees_personal_data=False, decides=frozenset()
    ),
}

ROLES = tuple(Role)
# The same table read the other way, for role checks (in Role's order).
PERSONAL_DATA_ROLES = tuple(r for r in Role if ROLE[r].sees_personal_data)
DECIDING_ROLES = tuple(r for r in Role if ROLE[r].decides)
ACCOUNT_ROLES = tuple(r for r in Role if ROLE[r].manages_accounts)
WRITEBACK_ROLES = tuple(r for r in Role if ROLE[r].watches_writeback)
ADJUDICATING_ROLES = tuple(r for r in Role if ROLE[r].adjudicates)
# The states some role may decide (`baru` is reached only through an edit on Kobo).
DECISIONS = frozenset().union(*(c.decides for c in ROLE.values()))


def capabilities(role: str) -> Capabilities | None:
    """What `role` (as stored) may do, or None for a value that names no role."""
    try:
        return ROLE[Role(role)]
    except ValueError:
        return None


def reach(role: str) -> Reach | None:
    caps = capabilities(role)
    return caps.reach if caps else None


def may_decide(role: str, status: str) -> bool:
    """Whether `role` may ever move a submission to `status` (ignores the current state)."""
    caps = capabilities(role)
    return caps is not None and status in caps.decides
