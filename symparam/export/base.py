"""What every exporter shares: a layer's view for the per-kind entries, the code an
entry returns, and the one error for a kind an exporter cannot write.

An entry is a function ``entry(layer: LayerView) -> Code``; a framework's exporter is
a dict from layer kind to entry, so adding a kind's export is one entry in one place.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import SourceError
from ..stats import LayerStats
from .pycode import Printer


@dataclass(frozen=True)
class Code:
    """What a layer becomes: ``make``, the expression building its module or layer
    (None for an operation with no module: a sum, a reshape); ``call``, how the
    forward pass applies it, with ``{m}`` for the module and ``{x}``, ``{x1}``, ...
    for its inputs, ``{xs}`` for all of them; ``helpers``, the helper classes it
    needs; ``holder``, where the module's weights are (``.inner`` in a wrapper)."""

    make: Optional[str]
    call: str = "{m}({x})"
    helpers: tuple[str, ...] = ()
    holder: str = ""


class LayerView:
    """A layer as an entry sees it: its converted arguments, its input shapes and the
    printer that writes values as Python."""

    def __init__(self, layer: LayerStats, printer: Printer, layout: str, framework: str,
                 outputs: Optional[dict] = None):
        self.layer, self.p, self.layout, self.framework = layer, printer, layout, framework
        self.a = dict(layer.args)
        self.outputs = outputs or {}  # layer name -> its output shape

    @property
    def kind(self) -> str:
        return self.layer.kind

    def x(self, i: int = 0) -> tuple:
        """The shape of input ``i``, batch left out."""
        return tuple(self.layer.input_shapes[i])

    def shape_of(self, i: int) -> tuple:
        """The shape of the layer's input ``i``, tensor arguments (attention's key
        and value) included."""
        if i < len(self.layer.input_shapes):
            return tuple(self.layer.input_shapes[i])
        return tuple(self.outputs[self.layer.inputs[i]])

    def key_value(self) -> tuple[int, int]:
        """Which inputs are attention's key and value: the query's own (0, 0), one
        tensor for both (1, 1), or both as written, told apart by their shapes."""
        n = len(self.layer.inputs)
        if n <= 1:
            return 0, 0
        if n == 2:
            return 1, 1
        key = self.a.get("key")
        return (1, 2) if key is not None and self.shape_of(1) == tuple(key) else (2, 1)

    @property
    def last(self) -> bool:
        return self.layout == "channels_last"

    def channels(self, i: int = 0) -> str:
        shape = self.x(i)
        return self.p.int(shape[-1] if self.last else shape[0])

    def int(self, name: str) -> str:
        return self.p.int(self.a[name])

    def real(self, name: str) -> str:
        return self.p.real(self.a[name])

    def lit(self, name: str) -> str:
        return self.p.lit(self.a[name])

    def fail(self, why: str) -> SourceError:
        return SourceError(f"cannot export layer '{self.layer.name}' ({self.kind}) to "
                           f"{self.framework}: {why}", self.layer.line, self.layer.column)


@dataclass(frozen=True)
class Exported:
    """An exported model: its source, the name of what builds it (a class or a
    function), and for ``check`` where each layer is: ``variables``, the variable
    holding its output (in ``forward``, or the Keras function); ``where``, the path to
    its module (an attribute, then a key in each pass of a repeat)."""

    source: str
    builder: str
    variables: dict
    where: dict


Entry = Callable[[LayerView], Code]


def entry_for(table: dict[str, Entry], view: LayerView) -> Code:
    """The code of one layer; a kind the table lacks is an error naming it and its
    line, never a silent skip."""
    entry = table.get(view.kind)
    if entry is None:
        raise view.fail(f"the {view.framework} exporter has no entry for the layer kind "
                        f"'{view.kind}' (symparam/export/{view.framework}.py)")
    return entry(view)


def rank(v: LayerView) -> int:
    """The rank of a 1-, 2- or 3-D kind: ``conv2d_transpose`` -> 2."""
    found = re.search(r"(\d)d", v.kind)
    return int(found.group(1)) if found else 1


def pair(v: LayerView, name: str) -> str:
    """A per-axis argument as code: one number when every axis has the same."""
    value = v.a[name]
    if isinstance(value, tuple) and len(set(value)) == 1:
        return v.p.lit(value[0])
    return v.p.lit(value)


def scale_shift(a: dict, switch: str) -> tuple[bool, bool]:
    """(scale, shift) of a normalization, as the language defines them: Keras's
    ``scale``/``center`` each alone, PyTorch's ``switch`` (affine) both, ``bias =
    false`` the shift alone."""
    on = a.get(switch, True)
    scale = bool(a.get("scale", True) and on)
    return scale, bool(a.get("center", True) and on and a.get("bias", True))


def kwargs(**items: Optional[str]) -> str:
    """``, key=value`` for each item that is not None (values already code)."""
    return "".join(f", {k}={v}" for k, v in items.items() if v is not None)


def signature(stats, names) -> tuple[dict, str]:
    """The model's symbols as Python parameters: ``({Symbol: identifier}, "H=224,
    W=224")``, each with its value in effect as its default (none when symbolic)."""
    # "symbol d", not "d": a layer may have a symbol's name, and gets its own.
    symbols = {s: names.name(f"symbol {s}", hint=str(s)) for s in stats.symbols}
    params = []
    for s, ident in symbols.items():
        value = stats.values.get(s)
        params.append(ident if value is None else f"{ident}={int(value)}")
    defaults = ["=" in p for p in params]
    if any(before and not after for before, after in zip(defaults, defaults[1:])):
        # A symbol without a default after one with: keyword-only arguments allow it.
        params.insert(0, "*")
    return symbols, ", ".join(params)


def header(stats, framework: str, source: str) -> list[str]:
    """The comment that opens an exported file: what it was made from (names shown
    through ``repr``, so no text of the user's can end the comment)."""
    lines = [f"# Exported by symparam from model {stats.name!r} "
             f"(convention {stats.convention}, layout {stats.layout})"
             + (f" in {source!r}" if source else "") + ",",
             f"# for {framework}: the symbols are arguments, their values the defaults."]
    return lines
