"""Grid specifications: ``d=256,512,1024``, ``L=6..48:6``, ``d=256..4096:*2``.

>>> parse_grid("L=6..24:6")
('L', [6, 12, 18, 24])
>>> parse_grid("d=256..2048:*2, 3000")
('d', [256, 512, 1024, 2048, 3000])
"""
from __future__ import annotations

import re

from ..errors import UsageError
from ..limits import MAX_DIGITS
from ..values import cut, text_digits

MAX_POINTS = 50_000_000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"\d[\d_]*$")


def _bad(spec: str, why: str) -> UsageError:
    return UsageError(f"bad grid '{spec}': {why}")


def _integer(text: str, spec: str) -> int:
    t = text.strip()
    if text_digits(t.replace("_", "")) > MAX_DIGITS:
        raise _bad(spec, f"'{cut(t)}' has more than "
                         f"{MAX_DIGITS:,} digits (MAX_DIGITS)")
    if _INT.match(t):
        return int(t.replace("_", ""))
    m = re.fullmatch(r"(\d+)\*\*(\d+)", t) or re.fullmatch(r"(\d+(?:\.\d+)?)[eE](\d+)", t)
    if m:
        if "**" in t:
            return int(m.group(1)) ** int(m.group(2))
        from fractions import Fraction
        v = Fraction(m.group(1)) * 10 ** int(m.group(2))
        if v.denominator == 1:
            return int(v)
    if not t:
        raise _bad(spec, "a value is missing")
    raise _bad(spec, f"'{t}' is not a positive whole number")


def _range(item: str, spec: str) -> list[int]:
    body, _, step_text = item.partition(":")
    start_text, _, end_text = body.partition("..")
    if not start_text.strip() or not end_text.strip():
        raise _bad(spec, f"the range '{item}' needs a start and an end: START..END or "
                         f"START..END:STEP (or :*FACTOR)")
    start, end = _integer(start_text, spec), _integer(end_text, spec)
    if end < start:
        raise _bad(spec, f"the range '{item}' ends before it starts")
    step_text = step_text.strip()
    if step_text.startswith(("*", "x")):
        factor = _integer(step_text[1:], spec)
        if factor < 2:
            raise _bad(spec, f"a geometric range needs a factor of 2 or more, got {factor}")
        if start < 1:
            raise _bad(spec, "a geometric range must start at 1 or more")
        out, v = [], start
        while v <= end:
            out.append(v)
            v *= factor
        return out
    step = _integer(step_text, spec) if step_text else 1
    if step < 1:
        raise _bad(spec, "the step of a range must be 1 or more")
    if (end - start) // step + 1 > MAX_POINTS:
        raise _bad(spec, f"more than {MAX_POINTS:,} values")
    return list(range(start, end + 1, step))


def parse_grid(spec: str) -> tuple[str, list[int]]:
    """One ``NAME=VALUES`` option: the symbol's name and its values, in order, each
    once. Values are positive whole numbers, lists, ranges (inclusive) or geometric
    ranges; bad text raises :class:`UsageError` naming it."""
    name, eq, values = spec.partition("=")
    name = name.strip()
    if not eq:
        raise _bad(spec, "write NAME=VALUES, such as d=256,512 or L=6..48:6")
    if not _NAME.match(name):
        raise _bad(spec, f"'{name}' is not a symbol name")
    if not values.strip():
        raise _bad(spec, f"no values for {name}")
    out: list[int] = []
    for item in values.split(","):
        if ".." in item:
            out.extend(_range(item, spec))
        else:
            out.append(_integer(item, spec))
    for v in out:
        if v < 1:
            raise _bad(spec, f"{name} = {v}: sizes are positive whole numbers")
    return name, list(dict.fromkeys(out))
