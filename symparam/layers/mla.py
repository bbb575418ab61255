"""Multi-head latent attention (MLA, DeepSeek-V2 and V3), in PyTorch's convention.

MLA compresses the keys and values of every head into one small latent vector per
token (``kv_rank`` numbers, the part a KV cache keeps) and, optionally, the queries
too (``q_rank``); a narrow rotary part of ``qk_rope_dim`` numbers, shared by the
heads for the key, carries the positions. The weights are the named shapes of Hugging
Face transformers' ``DeepseekV3Attention`` (and ``DeepseekV2Attention``, the same):

- ``q_a_proj`` (d -> q_rank), ``q_a_layernorm`` (an RMSNorm of q_rank), ``q_b_proj``
  (q_rank -> heads x (qk_nope_dim + qk_rope_dim)); without ``q_rank`` (transformers'
  ``q_lora_rank = None``, DeepSeek-V2-Lite) one ``q_proj`` (d -> heads x qk size);
- ``kv_a_proj_with_mqa`` (d -> kv_rank + qk_rope_dim: the latent and the shared
  rotary key), ``kv_a_layernorm`` (an RMSNorm of kv_rank), ``kv_b_proj`` (kv_rank ->
  heads x (qk_nope_dim + v_dim): each head's key and value from the latent);
- ``o_proj`` (heads x v_dim -> d).

``bias`` (transformers' ``attention_bias``) gives ``q_a_proj``, ``kv_a_proj_with_mqa``
and ``o_proj`` a bias, as transformers does; ``q_proj``, ``q_b_proj`` and ``kv_b_proj``
never have one. Keras has no MLA layer: the kind exists in PyTorch only and is refused
under convention keras with the one message for what a framework cannot express
(:func:`symparam.layers.base.refuse_foreign`). The rotary embedding's buffers belong
to the model (``rotary QK_ROPE_DIM`` once, as transformers keeps one
``rotary_emb``), not to this layer.

May import the foundations and the other layer modules, as every layer module.

>>> from symparam import analyze
>>> src = ("convention torch\\nmodel m(T = 5, d = 16):\\n    input [T, d]\\n"
...        "    mla 2, q_rank = 6, kv_rank = 4, qk_nope_dim = 3, qk_rope_dim = 2, v_dim = 5\\n")
>>> s = analyze(src)
>>> s.value(s.total), s.layers[-1].output_shape
(486, (T, d))
"""
from __future__ import annotations

import sympy

from ..costs import Cost, elements
from .attention import ATTENTION, _score_count
from .base import (Applied, Arg, ArgError, Example, KVCache, LayerKind, Only, Weight,
                   boolean, fmt_shape, optional, rate, register, size)

# An RMSNorm's element operations per element: the statistics, the normalizing and its
# learned scale (as symparam.layers.norm.RMSNorm counts them).
_RMSNORM_OPS = 3


class LatentAttention(LayerKind):
    """Multi-head latent attention, as transformers' ``DeepseekV3Attention``."""

    family, group = ATTENTION, "attention"
    names = ("mla", "latent_attention", "multi_head_latent_attention")
    keras, torch, auto_name = "", "DeepseekV3Attention", "self_attn"
    only = Only(("torch",), (), "has no multi-head latent attention layer (DeepSeek's "
                               "MLA is transformers' DeepseekV3Attention)")
    args = (
        Arg("heads", size, aliases=("num_heads", "num_attention_heads"),
            doc="the number of attention heads"),
        Arg("q_rank", optional(size), None, positional=False, aliases=("q_lora_rank",),
            doc="the size of the compressed query (q_a_proj, q_b_proj); none (the "
                "default): one q_proj, as DeepSeek-V2-Lite"),
        Arg("kv_rank", size, positional=False, aliases=("kv_lora_rank",),
            doc="the size of the compressed key and value latent (kv_b_proj's input)"),
        Arg("qk_nope_dim", size, positional=False, aliases=("qk_nope_head_dim",),
            doc="each head's query and key numbers without rotary positions"),
        Arg("qk_rope_dim", size, positional=False, aliases=("qk_rope_head_dim",),
            doc="each head's query and key numbers with rotary positions (even; the "
                "key's are one head shared by all)"),
        Arg("v_dim", size, positional=False, aliases=("v_head_dim",),
            doc="the size of each head's value"),
        Arg("bias", boolean, False, positional=False, aliases=("attention_bias",),
            doc="biases on q_a_proj, kv_a_proj_with_mqa and o_proj (transformers' "
                "attention_bias)"),
        Arg("dropout", rate, 0, positional=False, aliases=("attention_dropout",)),
        Arg("causal", boolean, False, positional=False,
            aliases=("is_causal", "use_causal_mask"),
            doc="a causal mask (cost only: half the scores)"),
        Arg("window", optional(size), None, positional=False, aliases=("sliding_window",),
            doc="a sliding window: each query sees at most this many keys (cost only)"),
    )
    min_rank = 2
    doc = ("Multi-head latent attention (DeepSeek-V2, V3): self-attention whose keys and "
           "values come from one compressed latent per token (`kv_rank`) and whose "
           "queries may be compressed too (`q_rank`), each head's query and key split "
           "into `qk_nope_dim` numbers without positions and `qk_rope_dim` with rotary "
           "positions. transformers' `DeepseekV3Attention`; Keras has no such layer.")
    equation = (r"\begin{aligned} c^{KV} &= \operatorname{RMSNorm}(x W^{DKV}), \quad "
                r"k^R = \operatorname{RoPE}(x W^{KR}) \\ "
                r"c^{Q} &= \operatorname{RMSNorm}(x W^{DQ}), \quad "
                r"[q^C_j, q^R_j] = c^Q W^{UQ}_j \\ "
                r"[k^C_j, v_j] &= c^{KV} W^{UKV}_j, \quad "
                r"H_j = \operatorname{softmax}\left(\frac{[q^C_j, \operatorname{RoPE}(q^R_j)]"
                r"[k^C_j, k^R]^\top}{\sqrt{n + r}}\right) V_j \\ "
                r"y &= \left[H_1, \ldots, H_h\right] W^O \end{aligned}")
    where = ("h heads; c^KV the latent of kv_rank numbers and k^R the rotary key of r = "
             "qk_rope_dim numbers (W^DKV and W^KR are kv_a_proj_with_mqa); c^Q the query "
             "latent of q_rank numbers (W^DQ: q_a_proj, W^UQ: q_b_proj; without q_rank, "
             "one q_proj); each head's key and query have n = qk_nope_dim numbers without "
             "positions and r with them, its value v_dim (W^UKV: kv_b_proj); W^O: o_proj")
    init = {"torch": {"q_a_proj.weight": "normal(0, initializer_range = 0.02)",
                      "q_b_proj.weight": "normal(0, 0.02)",
                      "q_proj.weight": "normal(0, 0.02)",
                      "kv_a_proj_with_mqa.weight": "normal(0, 0.02)",
                      "kv_b_proj.weight": "normal(0, 0.02)",
                      "o_proj.weight": "normal(0, 0.02)", "*.bias": "zeros",
                      "q_a_layernorm.weight": "ones", "kv_a_layernorm.weight": "ones"}}
    example = Example("[T, d]", "mla h, q_rank = q, kv_rank = c, qk_nope_dim = n, "
                                "qk_rope_dim = r, v_dim = v")

    @staticmethod
    def qk_dim(a):
        """Each head's query and key size: qk_nope_dim + qk_rope_dim."""
        return a.qk_nope_dim + a.qk_rope_dim

    @staticmethod
    def cached_width(a):
        """What a KV cache keeps per token and layer: the latent and the shared rotary
        key, kv_rank + qk_rope_dim numbers (the width of kv_a_proj_with_mqa)."""
        return a.kv_rank + a.qk_rope_dim

    def kv_cache(self, a, x, out, ctx):
        """What MLA keeps to decode: per cached step the normalized latent and the
        rotary key, kv_rank + qk_rope_dim numbers whatever the number of heads
        (transformers' cache holds ``kv_nope`` and ``k_rot``, the keys and values are
        expanded from them at each step); a sliding ``window`` w keeps the last w - 1
        steps, as for ``attention``."""
        tokens = elements(x[:-1])
        if a.window is not None:
            tokens = sympy.Min(tokens, a.window - 1)
        return KVCache(tokens, self.cached_width(a), causal=bool(a.causal))

    def apply(self, a, x, ctx):
        if len(x) != 2:
            raise ArgError(f"DeepseekV3Attention takes a sequence (steps, hidden_size) per "
                           f"example, got {len(x)}-D {fmt_shape(x)}")
        ctx.require(sympy.Eq(sympy.Mod(a.qk_rope_dim, 2), 0),
                    f"mla: qk_rope_dim = {a.qk_rope_dim} must be even (the rotation turns "
                    f"pairs of numbers)")
        d, h, qk = x[-1], a.heads, self.qk_dim(a)
        # (name, rows, cols, has a bias, why): nn.Linear(cols, rows) keeps weight rows x cols.
        if a.q_rank is None:
            linears = [("q_proj", h * qk, d, False, "no q_rank: one query projection to "
                                                    "heads x (qk_nope_dim + qk_rope_dim)")]
        else:
            linears = [("q_a_proj", a.q_rank, d, a.bias, "compresses the query to q_rank"),
                       ("q_b_proj", h * qk, a.q_rank, False,
                        "each head's query (qk_nope_dim + qk_rope_dim) from the latent")]
        linears += [("kv_a_proj_with_mqa", self.cached_width(a), d, a.bias,
                     "the key/value latent (kv_rank) and one rotary key (qk_rope_dim)"),
                    ("kv_b_proj", h * (a.qk_nope_dim + a.v_dim), a.kv_rank, False,
                     "each head's key (qk_nope_dim) and value (v_dim) from the latent"),
                    ("o_proj", d, h * a.v_dim, a.bias, "joins the heads' values back")]
        norms = {"q_b_proj": ("q_a_layernorm", a.q_rank),
                 "kv_b_proj": ("kv_a_layernorm", a.kv_rank)}
        weights = []
        for name, rows, cols, bias, why in linears:
            if name in norms:  # an RMSNorm of the latent comes before its up-projection
                norm, width = norms[name]
                weights.append(Weight(f"{norm}.weight", (width,),
                                      why="an RMSNorm of the latent: its scale"))
            weights.append(Weight(f"{name}.weight", (rows, cols), why=why))
            if bias:
                weights.append(Weight(f"{name}.bias", (rows,)))
        return Applied(tuple(x), tuple(weights))

    def cost(self, a, x, out, ctx):
        """The projections' MACs (query, compressed or not; the key/value latent and
        rotary key; each head's key and value from the latent; the output), the two
        products of activations QK^T over qk_nope_dim + qk_rope_dim numbers a head and
        AV over v_dim, a softmax per score, the queries' scaling (one operation per
        query element), the RMSNorms of the latents (3 operations per element) and the
        bias additions. ``causal`` and ``window`` change the scores as for
        ``attention``; the rotation of the rotary parts is not counted (element
        operations that PyTorch's FlopCounterMode does not count either)."""
        t, d, h = elements(x[:-1]), x[-1], a.heads
        hq, hv = h * self.qk_dim(a), h * a.v_dim
        if a.q_rank is None:
            query, q_latent = t * d * hq, 0
        else:
            query, q_latent = t * (d * a.q_rank + a.q_rank * hq), t * a.q_rank
        proj = (query + t * d * self.cached_width(a)
                + t * a.kv_rank * h * (a.qk_nope_dim + a.v_dim) + t * hv * d)
        # attention_bias: q_a_proj (when the query is compressed), kv_a_proj_with_mqa, o_proj
        bias = q_latent + t * (self.cached_width(a) + d) if a.bias else 0
        scores = _score_count(a, t, t)
        return Cost(proj + scores * (hq + hv), bias, h * scores,
                    t * hq + _RMSNORM_OPS * (q_latent + t * a.kv_rank))


register(LatentAttention())
