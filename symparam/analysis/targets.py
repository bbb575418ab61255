"""Targets and conditions typed on the command line: ``params=7e9``, ``memory=80GB``,
``d % H == 0``.

>>> parse_quantity("7e9"), parse_quantity("1.3B"), parse_quantity("80GiB")
(7000000000, 1300000000, 85899345920)
"""
from __future__ import annotations

import sympy

from ..errors import UsageError
from ..formulas import read_condition
from ..numbers import read_number
from ..stats import ModelStats
from ..values import cut


def parse_quantity(text: str) -> int:
    """A whole number in the command line's one syntax (:mod:`symparam.numbers`:
    ``7e9``, ``7_000_000_000``, ``1.3B``, ``80GiB``, ``2**24``); a target is one number,
    so commas may group its digits as ``count`` prints them (``124,439,808``)."""
    return read_number(text.replace(",", "_") if "," in text else text)


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
