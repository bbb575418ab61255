"""Targets and conditions typed on the command line: ``params=7e9``, ``memory=80GB``,
``d % H == 0``.

>>> parse_quantity("7e9"), parse_quantity("1.3B"), parse_quantity("80GiB")
(7000000000, 1300000000, 85899345920)
"""
from __future__ import annotations

import re
from fractions import Fraction

import sympy

from ..errors import UsageError
from ..stats import ModelStats

_SUFFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12,
           "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
           "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_QUANTITY = re.compile(r"(\d[\d_,]*(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$")


def parse_quantity(text: str) -> int:
    """A whole number written as ``7000000000``, ``7e9``, ``7_000_000_000``, ``7B``,
    ``1.5M`` or ``80GiB``."""
    m = _QUANTITY.match(text.strip())
    if not m or m.group(2) not in _SUFFIX:
        raise UsageError(f"'{text}' is not a number (examples: 7e9, 7_000_000_000, 1.3B, "
                         f"80GB, 80GiB)")
    value = Fraction(m.group(1).replace("_", "").replace(",", "")) * _SUFFIX[m.group(2)]
    if value.denominator != 1:
        raise UsageError(f"'{text}' is not a whole number")
    return int(value)


def parse_target(text: str) -> tuple[str, int]:
    """``"params=7e9"`` -> ``("params", 7000000000)``."""
    name, eq, value = text.partition("=")
    if not eq or not name.strip() or not value.strip():
        raise UsageError(f"bad target '{text}': write METRIC=VALUE, such as params=7e9")
    from .metrics import parse_metrics
    metric = parse_metrics(name.strip())
    if len(metric) != 1:
        raise UsageError(f"bad target '{text}': give one metric")
    return metric[0], parse_quantity(value)


_RELATIONS = (("==", sympy.Eq), ("!=", sympy.Ne), ("<=", sympy.Le), (">=", sympy.Ge),
              ("<", sympy.Lt), (">", sympy.Gt))


def parse_condition(text: str, stats: ModelStats):
    """A condition on the model's symbols, such as ``d % H == 0`` or ``d >= 1024``;
    conditions joined by ``and`` are all required. Returns a list of sympy relations."""
    from sympy.parsing.sympy_parser import parse_expr

    local = {s.name: s for s in stats.symbols}
    out = []
    for part in re.split(r"\s+and\s+", text.strip()):
        for op, rel in _RELATIONS:
            if op in part:
                left, right = part.split(op, 1)
                break
        else:
            raise UsageError(f"bad condition '{part}': compare two expressions with ==, !=, "
                             f"<, <=, > or >=, such as 'd % H == 0'")
        try:
            sides = [parse_expr(side, local_dict=dict(local)) for side in (left, right)]
        except Exception:  # sympy's parser raises many kinds of errors
            raise UsageError(f"bad condition '{part}': cannot read it as an expression") from None
        for side in sides:
            unknown = sorted(str(s) for s in getattr(side, "free_symbols", ())
                             if s.name not in local or local[s.name] != s)
            if unknown or not isinstance(side, sympy.Expr):
                raise UsageError(f"bad condition '{part}': "
                                 + (f"unknown symbol {', '.join(unknown)}; the model's symbols: "
                                    f"{', '.join(local)}" if unknown else "not an expression"))
        out.append(rel(*sides, evaluate=False))
    return out
