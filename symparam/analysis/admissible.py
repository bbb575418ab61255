"""Which values of the symbols make a model `count` accepts, checked over many points
at once.

`symparam count --set ...` refuses values for which a deferred condition of the model
fails (``d % H == 0`` for attention heads, a kernel no larger than its input, ...),
or some size is not a positive whole number (``dense d / h`` at d = 55, h = 3; an
output of ``H - 6`` rows at H = 6; a repeat count), or an argument given as a formula
is not a valid value once numbers are in (a stride of ``s / 2``). This module lists
those conditions for a model (:func:`model_conditions`) and evaluates each over
arrays of symbol values (:func:`holds`): relations and sizes exactly and vectorized,
with the compiled evaluator of :mod:`.evaluate`; anything else once per distinct
combination of the values it depends on.

>>> from symparam import analyze
>>> import numpy as np, sympy
>>> s = analyze("model m(d = 63, h = 3):\\n    input [d]\\n    dense d / h\\n")
>>> [c.description for c in model_conditions(s)]
['d/h is a whole number']
>>> d, h = s.symbols
>>> holds(model_conditions(s)[0], (d, h), [np.array([54, 55, 57]), np.array([3, 3, 3])])
array([ True, False,  True])
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Sequence

import sympy

from .. import conventions
from ..exprs import as_expr
from ..layers import REGISTRY
from ..layers.base import ArgError, Context
from ..stats import ModelStats
from .evaluate import compile_formula, relation_mask

HOLDS, SIZE, ARGUMENT = "holds", "size", "argument"


@dataclass(frozen=True)
class Condition:
    """One thing `count` requires: ``kind`` HOLDS (``expr`` is a sympy relation or
    boolean that must be true), SIZE (``expr`` must be a positive whole number) or
    ARGUMENT (``convert(expr)`` must accept the value of the layer argument ``name``)."""

    kind: str
    expr: Any
    where: str = ""           # "layer 'dense', line 3"
    name: str = ""            # for ARGUMENT: the argument's name
    convert: Any = None       # for ARGUMENT: the argument's converter, given the context

    @property
    def description(self) -> str:
        """As a user reads it: ``d % H == 0``, ``d/h is a whole number``."""
        if self.kind == HOLDS:
            from .report import condition  # the printing of relations lives there
            return condition(self.expr)
        if self.kind == ARGUMENT:
            return f"argument '{self.name}' = {_show(self.expr)} is valid"
        expr = self.expr
        if expr.is_integer:
            return f"{sympy.sstr(expr)} >= 1"
        if expr.is_positive:
            return f"{sympy.sstr(expr)} is a whole number"
        return f"{sympy.sstr(expr)} is a positive whole number"

    @property
    def free_symbols(self) -> set:
        return _free(self.expr)

    def bound(self, values: dict) -> "Condition":
        """The condition with some symbols replaced by values (or expressions)."""
        return replace(self, expr=_substitute(self.expr, values))

    @property
    def trivial(self) -> bool:
        """Holds whatever the values (sympy already decides it)."""
        if self.kind == HOLDS:
            return self.expr is sympy.true
        if self.kind == SIZE:
            return bool(self.expr.is_integer and self.expr.is_positive)
        return False


def _free(value) -> set:
    if isinstance(value, tuple):
        return set().union(*(_free(v) for v in value)) if value else set()
    return set(value.free_symbols) if isinstance(value, sympy.Basic) else set()


def _substitute(value, values: dict):
    if isinstance(value, tuple):
        return tuple(_substitute(v, values) for v in value)
    return value.xreplace(values) if isinstance(value, sympy.Basic) else value


def _size(expr, where: str) -> Condition | None:
    """The condition that a size is a positive whole number, or None for a number
    (which `analyze` has checked already)."""
    expr = as_expr(expr)
    return Condition(SIZE, expr, where) if expr.free_symbols else None


def model_conditions(stats: ModelStats, model_checks: bool = True) -> list[Condition]:
    """Every condition `count` checks once values are given, in model order (each
    layer's deferred conditions, its arguments, its repeat count, its sizes), each
    once. ``model_checks=False`` leaves out the deferred conditions (divisibility by
    the heads, ...) and the arguments, keeping only that sizes be positive whole numbers,
    which a count needs to be a whole number at all."""
    pending: dict[tuple, list] = {}
    if model_checks:
        for cond, message, where in stats.checks:
            at = (getattr(where, "line", 0), getattr(where, "column", 0))
            pending.setdefault(at, []).append((cond, message))
    ctx = Context(conventions.get(stats.convention), stats.layout)
    out: dict[tuple, Condition] = {}
    # A symbol whose default uses others (ff = d / 3) may follow them when they are
    # swept or solved for: a size in it is whole only once that is known.
    followers = {s for s in stats.symbols
                 if getattr(stats.defaults.get(s.name), "free_symbols", None)}

    def add(c: Condition | None) -> None:
        if c is not None and (not c.trivial or c.free_symbols & followers):
            out.setdefault((c.kind, c.expr), c)

    for layer in stats.layers:
        where = f"layer '{layer.name}', line {layer.line}"
        for cond, _ in pending.pop((layer.line, layer.column), ()):
            add(Condition(HOLDS, cond, where))
        sizes = [layer.multiplier, *layer.output_shape,
                 *[d for w in layer.weights for d in w.shape]]
        for d in sizes:
            add(_size(d, where))
        if model_checks:
            for c in _arguments(layer, ctx, where):
                if (SIZE, c.expr) not in out:  # `dense d / h`: its output size says it
                    add(c)
    for (line, _), checks in pending.items():
        for cond, _ in checks:
            add(Condition(HOLDS, cond, f"line {line}" if line else ""))
    return list(out.values())


def _arguments(layer, ctx: Context, where: str) -> list[Condition]:
    kind = REGISTRY.get(layer.kind)
    specs = {spec.name: spec for spec in (kind.args if kind else ()) if not spec.tensor}
    out = []
    for name, value in layer.args.items():
        if name in specs and _free(value):
            spec = specs[name]
            out.append(Condition(ARGUMENT, value, where, name,
                                 lambda v, spec=spec: spec.convert(v, ctx)))
    return out


def _show(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return sympy.sstr(value)


def holds(c: Condition, symbols: Sequence[sympy.Symbol], columns):
    """Where condition ``c`` holds, as a boolean array over the columns (one array of
    whole numbers per symbol; ``c`` may use no other symbol)."""
    import numpy as np

    n = len(columns[0]) if len(columns) else 1
    if c.kind == SIZE:
        return whole_mask(c.expr, symbols, columns)
    if c.kind == HOLDS:
        mask = _boolean_mask(c.expr, symbols, columns)
        if mask is not None:
            return mask
    if c.kind == ARGUMENT and isinstance(c.expr, sympy.Basic):
        # Once per distinct value of the argument (4*d: as many as the values of d).
        values = np.asarray(compile_formula(c.expr, symbols)(*columns))
        if values.dtype != object:  # int64: NumPy finds the distinct values
            return _per_distinct(values, lambda v: _accepts(c, sympy.Integer(v)))
        values = values.tolist()
        verdicts = {v: _accepts(c, _sympy_number(v)) for v in set(values)}
        return np.fromiter((verdicts[v] for v in values), dtype=bool, count=len(values))
    # Anything else: once per distinct combination of the values it depends on.
    used = [i for i, s in enumerate(symbols) if s in c.free_symbols]
    if not used:
        return np.full(n, _holds_at(c, {}))
    keys = list(zip(*[np.asarray(columns[i]).tolist() for i in used]))
    verdict = {}
    for key in dict.fromkeys(keys):
        verdict[key] = _holds_at(c, {symbols[i]: sympy.Integer(v) for i, v in zip(used, key)})
    return np.fromiter((verdict[k] for k in keys), dtype=bool, count=len(keys))


def _per_distinct(values, verdict):
    """``verdict(v)`` for each int64 value, computed once per distinct value: through a
    table indexed by value when the values lie close together (O(n)), else np.unique."""
    import numpy as np

    if not len(values):
        return np.ones(0, dtype=bool)
    low, high = int(values.min()), int(values.max())
    if high - low <= 4 * len(values):
        seen = np.zeros(high - low + 1, dtype=bool)
        seen[values - low] = True
        table = np.zeros(high - low + 1, dtype=bool)
        for i in np.flatnonzero(seen).tolist():
            table[i] = verdict(i + low)
        return table[values - low]
    distinct, index = np.unique(values, return_inverse=True)
    table = np.array([verdict(int(v)) for v in distinct], dtype=bool)
    return table[index.reshape(-1)]


def _sympy_number(v):
    if isinstance(v, Fraction):
        return sympy.Rational(v.numerator, v.denominator)
    return sympy.Integer(v) if isinstance(v, int) else v


def _accepts(c: Condition, value) -> bool:
    try:
        c.convert(value)
    except ArgError:
        return False
    return True


def _holds_at(c: Condition, values: dict) -> bool:
    value = _substitute(c.expr, values)
    if c.kind == ARGUMENT:
        return _accepts(c, value)
    try:  # as `count` decides: only a condition that is false fails
        return as_expr(value) is not sympy.false
    except TypeError:
        return True


def _boolean_mask(expr, symbols, columns):
    """And, Or, Not of relations, vectorized; None for anything else."""
    import numpy as np

    if isinstance(expr, (sympy.And, sympy.Or)):
        masks = [_boolean_mask(a, symbols, columns) for a in expr.args]
        if any(m is None for m in masks):
            return None
        return np.logical_and.reduce(masks) if isinstance(expr, sympy.And) \
            else np.logical_or.reduce(masks)
    if isinstance(expr, sympy.Not):
        inner = _boolean_mask(expr.args[0], symbols, columns)
        return None if inner is None else ~inner
    try:
        return relation_mask(expr, symbols, columns)
    except (TypeError, ValueError, ArithmeticError):
        return None


def whole_mask(expr, symbols: Sequence[sympy.Symbol], columns):
    """Where ``expr`` is a positive whole number, exactly, over the columns."""
    import numpy as np

    values = compile_formula(expr, symbols)(*columns)
    values = np.asarray(values)
    if values.dtype != object:
        return values >= 1
    return np.fromiter((_positive_whole(v) for v in values.tolist()), dtype=bool,
                       count=len(values))


def _positive_whole(v) -> bool:
    if isinstance(v, int):
        return v >= 1
    if isinstance(v, sympy.Basic):
        return bool(v.is_Integer and v >= 1)
    return False  # a Fraction


def failed(conditions: Sequence[Condition], symbols, columns):
    """Where the first failing condition is, per point: an array of indices into
    ``conditions`` (-1 where all hold), and the mask of each condition that fails
    somewhere, as ``[(condition, mask), ...]``."""
    import numpy as np

    n = len(columns[0]) if len(columns) else 1
    first = np.full(n, -1, dtype=np.int64)
    broken = []
    for i, c in enumerate(conditions):
        mask = holds(c, symbols, columns)
        if not mask.all():
            broken.append((c, mask))
            first[(first < 0) & ~mask] = i
    return first, broken


def recount(stats: ModelStats, values: dict[str, int]):
    """The model analyzed again at these values, as `count --set` would (so what it
    accepts and the numbers it prints are `count`'s own): ``(stats, "")``, or
    ``(None, count's message)`` when it refuses them."""
    from ..analyze import analyze
    from ..errors import SymparamError

    try:
        return analyze(stats.document, model=stats.name, convention=stats.convention,
                       values=values), ""
    except SymparamError as err:
        return None, err.message


def message(c: Condition) -> str:
    """A condition as a note names it: ``d/h is a whole number (layer 'dense', line 3)``."""
    return c.description + (f" ({c.where})" if c.where else "")
