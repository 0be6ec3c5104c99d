"""The part of Kobo's Mongo query language the data endpoint accepts (API.md §1), as pure functions.

Whitelisted operators work as in Mongo. Any other `$` key, and any key with a dot (except
`_validation_status.…`), is escaped by Kobo into a literal field name, so such a filter quietly
matches nothing; that is reproduced here, not turned into an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

MISSING: Any = object()
Getter = Callable[[str], Any]  # field name -> value, or MISSING
Predicate = Callable[[Getter], bool]

OPERATORS = frozenset(
    "$or $and $in $nin $not $exists $gt $gte $lt $lte $regex $options $all $elemMatch $ne "
    "$expr $ifNull".split()
)
UNSUPPORTED = frozenset({"$expr", "$ifNull"})  # whitelisted by Kobo, not simulated here


class QueryError(ValueError):
    """A query Mongo would reject (Kobo answers 400 with this message in a list)."""


def _escaped(key: str) -> bool:
    if key.startswith("_validation_status."):
        return False
    return (key.startswith("$") and key not in OPERATORS) or "." in key


def lookup(get: Getter, key: str) -> Any:
    """A field value; `_validation_status.uid` reaches into the status dict like Mongo does."""
    if _escaped(key):
        return MISSING  # Kobo base64-escapes it into a field name no document has
    if key.startswith("_validation_status."):
        status = get("_validation_status")
        if not isinstance(status, dict):
            return MISSING
        return status.get(key.split(".", 1)[1], MISSING)
    return get(key)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _comparable(a: Any, b: Any) -> bool:
    """Mongo's $gt/$lt compare only within a type bracket (numbers with numbers, ...)."""
    if _is_number(a) and _is_number(b):
        return True
    return type(a) is type(b) and isinstance(a, str | bool)


def _compare(op: str, value: Any, arg: Any) -> bool:
    if value is MISSING or not _comparable(value, arg):
        return False
    if op == "$gt":
        return bool(value > arg)
    if op == "$gte":
        return bool(value >= arg)
    if op == "$lt":
        return bool(value < arg)
    return bool(value <= arg)


def _equals(value: Any, arg: Any) -> bool:
    if value is MISSING:
        return arg is None  # {"f": null} matches a missing field in Mongo
    if _is_number(value) and _is_number(arg):
        return bool(value == arg)
    if type(value) is not type(arg) and not (isinstance(value, list) or isinstance(arg, list)):
        return False
    return bool(value == arg)


def _candidates(value: Any) -> list[Any]:
    """A field and, when it is an array, its elements (Mongo matches either)."""
    if isinstance(value, list):
        return [value, *value]
    return [value]


def _regex(arg: Any, options: str) -> re.Pattern[str]:
    flags = 0
    for ch in options:
        flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}.get(ch, 0)
    if not isinstance(arg, str):
        raise QueryError("Unsupported query")
    try:
        return re.compile(arg, flags)
    except re.error:
        raise QueryError("Unsupported query") from None


def _ops(cond: dict[str, Any]) -> Callable[[Any], bool]:
    """An operator dict ({"$gt": 3, "$lt": 9}) as a test on one field value."""
    tests: list[Callable[[Any], bool]] = []
    options = cond.get("$options", "")
    for op, arg in cond.items():
        if op in UNSUPPORTED:
            raise QueryError("Unsupported query")
        if op == "$options":
            continue
        if op not in OPERATORS or op in ("$or", "$and"):
            return lambda v: False  # escaped into a literal: equality with an odd dict
        tests.append(_op(op, arg, options))
    return lambda v: all(t(v) for t in tests)


def _op(op: str, arg: Any, options: str) -> Callable[[Any], bool]:
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return lambda v: any(_compare(op, c, arg) for c in _candidates(v))
    if op == "$ne":
        return lambda v: not any(_equals(c, arg) for c in _candidates(v))
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise QueryError("Unsupported query")

        def inside(v: Any) -> bool:
            return any(_equals(c, a) for c in _candidates(v) for a in arg)

        return inside if op == "$in" else (lambda v: not inside(v))
    if op == "$exists":
        return lambda v: (v is not MISSING) == bool(arg)
    if op == "$regex":
        pattern = _regex(arg, options)
        return lambda v: any(isinstance(c, str) and pattern.search(c) for c in _candidates(v))
    if op == "$not":
        if isinstance(arg, dict):
            inner = _ops(arg)
        elif isinstance(arg, str):
            pattern = _regex(arg, options)

            def inner(v: Any) -> bool:
                return any(isinstance(c, str) and bool(pattern.search(c)) for c in _candidates(v))
        else:
            raise QueryError("Unsupported query")
        return lambda v: not inner(v)
    if op == "$all":
        if not isinstance(arg, list):
            raise QueryError("$all needs an array")
        return lambda v: isinstance(v, list) and all(any(_equals(e, a) for e in v) for a in arg)
    if op == "$elemMatch":
        if not isinstance(arg, dict):
            raise QueryError("Unsupported query")
        if arg and all(k.startswith("$") for k in arg):
            scalar = _ops(arg)
            return lambda v: isinstance(v, list) and any(scalar(e) for e in v)
        sub = compile_query(arg)

        def element_matches(v: Any) -> bool:
            return isinstance(v, list) and any(
                isinstance(e, dict) and sub(_dict_getter(e)) for e in v
            )

        return element_matches
    raise QueryError("Unsupported query")  # pragma: no cover - guarded by _ops


def _field(key: str, cond: Any) -> Predicate:
    if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
        test = _ops(cond)
        return lambda get: test(lookup(get, key))
    return lambda get: any(_equals(c, cond) for c in _candidates(lookup(get, key)))


def _dict_getter(doc: dict[str, Any]) -> Getter:
    return lambda k: doc.get(k, MISSING)


def _combine(op: str, subs: list[Predicate]) -> Predicate:
    if op == "$and":
        return lambda get: all(s(get) for s in subs)
    return lambda get: any(s(get) for s in subs)


def compile_query(query: Any) -> Predicate:
    """A predicate over documents (given as a field getter) for a Mongo filter."""
    if not isinstance(query, dict):
        raise QueryError("Unsupported query")
    parts: list[Predicate] = []
    for key, cond in query.items():
        if key in ("$and", "$or"):
            if not isinstance(cond, list) or not cond:
                raise QueryError("Unsupported query")
            parts.append(_combine(key, [compile_query(c) for c in cond]))
        elif key in UNSUPPORTED:
            raise QueryError("Unsupported query")
        else:
            parts.append(_field(key, cond))
    return lambda get: all(p(get) for p in parts)


def id_bounds(query: dict[str, Any]) -> tuple[int | None, int | None, bool]:
    """Bounds on `_id` a top-level condition implies: (lowest, highest, only_id).

    Lets the store bisect its sorted `_id` list instead of testing every document; `only_id`
    says the query has no other condition, so the bounds alone decide the match.
    """
    lo: int | None = None
    hi: int | None = None
    cond = query.get("_id", MISSING)
    only_id = set(query) <= {"_id"}
    if cond is MISSING:
        return None, None, only_id
    if _is_number(cond):
        if cond != int(cond):
            return 1, 0, only_id  # a fractional _id matches nothing
        return int(cond), int(cond), only_id
    if not isinstance(cond, dict) or not cond or not set(cond) <= {"$gt", "$gte", "$lt", "$lte"}:
        return None, None, False
    for op, arg in cond.items():
        if not _is_number(arg):
            return 1, 0, only_id  # compared with a string: no number is in that bracket
        if op == "$gt":
            lo = max(lo, math.floor(arg) + 1) if lo is not None else math.floor(arg) + 1
        elif op == "$gte":
            lo = max(lo, math.ceil(arg)) if lo is not None else math.ceil(arg)
        elif op == "$lt":
            hi = min(hi, math.ceil(arg) - 1) if hi is not None else math.ceil(arg) - 1
        else:
            hi = min(hi, math.floor(arg)) if hi is not None else math.floor(arg)
    return lo, hi, only_id


# --- sort ------------------------------------------------------------------------------------

_RANK_MISSING, _RANK_NUMBER, _RANK_STRING, _RANK_OBJECT, _RANK_ARRAY, _RANK_BOOL = 1, 2, 3, 4, 5, 8


def sort_key(value: Any) -> tuple[int, Any]:
    """Mongo's cross-type order: null/missing < numbers < strings < objects < arrays < booleans."""
    if value is MISSING or value is None:
        return (_RANK_MISSING, 0)
    if isinstance(value, bool):
        return (_RANK_BOOL, value)
    if _is_number(value):
        return (_RANK_NUMBER, value)
    if isinstance(value, str):
        return (_RANK_STRING, value)
    if isinstance(value, dict):
        return (_RANK_OBJECT, repr(sorted(value.items(), key=repr)))
    return (_RANK_ARRAY, repr(value))


def parse_sort(sort: Any) -> list[tuple[str, int]]:
    if not isinstance(sort, dict):
        raise QueryError("Unsupported query")
    out = []
    for key, direction in sort.items():
        if direction not in (1, -1) or isinstance(direction, bool):
            raise QueryError("Unsupported query")
        out.append((key, direction))
    return out


def sort_docs(
    docs: list[Any], spec: Sequence[tuple[str, int]], get: Callable[[Any, str], Any]
) -> None:
    """Sort in place by `spec`; ties keep `_id` order (the list comes in `_id` order)."""

    def by(key: str) -> Callable[[Any], tuple[int, Any]]:
        return lambda doc: sort_key(lookup(lambda k: get(doc, k), key))

    for key, direction in reversed(spec):
        docs.sort(key=by(key), reverse=direction == -1)
