"""One comparison of layers: two models, or one model under two conventions.

Pure data in and out, serving the three places that compare:

- ``symparam diff`` (:mod:`symparam.analysis.diff`): two models layer by layer;
- derivations (:mod:`symparam.render.facts`): how the other convention counts each
  layer, or, where the other convention cannot analyze the model, why not;
- layer cards (:mod:`symparam.cards`): what differs between Keras and PyTorch.

**Pairing by structure** (:func:`pair_layers`): the two lists of layers are aligned as
``diff`` aligns lines, first on the full structural key (kind, block/repeat path,
arguments, input shapes), then, within the runs that differ, without the shapes, then
on (kind, path), then on the kind alone;
what is left is *added* (B only) or *removed* (A only). Names are not a key: automatic
names shift when a layer is inserted. Each pair is *same* or *changed*, saying what
changed (a count, the output shape, the type, an argument).

**Readable differences** (:func:`difference`): ``-h*(n + 1)`` rather than
``h*(-n - 1)``: the sign pulled out of the structured (textbook) form, kept beside
the expanded one.

>>> from symparam import analyze
>>> a = analyze("model m(n, h):\\n    input [n]\\n    dense h\\n    dense 3\\n")
>>> b = analyze("model m(n, h):\\n    input [n]\\n    dense h\\n    dense h\\n    dense 3\\n")
>>> [(p.status, p.a and p.a.name, p.b and p.b.name)
...  for p in pair_layers(a.model_layers, b.model_layers)][1:]
[('same', 'dense', 'dense'), ('added', None, 'dense_1'), ('same', 'dense_1', 'dense_2')]
>>> difference(a.total - b.total).structured  # A − B: the layer B adds, dense h over h
-h*(h + 1)

May import: sympy, :mod:`symparam.stats`, :mod:`symparam.layers.base`, :mod:`symparam.errors`,
:mod:`symparam.exprs`; :func:`symparam.analyze` only in :func:`analyze_other` (the one
place the other convention is analyzed).
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import sympy

from . import conventions
from .errors import SymparamError
from .exprs import add_up, as_expr
from .layers.base import ArgError, Args, Context, REQUIRED, SHARED, lookup
from .stats import LayerStats, ModelStats, structured

# ---- conventions: the one lookup until conventions are objects -----------------------

FRAMEWORK = conventions.displays()  # name -> "Keras", "PyTorch": the registry's, live


def framework(convention: str) -> str:
    """The framework's name: ``framework("torch")`` is ``'PyTorch'``."""
    return FRAMEWORK[convention]


def other_convention(convention: str) -> str:
    """The convention a model is compared with: keras <-> torch."""
    return "torch" if convention == "keras" else "keras"


# ---- readable differences --------------------------------------------------------------

ROLES = ("params", "trainable", "non_trainable", "buffers")
FACTOR_TERMS = 40  # a mixed-sign difference of at most this many terms is factored


@dataclass(frozen=True)
class Difference:
    """A difference as a person writes it: ``structured`` is the textbook form with
    its sign pulled out (``-h*(n + 1)``), ``magnitude`` that form without its sign,
    ``sign`` 1 or -1 (0: zero, or a sign that depends on the symbols, when
    ``magnitude`` is the whole difference), ``expanded`` the expanded sum, ``value``
    the number at the values given (None while a symbol has none)."""

    expanded: sympy.Expr
    structured: sympy.Expr
    magnitude: sympy.Expr
    sign: int
    value: Optional[int] = None

    @property
    def zero(self) -> bool:
        return self.expanded == 0


def _term_sign(term: sympy.Expr) -> int:
    coeff = term.as_coeff_Mul()[0]
    return -1 if coeff.is_negative else 1


def difference(expr, values: Optional[dict] = None, parts: Sequence = ()) -> Difference:
    """``expr`` (a difference of counts) in readable form. ``parts`` are the
    structured differences it is the sum of (one per layer): a difference whose terms
    have both signs is written as their sum (``2*(kv_A - kv_B)*d + 3*(ff_A - ff_B)*d``),
    else, when it has few terms, factored.

    >>> from symparam.values import symbol
    >>> h, n = symbol("h"), symbol("n")
    >>> d = difference(-h * n - h, {h: 2, n: 3})
    >>> d.structured, d.magnitude, d.sign, d.value
    (-h*(n + 1), h*(n + 1), -1, -8)
    """
    expanded = sympy.expand(as_expr(expr))
    value = None
    if values is not None:
        v = expanded.xreplace(values)
        value = int(v) if v.is_Integer else None
    if expanded == 0:
        zero = sympy.Integer(0)
        return Difference(zero, zero, zero, 0, 0)
    if expanded.is_Number:
        sign = -1 if expanded.is_negative else 1
        return Difference(expanded, expanded, abs(expanded), sign, value)
    terms = sympy.Add.make_args(expanded)
    signs = {_term_sign(t) for t in terms}
    if len(signs) == 1:
        sign = signs.pop()
        magnitude = structured([sign * t for t in terms])
        return Difference(expanded, sign * magnitude if sign < 0 else magnitude,
                          magnitude, sign, value)
    # Both signs: h_A*n - h_B*n (a symbol split between two models) reads better as
    # (h_A - h_B)*n; a few terms only (factoring is slow on large sums).
    form = structured(terms)
    if parts:
        form = add_up(parts)
    elif len(terms) <= FACTOR_TERMS:
        factored = sympy.factor(expanded)
        if sympy.count_ops(factored) < sympy.count_ops(form):
            form = factored
    return Difference(expanded, form, form, 0, value)


# ---- weights ------------------------------------------------------------------------------

def pair_weights(a: Sequence, b: Sequence) -> tuple[list, list, list]:
    """The weights of two versions of a layer paired in order by equal size (kernel
    with weight, bias with bias_ih): ``(pairs, only in a, only in b)``. Any objects with
    a ``size`` do.

    >>> from symparam.layers.base import Weight
    >>> from symparam.values import symbol
    >>> u = symbol("u")
    >>> pairs, only_a, only_b = pair_weights([Weight("bias", (4 * u,))],
    ...     [Weight("bias_ih", (4 * u,)), Weight("bias_hh", (4 * u,))])
    >>> [(x.name, y.name) for x, y in pairs], only_a, [w.name for w in only_b]
    ([('bias', 'bias_ih')], [], ['bias_hh'])
    """
    matcher = difflib.SequenceMatcher(a=[sympy.expand(as_expr(w.size)) for w in a],
                                      b=[sympy.expand(as_expr(w.size)) for w in b],
                                      autojunk=False)
    pairs, used_a, used_b = [], set(), set()
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            pairs.append((a[block.a + k], b[block.b + k]))
            used_a.add(block.a + k)
            used_b.add(block.b + k)
    return (pairs, [w for i, w in enumerate(a) if i not in used_a],
            [w for j, w in enumerate(b) if j not in used_b])


# ---- layers, paired by structure ----------------------------------------------------------

@dataclass(frozen=True)
class LayerPair:
    """One entry of a comparison: ``a`` and ``b`` the two versions of a layer (None on the
    side that does not have it), ``status`` added (B only), removed (A only), changed or
    same, ``changes`` what differs (``params``, ``non_trainable``, ``output shape``,
    ``type``, ``argument units``, ...), ``delta`` A − B by role (:data:`ROLES`) as
    :class:`Difference`."""

    a: Optional[LayerStats]
    b: Optional[LayerStats]
    status: str
    changes: tuple[str, ...]
    delta: dict

    @property
    def layer(self) -> LayerStats:
        layer = self.a or self.b
        assert layer is not None  # an entry has at least one side
        return layer


def _args_key(layer: LayerStats) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in layer.args.items()))


# From the finest key to the coarsest: the input shapes first tell apart two equal
# layers, one of them inserted (dense h over n, then dense h over h).
_KEYS: tuple[Callable[[LayerStats], object], ...] = (
    lambda x: (x.kind, tuple(x.path), _args_key(x), str(x.input_shapes)),
    lambda x: (x.kind, tuple(x.path), _args_key(x)),
    lambda x: (x.kind, tuple(x.path)),
    lambda x: x.kind,
)


def _align(xs: Sequence, ys: Sequence, keys: Sequence) -> list[tuple]:
    """Pairs (x, y), (x, None) and (None, y) in order: equal keys pair; the runs between
    them are aligned again by the next, coarser key."""
    if not keys:
        return [(x, None) for x in xs] + [(None, y) for y in ys]
    key, rest = keys[0], keys[1:]
    matcher = difflib.SequenceMatcher(a=[key(x) for x in xs], b=[key(y) for y in ys],
                                      autojunk=False)
    out: list[tuple] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += zip(xs[i1:i2], ys[j1:j2])
        else:
            out += _align(xs[i1:i2], ys[j1:j2], rest)
    return out


def _renamed(value, rename: dict):
    if rename and isinstance(value, sympy.Basic):
        return value.xreplace(rename)
    if rename and isinstance(value, tuple):
        return tuple(_renamed(v, rename) for v in value)
    return value


def _differs(x, y) -> bool:
    if type(x) is type(y) and x == y:  # the usual case, and no expansion to pay for
        return False
    if isinstance(x, sympy.Basic) or isinstance(y, sympy.Basic):
        try:
            return sympy.expand(as_expr(x) - as_expr(y)) != 0
        except Exception:  # not both formulas (a word against a number): unequal
            return str(x) != str(y)
    if isinstance(x, tuple) and isinstance(y, tuple) and len(x) == len(y):
        return any(_differs(p, q) for p, q in zip(x, y))
    return x != y or type(x) is not type(y)


def _side(layer: Optional[LayerStats], role: str, rename: dict) -> sympy.Expr:
    if layer is None:
        return sympy.Integer(0)
    return getattr(layer, role).xreplace(rename) if rename else getattr(layer, role)


def pair_layers(a: Sequence[LayerStats], b: Sequence[LayerStats], *, types: bool = True,
                shapes: bool = True, rename_a: Optional[dict] = None, rename_b: Optional[dict] = None,
                values: Optional[dict] = None) -> tuple[LayerPair, ...]:
    """Two lists of layers aligned by structure (see the module's docstring), with what
    differs in each pair and A − B by role. ``types=False`` when the two sides are one
    model under two conventions (each names its classes its own way), ``shapes=False``
    when their layouts differ (channels first and last); ``rename_a`` and
    ``rename_b`` map symbols to each side's own (``h`` to ``h_A``), ``values`` are the
    difference's values."""
    rename_a, rename_b = rename_a or {}, rename_b or {}
    out = []
    for x, y in _align(list(a), list(b), _KEYS):
        delta = {role: difference(_side(x, role, rename_a) - _side(y, role, rename_b),
                                  values) for role in ROLES}
        if x is None or y is None:
            status = "added" if x is None else "removed"
            changes = tuple(r for r in ROLES if not delta[r].zero)
        else:
            changes = tuple(r for r in ROLES if not delta[r].zero)
            shape_a = _renamed(tuple(x.output_shape), rename_a)
            if shapes and _differs(shape_a, _renamed(tuple(y.output_shape), rename_b)):
                changes += ("output shape",)
            if types and x.type != y.type:
                changes += ("type",)
            for name in dict.fromkeys((*x.args, *y.args)):
                if _differs(_renamed(x.args.get(name), rename_a),
                            _renamed(y.args.get(name), rename_b)):
                    changes += (f"argument {name}",)
            status = "changed" if changes else "same"
        out.append(LayerPair(x, y, status, changes, delta))
    return tuple(out)


# ---- the other convention -------------------------------------------------------------------

@dataclass(frozen=True)
class Missing:
    """Why a comparison with the other convention is missing: that framework's error
    message and the line it names (None when it names none)."""

    framework: str
    message: str
    line: Optional[int] = None

    @property
    def text(self) -> str:
        """``No PyTorch comparison: line 3: conv1d: padding='causal' is Keras-only ...``"""
        where = f"line {self.line}: " if self.line else ""
        return f"No {self.framework} comparison: {where}{self.message}"


@dataclass(frozen=True)
class OtherSide:
    """A model analyzed under the other convention: ``stats``, or ``missing`` saying why
    it could not be."""

    convention: str
    stats: Optional[ModelStats] = None
    missing: Optional[Missing] = None


def analyze_other(stats: ModelStats) -> OtherSide:
    """The same model under the other convention, at the same values. The one place a
    comparison analyzes: the error of the other framework is kept, not swallowed."""
    other = other_convention(stats.convention)
    if stats.document is None:
        return OtherSide(other, missing=Missing(framework(other),
                                                "the model's text is not kept"))
    from .analyze import analyze
    try:
        return OtherSide(other, analyze(stats.document, model=stats.name, convention=other,
                                        values={s.name: int(v)
                                                for s, v in stats.values.items()},
                                        symbolic=True))
    except SymparamError as err:
        return OtherSide(other, missing=Missing(framework(other), err.message,
                                                getattr(err, "line", None)))


@dataclass(frozen=True)
class Counterpart:
    """A layer's version in the other convention (``layer``), or why there is none
    (``missing``; both None: the other convention has no such layer there)."""

    layer: Optional[LayerStats] = None
    missing: Optional[Missing] = None


def _given(kind, args: dict, ctx: Context) -> set:
    """The arguments a layer was given, as far as its converted values tell: those
    that differ from the default (what a framework refuses is a value it lacks)."""
    out = set()
    for spec in kind.args:
        if spec.name not in args:
            continue
        if spec.default is REQUIRED:
            out.add(spec.name)
            continue
        try:
            default = spec.default
            if isinstance(default, int) and not isinstance(default, bool):
                default = sympy.Integer(default)
            default = None if default is None else spec.convert(default, ctx)
        except (ArgError, SymparamError, TypeError, ValueError):
            out.add(spec.name)
            continue
        if _differs(args[spec.name], default):
            out.add(spec.name)
    return out


def layer_alone(layer: LayerStats, convention: str, layout: str) -> Counterpart:
    """One layer's version in another convention, applied alone to the same input
    shapes: what a comparison can still say when the other convention cannot analyze
    the whole model (BatchNormalization's statistics are buffers in PyTorch whatever
    else the model holds). A layer sharing weights with another is compared in the
    whole model only."""
    fw = framework(convention)
    kind = lookup(layer.kind)
    if kind is None or any(w.role == SHARED for w in layer.weights):
        return Counterpart(missing=Missing(fw, f"{layer.name} shares weights with another "
                                               f"layer, so only an analysis of the whole "
                                               f"model can compare it", layer.line))
    ctx = Context(conventions.get(convention), layout)
    args = Args(dict(layer.args), _given(kind, layer.args, Context(conventions.get(
        other_convention(convention)), layout)))
    shapes = [tuple(s) for s in layer.input_shapes]
    try:
        applied = (kind.apply_many(args, shapes, ctx) if kind.inputs == "many"
                   else kind.apply(args, shapes[0], ctx))
        type_name = applied.type_name or kind.type_name(ctx, shapes[0])
    except ArgError as err:  # what the framework refuses: padding = causal in PyTorch
        return Counterpart(missing=Missing(fw, f"{layer.kind}: {err}", layer.line))
    except Exception as err:  # noqa: BLE001 - applied alone, outside the analysis that
        # checks its input: any failure is a comparison missing, said so, never a crash
        return Counterpart(missing=Missing(fw, f"{layer.kind} cannot be applied alone "
                                               f"({type(err).__name__})", layer.line))
    return Counterpart(dataclasses.replace(layer, type=type_name,
                                           output_shape=tuple(applied.output),
                                           weights=tuple(applied.weights), costing=None))


def counterparts(stats: ModelStats, other: OtherSide) -> tuple[Counterpart, ...]:
    """Each layer of ``stats`` (all of :attr:`ModelStats.layers`) in the other
    convention: paired by structure in the other's analysis when there is one; else
    each applied alone, and the layers at the line the other framework refused state
    its reason."""
    if other.stats is not None:
        twin = {id(x): y for x, y in _align(list(stats.layers), list(other.stats.layers),
                                            _KEYS)
                if x is not None and y is not None}
        return tuple(Counterpart(twin.get(id(layer))) for layer in stats.layers)
    out = []
    for layer in stats.layers:
        if other.missing is not None and other.missing.line == layer.line:
            out.append(Counterpart(missing=other.missing))
        elif layer.kind in ("input", "param"):  # no layer kind: nothing to apply alone
            out.append(Counterpart())
        else:
            out.append(layer_alone(layer, other.convention, stats.layout))
    return tuple(out)


# ---- a layer kind's two conventions, in words (layer cards) ------------------------------

def _same(a, b) -> bool:
    return sympy.expand(as_expr(a) - as_expr(b)) == 0


def _shape_text(shape) -> str:
    return " × ".join(str(d) for d in shape) if shape else "scalar"


def side_differences(keras, torch) -> tuple[str, ...]:
    """What differs between the two conventions' analyses of one example, in words.
    ``keras`` and ``torch`` are :class:`symparam.cards.Side`: ``framework``,
    ``available``, ``error``, ``counts`` (role -> formula), ``weights`` (``name``,
    ``shape``, ``size``, ``role``, ``role_text``, ``why``, ``init``), ``constants``,
    ``input_shapes`` and ``output_shape``."""
    for one, other in ((keras, torch), (torch, keras)):
        if not one.available:
            return (f"{one.framework} has no such layer ({one.error}); "
                    f"{other.framework} only" + ("." if other.available else
                                                  f" neither: {other.error}."),)
    out: list[str] = []
    labels = {"total": "parameters", "trainable": "trainable parameters",
              "non_trainable": "non-trainable parameters", "buffers": "buffers"}
    for what, label in labels.items():
        k, t = keras.counts[what], torch.counts[what]
        if not _same(k, t):
            gap = sympy.factor(sympy.expand(t - k))
            more = "fewer" if gap.could_extract_minus_sign() else "more"
            out.append(f"{label}: Keras {k}, PyTorch {t} (PyTorch has "
                       f"{-gap if more == 'fewer' else gap} {more})")
    out += _weight_differences(keras, torch)
    for name, value in keras.constants:
        other = dict(torch.constants).get(name)
        if other is not None and other != value:
            out.append(f"{name}: Keras {value}, PyTorch {other}")
    same_input = keras.input_shapes == torch.input_shapes
    if same_input and (len(keras.output_shape) != len(torch.output_shape) or not all(
            _same(a, b) for a, b in zip(keras.output_shape, torch.output_shape))):
        out.append(f"output shape: Keras (None, {', '.join(map(str, keras.output_shape))}), "
                   f"PyTorch (None, {', '.join(map(str, torch.output_shape))})")
    return tuple(out)


def _weight_differences(keras, torch) -> list[str]:
    out: list[str] = []
    pairs, only_k, only_t = pair_weights(keras.weights, torch.weights)
    for k, t in pairs:
        if tuple(map(str, k.shape)) != tuple(map(str, t.shape)):
            ks, ts = list(map(str, k.shape)), list(map(str, t.shape))
            order = ("transposed" if ks == ts[::-1] else "the same axes in another order"
                     if sorted(ks) == sorted(ts) else "the same size in another shape")
            out.append(f"Keras stores {k.name} as {_shape_text(k.shape)}, PyTorch {t.name} "
                       f"as {_shape_text(t.shape)} ({order})")
        if k.role != t.role:
            out.append(f"Keras's {k.name} is {k.role_text}, PyTorch's {t.name} a "
                       f"{t.role_text}" + (f": {t.why}" if t.why and t.why != k.why else ""))
        if k.init and t.init and k.init != t.init:
            out.append(f"initial {k.name} / {t.name}: Keras {k.init}, PyTorch {t.init}")
    for side, rest in ((keras, only_k), (torch, only_t)):
        for w in rest:
            why = f": {w.why}" if w.why else ""
            out.append(f"{side.framework} only: {w.name} ({_shape_text(w.shape)}, "
                       f"{w.role_text}){why}")
    return out
