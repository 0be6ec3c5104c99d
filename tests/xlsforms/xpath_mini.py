"""A tiny XPath 1.0 + ODK-functions evaluator, enough to run the expressions our forms carry.

Tests use it to evaluate what the build generated (constraints, relevants, calculates, choice
filters) instead of restating the rules. Paths are not walked through a document: each path is
handed, as written, to a resolver supplied by the test (by default: look the last step's name
up in a dict), which is all these expressions need.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

Value = Any  # str | float | bool | dt.date | list[str] (a node-set)
Resolver = Callable[[str], Value]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?|\.\d+)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<op>!=|<=|>=|//|\.\.|[=<>()\[\],/+\-*|.@])
      | (?P<name>[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)
    )""",
    re.VERBOSE,
)


def _tokens(expr: str) -> list[tuple[str, str, int, int]]:
    out, pos = [], 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise SyntaxError(f"cannot read {expr[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind), m.end(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.toks = _tokens(expr)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int, int] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def accept(self, *values: str) -> str | None:
        tok = self.peek()
        if tok and tok[0] in ("op", "name") and tok[1] in values:
            self.i += 1
            return tok[1]
        return None

    def expect(self, value: str) -> None:
        if not self.accept(value):
            raise SyntaxError(f"expected {value!r} in {self.expr!r}")

    def parse(self) -> tuple:
        node = self.or_()
        if self.peek() is not None:
            raise SyntaxError(f"unexpected {self.peek()} in {self.expr!r}")
        return node

    def _binary(self, ops: tuple[str, ...], sub: Callable[[], tuple]) -> tuple:
        node = sub()
        while op := self.accept(*ops):
            node = ("bin", op, node, sub())
        return node

    def or_(self) -> tuple:
        return self._binary(("or",), self.and_)

    def and_(self) -> tuple:
        return self._binary(("and",), self.eq)

    def eq(self) -> tuple:
        return self._binary(("=", "!="), self.rel)

    def rel(self) -> tuple:
        return self._binary(("<", "<=", ">", ">="), self.add)

    def add(self) -> tuple:
        return self._binary(("+", "-"), self.mul)

    def mul(self) -> tuple:
        return self._binary(("*", "div", "mod"), self.unary)

    def unary(self) -> tuple:
        if self.accept("-"):
            return ("neg", self.unary())
        return self.primary()

    def primary(self) -> tuple:
        tok = self.peek()
        if tok is None:
            raise SyntaxError(f"unexpected end of {self.expr!r}")
        kind, text, start, _ = tok
        if kind == "num":
            self.i += 1
            return ("num", float(text))
        if kind == "str":
            self.i += 1
            return ("str", text[1:-1])
        if text == "(" and kind == "op":
            self.i += 1
            node = self.or_()
            self.expect(")")
            return node
        nxt = self.peek(1)
        is_call = kind == "name" and nxt is not None and nxt[1] == "("
        if is_call and text != "current":
            self.i += 2
            args = []
            if not self.accept(")"):
                args.append(self.or_())
                while self.accept(","):
                    args.append(self.or_())
                self.expect(")")
            return ("call", text, args)
        return self.path(start)

    def path(self, start: int) -> tuple:
        """A location path, kept as its source text (predicates included) for the resolver."""
        depth, end = 0, start
        while (tok := self.peek()) is not None:
            kind, text, _, tok_end = tok
            if depth == 0 and kind == "op" and text in (")", ",", "=", "!=", "<", "<=", ">"):
                break
            if depth == 0 and kind == "op" and text in (">=", "+", "-", "*", "|"):
                break
            if depth == 0 and kind == "name" and text in ("and", "or", "div", "mod"):
                prev = self.toks[self.i - 1] if self.i else None
                if prev is not None and not (prev[0] == "op" and prev[1] in ("/", "//", "@")):
                    break
            if text in ("[", "("):
                depth += 1
            elif text in ("]", ")"):
                depth -= 1
            end = tok_end
            self.i += 1
        return ("path", re.sub(r"\s+", "", self.expr[start:end]))


# --- conversions (XPath 1.0 rules, dates as days since 1970 like JavaRosa) -------------------


def _first(v: Value) -> Value:
    return v[0] if isinstance(v, list) and v else ("" if isinstance(v, list) else v)


def to_str(v: Value) -> str:
    v = _first(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return str(int(v)) if v.is_integer() else str(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return "" if v is None else str(v)


def to_num(v: Value) -> float:
    v = _first(v)
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, dt.date):
        return float((v - dt.date(1970, 1, 1)).days)
    try:
        return float(str(v).strip())
    except ValueError:
        return math.nan


def to_bool(v: Value) -> bool:
    if isinstance(v, list):
        return bool(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return not (v == 0 or math.isnan(v))
    if isinstance(v, dt.date):
        return True
    return bool(v)


def _as_date(v: Value) -> dt.date | None:
    v = _first(v)
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def _compare(op: str, a: Value, b: Value) -> bool:
    if isinstance(a, list):
        return any(_compare(op, x, b) for x in a)
    if isinstance(b, list):
        return any(_compare(op, a, x) for x in b)
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            same = to_bool(a) == to_bool(b)
        elif isinstance(a, float) or isinstance(b, float):
            same = to_num(a) == to_num(b)
        else:
            same = to_str(a) == to_str(b)
        return same if op == "=" else not same
    x, y = to_num(a), to_num(b)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _format_date(v: Value, fmt: str) -> str:
    d = _as_date(v)
    if d is None:
        return ""
    codes = {
        "Y": f"{d.year:04d}",
        "y": f"{d.year % 100:02d}",
        "m": f"{d.month:02d}",
        "n": str(d.month),
        "d": f"{d.day:02d}",
        "e": str(d.day),
    }
    return re.sub(r"%(.)", lambda m: codes.get(m.group(1), m.group(0)), fmt)


def _substr(s: str, start: float, end: float | None = None) -> str:
    a = int(start)
    return s[a:] if end is None else s[a : int(end)]


class Evaluator:
    def __init__(self, resolve: Resolver, today: dt.date | None = None) -> None:
        self.resolve = resolve
        self.today = today or dt.date.today()

    def __call__(self, expr: str) -> Value:
        return self.eval(_Parser(expr).parse())

    def eval(self, node: tuple) -> Value:
        kind = node[0]
        if kind in ("num", "str"):
            return node[1]
        if kind == "path":
            return self.resolve(node[1])
        if kind == "neg":
            return -to_num(self.eval(node[1]))
        if kind == "bin":
            return self._binary(node[1], node[2], node[3])
        return self._call(node[1], node[2])

    def _binary(self, op: str, left: tuple, right: tuple) -> Value:
        if op == "or":
            return to_bool(self.eval(left)) or to_bool(self.eval(right))
        if op == "and":
            return to_bool(self.eval(left)) and to_bool(self.eval(right))
        a, b = self.eval(left), self.eval(right)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, a, b)
        x, y = to_num(a), to_num(b)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "div":
            return x / y if y else math.nan
        return math.fmod(x, y) if y else math.nan

    def _call(self, name: str, args: list[tuple]) -> Value:
        if name == "if":
            cond, yes, no = args
            return self.eval(yes) if to_bool(self.eval(cond)) else self.eval(no)
        v = [self.eval(a) for a in args]
        if name == "not":
            return not to_bool(v[0])
        if name in ("true", "false"):
            return name == "true"
        if name == "boolean":
            return to_bool(v[0])
        if name == "number":
            return to_num(v[0])
        if name == "int":
            n = to_num(v[0])
            return n if math.isnan(n) else float(math.trunc(n))
        if name == "string":
            return to_str(v[0])
        if name == "concat":
            return "".join(to_str(x) for x in v)
        if name == "string-length":
            return float(len(to_str(v[0])))
        if name == "substr":
            return _substr(to_str(v[0]), to_num(v[1]), to_num(v[2]) if len(v) > 2 else None)
        if name == "contains":
            return to_str(v[1]) in to_str(v[0])
        if name == "selected":
            return to_str(v[1]) in to_str(v[0]).split()
        if name == "count-selected":
            return float(len(to_str(v[0]).split()))
        if name == "regex":
            return re.search(to_str(v[1]), to_str(v[0])) is not None
        if name == "join":
            items = v[1] if isinstance(v[1], list) else [to_str(v[1])]
            return to_str(v[0]).join(items)
        if name == "count":
            return float(len(v[0])) if isinstance(v[0], list) else float(v[0] not in ("", None))
        if name == "today":
            return self.today
        if name == "position":  # of the repeat instance: the test says which one it is
            return to_num(self.resolve("position()"))
        if name == "date":
            return _as_date(v[0]) or ""
        if name == "format-date":
            return _format_date(v[0], to_str(v[1]))
        raise NotImplementedError(f"xpath_mini has no function {name}()")


def by_name(values: Mapping[str, Value]) -> Resolver:
    """Resolve a path by its last step ('.' and current() are the key '.'), '' when unknown."""

    def resolve(path: str) -> Value:
        bare = re.sub(r"\[.*?\]", "", path)
        step = bare.rstrip("/").rsplit("/", 1)[-1]
        if step in (".", "current()", ""):
            step = "."
        return values.get(step, "")

    return resolve


def evaluate(expr: str, values: Mapping[str, Value], today: dt.date | None = None) -> Value:
    return Evaluator(by_name(values), today)(expr)
