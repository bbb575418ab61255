"""Dense, embedding, dropout, activations, flatten, reshape, identity."""
from __future__ import annotations

import sympy

from ..costs import Cost, activation_ops, elements
from ..activations import ACTIVATIONS as ACTIVATION_TABLE
from ..values import show
from .base import (ACTIVATIONS, BUFFER, Applied, Arg, ArgError, AtInit, Example, LayerKind,
                   Weight, activation, boolean, choice, fmt_shape, rate, register, signed, size)
from .base import Family
from .rules import AxisStep, ShapeRule


class _NoArithmetic:
    """Moves, copies or looks up values: no arithmetic to count."""

    def cost(self, a, x, out, ctx):
        return Cost()


# Initial values of a fully connected or convolution layer's weights (fan_in: the
# inputs each output reads), and the same for an element-wise layer at inference.
DENSE_INIT = {"keras": {"kernel": "glorot_uniform: U(±sqrt(6/(fan_in + fan_out)))",
                        "bias": "zeros"},
              "torch": {"weight": "kaiming_uniform(a=sqrt(5)): U(±1/sqrt(fan_in))",
                        "bias": "U(±1/sqrt(fan_in))"}}


def keep(equation: str = "y = x"):
    """The forward pass of a layer that passes its input through at inference."""
    return AtInit(equation, (), lambda x: x)


CORE = Family("core", "Core layers", 0)


class Dense(LayerKind):
    family, group = CORE, "feed-forward"
    names = ("dense", "linear")
    keras, torch, auto_name = "Dense", "Linear", "dense"
    args = (
        Arg("units", size, aliases=("out_features",), doc="output size"),
        Arg("activation", activation, None, positional=False),
        Arg("bias", boolean, True, positional=False, aliases=("use_bias",)),
    )
    doc = "A fully connected layer acting on the last axis of an input of any rank."
    equation = r"y = \phi\left(x W + b\right)"
    where = ("W is the kernel, n x u (PyTorch stores its transpose, u x n, and computes "
             "x W^T + b); phi the activation, none by default")
    init = DENSE_INIT
    example = Example("[n]", "dense u")

    def apply(self, a, x, ctx):
        n = x[-1]
        kernel = ctx.pick(keras=Weight("kernel", (n, a.units)),
                          torch=Weight("weight", (a.units, n)))
        weights = (kernel, Weight("bias", (a.units,))) if a.bias else (kernel,)
        return Applied((*x[:-1], a.units), weights)

    def cost(self, a, x, out, ctx):
        """n x units MACs for each of the other axes' positions; a bias addition and
        an activation per output element."""
        return Cost(elements(x[:-1]) * x[-1] * a.units, elements(out) if a.bias else 0,
                    activation_ops(a.activation, elements(out)))


class Embedding(_NoArithmetic, LayerKind):
    family, group = CORE, "embeddings"
    names = ("embedding",)
    keras, torch, auto_name = "Embedding", "Embedding", "embedding"
    args = (
        Arg("vocabulary", size, aliases=("input_dim", "num_embeddings"), doc="vocabulary size"),
        Arg("dimension", size, aliases=("output_dim", "embedding_dim"), doc="vector size"),
        Arg("scaled", boolean, False, positional=False,
            doc="vectors multiplied by sqrt(dimension), as Gemma's; transformers keeps the "
                "factor as a one-number buffer, embed_scale"),
    )
    min_rank = 0
    doc = "A learned table of `vocabulary` vectors; each integer index becomes its vector."
    equation = r"y = E_{x,:}"
    where = "E is the vocabulary x dimension table, x an integer index: y is row x of E"
    init = {"keras": {"embeddings": "uniform(-0.05, 0.05)"},
            "torch": {"weight": "normal(0, 1)"}}
    example = Example("[T]", "embedding V, d")

    def apply(self, a, x, ctx):
        table = Weight(ctx.pick(keras="embeddings", torch="weight"), (a.vocabulary, a.dimension))
        if a.scaled and ctx.convention.embed_scale_buffer:  # GemmaTextScaledWordEmbedding
            return Applied((*x, a.dimension), (table, Weight(
                "embed_scale", (), BUFFER, why="transformers keeps sqrt(d) as a buffer")))
        return Applied((*x, a.dimension), (table,))


class Dropout(_NoArithmetic, LayerKind):
    family = CORE
    names = ("dropout",)
    keras, torch, auto_name = "Dropout", "Dropout", "dropout"
    args = (Arg("rate", rate, aliases=("p",)),)
    doc = "Zeroes a fraction `rate` of its input during training; no weights."
    equation = (r"y = x \;\text{(inference)}, \qquad y = \frac{m \odot x}{1 - p}"
                r"\;\text{(training)}")
    where = "m is a random mask of zeros (probability p, the rate) and ones"
    example = Example("[n]", "dropout 0.5")

    def at_init(self, args, ctx):
        return keep()

    def apply(self, a, x, ctx):
        return Applied(tuple(x))


class Identity(_NoArithmetic, LayerKind):
    family = CORE
    names = ("identity",)
    keras, torch, auto_name = "Identity", "Identity", "identity"
    min_rank = 0
    doc = "Passes its input through unchanged; no weights."
    equation = "y = x"
    example = Example("[n]", "identity")

    def at_init(self, args, ctx):
        return keep()

    def apply(self, a, x, ctx):
        return Applied(tuple(x))


def _activation_fn(fn: str, ctx, layer: bool):
    """The activation ``fn`` as a float32 function, and the constants it uses."""
    act = ACTIVATION_TABLE[fn]
    slope = ctx.pick(keras=0.3 if layer else 0.2, torch=0.01)
    values = act.constants + (((r"\alpha", slope),) if act.negative_slope else ())
    return (lambda x: act.forward(x, *(v for _, v in values))), values


class ActivationLayer(LayerKind):
    """``relu`` (a layer of its own) and ``activation relu`` (Keras's Activation)."""
    family = CORE

    min_rank = 0

    @property
    def equation(self) -> str:  # type: ignore[override]
        return ACTIVATION_TABLE[self.fn].equation if self.fn else r"y = f(x)"

    @property
    def where(self) -> str:  # type: ignore[override]
        if self.fn == "leaky_relu":
            return "alpha, the negative slope: Keras's LeakyReLU 0.3, PyTorch's 0.01"
        return "" if self.fn else "f is the named activation function, element-wise"

    @property
    def constants(self) -> dict:  # type: ignore[override]
        if self.fn == "leaky_relu":
            return {"keras": {"negative_slope": "0.3"}, "torch": {"negative_slope": "0.01"}}
        return {}

    @property
    def example(self) -> Example:  # type: ignore[override]
        return Example("[n]", "activation tanh" if self.fn is None else self.fn)

    def at_init(self, args, ctx):
        """Every activation is deterministic: it has no weights."""
        fn = self.fn or args["function"]
        forward, values = _activation_fn(fn, ctx, layer=self.fn is not None)
        eq = ACTIVATION_TABLE[fn].equation
        for name, value in values:
            eq = eq.replace(name, f"{value:.10g}")
        return AtInit(eq, tuple((n, f"{v:.10g}") for n, v in values), forward)

    def __init__(self, fn: str | None):
        self.fn = fn
        if fn is None:
            self.names = ("activation",)
            self.keras, self.auto_name, self.torch = "Activation", "activation", ""
            self.args = (Arg("function", choice(*ACTIVATIONS)),)
        else:
            self.names = (fn,)
            layer = ACTIVATION_TABLE[fn].layer
            assert layer is not None  # only functions with a layer class become kinds
            self.keras, self.auto_name, self.torch = layer
            self.args = ()
        self.doc = "An activation function applied element-wise; no weights."

    def declared_type(self, ctx, input_shape=None):
        if self.fn is None:
            return "Activation"
        return ctx.pick(keras=self.keras, torch=self.torch)

    def apply(self, a, x, ctx):
        return Applied(tuple(x))

    def cost(self, a, x, out, ctx):
        """One evaluation per element (softmax too); ``linear`` none."""
        return Cost(activations=activation_ops(self.fn or a.function, elements(out)))


class Flatten(_NoArithmetic, LayerKind):
    family = CORE
    names = ("flatten",)
    keras, torch, auto_name = "Flatten", "Flatten", "flatten"
    min_rank = 0
    doc = "Flattens every axis but the batch into one."
    equation = r"y = \operatorname{vec}(x)"
    where = "the elements in the layout's order (channels last or first)"
    example = Example("[H, W, C]", "flatten", torch_input="[C, H, W]")

    def at_init(self, args, ctx):
        return AtInit(self.equation, (), lambda x: x.reshape(x.shape[0], -1))

    def apply(self, a, x, ctx):
        return Applied((sympy.Mul(*x),))

    def shape_rule(self, args, inputs, output, layout):
        """The output size is the product of the input's axes (given as shapes only
        for an input of one axis)."""
        x = inputs[0] if inputs else ()
        if len(x) < 2:
            return super().shape_rule(args, inputs, output, layout)
        step = AxisStep(sympy.Mul(*x), {"dims": tuple(x)}, output[-1], None)
        return ShapeRule("flatten", (step,), words="the product of the input's axes",
                         tex=r"\prod_i n_i", text="product of n_i", product=True)


def _target_shape(v, ctx=None):
    if not isinstance(v, tuple) or not v:
        raise ArgError("expected the target shape as a list, such as [4, 4, 8]")
    dims = tuple(signed(d) for d in v)
    if sum(1 for d in dims if d == -1) > 1:
        raise ArgError("at most one dimension of a reshape can be -1")
    for d in dims:
        if d != -1 and d.is_number and d < 1:
            raise ArgError(f"a reshape dimension must be positive or -1, got {show(d)}")
    return dims


class Reshape(_NoArithmetic, LayerKind):
    family = CORE
    names = ("reshape", "view")
    keras, torch, auto_name = "Reshape", "Unflatten", "reshape"
    args = (Arg("shape", _target_shape, aliases=("target_shape",)),)
    min_rank = 0
    doc = "Rearranges the elements (the batch kept) into a new shape; -1 takes the rest."
    equation = r"y = \operatorname{reshape}(x)"
    where = "the same elements, in order, in the new shape"
    example = Example("[H, W, C]", "reshape [H * W, C]")

    def at_init(self, args, ctx):
        shape = tuple(int(d) for d in args["shape"])
        return AtInit(self.equation, (), lambda x: x.reshape(x.shape[0], *shape))

    def apply(self, a, x, ctx):
        total = sympy.Mul(*x)
        known = sympy.Mul(*[d for d in a.shape if d != -1])
        if any(d == -1 for d in a.shape):
            rest = total / known
            if rest.is_number and not rest.is_integer:
                raise ArgError(f"cannot reshape {fmt_shape(x)} ({total} elements) into "
                               f"{list(a.shape)}: {total} is not divisible by {known}")
            ctx.require(sympy.Eq(sympy.Mod(total, known), 0),
                        f"cannot reshape: {total} elements are not divisible by {known}")
            out = tuple(rest if d == -1 else d for d in a.shape)
        else:
            ctx.require(sympy.Eq(sympy.expand(total - known), 0),
                        f"cannot reshape {fmt_shape(x)} ({total} elements) into "
                        f"{list(a.shape)} ({known} elements)")
            out = a.shape
        return Applied(tuple(out))


for _kind in (Dense(), Embedding(), Dropout(), Identity(), Flatten(), Reshape(),
              ActivationLayer(None),
              *(ActivationLayer(f) for f, a in ACTIVATION_TABLE.items() if a.layer)):
    register(_kind)
