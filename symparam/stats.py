"""Analysis results: data, not text. Every field holds sympy expressions; all
printing is done by :mod:`symparam.render`."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable, Optional

import sympy

from . import conventions
from .exprs import add_up, as_expr
from .costs import Cost, FlopConvention, total
from .layers.base import (BUFFER, NON_TRAINABLE, REGISTRY, TRAINABLE, Args, Context,
                          KVCache, Weight)
from .values import at_values

ROLES = (TRAINABLE, NON_TRAINABLE, BUFFER)


def _factors(term: sympy.Expr) -> Counter:
    """The factors of a product, powers with whole exponents spelt out: d**2 -> d, d."""
    out: Counter = Counter()
    for f in sympy.Mul.make_args(term):
        base, exp = f.as_base_exp()
        if exp.is_Integer and exp > 0 and not base.is_number:
            out[base] += int(exp)
        else:
            out[f] += 1
    return out


def structured(sizes) -> sympy.Expr:
    """The textbook form of a sum of weight sizes: the factors common to every term
    pulled out, ``F*(C*k_h*k_w + 1)`` rather than the expanded sum.

    It reads the common factors off the products instead of calling ``sympy.factor``,
    which costs milliseconds per layer and is unpredictable on a whole model.

    >>> from sympy import symbols
    >>> n, h = symbols("n h", positive=True, integer=True)
    >>> structured([n * h, h])
    h*(n + 1)
    """
    # Equal sizes (a stacked RNN lists the same shapes per layer) are added up first:
    # the result is the same, and its cost no longer grows with the number of weights.
    return _structured(tuple(k * t for t, k in
                             Counter(as_expr(t) for t in sizes).items()))


@lru_cache(maxsize=4096)  # a model repeats its layers: 10,000 `dense d` are one call
def _structured(sizes: tuple) -> sympy.Expr:
    if len(sizes) < 2:
        return sizes[0] if sizes else sympy.Integer(0)
    split = [t.as_coeff_Mul() for t in sizes]
    counts = [_factors(t) for _, t in split]
    common = counts[0]
    for c in counts[1:]:
        common = common & c
    rest = sympy.Add(*[coeff * sympy.Mul(*[b ** k for b, k in (f - common).items()])
                       for (coeff, _), f in zip(split, counts)])
    # The numbers common to the terms, once like terms are combined: 3d + 3 + d + 1
    # is 4(d + 1).
    content, rest = rest.as_content_primitive()
    head = content * sympy.Mul(*[b ** k for b, k in common.items()])
    if head.is_Number and head != 1 and rest.is_Add:
        # sympy would distribute a bare number over the sum: keep 32*(49*C + 1) whole.
        return sympy.Mul(head, rest, evaluate=False)
    return head * rest


@lru_cache(maxsize=4096)  # 10,000 `dense d` have the same weights: one count
def _role_count(weights: tuple, roles: tuple, multiplier: sympy.Expr) -> sympy.Expr:
    """The count of the weights in ``roles``, times the multiplier (textbook form)."""
    sizes = [w.size for w in weights if w.role in roles]
    if not sizes:
        return sympy.Integer(0)
    return multiplier * structured(sizes)


@dataclass(frozen=True)
class Position:
    """Where something was written: the line and column of its text (1-based)."""

    line: int = 0
    column: int = 0


def at(node) -> Position:
    """The position of a syntax node (anything with a line and a column)."""
    return Position(getattr(node, "line", 0), getattr(node, "column", 0))


class LazyText:
    """A message written when first needed: printing sympy expressions is slow, and
    most deferred checks pass, so their messages are never needed. It pickles as its
    text, so stats hold no closure once pickled.

    >>> import pickle
    >>> m = LazyText(lambda: "too " + "small")
    >>> m(), pickle.loads(pickle.dumps(m))
    ('too small', 'too small')
    """

    __slots__ = ("_make", "_text")

    def __init__(self, make: Callable[[], str]):
        self._make: Optional[Callable[[], str]] = make
        self._text: Optional[str] = None

    def __call__(self) -> str:
        if self._make is not None:
            self._text, self._make = self._make(), None
        return self._text or ""

    def __reduce__(self):
        return (str, (self(),))


@dataclass(frozen=True)
class Costing:
    """What a layer's cost is computed from, as data: the kind's canonical name, its
    converted arguments, its input and output shapes, the convention and layout. The
    cost is computed from the registry when first asked (counting parameters never
    pays for it) and kept, so equal layers sharing one Costing compute it once."""

    kind: str
    args: tuple            # (canonical name, converted value) pairs
    given: frozenset       # the names of the arguments given explicitly
    input_shapes: tuple
    output_shape: tuple
    convention: str
    layout: str
    _done: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_done": {}}  # recomputed when asked (see _Pickled)

    def _ask(self, method: str):
        """The layer kind's ``method`` (cost, kv_cache) on this application, once."""
        if method not in self._done:
            kind = REGISTRY[self.kind]
            x = self.input_shapes if kind.inputs == "many" else self.input_shapes[0]
            self._done[method] = getattr(kind, method)(
                Args(dict(self.args), set(self.given)), x, self.output_shape,
                Context(conventions.get(self.convention), self.layout))
        return self._done[method]

    def cost(self) -> Optional[Cost]:
        return self._ask("cost")

    def kv_cache(self) -> Optional[KVCache]:
        """What the layer keeps per example to decode (see LayerKind.kv_cache)."""
        return self._ask("kv_cache")


class _Pickled:
    """Pickles without the values computed when first asked (the counts, the cost, the
    memo of values): they are recomputed from the data when asked again. (sympy
    rebuilds an unpickled product evaluated, so a kept ``64*(121*C + 1)`` would come
    back as ``7744*C + 64``, not the textbook form.)"""

    def __getstate__(self) -> dict:
        cls = type(self)
        state = {k: v for k, v in self.__dict__.items()
                 if not isinstance(getattr(cls, k, None), cached_property)}
        if "memo" in state:
            state["memo"] = {}
        return state


@dataclass(frozen=True)
class LayerStats(_Pickled):
    """One layer application: its shapes and weights. ``multiplier`` is how many
    times it stands in the model when it sits in a repeat that is not unrolled;
    ``active_multiplier`` how many times it runs for each position (k of a mixture of
    experts' E experts run: E times in the total, k times in :attr:`active` and the
    cost; None: the multiplier)."""

    name: str
    kind: str
    type: str
    line: int
    column: int
    input_shapes: tuple
    output_shape: tuple
    weights: tuple[Weight, ...] = ()
    multiplier: sympy.Expr = sympy.Integer(1)
    path: tuple[str, ...] = ()
    args: dict = field(default_factory=dict)  # converted arguments, by canonical name
    inputs: tuple[str, ...] = ()               # names of the layers feeding this one
    # What the layer kind's cost is computed from, when first asked.
    costing: Optional[Costing] = field(default=None, repr=False, compare=False)
    # False when the convention leaves the layer out of the model: in Keras, a layer
    # that does not reach the output (ModelStats.unreached). Its own counts stay; the
    # model's totals, costs and memory leave it out.
    in_model: bool = True
    active_multiplier: Optional[sympy.Expr] = None

    def __post_init__(self) -> None:
        if self.active_multiplier is not None and self.active_multiplier == self.multiplier:
            object.__setattr__(self, "active_multiplier", None)  # one way to say "all run"

    @property
    def runs(self) -> sympy.Expr:
        """How many times the layer runs for each position (the multiplier, but k of
        E in a mixture of experts' body)."""
        return self.multiplier if self.active_multiplier is None else self.active_multiplier

    def _role(self, *roles: str) -> sympy.Expr:
        return _role_count(self.weights, roles, self.multiplier)

    @cached_property
    def active(self) -> sympy.Expr:
        """The parameters that take part in one position's forward pass: ``params``,
        but k of E experts' (see :attr:`runs`)."""
        if self.active_multiplier is None:
            return self.params
        return _role_count(self.weights, (TRAINABLE, NON_TRAINABLE), self.active_multiplier)

    @cached_property
    def params(self) -> sympy.Expr:
        """Trainable plus non-trainable parameters (buffers are not parameters)."""
        return self._role(TRAINABLE, NON_TRAINABLE)

    @cached_property
    def trainable(self) -> sympy.Expr:
        return self._role(TRAINABLE)

    @cached_property
    def non_trainable(self) -> sympy.Expr:
        return self._role(NON_TRAINABLE)

    @cached_property
    def buffers(self) -> sympy.Expr:
        return self._role(BUFFER)

    @cached_property
    def cost(self) -> Optional[Cost]:
        """The forward arithmetic per example, times the times it runs (:attr:`runs`:
        the multiplier, k of E in a mixture of experts); None when the layer kind does
        not say (an input costs nothing)."""
        if self.kind == "input":
            return Cost()
        if self.costing is None:
            return None
        cost = self.costing.cost()
        return None if cost is None else cost.times(self.runs)

    @property
    def macs(self) -> Optional[sympy.Expr]:
        """Multiply-accumulates of the forward pass per example (None: not counted)."""
        return None if self.cost is None else as_expr(self.cost.macs)


@dataclass(frozen=True)
class ModelStats(_Pickled):
    """A model analyzed under one convention, with the symbol values in effect.

    >>> from symparam import analyze
    >>> s = analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n")
    >>> s.total, s.value(s.total)
    (h*(n + 1), 10)
    """

    name: str
    convention: str
    layout: str
    symbols: tuple[sympy.Symbol, ...]
    defaults: dict            # symbol name -> default expression or None
    values: dict              # Symbol -> sympy Integer: the values in effect
    layers: tuple[LayerStats, ...]
    checks: tuple = field(default=())
    latex: dict = field(default_factory=dict)  # symbol name -> LaTeX the file gives it
    # The parsed document, so a renderer can analyze the same model under the other
    # convention (to say where Keras and PyTorch differ).
    document: object = field(default=None, repr=False, compare=False)
    # The layer (or input) whose tensor is the model's output: the one its body ends
    # with; and the layers, inputs aside, from which no path leads to it and whose
    # weights no layer on a path shares: Keras leaves them out (see symparam.reach).
    output: str = ""
    unreached: tuple[str, ...] = ()

    @property
    def model_layers(self) -> tuple[LayerStats, ...]:
        """The layers the convention counts in the model (see LayerStats.in_model)."""
        return tuple(layer for layer in self.layers if layer.in_model)
    # Values of subexpressions at ``values``, shared by every at()/value() call: the
    # total of a large model is the sum of the layers' counts, each computed once.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def _sum(self, attr: str) -> sympy.Expr:
        return add_up(getattr(layer, attr) for layer in self.model_layers)

    @cached_property
    def total(self) -> sympy.Expr:
        return self._sum("params")

    @cached_property
    def trainable(self) -> sympy.Expr:
        return self._sum("trainable")

    @cached_property
    def non_trainable(self) -> sympy.Expr:
        return self._sum("non_trainable")

    @cached_property
    def buffers(self) -> sympy.Expr:
        return self._sum("buffers")

    @cached_property
    def active(self) -> sympy.Expr:
        """The parameters one position's forward pass uses: the total, but of a
        mixture of experts only the router, k of the E experts and the shared ones.
        Equal to :attr:`total` in a model without one."""
        return self._sum("active")

    @property
    def routed(self) -> bool:
        """Does the model have a mixture of experts (so active and total differ)?"""
        return any(layer.active_multiplier is not None for layer in self.model_layers)

    @cached_property
    def cost(self) -> Cost:
        """The forward arithmetic per example of the layers that state it."""
        return total(layer.cost for layer in self.model_layers if layer.cost is not None)

    @property
    def macs(self) -> sympy.Expr:
        """Multiply-accumulates of a forward pass per example (see :mod:`symparam.costs`;
        the layers in :attr:`uncounted` are left out)."""
        return self.cost.macs

    def flops(self, convention: Optional[FlopConvention] = None, **switches) -> sympy.Expr:
        """FLOPs by a stated convention: ``flops()`` is 2 x MACs; ``flops(
        flops_per_mac=1, bias=True, activations=True, elementwise=True,
        backward=True)`` switches each part (see :class:`FlopConvention`)."""
        convention = convention or FlopConvention(**switches)
        return convention.flops(self.cost)

    @property
    def uncounted(self) -> tuple[str, ...]:
        """Names of the layers whose kind states no cost (not in the totals)."""
        return tuple(layer.name for layer in self.model_layers if layer.cost is None)

    @property
    def complete(self) -> bool:
        """Does every symbol have a value?"""
        return all(s in self.values for s in self.symbols)

    def at(self, expr) -> sympy.Expr:
        """``expr`` with the values in effect substituted (partly, if some are missing)."""
        if not self.values:
            return as_expr(expr)
        return at_values(expr, self.values, self.memo)

    def value(self, expr) -> Optional[int]:
        """The exact integer value of ``expr``, or None while a symbol has no value."""
        v = self.at(expr)
        if v.is_Integer:
            return int(v)
        if v.is_number and v.is_integer:
            return int(v)
        return None

    def shape_at(self, shape) -> tuple:
        return tuple(self.at(d) for d in shape)

    # Jupyter shows a model by its derivation. The text comes from symparam.render, which
    # stats never import: the package's __init__ puts the views in NOTEBOOK, and they
    # import the renderer only when a notebook asks.
    def _repr_markdown_(self) -> Optional[str]:
        return _view("markdown", self)

    def _repr_latex_(self) -> Optional[str]:
        return _view("latex", self)

    def _repr_html_(self) -> Optional[str]:
        return _view("html", self)


# How a notebook shows stats, by view (markdown, latex, html): set by symparam/__init__.py.
NOTEBOOK: dict[str, Callable[[ModelStats], str]] = {}


def _view(name: str, stats: ModelStats) -> Optional[str]:
    show = NOTEBOOK.get(name)
    return None if show is None else show(stats)  # None: the notebook's plain repr
