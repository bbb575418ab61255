"""Shape rules: how a layer kind explains its output shape from its input shape, for
derivations. Data only; each kind builds its own rule (:meth:`LayerKind.shape_rule`)
from its own formula, and the printers fill it in (:meth:`ShapeRule.filled`).

A rule with ``axes`` has a formula to show, one step per distinct output axis (the
convolution and pooling window lengths of ``layers/conv.py``, flatten's product in
``layers/core.py``). The two rules every kind has by default have none: the output
has the input's shape (:func:`same_as_input`), or a shape the layer computes from the
input (:func:`input_to_output`); a derivation states those by giving the input and
output shapes, which it does for every layer.

May import: sympy only (no other part of symparam).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy


@dataclass(frozen=True, eq=True)
class AxisStep:
    """One output axis: ``out`` follows from ``size`` by the rule with ``args``
    (k, s, p, d as sympy numbers or expressions; ``dims`` for a product). ``exact`` is
    ``out`` with the floor or ceiling dropped: the textbook's value when the stride
    divides exactly (None when nothing is rounded)."""

    size: sympy.Expr
    args: dict
    out: sympy.Expr
    exact: Optional[sympy.Expr]


@dataclass(frozen=True)
class ShapeRule:
    """A layer's shape rule and its axes (axes with equal steps are given once).

    ``tex`` and ``text`` are the formula with its letters as ``{n}``, ``{k}``, ``{s}``,
    ``{d}``, ``{p}`` and ``{p2}`` (2p) placeholders, written by the kind beside the
    function that computes the size; ``product`` rules print the product of
    ``args["dims"]`` instead (flatten)."""

    rule: str
    axes: tuple[AxisStep, ...] = ()
    letters: tuple[tuple[str, str], ...] = ()  # (word, letter): ("kernel", "k")
    words: str = ""                            # the rest of the legend: "no padding"
    assumption: str = ""      # the textbook assumption, when some axis rounds symbolically
    assumption_tex: str = ""  # the same in LaTeX: s \mid n - k
    tex: str = ""
    text: str = ""
    product: bool = False

    @property
    def has_formula(self) -> bool:
        """Is there a formula to show (a derivation's steps), or only the shapes?"""
        return bool(self.axes)

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
        """The rule's formula with letters (``step`` None) or a step's values in;
        ``printer`` prints an expression (``printer(expr)``, ``printer.product(dims)``)."""
        if self.product:
            if step is None:
                return self.tex if tex else self.text
            return printer.product(step.args["dims"])
        template = self.tex if tex else self.text
        if step is None:
            names = {"n": "n", "k": "k", "s": "s", "d": "d", "p": "p", "p2": "2p"}
        else:
            # A sum put in for a letter keeps its brackets: n - (a + 1), not n - a + 1.
            names = {key: _grouped(printer(v), v, tex) for key, v in step.args.items()}
            n = printer(step.size)
            # n leads its sum everywhere but where it is divided (text's ceil(n/s)).
            names["n"] = _grouped(n, step.size, tex) if "{n}/" in template else n
            names["p2"] = (r"2 \cdot " if tex else "2*") + names.get("p", "0")
        return template.format(**names)


def _grouped(text: str, value, tex: bool) -> str:
    if not (isinstance(value, sympy.Basic) and value.is_Add):
        return text
    return rf"\left({text}\right)" if tex else f"({text})"


def same_as_input() -> ShapeRule:
    """The default rule of a kind whose output has its input's shape."""
    return ShapeRule("same_as_input", words="the output has the input's shape")


def input_to_output() -> ShapeRule:
    """The default rule of any other kind: the output shape the layer computes."""
    return ShapeRule("input_to_output", words="the output shape the layer computes "
                                              "from its input shape")
