"""Multi-head attention, in Keras's and PyTorch's conventions.

The current tensor is the query ``(..., T, d)``; ``key = NAME`` and ``value = NAME``
name other tensors (self-attention when both are left out; the key defaults to the
value, as in Keras).

- Keras ``MultiHeadAttention(num_heads, key_dim, value_dim, output_shape, use_bias)``
  projects each input per head: query and key to ``key_dim``, value to ``value_dim``
  (default ``key_dim``), then back to ``output_shape`` (default: the query's size).
  Kernels are ``d x heads x key_dim``; biases ``heads x key_dim``.
- PyTorch ``nn.MultiheadAttention(embed_dim, num_heads, bias, add_bias_kv, kdim, vdim)``
  works at the query's width E (``embed_dim``), split into heads of E/heads. The key and
  value widths (``kdim``, ``vdim``) are read from the key and value tensors. One packed
  ``in_proj_weight`` (3E x E) when they equal E, else three ``*_proj_weight``; one
  ``in_proj_bias`` (3E) in both cases.

>>> from symparam import analyze
>>> src = "convention torch\\nmodel m(T = 5, d = 16):\\n    input [T, d]\\n    attention 4\\n"
>>> s = analyze(src)
>>> s.total.expand(), s.value(s.total)
(4*d**2 + 4*d, 1088)
"""
from __future__ import annotations

import sympy

from ..costs import Cost, elements
from .base import (Applied, Arg, ArgError, Example, LayerKind, Only, Weight, boolean,
                   fmt_shape, optional, rate, register, size)
from .base import Family
from .merge import never_equal, same_dim


def _tensor(v, ctx=None):
    return v  # a tensor argument arrives as the named tensor's shape


# Options of one framework's way of sizing the heads and the output.
_WIDTH_ONLY = Only(("keras",), (), "works at the query's width embed_dim")
_TORCH_WIDTH = Only(("torch",), (), "reads the widths from its inputs (key_dim: the size "
                                    "of each head)")

ATTENTION = Family("attention", "Attention", 40)


class Attention(LayerKind):
    family, group = ATTENTION, "attention"
    names = ("attention", "multi_head_attention", "mha")
    keras, torch = "MultiHeadAttention", "MultiheadAttention"
    auto_name = "multi_head_attention"
    args = (
        Arg("heads", size, aliases=("num_heads",), doc="the number of attention heads"),
        Arg("key_dim", optional(size), None, doc="the size of each head's query and key"),
        Arg("value_dim", optional(size), None, positional=False, only=_WIDTH_ONLY),
        Arg("output_shape", optional(size), None, positional=False, aliases=("output_dim",),
            only=_WIDTH_ONLY),
        Arg("bias", boolean, True, positional=False, aliases=("use_bias",)),
        Arg("add_bias_kv", boolean, False, positional=False,
            only=Only(("torch",), (), "has no learned key and value steps (add_bias_kv)")),
        Arg("embed_dim", optional(size), None, positional=False, only=_TORCH_WIDTH),
        Arg("kdim", optional(size), None, positional=False, only=_TORCH_WIDTH),
        Arg("vdim", optional(size), None, positional=False, only=_TORCH_WIDTH),
        Arg("dropout", rate, 0, positional=False),
        # A causal mask changes no weight, only the cost: see Attention.cost.
        Arg("causal", boolean, False, positional=False,
            aliases=("is_causal", "use_causal_mask")),
        Arg("key", _tensor, None, positional=False, tensor=True),
        Arg("value", _tensor, None, positional=False, tensor=True),
    )
    min_rank = 2
    doc = ("Multi-head attention of the current tensor (the query) over `value` (and `key`, "
           "which defaults to the value); self-attention when neither is given.")
    equation = (r"\begin{aligned} y &= \left[H_1, \ldots, H_h\right] W^O + b^O \\ "
                r"H_j &= \operatorname{softmax}\left(\frac{(Q W^Q_j + b^Q_j)(K W^K_j + "
                r"b^K_j)^\top}{\sqrt{k}}\right) (V W^V_j + b^V_j) \end{aligned}")
    where = ("h heads of k numbers each (Keras: key_dim; PyTorch: embed_dim / heads); "
             "Q the current tensor, K and V the key and value")
    init = {"keras": {"kernel": "glorot_uniform", "bias": "zeros"},
            "torch": {"in_proj_weight": "xavier_uniform", "q_proj_weight": "xavier_uniform",
                      "k_proj_weight": "xavier_uniform", "v_proj_weight": "xavier_uniform",
                      "in_proj_bias": "zeros", "bias_k": "xavier_normal",
                      "bias_v": "xavier_normal",
                      "out_proj.weight": "kaiming_uniform(a=sqrt(5)): U(±1/sqrt(d))",
                      "out_proj.bias": "zeros"}}
    example = Example("[T, d]", "attention h, k", torch_call="attention h")

    def apply(self, a, x, ctx):
        value = a.value if a.value is not None else tuple(x)
        key = a.key if a.key is not None else value
        if a.key is not None and a.value is None:
            raise ArgError("key = ... needs value = ... too (the key defaults to the value, "
                           "not the other way round)")
        for what, t in (("key", key), ("value", value)):
            if len(t) != len(x):
                raise ArgError(f"the {what} {fmt_shape(t)} and the query {fmt_shape(x)} "
                               f"must have the same rank")
        for p, q in zip(key[:-1], value[:-1]):
            if never_equal(p, q):
                raise ArgError(f"the key {fmt_shape(key)} and the value {fmt_shape(value)} "
                               f"must have the same steps")
            ctx.require(sympy.Eq(p, q), f"attention: key and value steps {p} and {q} differ")
        if a.causal:
            tq, tk = elements(x[:-1]), elements(key[:-1])
            if never_equal(tq, tk):
                raise ArgError(f"a causal mask needs as many query as key steps: {tq} vs {tk}")
            ctx.require(sympy.Eq(tq, tk), f"attention: a causal mask needs as many query as "
                                          f"key steps ({tq} vs {tk})")
        if ctx.convention.attention_heads == "key_dim":
            return self.keras_weights(a, x, key, value)
        return self.torch_weights(a, x, key, value, ctx)

    def cost(self, a, x, out, ctx):
        """The projections' MACs (query, key, value, output), the two products of
        activations QK^T and AV (heads x T x S x head size each: the T² terms), a
        softmax activation per score, one element operation per query element (the
        1/sqrt scaling) and the projections' bias additions.

        ``causal = true`` counts half of the T x S products, the convention of
        FlashAttention's benchmarks and of Kaplan et al. 2020 (the exact number of
        unmasked scores is T(T + 1)/2: T/2 more per head and head size)."""
        value = a.value if a.value is not None else tuple(x)
        key = a.key if a.key is not None else value
        tq, tk = elements(x[:-1]), elements(key[:-1])
        if ctx.convention.attention_heads == "key_dim":
            hk = a.heads * a.key_dim
            hv = a.heads * (a.value_dim if a.value_dim is not None else a.key_dim)
            width = out[-1]
            proj = tq * x[-1] * hk + tk * key[-1] * hk + tk * value[-1] * hv + tq * hv * width
            bias = tq * hk + tk * hk + tk * hv + tq * width
        else:
            e = x[-1]
            hk = hv = e
            proj = tq * e * e + tk * key[-1] * e + tk * value[-1] * e + tq * e * e
            bias = 2 * tq * e + 2 * tk * e
            tk = tk + 1 if a.add_bias_kv else tk  # a learned key/value step joins the scores
        scores = tq * tk / 2 if a.causal else tq * tk
        return Cost(proj + scores * (hk + hv), bias if a.bias else 0, a.heads * scores, tq * hk)

    def keras_weights(self, a, x, key, value):
        """Heads of key_dim (Keras's MultiHeadAttention): kernels and biases per head."""
        if a.key_dim is None:
            raise ArgError("Keras's MultiHeadAttention needs key_dim, the size of each head "
                           "(`attention HEADS, KEY_DIM`)")
        h, k = a.heads, a.key_dim
        v = a.value_dim if a.value_dim is not None else k
        out = a.output_shape if a.output_shape is not None else x[-1]
        weights = []
        for proj, width, dim in (("query", x[-1], k), ("key", key[-1], k),
                                 ("value", value[-1], v)):
            weights.append(Weight(f"{proj}/kernel", (width, h, dim),
                                  why=f"projects the {proj} to {h} heads of {dim}"))
            if a.bias:
                weights.append(Weight(f"{proj}/bias", (h, dim),
                                      why="Keras biases each head's projection: heads x dim"))
        weights.append(Weight("attention_output/kernel", (h, v, out),
                              why="joins the heads back into the output size"))
        if a.bias:
            weights.append(Weight("attention_output/bias", (out,)))
        return Applied((*x[:-1], out), tuple(weights))

    def torch_weights(self, a, x, key, value, ctx):
        """Heads of embed_dim / heads (PyTorch's MultiheadAttention): packed projections."""
        if len(x) != 2:
            raise ArgError(f"PyTorch's MultiheadAttention takes a sequence (steps, "
                           f"embed_dim) per example, got {len(x)}-D {fmt_shape(x)}")
        e, h = x[-1], a.heads
        for name, given, have in (("embed_dim", a.embed_dim, e), ("kdim", a.kdim, key[-1]),
                                  ("vdim", a.vdim, value[-1])):
            if given is not None:
                gap = sympy.expand(given - have)
                if gap.is_number and gap != 0:
                    raise ArgError(f"{name} = {given} must equal the tensor's last axis "
                                   f"{have}")
                ctx.require(sympy.Eq(given, have), f"attention: {name} = {given} must equal "
                                                   f"the tensor's last axis {have}")
        if e.is_number and h.is_number and e % h != 0:
            raise ArgError(f"embed_dim {e} is not divisible by {h} heads")
        ctx.require(sympy.Eq(sympy.Mod(e, h), 0), f"attention: embed_dim {e} must be "
                                                   f"divisible by {h} heads")
        if a.key_dim is not None:
            ctx.require(sympy.Eq(a.key_dim * h, e),
                        f"attention: in PyTorch each head has embed_dim / heads = {e}/{h} "
                        f"numbers, not key_dim = {a.key_dim}")
        kd, vd = key[-1], value[-1]
        if same_dim(kd, e) is True and same_dim(vd, e) is True:
            weights = [Weight("in_proj_weight", (3 * e, e),
                              why="query, key and value projections packed: 3E x E")]
        else:
            weights = [Weight("q_proj_weight", (e, e)),
                       Weight("k_proj_weight", (e, kd), why="kdim differs from embed_dim"),
                       Weight("v_proj_weight", (e, vd), why="vdim differs from embed_dim")]
        if a.bias:
            weights.append(Weight("in_proj_bias", (3 * e,), why="one bias for q, k, v: 3E"))
        if a.add_bias_kv:
            weights += [Weight("bias_k", (1, 1, e), why="add_bias_kv: a learned key step"),
                        Weight("bias_v", (1, 1, e), why="add_bias_kv: a learned value step")]
        weights.append(Weight("out_proj.weight", (e, e)))
        if a.bias:
            weights.append(Weight("out_proj.bias", (e,)))
        return Applied(tuple(x), tuple(weights))


register(Attention())
