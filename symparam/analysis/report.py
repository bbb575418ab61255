"""Text for the analysis commands: tables, CSV, JSON and Markdown built from the
results of :mod:`sweep`, :mod:`solve`, :mod:`leading` and :mod:`memory` (``diff``'s
output is :mod:`.diff_output`). Functions return strings (or yield lines); the CLI
prints them.

Counts are printed in full, with thousands separators in tables; a value that is
not a whole number is printed as an exact fraction, never rounded. Approximate
figures (a root's decimals, GiB) are always marked with ``≈``.
"""
from __future__ import annotations

import json
from fractions import Fraction
from typing import Iterator, Sequence

import sympy

from ..exprs import as_expr
from ..limits import SOLVE_SCAN
from ..render.fmt import formula, number
from ..render.text import table
from ..stats import ModelStats

FORMATS = ("table", "csv", "json", "markdown")


def exact(value, commas: bool = True) -> str:
    """An exact value as text: ``1,234``, or ``7/2`` for a fraction."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, sympy.Basic) and not value.is_Integer:
        return formula(value)
    return number(value) if commas else str(int(value))


def gib(nbytes) -> str:
    """``≈ 651.0 GiB``: a human size for a byte count (approximate, and marked so)."""
    v = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(v) < 1024 or unit == "PiB":
            return f"≈ {v:,.1f} {unit}" if unit != "B" else f"{int(nbytes):,} B"
        v /= 1024
    return ""  # pragma: no cover


CHUNK_ROWS = 65_536  # rows per piece of CSV or JSON text


def _column_text(values: list, kind: str) -> list[str]:
    """One column as CSV or JSON literals; whole numbers go through ``str`` at C speed.
    None (a metric where `count` refuses the model) is empty in CSV, null in JSON."""
    if all(type(v) is int for v in values):
        return list(map(str, values))
    if kind == "json":
        return ["null" if v is None else ("true" if v else "false") if isinstance(v, bool)
                else json.dumps(v) if isinstance(v, str) else
                f'"{v.numerator}/{v.denominator}"' if isinstance(v, Fraction) else str(v)
                for v in values]
    return ["" if v is None else _csv_text(v) if isinstance(v, str) else exact(v, commas=False)
            for v in values]


def _csv_text(v: str) -> str:
    return f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\n') else v


def _extra(result, start: int = 0, stop=None) -> list[list]:
    """The admissible and refused columns (or none, when `count` accepts every point)."""
    if result.valid is None:
        return []
    return [result.valid[start:stop].tolist(), result.refused[start:stop].tolist()]


def _pieces(result, header: list, kind: str) -> Iterator[str]:
    """CSV rows or JSON objects, built column by column, a chunk of rows at a time."""
    n = result.size
    if kind == "json":
        keys = [json.dumps(h) + ": " for h in header]
    for start in range(0, n, CHUNK_ROWS):
        stop = start + CHUNK_ROWS
        cols = [result.column(c, start, stop) for c in result.grid + result.metrics]
        text = [_column_text(c, kind) for c in cols + _extra(result, start, stop)]
        if kind == "csv":
            yield "\n".join(map(",".join, zip(*text)))
        else:
            text = [[k + v for v in col] for k, col in zip(keys, text)]
            last = stop >= n
            body = ",\n".join("  {" + ", ".join(row) + "}" for row in zip(*text))
            yield body + ("" if last else ",")


def sweep_lines(result, fmt: str = "table") -> Iterator[str]:
    """The sweep as text, piece by piece (each piece one or more whole lines, without
    the final newline): a million rows stream out in seconds. Where `count` refuses
    the model, the metrics are left empty (``-`` in tables, null in JSON), and the
    columns ``admissible`` and ``refused`` (the first condition broken) say why."""
    header = result.grid + result.metrics
    extra = _extra(result)
    if extra:  # some points break a condition of the model: say which
        header = header + ["admissible", "refused"]
    rows = ((*row, *more) for row, *more in zip(result.rows(), *extra)) if extra \
        else result.rows()
    if fmt == "json":
        yield "["
        yield from _pieces(result, header, "json")
        yield "]"
    elif fmt == "csv":
        yield ",".join(header)
        yield from _pieces(result, header, "csv")
    elif fmt == "markdown":
        yield "| " + " | ".join(header) + " |"
        yield "|" + "|".join("---:" for _ in header) + "|"
        for row in rows:
            yield "| " + " | ".join(_cell(v) for v in row) + " |"
    else:
        rows = [[_cell(v) for v in row] for row in rows]
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
        yield "  ".join(h.rjust(w) for h, w in zip(header, widths))
        for r in rows:
            yield "  ".join(c.rjust(w) for c, w in zip(r, widths))


def _cell(v) -> str:
    return "-" if v is None else v if isinstance(v, str) else exact(v)


def sweep_notes(result) -> list[str]:
    """What the sweep held fixed and how it computed (for stderr)."""
    from .admissible import message

    notes = []
    if result.fixed:
        notes.append("fixed: " + ", ".join(
            f"{k} = {v:,}" if isinstance(v, int) else f"{k} = {formula(v)} (its default)"
            for k, v in result.fixed.items()))
    modes = sorted(set(result.modes.values()))
    points = f"{result.size:,} point{'s' if result.size != 1 else ''}"
    notes.append(f"{points}, exact ({', '.join(modes)} arithmetic)")
    for cond, mask in result.broken:
        bad = int((~mask).sum())
        notes.append(f"{bad:,} of {points} break{'s' if bad == 1 else ''} the model's "
                     f"condition {message(cond)}: count refuses "
                     f"{'it' if bad == 1 else 'them'} (no numbers; column 'refused')")
    return notes


def _count_name(stats: ModelStats, count, devices: int = 1) -> str:
    """``params``, ``trainable``, ``buffers``, or a device's share: ``params/8``."""
    for name, attr in (("params", "total"), ("trainable", "trainable"),
                       ("buffers", "buffers")):
        whole = getattr(stats, attr)
        if count == whole:
            return name
        if devices > 1 and count == sympy.ceiling(whole / devices):
            return f"{name}/{devices}"
    return formula(count)  # pragma: no cover


def _bytes_cells(v, expr=None) -> list[str]:
    """A byte count and its human size, or the formula while a symbol has no value."""
    if v is not None:
        return [f"{v:,}", gib(v)]
    return [formula(expr) if expr is not None else "", ""]


def memory_text(stats: ModelStats, dtypes: Sequence[str], training, activations,
                all_layers: bool = False, kv=None) -> str:
    """Parameter memory per dtype, training memory, activation memory (the five
    largest layers, or every layer in model order with ``all_layers``), and the KV
    cache (``kv``) when the model has causal attention."""
    from .memory import dtype_bytes

    p, t = stats.value(stats.total), stats.value(stats.trainable)
    out = [f'Model: "{stats.name}"  (convention {stats.convention})',
           f"params = {formula(stats.total)}" + (f" = {p:,}" if p is not None else "")]
    if stats.trainable != stats.total:
        out.append(f"trainable = {formula(stats.trainable)}"
                   + (f" = {t:,}" if t is not None else ""))
    out += ["", "Parameter memory: bytes per value x params"]
    rows = []
    for dt in dtypes:
        expr = dtype_bytes(dt) * stats.total
        rows.append([dt, str(dtype_bytes(dt)), *_bytes_cells(stats.value(expr), expr)])
    out += table(["dtype", "bytes/value", "bytes", ""], rows)
    out += ["", f"Training memory: {training.optimizer}, {training.precision} precision, "
                f"{training.bytes_per_parameter} bytes per trainable parameter "
                f"(gradients and optimizer state for trainable parameters only)"]
    if training.devices > 1:
        split = {0: "nothing split (plain data parallelism)", 1: "the optimizer state",
                 2: "the optimizer state and gradients",
                 3: "the optimizer state, gradients and weights"}[training.zero]
        out.append(f"per device of {training.devices} data-parallel devices, ZeRO stage "
                   f"{training.zero}: {split} split over them (a share is "
                   f"ceil(count / {training.devices}))")
    rows = [[name, str(nb), _count_name(stats, count, training.devices),
             *_bytes_cells(stats.value(expr), expr)]
            for name, nb, count, expr in training.parts]
    rows.append(["total", "", "", *_bytes_cells(stats.value(training.total), training.total)])
    out += table(["part", "bytes/value", "x", "bytes", ""], rows)
    act = activations
    v = stats.value(act.total)
    out += ["", f"Activation memory: every layer's output kept once, {act.bytes_per_value} "
                f"bytes per value, batch size {act.batch} (inputs not counted)"]
    if act.total.is_Integer:
        out.append(f" total = {v:,} bytes ({gib(v)})")
    else:
        out.append(f" total = {formula(act.total)}"
                   + (f" = {v:,} bytes ({gib(v)})" if v is not None else ""))
    sized = [(stats.value(e), name, e) for name, e in act.per_layer]
    if all_layers:
        heading = " per layer, in model order (a layer in a repeat counts once per repeat):"
        shown = sized
    else:
        heading = " largest (a layer in a repeat counts once per repeat; --layers lists all):"
        shown = sorted((r for r in sized if r[0]), key=lambda r: -(r[0] or 0))[:5]
    if all_layers or shown:
        out.append(heading)
        out += table(["layer", "formula", "bytes", ""],
                     [[name, formula(e), *_bytes_cells(val)] for val, name, e in shown],
                     indent="  ")
    if kv is not None and kv.per_layer:
        out += ["", *kv_cache_text(stats, kv)]
    return "\n".join(out)


def _value_cell(stats: ModelStats, expr) -> str:
    """A formula and its value (``2*T = 8,192``), or the number alone."""
    v = stats.value(expr)
    if as_expr(expr).is_Integer:
        return f"{v:,}"
    return formula(expr) + (f" = {v:,}" if v is not None else "")


def kv_cache_text(stats: ModelStats, kv) -> list[str]:
    """The KV cache: per token, in total, and per attention layer."""
    out = [f"KV cache: the keys and values kept to decode, {kv.bytes_per_value} bytes per "
           f"value, batch size {kv.batch}",
           f" per token = {_value_cell(stats, kv.per_token)} bytes"]
    v = stats.value(kv.total)
    out.append(f" total = {_value_cell(stats, kv.total)} bytes"
               + (f" ({gib(v)})" if v is not None else ""))
    rows = [[name, formula(mult), _value_cell(stats, tokens), formula(width),
             *_bytes_cells(stats.value(expr), expr)]
            for name, mult, tokens, width, expr in kv.per_layer]
    out += table(["layer", "x", "steps", "numbers/step", "bytes", ""], rows, indent="  ")
    return out


def solve_text(r, stats: ModelStats) -> str:
    x = r.symbol
    lines = [f"{r.metric}({x}) = {formula(r.equation)}"]
    if r.fixed:
        lines.append("with " + ", ".join(
            f"{k} = {int(v):,}" if v.is_Integer else f"{k} = {formula(v)} (its default)"
            for k, v in r.fixed.items()))
    lines.append(f"target: {r.metric} = {r.target:,}")
    lines.append("")
    if r.roots:
        for root in r.roots:
            approx = sympy.N(root, 15)
            lines.append(f"exact root: {x} = {formula(root)}"
                         + ("" if root.is_Integer else f"  ≈ {approx}"))
    elif r.crossings:
        lines += _crossings_text(r)
    # The conditions that pick values: relations, and sizes that must come out whole
    # (that a size is at least 1, or an argument is valid, `count` checks silently).
    shown = list(dict.fromkeys(c.description for c in r.conditions if c.kind == "holds"
                               or (c.kind == "size" and not c.expr.is_integer)))
    if shown:
        lines.append("admissible: " + " and ".join(shown))
    if r.refused:
        lines.append(f"passed over (count --set refuses them): {_refused(x, r.refused)}")
    if not r.recounted:
        lines.append("the model's own conditions ignored: `count` may refuse these values")
    rows = []
    for c in r.candidates:
        diff = c.metric - r.target
        pct = f"{100 * diff / r.target:+.3f}%" if r.target else ""
        rows.append([c.side, f"{x} = {c.value:,}", f"{c.metric:,}", f"{diff:+,}", pct])
    lines.append("")
    lines += table(["", "value", r.metric, "- target", ""], rows, indent="")
    return "\n".join(lines)


def _crossings_text(r) -> list[str]:
    """Where a step function meets the target: one line, or a line per crossing."""
    x, c, target = r.symbol, r.crossings, f"{r.target:,}"

    def where(lo, hi, hit) -> str:
        if not hit:
            return f"passes {target} between {x} = {lo:,} and {hi:,}"
        return (f"equals {target} for {x} from {lo:,} to {hi:,}" if hi > lo
                else f"equals {target} at {x} = {lo:,}")
    head = f"{r.metric} is a step function of {x} (floor/ceiling)"
    if not c.scanned:
        return [f"{head}: it {where(*c.found[0])} (by bisection between powers of 2: "
                f"every {x} up to {SOLVE_SCAN:,} is on one side)"]
    if c.total == 1:
        return [f"{head}: it {where(*c.found[0])}"]
    shown = "" if c.total == len(c.found) else f"; the first {len(c.found)}"
    return ([f"{head}, not monotone:",
             f"it meets {target} {c.total:,} times for {x} from 1 to {SOLVE_SCAN:,} (each "
             f"evaluated){shown}:"]
            + [f"  it {where(*found)}" for found in c.found])


def _refused(x, refused) -> str:
    values = [f"{n:,}" for n, _ in refused]
    text = ", ".join(values[:4]) + (", ..." if len(values) > 4 else "")
    return f"{x} = {text}"


_OPS = {"==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">"}


def _wrapped(x) -> str:
    return f"({formula(x)})" if x.is_Add or x.is_Mul else formula(x)


def condition(rel) -> str:
    """A relation as typed: ``d % H == 0`` rather than ``Eq(Mod(d, H), 0)``.

    >>> d, H = sympy.symbols("d H", integer=True, positive=True)
    >>> condition(sympy.Eq(sympy.Mod(d, H), 0, evaluate=False))
    'd % H == 0'
    """
    def side(e):
        if isinstance(e, sympy.Mod):
            a, b = e.args
            return f"{_wrapped(a)} % {_wrapped(b)}"
        return formula(e)
    op = getattr(rel, "rel_op", None)
    if op not in _OPS:
        return formula(rel)
    return f"{side(rel.lhs)} {_OPS[op]} {side(rel.rhs)}"


def _pct(v) -> str:
    return "" if v is None else f"{100 * v:.2f}%"


def _error_text(definition) -> str:
    """``ceiling(d/96) - d/96`` (sympy would write -d/96 + ceiling(d/96))."""
    for t in sympy.Add.make_args(definition):
        if isinstance(t, sympy.ceiling):
            return f"{formula(t)} - {formula(t - definition)}"
        if isinstance(-t, sympy.floor):
            return f"{formula(definition - t)} - {formula(-t)}"
    return formula(definition)  # pragma: no cover


def leading_text(r) -> str:
    names = ", ".join(map(str, r.symbols))
    lines = [f"{r.metric} as {names} grow:"]
    width = max((len(formula(t)) for deg, t in r.orders if deg in r.bounds), default=0)
    for deg, terms in r.orders:
        text = f"  degree {deg}: {formula(terms)}"
        if deg in r.bounds:
            low, high = r.bounds[deg]
            text = (f"  degree {deg}: {formula(terms).ljust(width)}   "
                    f"(between {formula(low)} and {formula(high)})")
        lines.append(text)
    if r.errors:
        defs = ", ".join(f"{eps} = {_error_text(d)}" for eps, d in r.errors)
        lines.append(f"  where {defs}; each 0 <= ε < 1 (floor and ceiling written as their "
                     f"argument and a bounded error: every term is exact)")
    lead = r.orders[0][1]
    lines.append("")
    lines.append(f"leading term: {formula(lead)}")
    if r.value is not None and r.leading_value is not None:
        lines.append(f"at the values in effect: {r.leading_value:,} of {r.value:,} "
                     f"({_pct(r.leading_value / r.value)})")
    if r.groups:
        lines += ["", "share by layer group:"]
        rows = [[g.name, formula(g.expr), formula(g.leading),
                 f"{g.value:,}" if g.value is not None else "", _pct(g.share),
                 formula(g.limit_share)] for g in r.groups]
        lines += table(["group", "formula", "leading", r.metric, "share",
                        f"share as {names} grow"], rows)
    return "\n".join(lines)
