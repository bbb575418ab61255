"""Mixture of experts: the router, and the weighted mix of the experts' outputs.

The statement ``moe E, top_k = k, ...:`` (docs/language.md, "Mixture of experts") is
walked by the analyzer as three steps: a ``router`` on the input (scores for the E
experts), the expert body (counted E times, run k times per token) and the shared
experts' body, then an ``expert_mix`` that combines the k chosen experts' outputs
(and the shared experts' output) into a tensor of the input's shape. Both are layer
kinds of their own, so their weights, shapes and costs are said once, here.

Imports the layer base and the cost arithmetic only.
"""
from __future__ import annotations

import sympy

from ..costs import Cost, elements
from .base import (BUFFER, NON_TRAINABLE, Applied, Arg, ArgError, Example, Family,
                   LayerKind, Weight, boolean, choice, fmt_shape, nonneg, optional, register,
                   size)

MOE = Family("moe", "Mixture of experts", 45)


def _shape(v, ctx=None):
    """A tensor argument's shape (the analyzer gives the shape of the tensor named)."""
    if not isinstance(v, tuple):
        raise ArgError("expected the name of a tensor")
    return v


class Router(LayerKind):
    """A mixture of experts' router: one score per expert for each position.

    Mixtral's and Qwen2-MoE's ``gate`` (a linear layer without bias, scored by a
    softmax), DeepSeek-V3's (scored by a sigmoid, with ``e_score_correction_bias``, a
    buffer of E numbers added to the scores to choose the experts)."""

    family, group = MOE, "routing"
    names = ("router",)
    keras, torch, auto_name = "Router", "TopKRouter", "router"
    args = (
        Arg("experts", size, aliases=("num_experts", "num_local_experts",
                                      "n_routed_experts"), doc="number of experts E"),
        Arg("bias", boolean, False, positional=False, aliases=("use_bias",),
            doc="a bias of E on the scores' linear map (none in Mixtral, Qwen2-MoE or "
                "DeepSeek-V3)"),
        Arg("score_bias", boolean, False, positional=False,
            aliases=("e_score_correction_bias",),
            doc="DeepSeek-V3's correction bias, E numbers added to the scores to choose "
                "the experts: a buffer in transformers (non-trainable under Keras)"),
        Arg("scoring", choice("softmax", "sigmoid"), "softmax", positional=False,
            doc="the function of the scores: softmax (Mixtral, Qwen2-MoE) or sigmoid "
                "(DeepSeek-V3)"),
    )
    doc = ("A mixture of experts' router: a linear map of the last axis to one score per "
           "expert.")
    equation = r"s = \sigma\left(x W_g\right)"
    where = ("W_g is n x E (PyTorch stores E x n); sigma the softmax (or sigmoid) of the "
             "scores, of which each position keeps its top k")
    init = {"keras": {"kernel": "glorot_uniform"},
            "torch": {"weight": "kaiming_uniform(a=sqrt(5)): U(±1/sqrt(fan_in))"}}
    example = Example("[T, n]", "router E")

    def apply(self, a, x, ctx):
        n = x[-1]
        weights = [ctx.pick(keras=Weight("kernel", (n, a.experts)),
                            torch=Weight("weight", (a.experts, n)))]
        if a.bias:
            weights.append(Weight("bias", (a.experts,)))
        if a.score_bias:
            weights.append(Weight("e_score_correction_bias", (a.experts,),
                                  ctx.pick(keras=NON_TRAINABLE, torch=BUFFER),
                                  why="added to the scores to choose the experts; not "
                                      "trained by gradients"))
        return Applied((*x[:-1], a.experts), tuple(weights))

    def cost(self, a, x, out, ctx):
        """n x E MACs per position (the scores); a bias addition per score when there
        is a bias (the correction bias too); the softmax or sigmoid once per score. The
        top-k choice compares scores: no arithmetic counted."""
        scores = elements(out)
        biases = int(bool(a.bias)) + int(bool(a.score_bias))
        return Cost(elements(x[:-1]) * x[-1] * a.experts, biases * scores, scores)


class ExpertMix(LayerKind):
    """The output of a mixture of experts: each position's k chosen experts' outputs,
    weighted by their scores and added, plus the shared experts' output (gated by a
    sigmoid of a linear map d -> 1 in Qwen2-MoE).

    The analyzer applies it at the end of a ``moe`` statement, with the expert body's
    output as its input; written as a layer, ``expert_mix top_k = k, router = r``."""

    family, group = MOE, "routing"
    names = ("expert_mix",)
    keras, torch, auto_name = "ExpertMix", "ExpertMix", "expert_mix"
    args = (
        Arg("top_k", size, positional=False, aliases=("num_experts_per_tok",),
            doc="experts each position runs, k <= E"),
        Arg("router", _shape, positional=False, tensor=True,
            doc="the router's output (its last axis is the number of experts E)"),
        Arg("shared", optional(_shape), None, positional=False, tensor=True,
            doc="the shared experts' output, added"),
        Arg("shared_gate", boolean, False, positional=False,
            doc="the shared experts' output multiplied by a sigmoid of a linear map d -> 1 "
                "without bias (Qwen2-MoE's shared_expert_gate)"),
    )
    doc = ("The weighted sum of the k experts each position chose, plus the shared experts' "
           "output.")
    equation = (r"y = \sum_{i \in \mathrm{top}_k(s)} s_i\, E_i(x) "
                r"+ \sigma\left(x w_s\right) S(x)")
    where = ("s the router's scores, E_i the experts, S the shared experts (without "
             "shared_gate, the sigmoid factor is 1)")
    init = {"keras": {"shared_gate": "glorot_uniform"},
            "torch": {"shared_gate": "kaiming_uniform(a=sqrt(5)): U(±1/sqrt(fan_in))"}}
    example = Example("[T, n]", "expert_mix top_k = 2, router = r", others=("[T, 8] as r",))

    def apply(self, a, x, ctx):
        experts = a.router[-1]
        ctx.require(sympy.Le(a.top_k, experts), lambda: (
            f"top_k = {a.top_k} is more than the {experts} experts: each position chooses "
            f"top_k of them"))
        if len(a.router) != len(x):
            raise ArgError(f"the router's scores {fmt_shape(a.router)} do not fit the "
                           f"experts' output {fmt_shape(x)}")
        for other, what in ((a.router[:-1], "router's scores"), (a.shared, "shared experts' output")):
            if other is None:
                continue
            mine = x[:-1] if what.startswith("router") else x
            if len(other) != len(mine):
                raise ArgError(f"the {what} {fmt_shape(other)} does not fit the experts' "
                               f"output {fmt_shape(x)}")
            for p, q in zip(other, mine):
                ctx.require(sympy.Eq(p, q), lambda p=p, q=q, w=what: (
                    f"the {w} does not fit the experts' output {fmt_shape(x)}: {p} vs {q}"))
        if a.shared_gate and a.shared is None:
            raise ArgError("shared_gate gates the shared experts: give them a `shared:` body")
        weights = ()
        if a.shared_gate:
            weights = (ctx.pick(keras=Weight("shared_gate", (x[-1], 1)),
                                torch=Weight("shared_gate", (1, x[-1]))),)
        return Applied(tuple(x), weights)

    def cost(self, a, x, out, ctx):
        """Per position, k multiplications of an expert's output by its score and k - 1
        additions (the experts themselves are counted in their layers, k of E per
        position); with shared experts one addition more, and with the shared gate d
        MACs, a sigmoid and d multiplications."""
        positions, d = elements(x[:-1]), x[-1]
        element = (2 * a.top_k - 1) * d
        macs = activations = sympy.Integer(0)
        if a.shared is not None:
            element += d
        if a.shared_gate:
            macs, activations, element = d, sympy.Integer(1), element + d
        return Cost(positions * macs, 0, positions * activations, positions * element)


register(Router())
register(ExpertMix())


class MoeStatement(LayerKind):
    """The arguments of the ``moe`` statement (not a layer kind: it is not
    registered). The resolver binds a statement's arguments to these specs and gives
    each to the step it belongs to (:data:`ROUTER_ARGS`, :data:`MIX_ARGS`); the shared
    experts' count stays the statement's."""

    names = ("moe",)
    args = (
        Arg("experts", size, aliases=("num_experts", "num_local_experts", "n_routed_experts"),
            doc="number of routed experts E"),
        Arg("top_k", size, positional=False, aliases=("num_experts_per_tok",),
            doc="experts each position runs, k <= E"),
        Arg("shared", nonneg, None, positional=False, aliases=("n_shared_experts",),
            doc="shared experts, always run: copies of the `shared:` body (1 when there is "
                "one), else of the expert body (none)"),
        Arg("shared_gate", boolean, False, positional=False,
            doc="Qwen2-MoE's sigmoid gate d -> 1 on the shared experts' output"),
        Arg("router_bias", boolean, False, positional=False,
            doc="a bias on the router's scores"),
        Arg("score_bias", boolean, False, positional=False,
            aliases=("e_score_correction_bias",),
            doc="DeepSeek-V3's correction bias of E, a buffer in transformers"),
        Arg("scoring", choice("softmax", "sigmoid"), "softmax", positional=False,
            doc="softmax (Mixtral, Qwen2-MoE) or sigmoid (DeepSeek-V3) scores"),
    )


MOE_STATEMENT = MoeStatement()
# Which argument of the statement goes to which step, under which name there.
ROUTER_ARGS = {"experts": "experts", "router_bias": "bias", "score_bias": "score_bias",
               "scoring": "scoring"}
MIX_ARGS = {"top_k": "top_k", "shared_gate": "shared_gate"}
