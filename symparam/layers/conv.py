"""Convolutions (plain, grouped, depthwise, separable, transposed), pooling (windowed,
global, adaptive) and zero padding, in 1, 2 and 3 dimensions.

Output sizes, per spatial axis n (kernel k, stride s, dilation d):
- Keras ``valid``:  floor((n - d(k-1) - 1)/s) + 1
- Keras ``same``:   ceil(n/s)  (``causal``, 1-D only, too)
- explicit padding p on both sides (PyTorch's ``padding=p``):
  floor((n + 2p - d(k-1) - 1)/s) + 1
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import sympy

from .. import conventions
from ..costs import Cost, activation_ops, elements
from ..exprs import as_expr
from ..tidy import rounded as round_to
from .base import (Applied, Arg, ArgError, AtInit, Example, LayerKind, Only, Weight,
                   activation, boolean, choice, join_channels, nonneg, optional, register,
                   size, sizes, split_channels)
from .base import Family
from .core import DENSE_INIT
from .rules import AxisStep, ShapeRule

_SUFFIX = {1: "1D", 2: "2D", 3: "3D"}

# ---- cards: example shapes and windows by rank ----------------------------------------

_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL = {1: "k", 2: "[k_h, k_w]", 3: "[k_d, k_h, k_w]"}
_WINDOW_WHERE = ("W(p): the positions of the window at output position p (stride s, "
                 "dilation d)")


def card_example(rank: int, call: str) -> Example:
    """An example on a (spatial..., C) input, channels first in convention torch."""
    sp = _SPATIAL[rank]
    return Example(f"[{sp}, C]", call, torch_input=f"[C, {sp}]")


def _channels_to_end(fn, ctx):
    """Run ``fn`` on a channels-last batch whatever the layout."""
    def run(x):
        import numpy as np
        if ctx.channels_last:
            return fn(x)
        return np.moveaxis(fn(np.moveaxis(x, 1, -1)), -1, 1)
    return run


def _padding(rank: int, words: tuple[str, ...]):
    """valid | same (| causal) | an integer | one integer per spatial axis."""
    word = choice(*words)
    ints = sizes(rank, nonneg)

    def convert(v, ctx=None):
        if isinstance(v, tuple) or isinstance(v, sympy.Basic):
            return ints(v)
        return word(v)
    convert.__doc__ = " | ".join(words) + " | integer | list"
    return convert


def window_length(n, k, s, d, p, same: bool = False, rounded: bool = True):
    """The output length of one spatial axis of a window (kernel k, stride s, dilation
    d, p zeros on each side): ``floor((n + 2p - d(k - 1) - 1)/s) + 1``, or Keras's
    ``same`` (and ``causal``) ``ceil(n/s)``. ``rounded=False`` drops the floor or
    ceiling: the textbook's size, exact when s divides what it rounds. The one place
    this formula is computed; :data:`WINDOW_RULES` is how a derivation prints it.

    >>> n = sympy.Integer(32)
    >>> window_length(n, 3, 2, 1, 1), window_length(n, 3, 2, 1, 0, rounded=False)
    (16, 31/2)
    """
    fn = sympy.ceiling if same else sympy.floor

    def cut(v):  # floor/ceiling built without sympy's slow proofs (tidy.rounded)
        return round_to(fn, v) if rounded else v
    if same:
        return cut(n / s)
    return cut((n + 2 * p - (d * (k - 1) + 1)) / s) + 1


def conv_length(n, k, s, d, pad, ctx, what: str):
    """Output length of one spatial axis for a convolution or pooling window."""
    if pad == "same" or pad == "causal":
        return window_length(n, k, s, d, 0, same=True)
    eff = d * (k - 1) + 1
    p = 0 if pad == "valid" else pad
    room = n + 2 * p
    def too_big():
        return (f"{what} window of size {eff} is larger than its input of size {n}"
                + (f" plus padding {2 * p}" if p else ""))
    if (room - eff).is_number and room - eff < 0:
        raise ArgError(too_big())
    if not (2 * p + 1 - eff).is_nonnegative:  # else any size n >= 1 fits (no costly proof)
        ctx.require(sympy.Ge(room, eff), too_big)  # symbolic sizes: checked once given values
    return window_length(n, k, s, d, p)


# ---- how a derivation prints window_length ---------------------------------------------

# By padding: the formula with its letters ({n} {k} {s} {d} {p}, {p2} for 2p) in LaTeX
# and text, what the letters are, and the textbook assumption that drops the rounding.
# The "1" rules are what a textbook writes at stride 1 (no rounding then).
_KS = (("kernel", "k"), ("stride", "s"))
_PAD, _DIL = ("padding on each side", "p"), ("dilation", "d")
WINDOW_RULES = {rule.rule: rule for rule in (
    ShapeRule("valid", (), _KS, "no padding", "s divides n - k", r"s \mid n - k",
              r"\left\lfloor \frac{{{n} - {k}}}{{{s}}} \right\rfloor + 1",
              "floor(({n} - {k})/{s}) + 1"),
    ShapeRule("padded", (), _KS + (_PAD,), "", "s divides n + 2p - k",
              r"s \mid n + 2p - k",
              r"\left\lfloor \frac{{{n} + {p2} - {k}}}{{{s}}} \right\rfloor + 1",
              "floor(({n} + {p2} - {k})/{s}) + 1"),
    ShapeRule("dilated", (), _KS + (_PAD, _DIL), "", "s divides n + 2p - d(k - 1) - 1",
              r"s \mid n + 2p - d(k - 1) - 1",
              r"\left\lfloor \frac{{{n} + {p2} - {d} \left({k} - 1\right) - 1}}{{{s}}}"
              r" \right\rfloor + 1", "floor(({n} + {p2} - {d}*({k} - 1) - 1)/{s}) + 1"),
    ShapeRule("same", (), (("stride", "s"),), "padding 'same'", "s divides n", r"s \mid n",
              r"\left\lceil \frac{{{n}}}{{{s}}} \right\rceil", "ceil({n}/{s})"),
    ShapeRule("valid1", (), (("kernel", "k"),), "no padding, stride 1",
              tex=r"{n} - {k} + 1", text="{n} - {k} + 1"),
    ShapeRule("padded1", (), (("kernel", "k"), _PAD), "stride 1",
              tex=r"{n} + {p2} - {k} + 1", text="{n} + {p2} - {k} + 1"),
    ShapeRule("dilated1", (), (("kernel", "k"), _PAD, _DIL), "stride 1",
              tex=r"{n} + {p2} - {d} \left({k} - 1\right)", text="{n} + {p2} - {d}*({k} - 1)"),
    ShapeRule("same1", (), (), "stride 1, padding 'same': the size is kept",
              tex="{n}", text="{n}"),
)}


def _rounded(expr) -> bool:
    expr = as_expr(expr)
    return bool(expr.free_symbols) and expr.has(sympy.floor, sympy.ceiling)


def _spatial_axes(shape, rank: int, layout: str) -> tuple:
    return (tuple(shape[-1 - rank:-1]) if layout == "channels_last"
            else tuple(shape[1:1 + rank]))


def window_rule(args: dict, window, x, out, layout: str) -> Optional[ShapeRule]:
    """The shape rule of a window (convolution or pooling) on input ``x``: one step
    per distinct spatial axis, by :data:`WINDOW_RULES`; None when the axes pad
    differently (no one formula to show).

    >>> from symparam import analyze
    >>> s = analyze("model m(H = 32):\\n    input [H, H, 3]\\n    conv2d 8, 3, stride = 2\\n")
    >>> r = window_rule(s.layers[1].args, (3, 3), s.layers[1].input_shapes[0],
    ...                 s.layers[1].output_shape, s.layout)
    >>> r.rule, r.axes[0].out, r.axes[0].exact
    ('valid', ceiling(H/2) - 1, H/2 - 1/2)
    """
    rank = len(window)
    stride = args.get("stride") or window
    dilation = args.get("dilation") or (1,) * rank
    pad = args.get("padding", "valid")
    pads = (pad,) * rank if isinstance(pad, str) else tuple(pad)
    steps, keys = [], set()
    for n, o, k, s, d, p in zip(_spatial_axes(x, rank, layout),
                                _spatial_axes(out, rank, layout),
                                window, stride, dilation, pads):
        same = p in ("same", "causal")
        keys.add("same" if same else "dilated" if d != 1 else
                 "valid" if p in ("valid", 0) else "padded")
        step_args = {"k": k, "s": s, "d": d, "p": 0 if isinstance(p, str) else p}
        # The textbook size is about this layer's n: n keeps any rounding of earlier
        # layers (dropping that too would assume something else).
        exact = (window_length(n, k, s, d, step_args["p"], same, rounded=False)
                 if _rounded(o) else None)
        steps.append(AxisStep(n, step_args, o, exact))
    if len(keys) != 1:
        return None
    rule = WINDOW_RULES[keys.pop() + ("1" if all(s == 1 for s in stride) else "")]
    unique = tuple(step for i, step in enumerate(steps) if step not in steps[:i])
    if not any(step.exact is not None for step in unique):
        rule = replace(rule, assumption="", assumption_tex="")
    return replace(rule, axes=unique)


# Padding words of one framework: Keras's causal padding (Conv1D); Keras's words for a
# transposed convolution, whose PyTorch class takes integers only.
_CAUSAL = Only(("keras",), ("causal",), "has no causal padding")
_TRANSPOSE_WORDS = Only(("keras",), ("valid", "same"), "takes an integer padding only")


def _window_args(rank: int, words: tuple[str, ...], padding_default="valid",
                 padding_only: Only | None = None):
    """stride, padding and dilation: the arguments every convolution shares."""
    return (
        Arg("stride", sizes(rank), 1, positional=False, aliases=("strides",)),
        Arg("padding", _padding(rank, words), padding_default, positional=False,
            only=padding_only),
        Arg("dilation", sizes(rank), 1, positional=False, aliases=("dilation_rate",)),
    )


_OUTPUT_ARGS = (
    Arg("bias", boolean, True, positional=False, aliases=("use_bias",)),
    Arg("activation", activation, None, positional=False),
)


def _spatial(shape, ctx) -> tuple:
    """(spatial sizes, channels) of a shape in the model's layout."""
    return (tuple(shape[:-1]), shape[-1]) if ctx.channels_last else (tuple(shape[1:]), shape[0])


def _conv_cost(a, out, ctx, macs) -> Cost:
    """A convolution's MACs, plus a bias addition and an activation per output element."""
    n = elements(out)
    return Cost(macs, n if a.bias else 0, activation_ops(a.activation, n))


def _conv_lengths(kind, a, spatial, x, ctx) -> tuple:
    """Output lengths of a (not transposed) convolution of input shape ``x``, after
    the convention's check: PyTorch has no 'same' with a stride."""
    if a.padding == "same" and any(s != 1 for s in a.stride):
        ctx.needs("same_padding_with_stride", kind, "padding", "same",
                  "has no padding='same' with a stride (use an integer padding)", x)
    pads = (a.padding,) * len(spatial) if isinstance(a.padding, str) else a.padding
    return tuple(conv_length(n, k, s, d, p, ctx, "the convolution")
                 for n, k, s, d, p in zip(spatial, a.kernel, a.stride, a.dilation, pads))


CONV = Family("conv", "Convolution, pooling and padding", 10)


class _ConvKind(LayerKind):
    """What the convolution kinds share: names from the rank, the argument list.
    A subclass sets the name patterns ({r}: 1, 2, 3; {R}: 1D, 2D, 3D) and the
    arguments before and after the window (stride, padding, dilation)."""
    family, group = CONV, "convolution"

    dsl = keras_fmt = torch_fmt = doc_fmt = ""
    example_call = "{name} F, {k}"  # the card's example ({k}: a kernel of the rank)
    init = {"keras": {"kernel": DENSE_INIT["keras"]["kernel"], "bias": "zeros"},
            "torch": {"weight": DENSE_INIT["torch"]["weight"] + ", fan_in = C/groups x k",
                      "bias": DENSE_INIT["torch"]["bias"]}}

    @property
    def example(self) -> Example:  # type: ignore[override]
        return card_example(self.rank, self.example_call.format(name=self.names[0],
                                                                k=_KERNEL[self.rank]))
    aliases: tuple[str, ...] = ()
    causal = False  # Keras's causal padding: Conv1D only (not depthwise or separable)
    padding_default = "valid"
    padding_only: Only | None = None  # padding values of one framework only

    def __init__(self, rank: int):
        self.rank = rank
        fill = {"r": rank, "R": _SUFFIX[rank]}
        self.names = tuple(n.format(**fill) for n in (self.dsl, *self.aliases))
        self.keras, self.torch = self.keras_fmt.format(**fill), self.torch_fmt.format(**fill)
        self.auto_name = self.names[0]
        causal = rank == 1 and self.causal
        words = ("valid", "same", "causal") if causal else ("valid", "same")
        self.args = (*self.leading(rank),
                     *_window_args(rank, words, self.padding_default,
                                   _CAUSAL if causal else self.padding_only),
                     *self.trailing(rank), *_OUTPUT_ARGS)
        self.doc = self.doc_fmt.format(**fill)

    def leading(self, rank: int) -> tuple[Arg, ...]:
        return (Arg("filters", size, aliases=("out_channels",), doc="output channels"),
                Arg("kernel", sizes(rank), aliases=("kernel_size",)))

    def trailing(self, rank: int) -> tuple[Arg, ...]:
        return (Arg("groups", size, 1, positional=False),)

    def shape_rule(self, args, inputs, output, layout):
        """Each spatial axis by :func:`window_length` (see :func:`window_rule`)."""
        return (window_rule(args, args["kernel"], inputs[0], output, layout)
                or super().shape_rule(args, inputs, output, layout))


_MULTIPLIER = Arg("depth_multiplier", size, 1, positional=False, aliases=("multiplier",))


class Conv(_ConvKind):
    dsl, keras_fmt, torch_fmt = "conv{r}d", "Conv{R}", "Conv{r}d"
    causal = True
    doc_fmt = "A {r}-D convolution with `filters` output channels."
    equation = (r"y_{p,f} = \phi\Big(b_f + \sum_{i \in \mathcal{W}(p)} "
                r"\sum_{c \in G(f)} K_{i,c,f}\, x_{i,c}\Big)")
    where = (_WINDOW_WHERE + "; G(f): the C/groups input channels of filter f's group; "
             "phi the activation, none by default")

    def cost(self, a, x, out, ctx):
        """Per output position, k x C/groups x F MACs (padded positions too, as
        PyTorch's FlopCounterMode counts)."""
        (_, c), (spatial, f) = _spatial(x, ctx), _spatial(out, ctx)
        return _conv_cost(a, out, ctx, elements(spatial) * elements(a.kernel) * c / a.groups * f)

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        _keras_stride_or_dilation(a, ctx, self.keras)
        out = _conv_lengths(self, a, spatial, x, ctx)
        g = _groups(a.groups, c, a.filters, ctx)
        kernel = ctx.pick(keras=Weight("kernel", (*a.kernel, c / g, a.filters)),
                          torch=Weight("weight", (a.filters, c / g, *a.kernel)))
        weights = (kernel, Weight("bias", (a.filters,))) if a.bias else (kernel,)
        return Applied(join_channels(out, a.filters, ctx), weights)


def _keras_stride_or_dilation(a, ctx, keras_name: str) -> None:
    """Keras's Conv and ConvTranspose refuse strides > 1 with dilation_rate > 1
    (keras/src/layers/convolutional/base_conv.py); PyTorch allows both."""
    if not ctx.convention.stride_with_dilation:
        ctx.require(sympy.Or(sympy.And(*[sympy.Eq(s, 1) for s in a.stride]),
                             sympy.And(*[sympy.Eq(d, 1) for d in a.dilation])),
                    f"{ctx.convention.display}'s {keras_name} does not support a stride > 1 "
                    f"together with a dilation > 1 (use convention "
                    f"{conventions.owners('stride_with_dilation')[0]})")


def _groups(g, c, filters, ctx):
    ctx.require(sympy.Eq(sympy.Mod(c, g), 0),
                lambda: f"input channels {c} are not divisible by groups={g}")
    ctx.require(sympy.Eq(sympy.Mod(filters, g), 0),
                lambda: f"filters {filters} are not divisible by groups={g}")
    return g


def _depthwise_kernel(a, c, ctx, torch_name: str) -> Weight:
    """Keras (*k, C, m); PyTorch's grouped Conv (C*m, 1, *k)."""
    m = a.depth_multiplier
    return ctx.pick(
        keras=Weight("depthwise_kernel", (*a.kernel, c, m),
                     why="m filters per input channel, each over that channel alone"),
        torch=Weight(torch_name, (c * m, sympy.Integer(1), *a.kernel),
                     why="a Conv with groups = C: C*m filters, each over 1 channel"))


class DepthwiseConv(_ConvKind):
    """One filter bank per input channel (``depth_multiplier`` filters each).

    Keras: ``DepthwiseConv2D``, kernel ``(k_h, k_w, C, m)``. PyTorch has no class of
    its own: it is ``Conv2d(C, C*m, k, groups=C)``, weight ``(C*m, 1, k_h, k_w)``.
    """

    dsl, keras_fmt, torch_fmt = "depthwise_conv{r}d", "DepthwiseConv{R}", "Conv{r}d"
    doc_fmt = ("A {r}-D depthwise convolution: each input channel convolved with its own "
               "`depth_multiplier` filters (PyTorch: Conv{r}d with groups=C).")
    equation = (r"y_{p,(c,j)} = \phi\Big(b_{c,j} + \sum_{i \in \mathcal{W}(p)} "
                r"K_{i,c,j}\, x_{i,c}\Big)")
    where = _WINDOW_WHERE + "; j = 1..m, the depth multiplier"
    example_call = "{name} {k}, depth_multiplier = m"
    init = {"keras": {"depthwise_kernel": DENSE_INIT["keras"]["kernel"], "bias": "zeros"},
            "torch": {"weight": DENSE_INIT["torch"]["weight"] + ", fan_in = k",
                      "bias": DENSE_INIT["torch"]["bias"]}}

    def cost(self, a, x, out, ctx):
        """Per output position, k MACs for each of the C*m output channels."""
        (_, c), (spatial, _) = _spatial(x, ctx), _spatial(out, ctx)
        return _conv_cost(a, out, ctx, elements(spatial) * elements(a.kernel) * c
                          * a.depth_multiplier)

    def leading(self, rank):
        return (Arg("kernel", sizes(rank), aliases=("kernel_size",)), _MULTIPLIER)

    def trailing(self, rank):
        return ()

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        out = _conv_lengths(self, a, spatial, x, ctx)
        cm = c * a.depth_multiplier
        kernel = _depthwise_kernel(a, c, ctx, "weight")
        weights = (kernel, Weight("bias", (cm,))) if a.bias else (kernel,)
        return Applied(join_channels(out, cm, ctx), weights)


_POINTWISE = "a 1x1 convolution mixing the C*m depthwise channels into F"


class SeparableConv(_ConvKind):
    """A depthwise convolution, then a 1x1 (pointwise) one to ``filters`` channels.

    Keras: ``SeparableConv2D`` (depthwise_kernel, pointwise_kernel, bias). PyTorch has
    no such class; symparam counts the usual pair ``Conv2d(C, C*m, k, groups=C,
    bias=False)`` then ``Conv2d(C*m, F, 1)``, whose weights match Keras's one to one.
    """

    dsl, keras_fmt = "separable_conv{r}d", "SeparableConv{R}"
    torch_fmt = "Sequential(Conv{r}d, Conv{r}d)"
    doc_fmt = ("A {r}-D depthwise-separable convolution: depthwise, then pointwise to "
               "`filters` channels.")
    equation = (r"z_{p,(c,j)} = \sum_{i \in \mathcal{W}(p)} D_{i,c,j}\, x_{i,c}, \quad "
                r"y_{p,f} = \phi\Big(b_f + \sum_{c,j} P_{(c,j),f}\, z_{p,(c,j)}\Big)")
    where = _WINDOW_WHERE + "; D the depthwise kernel (m per channel), P the pointwise one"
    example_call = "{name} F, {k}, depth_multiplier = m"
    init = {"keras": {"depthwise_kernel": DENSE_INIT["keras"]["kernel"],
                      "pointwise_kernel": DENSE_INIT["keras"]["kernel"], "bias": "zeros"},
            "torch": {"depthwise.weight": DENSE_INIT["torch"]["weight"] + ", fan_in = k",
                      "pointwise.weight": DENSE_INIT["torch"]["weight"] + ", fan_in = C m",
                      "pointwise.bias": DENSE_INIT["torch"]["bias"] + ", fan_in = C m"}}

    def cost(self, a, x, out, ctx):
        """Per output position, k x C*m MACs (depthwise) then C*m x F (pointwise)."""
        (_, c), (spatial, f) = _spatial(x, ctx), _spatial(out, ctx)
        cm = c * a.depth_multiplier
        return _conv_cost(a, out, ctx, elements(spatial) * cm * (elements(a.kernel) + f))

    def trailing(self, rank):
        return (_MULTIPLIER,)

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        out = _conv_lengths(self, a, spatial, x, ctx)
        cm, f, ones = c * a.depth_multiplier, a.filters, (sympy.Integer(1),) * self.rank
        weights = [_depthwise_kernel(a, c, ctx, "depthwise.weight"),
                   ctx.pick(keras=Weight("pointwise_kernel", (*ones, cm, f), why=_POINTWISE),
                            torch=Weight("pointwise.weight", (f, cm, *ones), why=_POINTWISE))]
        if a.bias:
            weights.append(Weight(ctx.pick(keras="bias", torch="pointwise.bias"), (f,)))
        return Applied(join_channels(out, f, ctx), tuple(weights))


def transpose_length(n, k, s, d, pad, op):
    """Output length of one axis of a transposed convolution.

    Keras (``valid``/``same``; output_padding None unless given):
      valid: (n-1)s + max(d(k-1)+1, s), or (n-1)s + d(k-1)+1 + op
      same:  n s,                       or (n-1)s + (d(k-1)+1) mod 2 + op
    PyTorch (integer padding p): (n-1)s - 2p + d(k-1) + op + 1

    >>> transpose_length(7, 3, 2, 1, 1, 1), transpose_length(7, 3, 2, 1, "same", None)
    (14, 14)
    """
    eff = d * (k - 1) + 1
    if pad == "valid":
        return (n - 1) * s + (sympy.Max(eff, s) if op is None else eff + op)
    if pad == "same":
        return n * s if op is None else (n - 1) * s + sympy.Mod(eff, 2) + op
    return (n - 1) * s - 2 * pad + eff + (0 if op is None else op)


class ConvTranspose(_ConvKind):
    """A transposed ("de-") convolution: the gradient of a convolution, which
    upsamples. Keras kernel ``(*k, F, C)``; PyTorch weight ``(C, F/groups, *k)``."""

    dsl, aliases = "conv{r}d_transpose", ("conv_transpose{r}d",)
    keras_fmt, torch_fmt = "Conv{R}Transpose", "ConvTranspose{r}d"
    doc_fmt = "A {r}-D transposed convolution with `filters` output channels; it upsamples."
    equation = (r"y_{s p + d i,\, f} \mathrel{+}= \sum_{c} K_{i,f,c}\, x_{p,c}"
                r"\;\text{ for every input position } p, \text{ then } "
                r"y \leftarrow \phi(y + b_f)")
    where = ("the transpose (gradient) of a convolution: each input position adds a "
             "kernel-sized window to the output (stride s, dilation d)")
    init = {"keras": {"kernel": DENSE_INIT["keras"]["kernel"], "bias": "zeros"},
            "torch": {"weight": DENSE_INIT["torch"]["weight"]
                      + ", fan_in = F/groups x k (the weight's second axis)",
                      "bias": DENSE_INIT["torch"]["bias"]}}
    # Keras defaults to 'valid' and takes only words; PyTorch to 0, integers only.
    padding_default: Optional[str] = None  # type: ignore[assignment]
    padding_only = _TRANSPOSE_WORDS

    def cost(self, a, x, out, ctx):
        """Per *input* position, k x C x F/groups MACs (each input element is spread
        over a window of the output), as PyTorch's FlopCounterMode counts."""
        (spatial, c), (_, f) = _spatial(x, ctx), _spatial(out, ctx)
        return _conv_cost(a, out, ctx, elements(spatial) * elements(a.kernel) * c * f / a.groups)

    def trailing(self, rank):
        return (Arg("output_padding", optional(sizes(rank, nonneg)), None, positional=False),
                Arg("groups", size, 1, positional=False, only=Only(("torch",))))

    # Not a window: the derivation gives the input and output shapes only.
    shape_rule = LayerKind.shape_rule

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        pad = a.padding if a.padding is not None else ctx.pick(keras="valid", torch=0)
        _keras_stride_or_dilation(a, ctx, self.keras)
        g = _groups(a.groups, c, a.filters, ctx)
        pads = (pad,) * self.rank if not isinstance(pad, tuple) else pad
        ops = a.output_padding or (None,) * self.rank
        for op, s, d in zip(ops, a.stride, a.dilation):
            if op is not None:
                # Keras: output_padding < stride; PyTorch: < stride or < dilation.
                if ctx.convention.output_padding_below_dilation:
                    ctx.require(sympy.Or(sympy.Lt(op, s), sympy.Lt(op, d)),
                                f"output_padding {op} must be smaller than the stride {s} "
                                f"or the dilation {d}")
                else:
                    ctx.require(sympy.Lt(op, s),
                                f"output_padding {op} must be smaller than the stride {s}")
        out = tuple(transpose_length(n, k, s, d, p, op) for n, k, s, d, p, op
                    in zip(spatial, a.kernel, a.stride, a.dilation, pads, ops))
        kernel = ctx.pick(
            keras=Weight("kernel", (*a.kernel, a.filters, c),
                         why="Keras stores a transposed kernel output channels first: k x F x C"),
            torch=Weight("weight", (c, a.filters / g, *a.kernel),
                         why="PyTorch stores it input channels first: C x F/groups x k"))
        weights = (kernel, Weight("bias", (a.filters,))) if a.bias else (kernel,)
        return Applied(join_channels(out, a.filters, ctx), weights)


def _pool_names(kind: Any, op: str, rank: int, prefix: str = "",
                keras_prefix: str = "", torch_prefix: str = "") -> str:
    """Set a pooling kind's names: maxpool2d / MaxPooling2D / MaxPool2d /
    max_pooling2d, with a prefix (global_, adaptive_); returns Max or Average."""
    word = {"max": "Max", "avg": "Average"}[op]
    kind.op, kind.rank = op, rank
    kind.names = (f"{prefix}{op}pool{rank}d",)
    kind.keras = f"{keras_prefix}{word}Pooling{_SUFFIX[rank]}"
    kind.torch = f"{torch_prefix}{'Max' if op == 'max' else 'Avg'}Pool{rank}d"
    kind.auto_name = f"{prefix}{'max' if op == 'max' else 'average'}_pooling{rank}d"
    return word


class Pool(LayerKind):
    family = CONV

    def __init__(self, op: str, rank: int):
        word = _pool_names(self, op, rank)
        self.args = (
            Arg("pool", sizes(rank), 2, aliases=("pool_size", "kernel_size")),
            Arg("stride", optional(sizes(rank)), None, positional=False, aliases=("strides",)),
            Arg("padding", _padding(rank, ("valid", "same")), "valid", positional=False,
                only=Only(("keras",), ("same",), "has no padding='same' (use an integer "
                                                 "padding)")),
            Arg("dilation", sizes(rank), 1, positional=False, only=Only(("torch",))),
            Arg("ceil_mode", boolean, False, positional=False, only=Only(("torch",))),
        )
        self.doc = f"{word} pooling over {rank}-D windows; stride defaults to the window."
        self.example = card_example(rank, f"{self.names[0]} {_KERNEL[rank]}")
        self.equation = (r"y_{p,c} = \max_{i \in \mathcal{W}(p)} x_{i,c}" if op == "max" else
                         r"y_{p,c} = \frac{1}{|\mathcal{W}(p)|} "
                         r"\sum_{i \in \mathcal{W}(p)} x_{i,c}")
        self.where = _WINDOW_WHERE.replace("dilation d", "the window's size by default")

    def at_init(self, args, ctx):
        """No weights: windows over the input (valid padding, no dilation or ceil_mode
        here; None otherwise)."""
        pads = args["padding"]
        if (args.get("ceil_mode") or any(d != 1 for d in args["dilation"])
                or (pads != "valid" and (isinstance(pads, str) or any(p != 0 for p in pads)))):
            return None
        pool = tuple(int(k) for k in args["pool"])
        stride = tuple(int(s) for s in (args["stride"] or pool))
        rank, op = self.rank, self.op

        def fn(x):
            import numpy as np
            win = np.lib.stride_tricks.sliding_window_view(x, pool, axis=tuple(range(1, rank + 1)))
            win = win[(slice(None),) + tuple(slice(None, None, s) for s in stride)]
            axes = tuple(range(-rank, 0))
            return win.max(axis=axes) if op == "max" else win.mean(axis=axes, dtype=np.float32)
        return AtInit(self.equation, (), _channels_to_end(fn, ctx))

    def cost(self, a, x, out, ctx):
        """One element operation (a comparison or an addition) per element of each
        window, padded positions included: output elements x window size."""
        return Cost(elementwise=elements(out) * elements(a.pool))

    def shape_rule(self, args, inputs, output, layout):
        """Each spatial axis by :func:`window_length`, but PyTorch's ceil_mode, which
        the derivation gives as shapes only."""
        rule = None if args.get("ceil_mode") else window_rule(args, args["pool"], inputs[0],
                                                               output, layout)
        return rule or super().shape_rule(args, inputs, output, layout)

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        stride = a.stride or a.pool
        if self.op == "avg" and "dilation" in a.given:
            raise ArgError("average pooling has no dilation")
        pads = (a.padding,) * self.rank if isinstance(a.padding, str) else a.padding
        out = []
        for n, k, s, d, p in zip(spatial, a.pool, stride, a.dilation, pads):
            if not isinstance(p, str):
                ctx.require(sympy.Le(2 * p, k), f"padding {p} is more than half the window {k}")
            if a.ceil_mode:
                length = _ceil_mode_length(n, k, s, d, 0 if isinstance(p, str) else p, ctx)
            else:
                length = conv_length(n, k, s, d, p, ctx, "the pooling")
            out.append(length)
        return Applied(join_channels(out, c, ctx))


def _ceil_mode_length(n, k, s, d, p, ctx):
    """PyTorch's ceil_mode length, as one floor (no Piecewise to nest down a chain).

    PyTorch computes o = ceil((n + 2p - e)/s) + 1 for a window of extent e = d(k - 1) + 1,
    minus 1 when the last window would start at or after n + p. The windows start at
    j*s, j >= 0; the first rule keeps j*s <= n + 2p - e + s - 1, the second
    j*s <= n + p - 1 = (n + 2p - e) + (e - p) - 1. So the starts kept are those with
    j*s <= n + 2p - e + min(s, e - p) - 1, and their count is that over s, floored, plus
    one (checked against PyTorch for every small case in tests/test_hostile_analysis.py).
    """
    eff = d * (k - 1) + 1
    last = n + 2 * p - eff + sympy.Min(s, eff - p) - 1  # the last start allowed

    def too_big():
        return (f"the pooling window of size {eff} is larger than its input of size {n}"
                + (f" plus padding {2 * p}" if p else "")
                + " (with ceil_mode, PyTorch would give an output of size 0)")
    if last.is_number and last < 0:
        raise ArgError(too_big())
    ctx.require(sympy.Ge(last, 0), too_big)
    return sympy.floor(last / s) + 1


class _EachElementOnce:
    """The cost of pooling that reads each input element into one window: one element
    operation per input element (for adaptive pooling, exact when the output sizes
    divide the input sizes; overlapping windows read some elements twice)."""

    def cost(self, a, x, out, ctx):
        return Cost(elementwise=elements(x))


class GlobalPool(_EachElementOnce, LayerKind):
    family = CONV

    def __init__(self, op: str, rank: int):
        word = _pool_names(self, op, rank, "global_", "Global", "Adaptive")
        self.args = (Arg("keepdims", boolean, False, positional=False),)
        self.doc = (f"{word} over all {rank}-D positions, one value per channel. PyTorch "
                    f"equivalent: {self.torch}(1) followed by a flatten (unless keepdims).")
        self.example = card_example(rank, self.names[0])
        self.equation = (r"y_c = \max_{p} x_{p,c}" if op == "max" else
                         r"y_c = \frac{1}{P} \sum_{p} x_{p,c}")
        self.where = "p runs over the P spatial positions"

    def at_init(self, args, ctx):
        rank, op, keep = self.rank, self.op, args.get("keepdims", False)

        def fn(x):
            import numpy as np
            axes = tuple(range(1, rank + 1))
            return (x.max(axis=axes, keepdims=keep) if op == "max"
                    else x.mean(axis=axes, keepdims=keep, dtype=np.float32))
        return AtInit(self.equation, (), _channels_to_end(fn, ctx))

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        if a.keepdims:
            return Applied(join_channels((sympy.Integer(1),) * self.rank, c, ctx))
        return Applied((c,))


class AdaptivePool(_EachElementOnce, LayerKind):
    """Pooling to a fixed output size, whatever the input size (PyTorch
    ``AdaptiveAvgPool2d(output_size)``, Keras 3 ``AdaptiveAveragePooling2D``).
    A ``none`` entry keeps that axis's input size (PyTorch)."""
    family = CONV

    def __init__(self, op: str, rank: int):
        word = _pool_names(self, op, rank, "adaptive_", "Adaptive", "Adaptive")
        self.args = (Arg("output_size", sizes(rank, optional(size)), aliases=("size",)),)
        self.doc = f"{word} pooling of each channel to `output_size` over {rank}-D positions."
        sizes_ = {1: "o", 2: "[o_h, o_w]", 3: "[o_d, o_h, o_w]"}[rank]
        self.example = card_example(rank, f"{self.names[0]} {sizes_}")
        agg = (r"\max_{i \in \mathcal{W}(p)} x_{i,c}" if op == "max" else
               r"\frac{1}{|\mathcal{W}(p)|} \sum_{i \in \mathcal{W}(p)} x_{i,c}")
        self.equation = (r"y_{p,c} = " + agg + r", \quad \mathcal{W}(p) = "
                         r"\left[\left\lfloor \frac{p n}{o} \right\rfloor, "
                         r"\left\lceil \frac{(p + 1) n}{o} \right\rceil\right)")
        self.where = "per axis: n input positions, o output positions"

    def at_init(self, args, ctx):
        """No weights: each output position pools its window W(p), per axis."""
        rank, op = self.rank, self.op

        def fn(x):
            import math

            import numpy as np
            for axis, o in zip(range(1, rank + 1), args["output_size"]):
                n = x.shape[axis]
                o = n if o is None else int(o)
                parts = [np.take(x, range(p * n // o, math.ceil((p + 1) * n / o)), axis=axis)
                         for p in range(o)]
                x = np.stack([part.max(axis=axis) if op == "max"
                              else part.mean(axis=axis, dtype=np.float32) for part in parts],
                             axis=axis)
            return x
        return AtInit(self.equation, (), _channels_to_end(fn, ctx))

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        out = tuple(n if o is None else o for n, o in zip(spatial, a.output_size))
        return Applied(join_channels(out, c, ctx))


def _pad_spec(rank: int):
    """Keras's ZeroPadding: an integer, one per axis (both sides), or (before, after) pairs.
    For 1-D, a pair means (left, right)."""
    def convert(v, ctx=None):
        if isinstance(v, tuple):
            if rank == 1 and len(v) == 2 and not any(isinstance(i, tuple) for i in v):
                return ((nonneg(v[0]), nonneg(v[1])),)
            if len(v) != rank:
                raise ArgError(f"expected {rank} entries (one per spatial axis), got {len(v)}")
            out = []
            for item in v:
                if isinstance(item, tuple):
                    if len(item) != 2:
                        raise ArgError("a per-side padding is a pair [before, after]")
                    out.append((nonneg(item[0]), nonneg(item[1])))
                else:
                    p = nonneg(item)
                    out.append((p, p))
            return tuple(out)
        p = nonneg(v)
        return ((p, p),) * rank
    return convert


class ZeroPad(LayerKind):
    family = CONV

    def __init__(self, rank: int):
        self.rank = rank
        self.names = (f"zeropad{rank}d",)
        self.keras, self.torch = f"ZeroPadding{_SUFFIX[rank]}", f"ZeroPad{rank}d"
        self.auto_name = f"zero_padding{rank}d"
        self.args = (Arg("padding", _pad_spec(rank), 1),)
        self.doc = f"Adds rows of zeros around each of the {rank} spatial axes."
        self.example = card_example(rank, f"{self.names[0]} p")
        self.equation = r"y = \operatorname{pad}_0(x)"
        self.where = "the input surrounded by zeros, p before and after on each spatial axis"

    def at_init(self, args, ctx):
        pads = [(int(a), int(b)) for a, b in args["padding"]]

        def fn(x):
            import numpy as np
            return np.pad(x, [(0, 0), *pads, (0, 0)])
        return AtInit(self.equation, (), _channels_to_end(fn, ctx))

    def cost(self, a, x, out, ctx):
        return Cost()  # copies only

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        out = tuple(n + before + after for n, (before, after) in zip(spatial, a.padding))
        return Applied(join_channels(out, c, ctx))


for _r in (1, 2, 3):
    register(Conv(_r))
    register(ConvTranspose(_r))
    register(ZeroPad(_r))
    for _op in ("max", "avg"):
        register(Pool(_op, _r))
        register(GlobalPool(_op, _r))
        register(AdaptivePool(_op, _r))
for _r in (1, 2):
    register(DepthwiseConv(_r))
    register(SeparableConv(_r))
