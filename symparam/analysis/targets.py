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
from ..formulas import read_condition
from ..limits import MAX_DIGITS
from ..stats import ModelStats
from ..values import cut, text_digits

_SUFFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12,
           "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
           "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_QUANTITY = re.compile(r"(\d[\d_,]*(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$")


def parse_quantity(text: str) -> int:
    """A whole number written as ``7000000000``, ``7e9``, ``7_000_000_000``, ``7B``,
    ``1.5M`` or ``80GiB``."""
    m = _QUANTITY.match(text.strip())
    if not m or m.group(2) not in _SUFFIX:
        raise UsageError(f"'{cut(text)}' is not a number (examples: 7e9, 7_000_000_000, 1.3B, "
                         f"80GB, 80GiB)")
    number = m.group(1).replace("_", "").replace(",", "")
    if text_digits(number) > MAX_DIGITS:  # before Fraction builds it (1e99999999 would hang)
        raise UsageError(f"'{cut(text)}' has more than {MAX_DIGITS:,} digits "
                         f"(MAX_DIGITS)")
    value = Fraction(number) * _SUFFIX[m.group(2)]
    if value.denominator != 1:
        raise UsageError(f"'{cut(text)}' is not a whole number")
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


def parse_condition(text: str, stats: ModelStats) -> list:
    """A condition on the model's symbols, such as ``d % H == 0`` or ``d >= 1024``,
    read by symparam's grammar: comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``,
    ``>=``) of formulas, joined by ``and``, ``or`` and ``not``. Returns the conditions
    that must all hold (one per comparison joined by a top-level ``and``)."""
    conds = read_condition(text, stats.symbols, what=f"bad condition '{cut(text)}'")
    for cond in conds:
        if not isinstance(cond, (sympy.core.relational.Relational, sympy.logic.boolalg.Boolean)):
            raise UsageError(f"bad condition '{cut(text)}': compare two formulas with ==, !=, "
                             f"<, <=, > or >=, such as 'd % H == 0'")
    return conds
