"""registry.columns (the schema facts the page preparer uses without SQLAlchemy) matches the
models, and the preparer's modules really do without SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import String

from registry import columns
from registry.models import Household, Person, PersonKategori, PsksEntry, Submission


def names(model, *ids: str) -> tuple[str, ...]:
    return tuple(c.name for c in model.__table__.columns if c.name not in ids)


def python_type(column) -> type | None:
    try:
        return getattr(column.type, "impl", column.type).python_type
    except NotImplementedError:
        return None


def test_mapped_column_names_match_the_models():
    # Rows travel as dicts keyed by column name, so the set matters, not the order.
    assert set(columns.HOUSEHOLD_COLUMNS) == set(names(Household, "id", "submission_id"))
    assert set(columns.PERSON_COLUMNS) == set(names(Person, "id", "household_id", "submission_id"))
    assert set(columns.PSKS_COLUMNS) == set(names(PsksEntry, "id", "submission_id"))


def test_lengths_match_the_models():
    table = Submission.__table__
    for name, length in columns.SUBMISSION_LENGTHS.items():
        assert isinstance(table.c[name].type, String) and table.c[name].type.length == length
    assert PersonKategori.__table__.c.kode.type.length == columns.KATEGORI_KODE_MAX


def test_every_date_and_timestamp_column_is_listed():
    def temporal(model, kind):
        return tuple(c.name for c in model.__table__.columns if python_type(c) is kind)

    assert columns.SUBMISSION_DATETIMES == temporal(Submission, dt.datetime)
    assert temporal(Submission, dt.date) == ()
    assert columns.PERSON_DATES == temporal(Person, dt.date)
    assert temporal(Person, dt.datetime) == ()
    for model in (Household, PsksEntry):  # their dicts cross as they are
        assert temporal(model, dt.datetime) == temporal(model, dt.date) == ()


@pytest.mark.slow
def test_the_page_preparer_loads_no_sqlalchemy():
    code = "import sys, harvester.pipeline; print(any('sqlalchemy' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
