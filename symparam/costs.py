"""The arithmetic of a forward pass, per example, as formulas, and how FLOPs are
counted from it: the conventions are data, stated and switchable.

Each layer kind states its :class:`Cost` in its own class (``LayerKind.cost``), in
four separate parts so that a convention can take or leave each one:

- ``macs``: multiply-accumulates of the products with weights (dense, convolutions,
  recurrent kernels, attention's projections) and of attention's two products of
  activations, QK^T and AV (the T² terms). Padded positions of a convolution are
  counted like the others, as PyTorch's ``FlopCounterMode`` does;
- ``bias``: additions of a bias (one per output element per bias vector);
- ``activations``: evaluations of an activation function (relu, gelu, the softmax of
  attention, the gates of recurrent layers), one per element whatever the function;
- ``elementwise``: the other element operations: merges, pooling windows,
  normalization, the scaling of attention's queries, the state updates of recurrent
  layers. Each kind's docstring says how it counts them.

A kind that says nothing returns None: "not counted", and the totals name it rather
than count it as a silent 0.

Beside the parts, ``masked`` holds the MACs of the scores a causal mask or a sliding
window hides (attention's QK^T and AV products that a masked query skips): symparam
does not count them, as FlashAttention's benchmarks and Kaplan et al. do not; tools
that see the full products (PyTorch's ``FlopCounterMode`` on eager attention or SDPA)
do, which :attr:`FlopConvention.masks` switches.

>>> from symparam import analyze
>>> s = analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h, activation = relu\\n")
>>> s.macs, s.flops(), s.flops(FlopConvention(bias=True, activations=True))
(h*n, 2*h*n, 2*h*n + 2*h)
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

import sympy
from .activations import ACTIVATIONS
from .exprs import add_up, as_expr

ZERO = sympy.Integer(0)
PARTS = ("macs", "bias", "activations", "elementwise")


@dataclass(frozen=True)
class Cost:
    """The forward arithmetic of one layer application, per example."""

    macs: sympy.Expr = ZERO
    bias: sympy.Expr = ZERO
    activations: sympy.Expr = ZERO
    elementwise: sympy.Expr = ZERO
    masked: sympy.Expr = ZERO  # MACs of the scores a mask hides (not in ``macs``)
    masked_activations: sympy.Expr = ZERO  # their softmax evaluations

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(*[as_expr(getattr(self, p)) + getattr(other, p) for p in FIELDS])

    def times(self, k) -> "Cost":
        """Every part multiplied by ``k`` (a repeat's count, a number of steps)."""
        if k == 1:
            return self
        return Cost(*[k * as_expr(getattr(self, p)) for p in FIELDS])


FIELDS = PARTS + ("masked", "masked_activations")


def total(costs) -> Cost:
    """The sum of costs, each part built as one sum (not pairwise)."""
    costs = list(costs)
    return Cost(*[add_up(getattr(c, p) for c in costs) for p in FIELDS])


def elements(shape) -> sympy.Expr:
    """The number of elements of a shape (the batch axis left out)."""
    return sympy.Mul(*shape) if shape else sympy.Integer(1)


def activation_ops(function: Optional[str], n) -> sympy.Expr:
    """The function's evaluations per element (one; none for ``linear``: see
    :mod:`symparam.activations`) times ``n``; none for no activation."""
    if function is None:
        return ZERO
    return ACTIVATIONS[function].evaluations * as_expr(n)


@dataclass(frozen=True)
class FlopConvention:
    """How FLOPs are counted from the parts of a :class:`Cost`.

    The default, 2 FLOPs per MAC and nothing else, is what PyTorch's
    ``FlopCounterMode`` and Kaplan et al. (2020) count; ``flops_per_mac=1`` is what
    tools that call a MAC a FLOP count (fvcore, ptflops, thop). ``backward`` counts
    forward + backward as ``backward_factor`` x forward (3 unless told otherwise: the
    backward pass does two products for each one of the forward pass).

    >>> FlopConvention().describe()
    '1 MAC = 2 FLOPs; bias additions not counted; activations not counted; element-wise ops not counted; forward pass only'
    """

    flops_per_mac: int = 2
    bias: bool = False
    activations: bool = False
    elementwise: bool = False
    backward: bool = False
    backward_factor: int = 3
    # Do causal masks and windows skip the scores they hide (FlashAttention, Kaplan et
    # al.), or are the full products counted (FlopCounterMode, PaLM's 12 L H Q T)?
    masks: bool = True
    # Is the projection onto the vocabulary (a language model's head) counted? Kaplan
    # et al.'s C_forward leaves it out with the embeddings (see analysis.costs).
    vocabulary_heads: bool = True

    def flops(self, cost: Cost) -> sympy.Expr:
        out = self.flops_per_mac * as_expr(cost.macs)
        if not self.masks:
            out = out + self.flops_per_mac * as_expr(cost.masked)
        for part in ("bias", "activations", "elementwise"):
            if getattr(self, part):
                out = out + getattr(cost, part)
        if self.activations and not self.masks:
            out = out + cost.masked_activations
        return self.backward_factor * out if self.backward else out

    def describe(self) -> str:
        mac = f"1 MAC = {self.flops_per_mac} FLOP{'s' if self.flops_per_mac != 1 else ''}"
        parts = [mac] + [f"{label} {'counted (1 FLOP each)' if getattr(self, name) else 'not counted'}"
                         for name, label in (("bias", "bias additions"),
                                             ("activations", "activations"),
                                             ("elementwise", "element-wise ops"))]
        if not self.masks:
            parts.append("masked attention scores counted in full")
        if not self.vocabulary_heads:
            parts.append("the projection onto the vocabulary not counted")
        parts.append(f"forward + backward = {self.backward_factor} x forward" if self.backward
                     else "forward pass only")
        return "; ".join(parts)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Preset:
    """A named counting convention: what a tool or a paper counts, so that two
    figures quoted for one model can be told apart (``symparam cost --preset``)."""

    name: str
    convention: FlopConvention
    source: str


PRESETS = {p.name: p for p in (
    Preset("symparam", FlopConvention(),
           "symparam's default: 2 FLOPs per MAC of the products with weights and of "
           "attention's QK^T and AV, the scores a causal mask or window hides not "
           "counted, nothing else"),
    Preset("flopcounter", FlopConvention(masks=False),
           "PyTorch's torch.utils.flop_counter.FlopCounterMode: 2 FLOPs per MAC of "
           "matmuls and convolutions, attention's products in full whatever the mask "
           "(eager attention and SDPA compute them all), no bias additions, activations "
           "or element-wise operations"),
    Preset("kaplan", FlopConvention(vocabulary_heads=False),
           "Kaplan et al. 2020, Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn per "
           "token: 2 FLOPs per MAC, the causal mask halving QK^T and AV, the embeddings "
           "and the projection onto the vocabulary left out"),
    Preset("palm", FlopConvention(masks=False, backward=True),
           "Chowdhery et al. 2022 (PaLM), Appendix B, and nanoGPT's MFU: 6N + 12 L H Q T "
           "per token of training: forward + backward = 3 x forward, attention's "
           "products in full (no causal halving), the output head counted"),
)}
