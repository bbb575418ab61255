"""What a layer definition is made of, and the registry that finds one by name.

A layer kind says in one place: its DSL names, its arguments (with defaults and
checks), its weights as named shapes with a role, and its output shape. The
parameter count is *always* the sum of the products of the weight shapes; no layer
writes a separate count formula that could drift from its shapes.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, Sequence

import sympy

from ..exprs import as_expr
from ..errors import SourceError
from ..values import Word, describe, show

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


class ArgError(Exception):
    """A bad argument value; the analyzer adds the argument's position."""


@dataclass
class Context:
    """What a layer sees besides its arguments and input: the convention and layout."""

    convention: str  # "keras" or "torch"
    layout: str      # "channels_last" or "channels_first"
    # Conditions that hold for some values of the symbols and not others: checked
    # when values are given (see ModelStats.evaluate). Entries: (condition, message, where).
    checks: list = field(default_factory=list)
    where: Any = None  # the layer being applied, set by the analyzer for positions

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

    def pick(self, *, keras, torch):
        """The value for the current convention: where the frameworks differ, as data."""
        return keras if self.convention == "keras" else torch

    @property
    def channels_last(self) -> bool:
        return self.layout == "channels_last"


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

    def at_init(self, args: dict, ctx: Context) -> Optional["AtInit"]:
        """The forward pass at the initial values, at inference, where that is
        deterministic (see :class:`AtInit`); None when the initial weights are random
        or the layer needs more than one input."""
        return None

    def type_name(self, ctx: Context, input_shape: Shape | None = None) -> str:
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
    fn: Callable = None


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


ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "softmax", "gelu", "silu", "swish",
               "elu", "selu", "leaky_relu", "softplus", "softsign", "hard_sigmoid",
               "hard_silu", "mish", "exponential", "log_softmax", "linear")


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
