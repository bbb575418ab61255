"""The facts a derivation states, prepared in Python so templates only lay them out.

:func:`model_facts` walks the layers: per layer its weights (name, shape, role, why),
its count (the weights' sizes, the structured textbook form, the numbers put in, the
result), how its output shape follows from its input (:mod:`.shapes`), and where the
other convention counts it differently, or why the other convention cannot say (both
from :mod:`symparam.compare`). This is the context documented in
``docs/derivations.md``; every field is data (sympy expressions, strings, numbers).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Optional

import sympy

from ..compare import (FRAMEWORK, Missing, OtherSide, analyze_other, counterparts,
                       difference, other_convention, pair_weights)
from ..exprs import as_expr
from ..layers.base import BUFFER, NON_TRAINABLE, TRAINABLE
from ..stats import LayerStats, ModelStats, structured
from .fmt import unreached_note
from ..values import digits
from .shapes import ShapeRule, shape_rule
from .symbols import symbol_latex

PARAMETER_ROLES = (TRAINABLE, NON_TRAINABLE)
CONVENTION_NAMES = FRAMEWORK  # name -> "Keras", "PyTorch", ... (the registry's)
# Why a weight's role puts it where it is counted: said after the layer's own reason.
ROLE_CONSEQUENCE = {  # (one weight, several)
    NON_TRAINABLE: ("so Keras lists it as a non-trainable parameter",
                    "so Keras lists them as non-trainable parameters"),
    BUFFER: ("so PyTorch keeps it as a buffer, not a parameter",
             "so PyTorch keeps them as buffers, not parameters"),
}
FACTOR_LIMIT = 40  # terms: above this, a total is left as the sum of its layers
# Digits of the largest number in a total: above this, factoring (which works modulo
# primes that must exceed its coefficients) takes minutes; the sum is left as it is.
FACTOR_DIGITS = 30


@dataclass(frozen=True)
class WeightFacts:
    """One weight: ``shape`` and ``size`` are sympy expressions in the model's symbols."""

    name: str
    shape: tuple
    role: str            # trainable, non_trainable, buffer or shared
    size: sympy.Expr
    why: str = ""
    shared_with: str = ""

    @property
    def trainable(self) -> bool:
        return self.role == TRAINABLE

    @property
    def counted(self) -> bool:
        """Is it one of the layer's parameters (not a buffer, not another's tensor)?"""
        return self.role in PARAMETER_ROLES

    @property
    def role_text(self) -> str:
        """``non-trainable``, or ``shared with dec/kernel`` (prose: escape it)."""
        text = self.role.replace("_", "-")
        return f"{text} with {self.shared_with}" if self.shared_with else text


@dataclass(frozen=True)
class Note:
    """Why some weights have their role: ``names`` share the reason ``why``."""

    names: tuple[str, ...]
    why: str
    role: str

    @property
    def text(self) -> str:
        """The reason, and what the role means for the count."""
        consequence = ROLE_CONSEQUENCE.get(self.role)
        if not consequence:
            return self.why
        return f"{self.why}, {consequence[len(self.names) > 1]}"


@dataclass(frozen=True)
class ConventionNote:
    """How the other convention counts the same layer: ``params`` and ``buffers`` are
    differences (other minus this), ``weights`` the other convention's weights."""

    convention: str       # the other convention's name: "PyTorch" or "Keras"
    type: str             # the layer's class there (BatchNorm1d)
    params: sympy.Expr
    buffers: sympy.Expr
    weights: tuple[WeightFacts, ...]
    reasons: tuple[Note, ...]  # why the other's weights that differ are as they are

    # The same differences with the model's values put in (None while unknown).
    params_at: Optional[int] = None
    buffers_at: Optional[int] = None

    @property
    def parts(self) -> tuple[tuple[sympy.Expr, str], ...]:
        """The differences in words: ``((2*h, "fewer parameters"), (2*h + 1, "more
        buffers"))``, each size without its sign (a difference whose sign depends on
        the symbols says what the values given make of it)."""
        out = []
        for diff, what, at in ((self.params, "parameters", self.params_at),
                               (self.buffers, "buffers", self.buffers_at)):
            if diff == 0:
                continue
            if diff.is_negative or (-diff).is_positive:
                out.append((difference(diff).magnitude, f"fewer {what}"))
            elif diff.is_positive:
                out.append((diff, f"more {what}"))
            else:
                here = f"; {at:,} with the values given" if at is not None else ""
                out.append((diff, f"more {what} (fewer where negative{here})"))
        return tuple(out)


@dataclass(frozen=True)
class LayerFacts:
    """What a derivation says about one layer (see docs/derivations.md)."""

    layer: LayerStats
    name: str
    type: str
    kind: str
    line: int
    path: tuple[str, ...]
    input_shapes: tuple
    output_shape: tuple
    weights: tuple[WeightFacts, ...]
    terms: tuple[sympy.Expr, ...]   # the size of each parameter (not buffer) weight
    per_copy: sympy.Expr            # the structured count of one copy
    multiplier: sympy.Expr
    params: sympy.Expr              # multiplier x per_copy
    trainable: sympy.Expr
    non_trainable: sympy.Expr
    buffers: sympy.Expr
    value: Optional[int]            # params with the values in effect, when all known
    at_values: sympy.Expr           # params with the known values put in
    notes: tuple[Note, ...]
    shape: Optional[ShapeRule]
    other: Optional[ConventionNote] = None
    # Why the other convention cannot say how it counts this layer (its framework's
    # error and line): a comparison is never dropped silently.
    comparison_missing: Optional[Missing] = None

    @property
    def runs(self) -> Optional[sympy.Expr]:
        """How many times a mixture of experts' expert layer runs per position (k of
        its E copies), or None for any other layer (it runs as often as it stands)."""
        return self.layer.active_multiplier

    @property
    def has_weights(self) -> bool:
        return bool(self.weights)


@dataclass(frozen=True)
class TotalFacts:
    """A total: ``closed`` is the closed form (factored when that is shorter), ``parts``
    the layers' numbers when they are all known, ``value`` the number."""

    label: str
    attr: str
    expr: sympy.Expr
    closed: sympy.Expr
    parts: tuple
    value: Optional[int]
    at_values: sympy.Expr


@dataclass(frozen=True)
class SymbolFacts:
    name: str
    symbol: sympy.Symbol
    latex: str
    value: Optional[int]
    default: Optional[sympy.Expr]


@dataclass(frozen=True)
class ModelFacts:
    """Everything a derivation says about a model."""

    name: str
    convention: str          # keras or torch
    convention_name: str     # Keras or PyTorch
    other_convention: str    # the other one's name, for the per-layer notes
    layout: str
    symbols: tuple[SymbolFacts, ...]
    layers: tuple[LayerFacts, ...]       # the layers a derivation shows
    all_layers: tuple[LayerFacts, ...]   # every layer, for templates that want them
    totals: tuple[TotalFacts, ...]
    # The textbook assumptions the shape rules state, as (LaTeX, text) pairs.
    assumptions: tuple[tuple[str, str], ...] = field(default=())
    # Notes on the model as a whole, as prose (layers that do not reach the output).
    notes: tuple[str, ...] = field(default=())

    @property
    def values(self) -> tuple[SymbolFacts, ...]:
        return tuple(s for s in self.symbols if s.value is not None)

    @property
    def unset(self) -> tuple[SymbolFacts, ...]:
        return tuple(s for s in self.symbols if s.value is None)

    @property
    def has_weights(self) -> bool:
        return any(f.weights for f in self.layers)


def _notes(weights: tuple[WeightFacts, ...]) -> tuple[Note, ...]:
    out: dict[tuple, list[str]] = {}
    for w in weights:
        if w.why:
            out.setdefault((w.why, w.role), []).append(w.name)
    return tuple(Note(tuple(names), why, role) for (why, role), names in out.items())


def _weights(layer: LayerStats) -> tuple[WeightFacts, ...]:
    return tuple(WeightFacts(w.name, tuple(w.shape), w.role, w.size, w.why,
                             getattr(w, "shared_with", "")) for w in layer.weights)


def _difference(layer: LayerStats, other: Optional[LayerStats], name: str,
                stats: Optional[ModelStats] = None) -> Optional[ConventionNote]:
    if other is None or other.kind != layer.kind:
        return None
    values = dict(stats.values) if stats is not None else None
    params = difference(other.params - layer.params, values)
    buffers = difference(other.buffers - layer.buffers, values)
    if params.zero and buffers.zero:
        return None
    # The other's weights with no counterpart here (same size, same role) are the
    # difference: PyTorch's second LSTM bias, its BatchNorm buffers.
    theirs = _weights(other)
    pairs, _, extra = pair_weights(layer.weights, theirs)
    extra += [w for mine, w in pairs if mine.role != w.role]
    reasons = _notes(tuple(w for w in theirs if w in extra and w.why))
    return ConventionNote(name, other.type, params.structured, buffers.structured, theirs,
                          reasons, params.value, buffers.value)


def layer_facts(layer: LayerStats, stats: Optional[ModelStats] = None,
                other: Optional[LayerStats] = None, other_name: str = "",
                missing: Optional[Missing] = None) -> LayerFacts:
    """The facts of one layer; ``terms`` are its parameters' sizes (buffers and weights
    shared with another layer are not counted here).

    >>> from symparam import analyze
    >>> f = layer_facts(analyze("model m(n, h):\\n    input [n]\\n    dense h\\n").layers[1])
    >>> f.terms, f.per_copy
    ((h*n, h), h*(n + 1))
    """
    weights = _weights(layer)
    terms = tuple(w.size for w in weights if w.counted)
    at = stats.at if stats is not None else as_expr
    value = stats.value(layer.params) if stats is not None else None
    layout = stats.layout if stats is not None else "channels_last"
    return LayerFacts(
        layer, layer.name, layer.type, layer.kind, layer.line, tuple(layer.path),
        tuple(layer.input_shapes), tuple(layer.output_shape), weights, terms,
        structured(list(terms)), layer.multiplier, layer.params, layer.trainable,
        layer.non_trainable, layer.buffers, value, at(layer.params), _notes(weights),
        shape_rule(layer, layout), _difference(layer, other, other_name, stats), missing)


def closed_form(expr) -> sympy.Expr:
    """A total as a paper would print it: the sum of the layers' structured counts, or
    that sum factored when factoring makes it shorter. Small sums only: factoring a
    large model's total is slow and rarely reads better.

    >>> from symparam.values import symbol
    >>> d = symbol("d")
    >>> closed_form(d * (d + 1) + d * (d + 1))
    2*d*(d + 1)
    """
    expr = as_expr(expr)
    if not expr.free_symbols or len(sympy.Add.make_args(expr)) > FACTOR_LIMIT:
        return expr
    if any(digits(n) > FACTOR_DIGITS for n in expr.atoms(sympy.Rational)):
        return expr
    expanded = sympy.expand(expr)
    if len(sympy.Add.make_args(expanded)) > FACTOR_LIMIT:
        return expr
    factored = sympy.factor(expanded)
    # Factored only when that gives a product, and a shorter one: 2*d*(d + 1), not
    # a rearranged sum.
    if factored.is_Mul and sympy.count_ops(factored) < sympy.count_ops(expr):
        return factored
    return expr


def _shown(f: LayerFacts) -> bool:
    return bool(f.weights) or f.shape is not None or f.comparison_missing is not None


def model_facts(stats: ModelStats, compare: bool = True) -> ModelFacts:
    """The facts of a whole model; ``compare`` analyzes it under the other convention
    too, to say where the two count a layer differently."""
    other = analyze_other(stats) if compare else None
    other_name = FRAMEWORK[other_convention(stats.convention)]
    twins = counterparts(stats, other) if other is not None else ()
    facts = tuple(layer_facts(layer, stats, twin.layer, other_name, twin.missing)
                  if twin is not None else layer_facts(layer, stats)
                  for layer, twin in itertools.zip_longest(stats.layers, twins))
    totals = [("Total params", "params", stats.total),
              ("Trainable params", "trainable", stats.trainable),
              ("Non-trainable params", "non_trainable", stats.non_trainable)]
    if stats.convention == "torch" or stats.buffers != 0:
        totals.append(("Buffers", "buffers", stats.buffers))
    total_facts = []
    for label, attr, expr in totals:
        parts = tuple(stats.at(getattr(layer, attr)) for layer in stats.model_layers)
        parts = tuple(p for p in parts if p != 0)
        total_facts.append(TotalFacts(label, attr, expr, closed_form(expr), parts,
                                      stats.value(expr), stats.at(expr)))
    symbols = tuple(SymbolFacts(s.name, s, symbol_latex(s.name, stats.latex),
                                int(stats.values[s]) if s in stats.values else None,
                                stats.defaults.get(s.name)) for s in stats.symbols)
    assumptions = tuple(dict.fromkeys((f.shape.assumption_tex, f.shape.assumption)
                                      for f in facts
                                      if f.shape is not None and f.shape.assumption))
    # The layers the convention leaves out of the model are not shown (as in Keras's
    # own summary); the note names them.
    return ModelFacts(stats.name, stats.convention, CONVENTION_NAMES[stats.convention],
                      other_name, stats.layout, symbols,
                      tuple(f for f in facts if _shown(f) and f.layer.in_model), facts,
                      tuple(total_facts), assumptions,
                      tuple(note for note in (unreached_note(stats), _missing_note(other))
                            if note))


def _missing_note(other: Optional[OtherSide]) -> str:
    """Said once for the model when the other convention cannot analyze it."""
    if other is None or other.missing is None:
        return ""
    return (f"{other.missing.text}. {other.missing.framework} cannot analyze the whole "
            f"model, so each other layer is compared alone, on the same input.")
