"""How a layer's output shape follows from its input shape, for derivations: the
convolution and pooling formulas per spatial axis (with their floor or ceiling),
flatten as a product. Data only: the math printers fill the formulas in.

Per spatial axis of size n (kernel k, stride s, padding p, dilation d):
valid ``floor((n - k)/s) + 1``; explicit padding ``floor((n + 2p - k)/s) + 1``;
dilated ``floor((n + 2p - d(k - 1) - 1)/s) + 1``; Keras's same ``ceil(n/s)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy

from ..exprs import as_expr
from ..stats import LayerStats

# rule -> (LaTeX, text); {n} {k} {s} {d} {p} are filled in, {p2} is 2p. A stride of 1
# needs no rounding: the "1" rules are what a textbook writes then.
RULES = {
    "valid": (r"\left\lfloor \frac{{{n} - {k}}}{{{s}}} \right\rfloor + 1",
              "floor(({n} - {k})/{s}) + 1"),
    "padded": (r"\left\lfloor \frac{{{n} + {p2} - {k}}}{{{s}}} \right\rfloor + 1",
               "floor(({n} + {p2} - {k})/{s}) + 1"),
    "dilated": (r"\left\lfloor \frac{{{n} + {p2} - {d} \left({k} - 1\right) - 1}}{{{s}}}"
                r" \right\rfloor + 1", "floor(({n} + {p2} - {d}*({k} - 1) - 1)/{s}) + 1"),
    "same": (r"\left\lceil \frac{{{n}}}{{{s}}} \right\rceil", "ceil({n}/{s})"),
    "valid1": (r"{n} - {k} + 1", "{n} - {k} + 1"),
    "padded1": (r"{n} + {p2} - {k} + 1", "{n} + {p2} - {k} + 1"),
    "dilated1": (r"{n} + {p2} - {d} \left({k} - 1\right)", "{n} + {p2} - {d}*({k} - 1)"),
    "same1": (r"{n}", "{n}"),
}
# What each rule's letters mean: ((word, letter), ...) and the rest in words.
_KS = (("kernel", "k"), ("stride", "s"))
LEGEND = {
    "valid": (_KS, "no padding"),
    "padded": (_KS + (("padding on each side", "p"),), ""),
    "dilated": (_KS + (("padding on each side", "p"), ("dilation", "d")), ""),
    "same": ((("stride", "s"),), "padding 'same'"),
    "flatten": ((), "the product of the input's axes"),
}
for _rule in ("valid", "padded", "dilated"):
    LEGEND[_rule + "1"] = ((("kernel", "k"),) + LEGEND[_rule][0][2:],
                           LEGEND[_rule][1] + (", " if LEGEND[_rule][1] else "") + "stride 1")
LEGEND["same1"] = ((), "stride 1, padding 'same': the size is kept")
# The textbook assumption that drops the rounding: (LaTeX, text).
ASSUME = {"valid": (r"s \mid n - k", "s divides n - k"),
          "padded": (r"s \mid n + 2p - k", "s divides n + 2p - k"),
          "dilated": (r"s \mid n + 2p - d(k - 1) - 1", "s divides n + 2p - d(k - 1) - 1"),
          "same": (r"s \mid n", "s divides n")}


@dataclass(frozen=True, eq=True)
class AxisStep:
    """One output axis: ``out`` follows from ``size`` by the rule with ``args``
    (k, s, p, d as sympy numbers or expressions). ``exact`` is ``out`` with the floor
    or ceiling dropped: the textbook's value when the stride divides exactly (None
    when nothing is rounded)."""

    size: sympy.Expr
    args: dict
    out: sympy.Expr
    exact: Optional[sympy.Expr]


@dataclass(frozen=True)
class ShapeRule:
    """The rule of a layer and its axes; ``axes`` with equal steps are given once."""

    rule: str
    axes: tuple[AxisStep, ...]
    letters: tuple[tuple[str, str], ...]  # (word, letter): ("kernel", "k")
    words: str                           # the rest of the legend: "no padding"
    assumption: str = ""      # the textbook assumption, when some axis rounds symbolically
    assumption_tex: str = ""  # the same in LaTeX: s \mid n - k

    @property
    def legend(self) -> str:
        """``kernel k, stride s, no padding``: what the formula's letters are."""
        parts = [f"{word} {letter}" for word, letter in self.letters]
        return ", ".join(parts + ([self.words] if self.words else []))

    @property
    def exact(self) -> tuple:
        """The axes' sizes under the textbook assumption (where they round)."""
        return tuple(step.exact for step in self.axes if step.exact is not None)

    def filled(self, printer, step: Optional[AxisStep] = None, tex: bool = True) -> str:
        """The rule's formula with letters (``step`` None) or a step's values in."""
        if self.rule == "flatten":
            if step is None:
                return r"\prod_i n_i" if tex else "product of n_i"
            return printer.product(step.args["dims"])
        template = RULES[self.rule][0 if tex else 1]
        if step is None:
            names = {"n": "n", "k": "k", "s": "s", "d": "d", "p2": "2p"}
        else:
            # A sum put in for a letter keeps its brackets: n - (a + 1), not n - a + 1.
            names = {key: _grouped(printer(v), v, tex) for key, v in step.args.items()}
            n = printer(step.size)
            # n leads its sum everywhere but in text's ceil(n/s), where it is divided.
            names["n"] = _grouped(n, step.size, tex) if self.rule == "same" and not tex else n
            names["p2"] = (r"2 \cdot " if tex else "2*") + names.get("p", "0")
        return template.format(**names)


def _grouped(text: str, value, tex: bool) -> str:
    if not (isinstance(value, sympy.Basic) and value.is_Add):
        return text
    return rf"\left({text}\right)" if tex else f"({text})"


def _spatial(shape: tuple, rank: int, layout: str) -> tuple:
    return tuple(shape[-1 - rank:-1]) if layout == "channels_last" else tuple(shape[1:1 + rank])


def _rounded(expr) -> bool:
    expr = as_expr(expr)
    return bool(expr.free_symbols) and expr.has(sympy.floor, sympy.ceiling)


def _drop_rounding(expr):
    return as_expr(expr).replace(sympy.floor, lambda x: x).replace(
        sympy.ceiling, lambda x: x)


def _textbook(n, k, s, d, p, same: bool):
    """The output size when the stride divides exactly (the textbook assumption printed
    beside it): the rule's own formula without its floor, on the layer's actual input
    size n. The assumption is about this layer's n, so n keeps any rounding of earlier
    layers: dropping that too (ceiling(H/2) as H/2) would assume something else, and
    give a wrong size where the printed assumption holds. Read off the rule, not off the
    output, whose exact form may have been rewritten (``ceiling(H/2) - 1``)."""
    if same:
        return n / s
    return (n + 2 * p - d * (k - 1) - 1) / s + 1


def _window_rule(pad, d) -> str:
    if pad in ("same", "causal"):
        return "same"
    if d != 1:
        return "dilated"
    return "valid" if pad in ("valid", 0) else "padded"


def shape_rule(layer: LayerStats, layout: str) -> Optional[ShapeRule]:
    """The shape rule of a convolution, a windowed pooling or a flatten; None for
    other layers (and for transposed convolutions and PyTorch's ceil_mode pooling,
    whose output sizes the summary still shows).

    >>> from symparam import analyze
    >>> s = analyze("model m(H = 32):\\n    input [H, H, 3]\\n    conv2d 8, 3, stride = 2\\n")
    >>> r = shape_rule(s.layers[1], s.layout)
    >>> r.rule, r.axes[0].out, r.axes[0].exact
    ('valid', ceiling(H/2) - 1, H/2 - 1/2)
    """
    a, x = layer.args, layer.input_shapes[0] if layer.input_shapes else None
    if x is None:
        return None
    if layer.kind == "flatten":
        if len(x) < 2:
            return None
        step = AxisStep(sympy.Mul(*x), {"dims": tuple(x)}, layer.output_shape[-1], None)
        return ShapeRule("flatten", (step,), *LEGEND["flatten"])
    window = a.get("kernel", a.get("pool"))
    if not isinstance(window, tuple) or "output_padding" in a or a.get("ceil_mode"):
        return None
    rank = len(window)
    stride = a.get("stride") or window
    dilation = a.get("dilation") or (1,) * rank
    pad = a.get("padding", "valid")
    pads = (pad,) * rank if isinstance(pad, str) else tuple(pad)
    sizes, outs = _spatial(x, rank, layout), _spatial(layer.output_shape, rank, layout)
    steps, rules = [], set()
    for n, out, k, s, d, p in zip(sizes, outs, window, stride, dilation, pads):
        rule = _window_rule(p, d)
        rules.add(rule)
        args = {"k": k, "s": s, "d": d, "p": 0 if isinstance(p, str) else p}
        exact = (_textbook(n, k, s, d, args["p"], rule == "same") if _rounded(out)
                 else None)
        steps.append(AxisStep(n, args, out, exact))
    if len(rules) != 1:  # mixed paddings per axis: not one formula to show
        return None
    rule = rules.pop()
    if all(s == 1 for s in stride):
        rule += "1"
    unique = tuple(step for i, step in enumerate(steps) if step not in steps[:i])
    tex, text = ASSUME.get(rule, ("", "")) if any(st.exact is not None for st in unique) \
        else ("", "")
    return ShapeRule(rule, unique, *LEGEND[rule], text, tex)
