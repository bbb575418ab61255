"""Recurrent layers: simple RNN, LSTM and GRU, in Keras's and PyTorch's conventions.

A recurrent layer reads a sequence ``(T, n)`` per example (PyTorch's ``batch_first``
layout) and keeps ``units`` numbers of state. Each of its ``gates`` (1 for a simple
RNN, 3 for a GRU, 4 for an LSTM) has an input kernel, a recurrent kernel and biases:

=========  =====================================  ======================================
           Keras (one bias vector)                PyTorch (b_ih and b_hh)
=========  =====================================  ======================================
RNN        u(n + u + 1)                           u(n + u + 2)
LSTM       4u(n + u + 1)                          4u(n + u + 2)
GRU        3u(n + u + 2) (reset_after, default)   3u(n + u + 2)
           3u(n + u + 1) (reset_after = false)    (PyTorch's GRU is reset_after only)
=========  =====================================  ======================================

Where the frameworks differ the difference is data: each weight carries a ``why``
that a derivation can show ("PyTorch adds a second bias vector: +4u").

Defaults follow each framework: Keras returns the last step only
(``return_sequences = false``), PyTorch's modules always return the whole sequence, so
in convention torch ``return_sequences`` defaults to true (take the last step with a
later layer). ``num_layers`` stacks layers the PyTorch way; in convention keras it
stands for that many stacked Keras layers, all but the last returning sequences.
``bidirectional = true`` is PyTorch's option and Keras's ``Bidirectional`` wrapper.
"""
from __future__ import annotations

import sympy

from ..costs import Cost
from ..limits import MAX_UNROLL
from ..values import Word, show
from .base import (ACTIVATIONS, Applied, Arg, ArgError, Example, LayerKind, Only, Weight,
                   activation, boolean, choice, fmt_shape, nonneg, optional, rate, register,
                   size)
from .base import Family

MERGE_MODES = ("concat", "sum", "mul", "ave")


def _gu(g: int) -> str:
    """How g gates of u units read in a derivation: ``u``, ``4u``."""
    return "u" if g == 1 else f"{g}u"


def _merge_mode(v, ctx=None):
    """How a bidirectional layer joins its two directions. Keras's merge_mode=None
    returns the two as separate outputs, which a symparam layer (one output) cannot."""
    if isinstance(v, Word) and v.text == "none":
        raise ArgError("merge_mode = none gives two separate outputs in Keras, and a "
                       "symparam layer has one: use concat, sum, mul or ave")
    return choice(*MERGE_MODES)(v)


_FIXED = "fixes its activations"
# PyTorch's RNN takes nonlinearity tanh or relu; its LSTM and GRU fix theirs.
_ELMAN_ACTIVATIONS = Only(("keras",), tuple(f for f in ACTIVATIONS if f not in ("tanh", "relu")),
                          _FIXED + " (nonlinearity: tanh or relu)")


def _common_args(extra: tuple = (), activations: Only = Only(("keras",), (), _FIXED)) -> tuple:
    return (
        Arg("units", size, aliases=("hidden_size",), doc="the size of the state"),
        Arg("return_sequences", optional(boolean), None, positional=False),
        Arg("num_layers", size, 1, positional=False),
        Arg("bidirectional", boolean, False, positional=False),
        Arg("merge_mode", _merge_mode, None, positional=False,
            only=Only(("keras",), ("sum", "mul", "ave"),
                      "always concatenates both directions")),
        Arg("bias", boolean, True, positional=False, aliases=("use_bias",)),
        Arg("activation", activation, None, positional=False, aliases=("nonlinearity",),
            only=activations),
        Arg("recurrent_activation", activation, None, positional=False,
            only=Only(("keras",), (), _FIXED)),
        Arg("dropout", rate, 0, positional=False),
        Arg("recurrent_dropout", rate, 0, positional=False,
            only=Only(("keras",), (), "has no recurrent dropout")),
        *extra,
    )


_TORCH_INIT = "U(±1/sqrt(u))"  # PyTorch's RNNs: every weight and bias alike


RECURRENT = Family("recurrent", "Recurrent layers", 30)


class Recurrent(LayerKind):
    """The shared shape and weights of the three recurrent kinds; subclasses say how
    many gates they have and what is special about their biases."""
    family, group = RECURRENT, "recurrent"

    init = {"keras": {"kernel": "glorot_uniform", "recurrent_kernel": "orthogonal",
                      "bias": "zeros"},
            "torch": {"weight_ih": _TORCH_INIT, "weight_hh": _TORCH_INIT,
                      "bias_ih": _TORCH_INIT, "bias_hh": _TORCH_INIT,
                      "weight_hr": _TORCH_INIT}}
    where = ("W reads the input x_t (n features), U the previous state h_(t-1) (u units); "
             "PyTorch adds a second bias b_hh beside b_ih")

    @property
    def example(self) -> Example:  # type: ignore[override]
        return Example("[T, n]", f"{self.names[0]} u")

    gates = 1
    min_rank = 2
    inputs = "one"
    # Per unit and step: activation evaluations, and the other element operations of
    # the state update (LSTM: f*c + i*g, o*tanh(c); GRU: r*(Uh + b), (1 - z)*n + z*h).
    step_activations = 1
    step_elementwise = 0

    def check(self, a, ctx) -> None:
        """Options that exist in one framework only are refused before (Arg.only)."""
        if a.merge_mode is not None and not a.bidirectional:
            raise ArgError("merge_mode needs bidirectional = true")

    def state_out(self, a, ctx):
        """The size of each direction's output (the hidden state)."""
        return a.units

    def biases(self, a, ctx, pre: str, post: str):
        """The bias weights of one direction of one layer: one vector per gate, or two
        (the input's b_ih and the state's b_hh), as the convention keeps them."""
        g, u, who = self.gates, a.units, ctx.convention.display
        if ctx.convention.rnn_bias_vectors == 1:
            return (Weight(f"{pre}bias{post}", (g * u,),
                           why=f"{who} keeps one bias vector: {_gu(g)}"),)
        return (Weight(f"{pre}bias_ih{post}", (g * u,), why=f"the input bias b_ih: {_gu(g)}"),
                Weight(f"{pre}bias_hh{post}", (g * u,),
                       why=f"{who} adds a second bias vector b_hh: +{_gu(g)}"))

    def direction(self, a, ctx, n, layer: int, reverse: bool, stacked: bool, bidir: bool):
        """The weights of one direction of one layer, reading ``n`` features."""
        g, u = self.gates, a.units
        # Weight names and storage orders: Keras's layer0/forward/kernel (n x gu),
        # PyTorch's weight_ih_l0_reverse (gu x n).
        if ctx.pick(keras="prefix", torch="suffix") == "prefix":
            pre = (f"layer{layer}/" if stacked else "") + (
                ("backward/" if reverse else "forward/") if bidir else "")
            weights = [Weight(pre + "kernel", (n, g * u),
                              why=f"input to the gates: n x {_gu(g)}"),
                       Weight(pre + "recurrent_kernel", (u, g * u),
                              why=f"state to the gates: u x {_gu(g)}")]
            post = ""
        else:
            post = f"_l{layer}" + ("_reverse" if reverse else "")
            pre = ""
            weights = [Weight(f"weight_ih{post}", (g * u, n),
                              why=f"input to the gates: {_gu(g)} x n"),
                       Weight(f"weight_hh{post}", (g * u, self.recurrent_in(a)),
                              why=f"state to the gates: {_gu(g)} x "
                                  f"{'proj_size' if self.recurrent_in(a) != u else 'u'}")]
        if a.bias:
            weights.extend(self.biases(a, ctx, pre, post))
        weights.extend(self.extra(a, ctx, post))
        return weights

    def recurrent_in(self, a):
        return a.units

    def extra(self, a, ctx, post: str):
        return ()

    def cost(self, a, x, out, ctx):
        """Per step, layer and direction: g·u·(n + u) MACs (g gates of u units reading
        n inputs and the state; with proj_size p, g·u·(n + p) + u·p), the bias
        vectors' additions, ``step_activations``·u activations and
        ``step_elementwise``·u other element operations; all times the steps T."""
        steps, n = x
        g, u, p = self.gates, a.units, self.recurrent_in(a)
        proj = getattr(a, "proj_size", 0)
        dirs, layers = (2 if a.bidirectional else 1), int(a.num_layers)
        mode = a.merge_mode or "concat"
        merged = self.state_out(a, ctx) * (dirs if mode == "concat" else 1)
        nbias = sum(w.size for w in self.biases(a, ctx, "", "")) if a.bias else 0
        macs = sum(g * u * ((n if i == 0 else merged) + p) + (u * p if proj != 0 else 0)
                   for i in range(layers))
        # Keras's Bidirectional merges the two directions: sum/mul 1 op, ave 2.
        merge = {"concat": 0, "sum": 1, "mul": 1, "ave": 2}[mode] * merged if dirs == 2 else 0
        per_step = Cost(dirs * macs, layers * dirs * nbias,
                        layers * dirs * self.step_activations * u,
                        layers * (dirs * self.step_elementwise * u + merge))
        return per_step.times(steps)

    def apply(self, a, x, ctx):
        if len(x) != 2:
            raise ArgError(f"{self.names[0]} expects a sequence (steps, features) per "
                           f"example, got {len(x)}-D {fmt_shape(x)}")
        self.check(a, ctx)
        steps, n = x
        h = self.state_out(a, ctx)
        dirs = 2 if a.bidirectional else 1
        merged = h * dirs if (a.merge_mode or "concat") == "concat" else h
        if not a.num_layers.is_number:
            raise ArgError("num_layers must be a number (stack a symbolic count of layers "
                           "with `repeat`)")
        if a.num_layers > MAX_UNROLL:  # each stacked layer has its own weights, built here
            raise ArgError(f"num_layers = {show(a.num_layers)} stacks more layers than the "
                           f"limit MAX_UNROLL = {MAX_UNROLL:,} (stack a symbolic count of "
                           f"layers with `repeat`)")
        weights = []
        for layer in range(int(a.num_layers)):
            for reverse in ((False, True) if a.bidirectional else (False,)):
                weights += self.direction(a, ctx, n if layer == 0 else merged, layer, reverse,
                                          a.num_layers > 1, a.bidirectional)
        sequences = a.return_sequences
        if sequences is None:
            sequences = ctx.convention.rnn_returns_sequences
        out = (steps, merged) if sequences else (merged,)
        # Keras wraps a bidirectional layer in a class of its own; PyTorch has an option.
        wrapped = ctx.pick(keras="Bidirectional", torch="") if a.bidirectional else ""
        return Applied(out, tuple(weights), type_name=wrapped, auto_name=wrapped.lower())


class SimpleRNN(Recurrent):
    names = ("simple_rnn", "rnn")
    keras, torch, auto_name = "SimpleRNN", "RNN", "simple_rnn"
    gates = 1
    args = _common_args(activations=_ELMAN_ACTIVATIONS)
    doc = "An Elman RNN: h' = tanh(W x + U h + b)."
    equation = r"h_t = \tanh\left(W x_t + U h_{t-1} + b\right)"


class LSTM(Recurrent):
    names = ("lstm",)
    keras, torch, auto_name = "LSTM", "LSTM", "lstm"
    gates = 4
    step_activations = 5  # 3 sigmoid gates, the tanh candidate, tanh of the cell
    step_elementwise = 4  # f*c, i*g, their sum, o*tanh(c)
    args = _common_args((Arg("proj_size", nonneg, 0, positional=False,
                             only=Only(("torch",), (), "has no projection (proj_size)")),))
    doc = ("Long short-term memory: input, forget, cell and output gates (4u per input "
           "and state feature); PyTorch's proj_size projects the state to proj_size.")
    equation = (r"\begin{aligned} i, f, o &= \sigma\left(W_{i,f,o}\, x_t + U_{i,f,o}\, "
                r"h_{t-1} + b_{i,f,o}\right), \quad g = \tanh\left(W_g x_t + U_g h_{t-1} "
                r"+ b_g\right) \\ c_t &= f \odot c_{t-1} + i \odot g, \quad "
                r"h_t = o \odot \tanh(c_t) \end{aligned}")
    init = {"keras": {**Recurrent.init["keras"],
                      "bias": "zeros, but ones for the forget gate (unit_forget_bias)"},
            "torch": Recurrent.init["torch"]}

    def check(self, a, ctx):
        super().check(a, ctx)
        if a.proj_size != 0:
            ctx.require(sympy.StrictLessThan(a.proj_size, a.units),
                        f"proj_size ({a.proj_size}) must be smaller than units ({a.units})")

    def state_out(self, a, ctx):
        return a.proj_size if a.proj_size != 0 else a.units

    def recurrent_in(self, a):
        return a.proj_size if a.proj_size != 0 else a.units

    def extra(self, a, ctx, post):
        if a.proj_size == 0:
            return ()
        return (Weight(f"weight_hr{post}", (a.proj_size, a.units),
                       why="the projection of the state: proj_size x u"),)


class GRU(Recurrent):
    names = ("gru",)
    keras, torch, auto_name = "GRU", "GRU", "gru"
    gates = 3
    step_activations = 3  # 2 sigmoid gates, the tanh candidate
    step_elementwise = 5  # r*(Uh + b), then (1 - z)*n + z*h: 1 + 4
    args = _common_args((Arg("reset_after", boolean, True, positional=False,
                             only=Only(("keras",), (False,),
                                       "applies the reset gate after the recurrent product "
                                       "(reset_after = true) only")),))
    doc = ("Gated recurrent unit: update, reset and candidate gates. Keras's default "
           "reset_after = true keeps separate input and recurrent biases, as PyTorch does.")
    equation = (r"\begin{aligned} z, r &= \sigma\left(W_{z,r}\, x_t + U_{z,r}\, h_{t-1} "
                r"+ b_{z,r}\right) \\ n &= \tanh\left(W_n x_t + b_{n} + r \odot "
                r"(U_n h_{t-1} + b'_{n})\right), \quad h_t = (1 - z) \odot n + z \odot "
                r"h_{t-1} \end{aligned}")

    def biases(self, a, ctx, pre, post):
        if ctx.convention.rnn_bias_vectors == 1 and a.reset_after:
            u = a.units
            return (Weight(f"{pre}bias{post}", (2, 3 * u),
                           why="reset_after = true: an input and a recurrent bias, 2 x 3u"),)
        return super().biases(a, ctx, pre, post)


for _kind in (SimpleRNN(), LSTM(), GRU()):
    register(_kind)
