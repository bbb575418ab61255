"""The checks an analysis makes once the symbols have values: every deferred condition
holds (a window that fits, sizes divisible by the heads), every size is a positive whole
number, every argument is still valid as a number (a stride of n/2 is fine until
n = 3), and every count fits in MAX_DIGITS digits. A failure is one SourceError at the
layer's line.

It reads the stats (and their graph for the model's line, never the syntax tree), and
may import the stats, the layer registry (to convert arguments again), values, limits
and errors.
"""
from __future__ import annotations

from typing import Optional

import sympy

from . import conventions
from .errors import SourceError
from .layers.base import REGISTRY, ArgError, Context, message_text
from .limits import MAX_DIGITS
from .stats import LayerStats, ModelStats
from .values import TooLarge, at_values, show
from .values import digits as digits_of


def check(stats: ModelStats, source: str, filename: Optional[str]) -> None:
    """Every count fits in MAX_DIGITS digits; with values known, every deferred
    condition holds and every size is a positive whole number. A failure names the
    layer's line."""
    values_text = ", ".join(f"{s} = {show(v)}" for s, v in stats.values.items())

    def fail(message, line, column):
        raise SourceError(message + (f" (with {values_text})" if values_text else ""),
                          line or None, column or None, source, filename)

    # In the order of the model, so the first cause is reported (a negative input size,
    # not the reshape it upsets): each layer's own conditions, then its sizes.
    pending: dict[tuple, list] = {}
    for cond, message, where in stats.checks if stats.values else ():
        at = (getattr(where, "line", 0), getattr(where, "column", 0))
        pending.setdefault(at, []).append((cond, message))
    ctx = Context(conventions.get(stats.convention), stats.layout)
    memo = stats.memo  # values of subexpressions, shared by the layers (most repeat)
    problems: dict = {}  # a layer's problem, by what decides it (10,000 equal layers: one)
    for layer in stats.layers:
        for cond, message in pending.pop((layer.line, layer.column), ()):
            if _fails(cond, stats.values):
                fail(message_text(message), layer.line, layer.column)
        try:
            problem = _layer_problem_once(layer, stats.values, ctx, memo, problems) \
                if stats.values else ""
            # A count past MAX_DIGITS digits, refused before it is computed.
            at_values(layer.params, stats.values, memo)
            at_values(layer.buffers, stats.values, memo)
        except TooLarge as err:
            problem = (f"a size or count here would have about {err.digits:,} digits, more "
                       f"than the limit MAX_DIGITS = {MAX_DIGITS:,}")
        if problem:
            fail(f"layer '{layer.name}': {problem}", layer.line, layer.column)
    for (line, column), checks in pending.items():
        for cond, message in checks:
            if _fails(cond, stats.values):
                fail(message_text(message), line, column)
    for what in ("total", "buffers"):  # each layer fits, but the sum may not
        try:
            value = stats.at(getattr(stats, what))
            size = digits_of(value) if isinstance(value, sympy.Rational) else 0
        except TooLarge as err:
            size = err.digits
        if size > MAX_DIGITS:
            fail(f"the {'total count' if what == 'total' else 'count of buffers'} would "
                 f"have about {size:,} digits, more than the limit MAX_DIGITS = "
                 f"{MAX_DIGITS:,}", getattr(getattr(stats.document, "model", None), "line",
                                            None), None)


def _fails(cond, values: dict) -> bool:
    """Is a deferred condition false for these values? (A comparison of sizes that are
    not real numbers is left to the size checks, which name the size.)"""
    try:
        return cond.xreplace(values) is sympy.false
    except TypeError:
        return False


def _layer_problem_once(layer: LayerStats, values: dict, ctx: Context, memo: dict,
                        problems: dict) -> str:
    """:func:`_layer_problem`, computed once for layers alike in everything it reads."""
    try:
        key = (layer.kind, tuple((k, type(v), v) for k, v in layer.args.items()),
               layer.output_shape, layer.weights, layer.multiplier)
        hash(key)
    except TypeError:  # an argument that is not hashable: no memo
        return _layer_problem(layer, values, ctx, memo)
    if key not in problems:
        problems[key] = _layer_problem(layer, values, ctx, memo)
    return problems[key]


def _layer_problem(layer: LayerStats, values: dict, ctx: Context, memo: dict) -> str:
    """What is wrong with a layer once its symbols have values, or ''. Its arguments
    are checked again as numbers (a stride of n/2 is fine until n = 3), and so are
    the count of a repeat it stands in, its output and its weights."""
    times = at_values(layer.multiplier, values, memo)
    if times.is_number and (not times.is_integer or times < 1):
        return (f"it stands in a repeat of {layer.multiplier} times, which would be "
                f"{times}, not a positive whole number")
    kind = REGISTRY.get(layer.kind)
    specs = {spec.name: spec for spec in (kind.args if kind else ()) if not spec.tensor}
    for name, value in layer.args.items():
        given = _substitute(value, values, memo)
        if name not in specs or given == value or _symbolic(given):
            continue
        try:
            specs[name].convert(given, ctx)
        except ArgError as err:
            return f"argument '{name}' = {_show(value)}: {err}"
    seen = set()
    for what, dims in [("output", layer.output_shape)] + [
            (f"weight '{w.name}'", w.shape) for w in layer.weights]:
        for d in dims:
            if d in seen:
                continue
            seen.add(d)
            v = at_values(d, values, memo)
            if v.is_number and (not v.is_integer or v < 1):
                return f"{what} dimension {d} would be {v}, not a positive whole number"
    return ""


def _substitute(value, values: dict, memo: dict):
    if isinstance(value, tuple):
        return tuple(_substitute(v, values, memo) for v in value)
    if isinstance(value, sympy.Basic) and value.free_symbols:
        return at_values(value, values, memo)
    return value


def _symbolic(value) -> bool:
    if isinstance(value, tuple):
        return any(_symbolic(v) for v in value)
    return isinstance(value, sympy.Basic) and bool(value.free_symbols)


def _show(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return show(value)
