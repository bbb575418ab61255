"""What a layer definition is made of, and the registry that finds one by name.

A layer kind says in one place: its DSL names, its arguments (with defaults and
checks), its weights as named shapes with a role, and its output shape. The
parameter count is *always* the sum of the products of the weight shapes; no layer
writes a separate count formula that could drift from its shapes.
"""
from __future__ import annotations

import decimal
import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, Sequence

import sympy

from .. import conventions
from ..activations import NAMES as ACTIVATION_NAMES
from ..conventions import Convention
from ..errors import SourceError
from ..exprs import as_expr
from ..values import Word, describe, show
from .rules import ShapeRule, input_to_output, same_as_input

if TYPE_CHECKING:
    from ..costs import Cost

Shape = tuple  # a tuple of sympy expressions, the batch axis left out

TRAINABLE = "trainable"
NON_TRAINABLE = "non_trainable"  # Keras: counted as parameters, not trained
BUFFER = "buffer"                # PyTorch: state kept beside the parameters, not counted
SHARED = "shared"                # the same tensor as another layer's weight: counted there

REQUIRED = object()


def message_text(message) -> str:
    """A check's message: given as a string, or as a function that builds it."""
    return message() if callable(message) else message


@dataclass(frozen=True)
class Weight:
    """A named weight tensor: ``Weight("kernel", (n, h))``.

    ``role`` is trainable, non_trainable (Keras's non-trainable parameters), buffer
    (PyTorch state that is not a parameter) or shared (another layer's weight, named by
    ``shared_with`` and counted there only). ``why`` says, for derivations, why the
    weight has that role.
    """

    name: str
    shape: tuple
    role: str = TRAINABLE
    why: str = ""
    shared_with: str = ""  # with role shared: "layer/weight" of the tensor it is

    @property
    def size(self) -> sympy.Expr:
        return sympy.Mul(*self.shape) if self.shape else sympy.Integer(1)


@dataclass(frozen=True)
class Arg:
    """One argument of a layer: its name, converter, default and aliases.

    ``convert(value, ctx)`` checks a value and returns what the layer uses; it raises
    :class:`ArgError` (positioned by the caller) on a bad value.
    """

    name: str
    convert: Callable[[Any, "Context"], Any]
    default: Any = REQUIRED
    positional: bool = True
    aliases: tuple[str, ...] = ()
    doc: str = ""
    # A tensor argument names a tensor of the model (``key = enc``); the layer receives
    # that tensor's shape, and the tensor becomes one of the layer's inputs.
    tensor: bool = False
    # Where the option exists, when not in every framework: ``only=("torch",)`` (any
    # value but the default is PyTorch's), or an :class:`Only` naming the values that
    # are. :func:`refuse_foreign` refuses it in a convention that does not accept it.
    only: Optional["Only"] = None

    def __post_init__(self) -> None:
        if self.only is not None and not isinstance(self.only, Only):
            object.__setattr__(self, "only", Only(tuple(self.only)))


@dataclass(frozen=True)
class Only:
    """An option (or some of its values) that exists in some frameworks only.

    ``frameworks`` names the conventions that have it; a convention accepts it when
    one of them is in its ``accepts``. ``values``: the framework-only values; empty,
    any value other than the argument's default. ``missing`` says what the others
    lack, read after "PyTorch's Conv1d ": ``has no causal padding``.
    """

    frameworks: tuple[str, ...]
    values: tuple = ()
    missing: str = ""


class ArgError(Exception):
    """A bad argument value; the analyzer adds the argument's position."""


@dataclass
class Context:
    """What a layer sees besides its arguments and input: the convention (a
    :class:`~symparam.conventions.Convention`; a name is looked up) and the layout."""

    convention: Convention
    layout: str      # "channels_last" or "channels_first"
    # Conditions that hold for some values of the symbols and not others: checked
    # when values are given (see ModelStats.evaluate). Entries: (condition, message, where).
    checks: list = field(default_factory=list)
    where: Any = None  # the layer being applied, set by the analyzer for positions
    # Its statement (a resolved application, symparam.graph.Apply), for the position of
    # an argument in a refusal; never kept in stats.
    statement: Any = None

    def __post_init__(self) -> None:
        self.convention = conventions.get(self.convention)

    def require(self, condition, message) -> None:
        """Require a sympy condition: an error now if it is false, a deferred check if
        it depends on symbols, nothing if it is true.

        ``message`` is a string, or a function returning one: printing sympy
        expressions is slow, so a check that passes should not pay for its message
        (see :func:`message_text`)."""
        cond = as_expr(condition)
        if cond is sympy.true:
            return
        if cond is sympy.false:
            raise ArgError(message_text(message))
        self.checks.append((cond, message, self.where))

    def pick(self, **table):
        """A per-layer table keyed by convention name (weight names and storage orders,
        class names, initial values): the current convention's entry, else the entry
        of the convention it is like. Behaviours are the convention's own fields."""
        return self.convention.pick(table)

    def needs(self, behaviour: str, kind: "LayerKind", arg: str, value, missing: str,
              input_shape: Shape | None = None) -> None:
        """Refuse ``arg = value`` (with :func:`refuse`'s one message) unless the
        convention's ``behaviour`` is true: ``ctx.needs("same_padding_with_stride",
        self, "padding", "same", "has no padding='same' with a stride")``."""
        if not getattr(self.convention, behaviour):
            refuse(kind, self, arg, value, conventions.owners(behaviour), missing,
                   input_shape)

    @property
    def channels_last(self) -> bool:
        return self.layout == "channels_last"


@dataclass(frozen=True)
class Family:
    """Where a layer kind is listed: by cards, ``symparam explain --list`` and
    docs/layers.md. Families are an open set: a kind brings its own, and a new one
    (from a plugin) is listed with its own title, after the families with a lower
    ``order`` and, among equal orders, in the order they were first registered."""

    name: str
    title: str
    order: int = 100


OTHER = Family("other", "Other layers", 90)


@dataclass(frozen=True)
class Applied:
    """A layer applied to an input: its output shape and its weights, and, where one
    application is a different framework class than the kind's usual one (Keras wraps
    a bidirectional LSTM in ``Bidirectional``), that class."""

    output: Shape
    weights: tuple[Weight, ...] = ()
    notes: tuple[str, ...] = ()
    type_name: str = ""
    auto_name: str = ""  # and that class's automatic name


class LayerKind:
    """Base of every layer definition. Subclasses set the class attributes and
    implement :meth:`apply`; register an instance with :func:`register`."""

    names: tuple[str, ...] = ()          # DSL names; the first is canonical
    keras: str = ""                      # Keras class name
    torch: str = ""                      # PyTorch class name
    auto_name: str = ""                  # Keras-style automatic layer name base
    args: tuple[Arg, ...] = ()
    inputs: ClassVar[str] = "one"        # "one", or "many" for merges (args are tensors)
    min_rank: int = 1                    # the least rank (batch left out) accepted
    doc: str = ""
    # The layer's card (symparam.cards, `symparam explain`, docs/layers.md): its
    # forward equation in LaTeX (its own symbols), what the symbols are, the initial
    # values of its weights and constants by convention ({"keras": {"kernel":
    # "glorot_uniform", ...}, "torch": {...}}), and a tiny example that the card analyzes.
    equation: str = ""
    where: str = ""
    init: ClassVar[dict] = {}
    constants: ClassVar[dict] = {}  # the same for constants: {"keras": {"epsilon": "0.001"}}
    example: Optional["Example"] = None
    # Where the kind is filed, said here once and read everywhere: its family (cards,
    # `explain --list`, docs/layers.md) and its leading-term group (`symparam leading
    # --group kind`: embeddings, attention, feed-forward, normalization, ...).
    family: ClassVar[Family] = OTHER
    group: ClassVar[str] = "other"

    def at_init(self, args: dict, ctx: Context) -> Optional["AtInit"]:
        """The forward pass at the initial values, at inference, where that is
        deterministic (see :class:`AtInit`); None when the initial weights are random
        or the layer needs more than one input."""
        return None

    # The conventions that have this layer at all (an Only without values), when not
    # every one: PyTorch's InstanceNorm has no Keras class. See refuse_foreign.
    only: Optional["Only"] = None

    def shape_rule(self, args: dict, inputs: Sequence[Shape], output: Shape,
                   layout: str) -> ShapeRule:
        """How a derivation explains the output shape from the input shapes, given the
        converted arguments (:mod:`symparam.layers.rules`). By default the output has
        the input's shape, or is what :meth:`apply` computed; a kind with a formula
        (the window lengths of ``layers/conv.py``) returns its rule with one step per
        output axis, built from the function that computes the size."""
        if len(inputs) == 1 and tuple(inputs[0]) == tuple(output):
            return same_as_input()
        return input_to_output()

    def type_name(self, ctx: Context, input_shape: Shape | None = None) -> str:
        """The layer's class name: the convention's table, else :meth:`declared_type`."""
        return ctx.convention.type_name(self.names[0], self.declared_type(ctx, input_shape))

    def declared_type(self, ctx: Context, input_shape: Shape | None = None) -> str:
        """The class name the kind declares for the convention (or the one it is like)."""
        return ctx.pick(keras=self.keras or self.torch, torch=self.torch or self.keras)

    def apply(self, a: "Args", x: Shape, ctx: Context) -> Applied:  # pragma: no cover
        raise NotImplementedError

    def apply_many(self, a: "Args", xs: Sequence[Shape], ctx: Context) -> Applied:
        raise NotImplementedError  # pragma: no cover

    def cost(self, a: "Args", x, out: Shape, ctx: Context) -> Optional["Cost"]:
        """The forward arithmetic of one application, per example (a
        :class:`symparam.costs.Cost`): ``x`` is the input shape (the list of input
        shapes for merges), ``out`` the output shape. None means "not counted": the
        totals then name the layer instead of counting a silent 0. A kind with no
        arithmetic returns ``Cost()``. It must not raise: check in ``apply``."""
        return None

    def kv_cache(self, a: "Args", x, out: Shape, ctx: Context) -> Optional["KVCache"]:
        """What one application keeps per example to decode token by token (the keys
        and values of an attention layer: :class:`KVCache`); None for a layer that keeps
        nothing. Like :meth:`cost`, it must not raise."""
        return None


@dataclass(frozen=True)
class KVCache:
    """The keys and values one attention layer keeps per example while a model
    decodes: ``tokens`` cached steps of ``width`` numbers each (keys and values of
    every key/value head together). ``causal`` says whether the layer attends over the
    tokens decoded so far (self-attention of a decoder); a cross-attention layer keeps
    the keys and values of another tensor (an encoder's output), computed once."""

    tokens: Any
    width: Any
    causal: bool
    cross: bool = False


@dataclass(frozen=True)
class Example:
    """A tiny model a layer's card analyzes: ``Example("[n]", "dense u")`` is
    ``input [n]`` then ``dense u``. ``torch_input``/``torch_call`` replace them in
    convention torch (channels first, or an argument only one framework has);
    ``others`` declares further inputs first, for merges (``("[n] as b",)``)."""

    input: str
    call: str
    torch_input: str = ""
    torch_call: str = ""
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class AtInit:
    """A layer's forward pass at its initial values: ``equation`` is the LaTeX of the
    equation with those values put in (``y = \\frac{x}{\\sqrt{1.001}}``), ``values``
    the constants it used (LaTeX name -> value), ``fn`` maps a float32 array, batch
    first, to the output, computed in float32 as the frameworks do."""

    equation: str
    values: tuple = ()
    fn: Optional[Callable] = None


class Args:
    """Converted argument values by name, plus which were given explicitly."""

    def __init__(self, values: dict[str, Any], given: set[str]):
        self._values = values
        self.given = given

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Args({self._values})"


# ---- the one policy for what a convention cannot express -----------------------------

def _same(value, other) -> bool:
    """Equal values of the same sort (True is not 1 here)."""
    return isinstance(value, bool) == isinstance(other, bool) and bool(value == other)


def _default(spec: Arg, ctx: Context):
    """An argument's default, converted as the analyzer converts it."""
    if spec.default is REQUIRED or spec.default is None:
        return spec.default
    default = spec.default
    if isinstance(default, int) and not isinstance(default, bool):
        default = sympy.Integer(default)
    return spec.convert(default, ctx)


def shown(value) -> str:
    """An argument's value as a file writes it: ``true``, ``[1, 2]``, ``causal``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, sympy.Rational) and not value.is_Integer and value.q < 10 ** 12 \
            and _decimal(value.q):
        return str(decimal.Decimal(int(value.p)) / decimal.Decimal(int(value.q)))  # 0.1
    return value if isinstance(value, str) else show(value)


def _decimal(q: int) -> bool:
    """Does 1/q have a finite decimal expansion (q = 2^a 5^b)?"""
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return q == 1


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _position(kind: "LayerKind", spec_name: str, node) -> tuple[int, int]:
    """Where an argument is written in a layer statement: its `name = value`, its
    positional value, else the statement (given by default, or no statement known)."""
    spec = next((s for s in kind.args if s.name == spec_name), None)
    names = {spec_name, *(spec.aliases if spec else ())}
    for bound in getattr(node, "args", ()):  # a resolved application's (symparam.graph)
        if getattr(bound, "written_at", None) and bound.name == spec_name:
            return bound.written_at
    for kw in getattr(node, "kwargs", ()):
        if kw.name in names:
            return kw.line, kw.column
    slots = [s.name for s in kind.args if s.positional]
    given = getattr(node, "args", ())
    if spec_name in slots and slots.index(spec_name) < len(given):
        at = given[slots.index(spec_name)]
        return at.line, at.column
    return getattr(node, "line", 0), getattr(node, "column", 0)


def refuse(kind: "LayerKind", ctx: Context, arg: str, value, owners: Sequence[str],
           missing: str, input_shape: Shape | None = None) -> None:
    """Raise the one message for an option the convention cannot express, at the
    argument's line and column: "`padding = causal` is a Keras option; PyTorch's
    Conv1d has no causal padding (use convention keras)". ``arg`` "" refuses the
    layer itself. Without a statement to point at (a value given later), an ArgError."""
    conv = ctx.convention
    owner = next((conventions.get(o) for o in owners if conventions.known(o)), None)
    if arg:
        what, whose = f"`{arg} = {shown(value)}`", (
            f"{conv.display}'s {kind.type_name(ctx, input_shape) or kind.names[0]}")
    else:
        what, whose = f"`{kind.names[0]}`", conv.display
    if owner is None:  # no registered convention has it
        message = f"{what}: {whose} {missing}"
    else:
        message = (f"{what} is {_article(owner.display)} {owner.display} "
                   f"{'option' if arg else 'layer'}; {whose} {missing} "
                   f"(use convention {owner.name})")
    node = ctx.statement if ctx.statement is not None else ctx.where
    if node is None:
        raise ArgError(message)
    line, column = _position(kind, arg, node) if arg else (node.line, node.column)
    raise SourceError(f"{getattr(node, 'kind', kind.names[0])}: {message}", line, column)


def _accepts(convention: Convention, only: Only) -> bool:
    return any(f in convention.accepts for f in only.frameworks)


def refuse_foreign(kind: "LayerKind", a: "Args", ctx: Context,
                   input_shape: Shape | None = None) -> None:
    """The one place that refuses what the convention cannot express: the layer itself
    (``kind.only``) or an option given with a value only other frameworks have
    (``Arg.only``). Called by the analyzer before the layer is applied."""
    conv = ctx.convention
    if kind.only is not None and not _accepts(conv, kind.only):
        refuse(kind, ctx, "", None, kind.only.frameworks,
               kind.only.missing or f"has no {kind.names[0]} layer", input_shape)
    for spec in kind.args:
        only = spec.only
        if only is None or spec.name not in a.given or _accepts(conv, only):
            continue
        value = getattr(a, spec.name)
        if only.values:
            foreign = any(_same(value, v) for v in only.values)
        else:
            foreign = not _same(value, _default(spec, ctx))
        if foreign:
            refuse(kind, ctx, spec.name, value, only.frameworks,
                   only.missing or f"has no {spec.name}", input_shape)


REGISTRY: dict[str, LayerKind] = {}


def register(kind: LayerKind) -> LayerKind:
    """Add a layer kind under each of its names; a clash is a programming error."""
    for name in kind.names:
        if name in REGISTRY:
            raise ValueError(f"layer name {name!r} registered twice")
        REGISTRY[name] = kind
    return kind


def lookup(name: str) -> LayerKind | None:
    return REGISTRY.get(name)


def closest(name: str, candidates: Sequence[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)


# ---- converters: check a value, return what the layer uses -------------------------

def _is_expr(v) -> bool:
    return isinstance(v, sympy.Basic) and not isinstance(v, bool)


def integer(v, ctx=None, *, minimum: int | None = None, what: str = "an integer"):
    """An integer expression: a whole number, or symbols not provably non-integer."""
    if isinstance(v, Word):
        raise ArgError(f"undefined symbol '{v.text}'")
    if not _is_expr(v):
        raise ArgError(f"expected {what}, got {describe(v)}")
    if v.is_number:
        if not v.is_integer:
            raise ArgError(f"expected {what}, got {show(v)} (not a whole number)")
        if minimum is not None and v < minimum:
            raise ArgError(f"expected {what}, got {show(v)}")
    elif v.is_integer is False:
        raise ArgError(f"expected {what}, got {show(v)} (not a whole number)")
    elif minimum is not None and _at_least(v, minimum):
        pass
    elif minimum is not None and (v - minimum).is_negative:
        raise ArgError(f"expected {what}, got {show(v)}")
    return v


def _at_least(v, minimum: int) -> bool:
    """A quick proof that v >= minimum: a number at least that plus nonnegative terms
    (d + 3 >= 1). Asking sympy whether v - minimum is negative takes milliseconds."""
    c, rest = v.as_coeff_Add()
    return bool(c >= minimum and rest.is_nonnegative)


def size(v, ctx=None):
    """A positive whole number (a size)."""
    return integer(v, ctx, minimum=1, what="a positive whole number")


def nonneg(v, ctx=None):
    return integer(v, ctx, minimum=0, what="a whole number >= 0")


def signed(v, ctx=None):
    return integer(v, ctx, what="an integer")


def number(v, ctx=None):
    if isinstance(v, Word):
        raise ArgError(f"undefined symbol '{v.text}'")
    if not _is_expr(v):
        raise ArgError(f"expected a number, got {describe(v)}")
    return v


def rate(v, ctx=None):
    v = number(v)
    if v.is_number and not (v.is_extended_real and 0 <= v < 1):
        raise ArgError(f"expected a rate from 0 up to (not including) 1, got {show(v)}")
    return v


def boolean(v, ctx=None):
    if isinstance(v, bool):
        return v
    raise ArgError(f"expected true or false, got {describe(v)}")


def choice(*options: str):
    def convert(v, ctx=None):
        if isinstance(v, (Word, str)) and str(v) in options:
            return str(v)
        close = closest(str(v), options) if isinstance(v, (Word, str)) else []
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ArgError(f"expected one of {', '.join(options)}; got {describe(v)}{hint}")
    convert.__doc__ = " | ".join(options)
    return convert


def sizes(rank: int, convert=size):
    """One value for every spatial axis: ``3`` or ``[3, 3]``."""
    def conv(v, ctx=None):
        if isinstance(v, tuple):
            if len(v) != rank:
                raise ArgError(f"expected {rank} value{'s' if rank > 1 else ''}, got {len(v)}")
            return tuple(convert(i) for i in v)
        return (convert(v),) * rank
    return conv


def optional(convert):
    """Also accept ``none`` (for a default computed from other arguments)."""
    def conv(v, ctx=None):
        if v is None or (isinstance(v, Word) and v.text == "none"):
            return None
        return convert(v, ctx)
    return conv


def axis(v, ctx=None):
    if isinstance(v, tuple):
        if not v:
            raise ArgError("expected at least one axis, got []")
        return tuple(axis(i) for i in v)
    v = signed(v)
    if not v.is_Integer:
        raise ArgError(f"an axis must be a whole number, got {show(v)}")
    return v


def normalize_axis(ax, rank: int) -> int:
    """Keras-style axis (batch counted as axis 0, negatives from the end) to an index
    into the shape without the batch axis."""
    if not isinstance(ax, int):
        if not (isinstance(ax, sympy.Basic) and ax.is_Integer):  # an axis is never symbolic
            raise ArgError(f"an axis must be a whole number, got {show(ax)}")
        ax = int(ax)
    full = ax if ax >= 0 else rank + 1 + ax
    if not 1 <= full <= rank:
        raise ArgError(f"axis {ax} is out of range for a {rank}-D input "
                       f"(valid: 1..{rank} or -{rank}..-1; axis 0 is the batch)")
    return full - 1


ACTIVATIONS = ACTIVATION_NAMES  # the names of the one table, symparam/activations.py


def activation(v, ctx=None):
    if v is None or (isinstance(v, Word) and v.text == "none"):
        return None
    return choice(*ACTIVATIONS)(v)


def split_channels(x: Shape, rank: int, ctx: Context, what: str):
    """(spatial dims, channels) of an input with ``rank`` spatial axes."""
    if len(x) != rank + 1:
        layout = ("(" + ", ".join(["spatial"] * rank + ["channels"]) + ")" if ctx.channels_last
                  else "(" + ", ".join(["channels"] + ["spatial"] * rank) + ")")
        raise ArgError(f"{what} expects a {rank + 1}-D input per example {layout}, "
                       f"got {len(x)}-D {fmt_shape(x)}")
    return (tuple(x[:-1]), x[-1]) if ctx.channels_last else (tuple(x[1:]), x[0])


def join_channels(spatial, channels, ctx: Context) -> Shape:
    return (*spatial, channels) if ctx.channels_last else (channels, *spatial)


def fmt_shape(shape: Shape) -> str:
    return "(None" + "".join(f", {d}" for d in shape) + ")"
