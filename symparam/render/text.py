"""Plain-text renderings for the terminal: ``count`` and ``summary``.

Deterministic, no colors, no trailing spaces: the same analysis always prints the
same bytes (the golden files in ``tests/golden/`` depend on it).
"""
from __future__ import annotations

from typing import Sequence

import sympy

from .. import conventions
from ..stats import ModelStats, structured
from .facts import layer_facts
from .fmt import formula, quantity, shape, times, unreached_note

GAP = "   "
# (label, ModelStats attribute): the totals lines, worded exactly as Keras prints them.
TOTALS = (("Total params", "total"), ("Trainable params", "trainable"),
          ("Non-trainable params", "non_trainable"))


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = " ") -> list[str]:
    """Left-aligned columns, as wide as their widest cell; no trailing spaces."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return (indent + GAP.join(str(c).ljust(w) for c, w in zip(cells, widths))).rstrip()
    return [line(header)] + [line(r) for r in rows]


def symbols_line(stats: ModelStats) -> str:
    """``Symbols: n = 4096, h = 512; no value: L`` (or ``Symbols: none``)."""
    given = [f"{s} = {stats.values[s]}" for s in stats.symbols if s in stats.values]
    unset = [str(s) for s in stats.symbols if s not in stats.values]
    parts = [", ".join(given)] if given else []
    if unset:
        parts.append("no value: " + ", ".join(unset))
    return "Symbols: " + ("; ".join(parts) if parts else "none")


def header_lines(stats: ModelStats) -> list[str]:
    return [f'Model: "{stats.name}"  (convention {stats.convention}, layout {stats.layout})',
            symbols_line(stats)]


def _quantities(stats: ModelStats, buffers: bool = True) -> list[tuple[str, object]]:
    """The totals' lines; "Active params" (a mixture of experts' k of E experts) only
    where it differs from the total."""
    rows = [(label, getattr(stats, attr)) for label, attr in TOTALS]
    if stats.routed:
        rows.append(("Active params", stats.active))
    return rows + ([("Buffers", stats.buffers)] if buffers else [])


def count_text(stats: ModelStats) -> str:
    """Totals as formulas and, where values are known, numbers.

    >>> from symparam import analyze
    >>> print(count_text(analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n")))
    Model: "m"  (convention keras, layout channels_last)
    Symbols: n = 4, h = 2
    <BLANKLINE>
                            Formula     Value
     Total params           h*(n + 1)   10
     Trainable params       h*(n + 1)   10
     Non-trainable params   0           0
     Buffers                0           0
    """
    if not stats.symbols:  # nothing symbolic: the formulas are the numbers
        header = ["", "Value"]
        rows = [[label, quantity(expr)] for label, expr in _quantities(stats)]
        return "\n".join(header_lines(stats) + [""] + table(header, rows) + _notes(stats))
    header = ["", "Formula"]
    if stats.values:
        header.append("Value" if stats.complete else "With the values given")
    rows = []
    for label, expr in _quantities(stats):
        row = [label, formula(expr)]
        if stats.values:
            row.append(quantity(stats.at(expr)))
        rows.append(row)
    return "\n".join(header_lines(stats) + [""] + table(header, rows) + _notes(stats))


def _notes(stats: ModelStats) -> list[str]:
    note = unreached_note(stats)
    return ["", note] if note else []


def _common(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _formula_cell(layer) -> str:
    if layer.params.is_number:
        text = quantity(layer.params)
    elif layer.multiplier == 1:
        text = formula(layer.params)
    else:
        text = times(layer_facts(layer).per_copy, layer.multiplier)
    shared = [w.shared_with for w in layer.weights if getattr(w, "shared_with", "")]
    if shared:  # counted once, at the layer that owns the tensor
        text += f" (shares {', '.join(shared)})"
    return text


def _at(stats: ModelStats, expr) -> str:
    """A layer's number, or its count with the known values put in, factored."""
    v = stats.at(expr)
    if v.is_number or v == expr:
        return quantity(v)
    return formula(structured(list(sympy.Add.make_args(sympy.expand(v)))))


def summary_columns(stats: ModelStats) -> list[str]:
    """Param # holds numbers when values are known (Formula then holds the formula),
    formulas otherwise; Buffers appears when the model keeps any (PyTorch)."""
    columns = ["Layer (type)", "Output Shape", "Param #"]
    if stats.buffers != 0:
        columns.append("Buffers")
    if not _is_chain(stats):
        columns.append("Connected to")
    if stats.values:
        columns.append("Formula")
    return columns


def _is_chain(stats: ModelStats) -> bool:
    """Does every layer take the layer just before it, as in a Keras Sequential? If
    not, the summary shows where each layer's inputs come from, as Keras's does for a
    functional model."""
    previous = None
    for layer in stats.layers:
        if layer.inputs and tuple(layer.inputs) != (previous,):
            return False
        previous = layer.name
    return True


def _cells(stats: ModelStats, layer, columns: list[str], extra: Sequence = ()) -> list[str]:
    cells = [shape(stats.shape_at(layer.output_shape)),
             _at(stats, layer.params) if stats.values else _formula_cell(layer)]
    if "Buffers" in columns:
        cells.append(_at(stats, layer.buffers))
    for _, of_layer in extra:
        value = of_layer(layer)
        cells.append("-" if value is None else _at(stats, value))
    if "Connected to" in columns:
        cells.append(", ".join(layer.inputs) or "-")
    if "Formula" in columns:
        cells.append(_formula_cell(layer))
    return cells


def summary_rows(stats: ModelStats, columns: list[str],
                 extra: Sequence = ()) -> list[list[str]]:
    """One row per layer of the model (as Keras's summary, without the layers Keras
    leaves out), plus a header row (``b1:``, ``repeat L:``) wherever the enclosing
    blocks and repeats change; nesting shows as indentation."""
    rows: list = []
    previous: tuple = ()
    for layer in stats.model_layers:
        path = tuple(layer.path)
        for depth in range(_common(previous, path), len(path)):
            rows.append(["  " * depth + path[depth] + ":"] + [""] * (len(columns) - 1))
        previous = path
        name = "  " * len(path) + f"{layer.name} ({layer.type})"
        rows.append([name] + _cells(stats, layer, columns, extra))
    return rows


def summary_text(stats: ModelStats, extra: Sequence = ()) -> str:
    """A per-layer table in the spirit of Keras's ``model.summary()``. ``extra`` adds
    columns after the counts: (title, function of a layer giving its expression, or
    None where the layer has none), with their totals under the table.

    >>> from symparam import analyze
    >>> print(summary_text(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n")))
    Model: "m"  (convention keras, layout channels_last)
    Symbols: n = 4
    ______________________________________________________________
     Layer (type)               Output Shape   Param #   Formula
    ==============================================================
     input_layer (InputLayer)   (None, 4)      0         0
     dense (Dense)              (None, 2)      10        2*(n + 1)
    ==============================================================
    Total params: 10
    Trainable params: 10
    Non-trainable params: 0
    ______________________________________________________________
    Formulas:
     Total params = 2*(n + 1)
     Trainable params = 2*(n + 1)
     Non-trainable params = 0
    """
    columns = summary_columns(stats)
    at = columns.index("Buffers") + 1 if "Buffers" in columns else 3
    columns[at:at] = [title for title, _ in extra]
    lines = table(columns, summary_rows(stats, columns, extra))
    width = max(len(line) for line in lines)
    quantities = _quantities(stats, conventions.get(stats.convention).has_buffers
                             or stats.buffers != 0)
    out = header_lines(stats) + ["_" * width, lines[0], "=" * width] + lines[1:]
    out.append("=" * width)
    out += [f"{label}: {quantity(stats.at(expr))}" for label, expr in quantities]
    totals = [(f"Total {title}", sympy.Add(*[v for v in map(of_layer, stats.model_layers)
                                             if v is not None]))
              for title, of_layer in extra]
    out += [f"{label}: {quantity(stats.at(expr))}" for label, expr in totals]
    quantities = quantities + totals
    out.append("_" * width)
    if stats.values and stats.symbols:
        out.append("Formulas:")
        out += [f" {label} = {formula(expr)}" for label, expr in quantities]
    return "\n".join(out + _notes(stats))
