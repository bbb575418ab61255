"""Evaluate metrics over a grid of symbol values, exactly and at NumPy speed.

>>> from symparam import analyze
>>> s = analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n")
>>> r = sweep(s, [("h", [1, 2, 3])], ["params"])
>>> r.columns["h"].tolist(), r.columns["params"].tolist()
([1, 2, 3], [5, 10, 15])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import sympy

from ..exprs import as_expr
from ..errors import UsageError
from ..layers.base import closest
from ..stats import ModelStats
from ..values import at_values
from .admissible import failed, message, model_conditions
from .evaluate import compile_formula
from .grid import MAX_POINTS
from .memory import BATCH
from .metrics import MetricOptions, metric_expr

CHUNK = 262_144  # points per evaluation step (for the progress bar and memory)


@dataclass
class SweepResult:
    """Columns by name: the grid's symbols first, then the metrics (NumPy arrays of
    int64, or of Python ints / Fractions where 64 bits would not be exact)."""

    model: str
    grid: list[str]
    metrics: list[str]
    columns: dict
    fixed: dict                     # symbol name -> value used for symbols not swept
    modes: dict = field(default_factory=dict)  # metric -> 'int64' | 'python int' | 'sympy'
    formulas: dict = field(default_factory=dict)
    # What `count` requires (divisibility by the heads, sizes that are positive whole
    # numbers, ...) and some point breaks: (admissible.Condition, boolean array of the
    # points where it holds). At the other points the metrics are no model's counts.
    broken: list = field(default_factory=list)

    @property
    def valid(self):
        """Where `count` accepts the model (None: at every point)."""
        import numpy as np

        if not self.broken:
            return None
        return np.logical_and.reduce([mask for _, mask in self.broken])

    @property
    def refused(self):
        """Per point, the first condition it breaks (None where none), as text."""
        import numpy as np

        if not self.broken:
            return None
        out = np.full(self.size, None, dtype=object)
        for c, mask in reversed(self.broken):
            out[~mask] = message(c)
        return out

    @property
    def size(self) -> int:
        return len(self.columns[self.grid[0]]) if self.grid else 0

    def rows(self):
        """Rows of Python values (ints, Fractions), grid columns first; a metric is
        None at a point `count` refuses (see :attr:`valid`)."""
        # tolist() converts a column at C speed; indexing NumPy arrays per element
        # would cost microseconds a value.
        return zip(*[self.column(c) for c in self.grid + self.metrics])

    def column(self, name: str, start: int = 0, stop: Optional[int] = None) -> list:
        """A column (or a slice of it) as Python values, None where the model is
        refused for a metric."""
        values = self.columns[name][start:stop].tolist()
        valid = self.valid
        if name in self.metrics and valid is not None:
            values = [v if ok else None for v, ok in zip(values, valid[start:stop].tolist())]
        return values


    def to_pandas(self):
        """The sweep as a pandas DataFrame: the grid's symbols, then the metrics (exact
        Python ints in ``object`` columns where 64 bits would not hold them, ``None``
        where `count` refuses the point), then ``admissible`` and ``refused`` when some
        point breaks a condition of the model. Needs pandas (``pip install pandas``).

        >>> import symparam
        >>> s = symparam.analyze("model m(n = 100, h = 2):\\n    input [n]\\n    dense h\\n")
        >>> sweep(s, [("h", [1, 2])], ["params"]).to_pandas()
           h  params
        0  1     101
        1  2     202
        """
        try:
            import pandas as pd
        except ImportError:
            raise UsageError("to_pandas() needs pandas: pip install pandas") from None
        data = {}
        for name in self.grid + self.metrics:
            column = self.columns[name]
            exact = getattr(column, "dtype", None) is not None and column.dtype.kind == "i"
            if name in self.metrics and self.valid is not None or not exact:
                data[name] = pd.Series(self.column(name), dtype=object)
            else:
                data[name] = column
        if self.valid is not None:
            data["admissible"] = self.valid
            data["refused"] = pd.Series(self.refused.tolist(), dtype=object)
        return pd.DataFrame(data)

    def plot(self, units: Optional[dict] = None):
        """The sweep drawn with matplotlib (see :mod:`.plot`): shown inline in a
        notebook; ``.figure`` is the Figure, ``.save(path)`` writes it."""
        from .metrics import BYTES
        from .plot import SweepPlot, sweep_figure

        if units is None:
            units = {m: "B" for m in self.metrics if m in BYTES}
        return SweepPlot(sweep_figure(self, units))


def grid_symbols(stats: ModelStats, names: Sequence[str]) -> list[sympy.Symbol]:
    """The model's symbols (or ``batch``) for grid names, with an error naming an
    unknown one."""
    known = {s.name: s for s in stats.symbols}
    known.setdefault(BATCH.name, BATCH)
    out = []
    for name in names:
        if name not in known:
            hint = closest(name, list(known), 1) or [k for k in known
                                                     if k.lower() == name.lower()][:1]
            raise UsageError(f"model {stats.name} has no symbol '{name}'"
                             + (f" (did you mean '{hint[0]}'?)" if hint else "")
                             + f"; its symbols: {', '.join(s.name for s in stats.symbols)}")
        if known[name] in out:
            raise UsageError(f"symbol '{name}' is given more than one grid")
        out.append(known[name])
    return out


def bindings(stats: ModelStats, free: Sequence[sympy.Symbol]) -> dict:
    """Values for the model's symbols not in ``free``: those in effect, except that a
    symbol left at a default that uses a free symbol follows it (``ff = 4 * d`` is
    ``4*d`` when d is swept or solved for), as ``count --set d=...`` would."""
    free_set = set(free)
    out: dict = {}
    for s in stats.symbols:
        if s in free_set:
            continue
        default, value = stats.defaults.get(s.name), stats.values.get(s)
        if (value is not None and isinstance(default, sympy.Basic) and default.free_symbols
                and default.xreplace(stats.values) == value):
            follows = default.xreplace(out)
            if follows.free_symbols & free_set:
                out[s] = follows
                continue
        if value is not None:
            out[s] = value
    return out


def fixed_values(stats: ModelStats, exprs, free: Sequence[sympy.Symbol], what: str) -> dict:
    """Values for the symbols of ``exprs`` not in ``free`` (see :func:`bindings`: a
    number, or an expression in ``free`` for a default that follows them), or an
    error naming the ones without a value."""
    needed = set().union(*(_symbols_of(e) for e in exprs)) - set(free)
    bound = bindings(stats, free)
    missing = sorted(s.name for s in needed if s not in bound)
    if missing:
        # The batch size is not a symbol of the model: it has its own option.
        how = [f"--set {n}=VALUE" if n != "batch" else "--batch VALUE" for n in missing]
        raise UsageError(f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no "
                         f"value: give {'it' if len(missing) == 1 else 'them'} with "
                         f"{', '.join(how)} or {what}")
    return {s: bound[s] for s in stats.symbols if s in needed}  # model order


def _symbols_of(e) -> set:
    """The free symbols of an expression, a tuple of them or a Condition."""
    if isinstance(e, tuple):
        return set().union(set(), *(_symbols_of(x) for x in e))
    return set(getattr(e, "free_symbols", None) or as_expr(e).free_symbols)


def _check_digits(exprs, fixed: dict, symbols, grid) -> None:
    """A power with a symbol's exponent (``2**k``) grows past any bound: its value at the
    grid's largest values is estimated by at_values, which refuses (TooLarge) one past
    MAX_DIGITS before the grid computes (and prints) it at every point."""
    corner = {s: sympy.Integer(max(int(v) for v in values))
              for s, (_, values) in zip(symbols, grid)}
    for expr in exprs:
        expr = as_expr(expr).xreplace(fixed)
        if any(not p.exp.is_number for p in expr.atoms(sympy.Pow)):
            at_values(expr, corner)


def sweep(stats: ModelStats, grid: Sequence[tuple[str, Sequence[int]]], metrics: Sequence[str],
          options: MetricOptions = MetricOptions(),
          progress: Optional[Callable[[int], None]] = None) -> SweepResult:
    """Every metric at every point of the grid (the product of the symbols' values).
    ``progress(n)`` is called after each step of ``n`` points."""
    import numpy as np

    if not grid:
        raise UsageError("give at least one --grid NAME=VALUES")
    symbols = grid_symbols(stats, [name for name, _ in grid])
    npoints = 1
    for _, values in grid:
        npoints *= len(values)
    if npoints > MAX_POINTS:
        raise UsageError(f"the grid has {npoints:,} points; at most {MAX_POINTS:,} are allowed")
    exprs = {m: metric_expr(stats, m, options) for m in metrics}
    conds = model_conditions(stats)
    fixed = fixed_values(stats, [*exprs.values(), *conds], symbols, "sweep it with --grid")
    axes = [np.asarray(v, dtype=object if max(v) > 2**62 else np.int64) for _, v in grid]
    mesh = [a.ravel() for a in np.meshgrid(*axes, indexing="ij")] if len(axes) > 1 else axes
    columns = {s.name: m for s, m in zip(symbols, mesh)}
    result = SweepResult(stats.name, [s.name for s in symbols], list(metrics), columns,
                         {s.name: int(v) if v.is_Integer else v for s, v in fixed.items()})
    # Each condition over the points (vectorized; see admissible.holds).
    bound = [c.bound(fixed) for c in conds]
    _, result.broken = failed([c for c in bound if not c.trivial], symbols, mesh)
    _check_digits(exprs.values(), fixed, symbols, grid)
    for name, expr in exprs.items():
        formula = compile_formula(expr.xreplace(fixed), symbols)
        result.formulas[name] = formula
        result.modes[name] = formula.mode_for(*mesh)
        parts = []
        for start in range(0, npoints, CHUNK):
            parts.append(formula(*[m[start:start + CHUNK] for m in mesh]))
            if progress:
                progress(min(CHUNK, npoints - start))
        dtypes = {p.dtype for p in parts}
        columns[name] = (np.concatenate(parts) if len(dtypes) == 1
                         else np.concatenate([p.astype(object) for p in parts]))
    return result
