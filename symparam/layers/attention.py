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
- Attention as LLMs use it (``kv_heads``, per-projection biases, ``qk_norm``): Hugging
  Face transformers' layout (``LlamaAttention``, ``MistralAttention``, ``Qwen2Attention``,
  ``GemmaAttention``): four ``nn.Linear`` projections ``q_proj`` (heads x head_dim),
  ``k_proj`` and ``v_proj`` (kv_heads x head_dim each), ``o_proj`` back to the query's
  width; head_dim (``key_dim``) defaults to d / heads. In Keras, ``kv_heads`` is
  ``GroupQueryAttention(head_dim, num_query_heads, num_key_value_heads)``, whose weights
  are MultiHeadAttention's with kv_heads heads for the key and value.
- ``causal`` and ``window`` (a sliding window: each query sees at most ``window`` keys)
  are masks: they change the cost, never a weight.
- :class:`Rotary`, rotary position embeddings, has no weights; under PyTorch it keeps
  transformers' two non-persistent buffers, ``inv_freq`` and ``original_inv_freq``, of
  dim / 2 each, once per model (``model.rotary_emb``), and needs an even dim.

>>> from symparam import analyze
>>> src = "convention torch\\nmodel m(T = 5, d = 16):\\n    input [T, d]\\n    attention 4\\n"
>>> s = analyze(src)
>>> s.total.expand(), s.value(s.total)
(4*d**2 + 4*d, 1088)
"""
from __future__ import annotations

import sympy

from ..costs import Cost, elements
from ..values import Word
from .base import (BUFFER, Applied, Arg, ArgError, Example, KVCache, LayerKind, Only, Weight,
                   boolean, choice, fmt_shape, optional, rate, register, size)
from .base import Family
from .merge import never_equal, same_dim


def _tensor(v, ctx=None):
    return v  # a tensor argument arrives as the named tensor's shape


def _bias(v, ctx=None):
    """``true``, ``false``, or ``qkv``: the query, key and value projections only."""
    if isinstance(v, bool):
        return v
    if isinstance(v, Word) and v.text == "qkv":
        return "qkv"
    raise ArgError(f"expected true, false or qkv (biases on the query, key and value "
                   f"projections, none on the output), got {v}")


# The arguments that select transformers' layout under convention torch, and the
# options of nn.MultiheadAttention or of Keras that it does not have.
LLM_ARGS = ("kv_heads", "q_bias", "k_bias", "v_bias", "out_bias", "qk_norm")
NOT_LLM = ("add_bias_kv", "embed_dim", "kdim", "vdim", "value_dim", "output_shape")
PROJECTIONS = ("q", "k", "v", "out")


def _biases(a) -> dict[str, bool]:
    """Which of the four projections have a bias: ``bias`` for all, then each
    ``q_bias``/``k_bias``/``v_bias``/``out_bias`` given overrides it."""
    has = {p: a.bias is True or (a.bias == "qkv" and p != "out") for p in PROJECTIONS}
    for p in PROJECTIONS:
        if getattr(a, f"{p}_bias") is not None:
            has[p] = getattr(a, f"{p}_bias")
    return has


def _llm(a) -> bool:
    return a.bias == "qkv" or any(n in a.given for n in LLM_ARGS)


def _score_count(a, tq, tk):
    """Query-key pairs scored: all T x S; a sliding window bounds each query to
    ``window`` keys; causal counts half the square (see Attention.cost)."""
    if a.window is None:
        return tq * tk / 2 if a.causal else tq * tk
    m = sympy.Min(a.window, tk)
    return tq * m - m**2 / 2 if a.causal else tq * m


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
        Arg("key_dim", optional(size), None, aliases=("head_dim",),
            doc="the size of each head's query and key (head_dim; PyTorch: d / heads "
                "unless kv_heads is given)"),
        Arg("value_dim", optional(size), None, positional=False, only=_WIDTH_ONLY),
        Arg("output_shape", optional(size), None, positional=False, aliases=("output_dim",),
            only=_WIDTH_ONLY),
        Arg("kv_heads", optional(size), None, positional=False,
            aliases=("num_kv_heads", "num_key_value_heads"),
            doc="the number of key/value heads (grouped-query attention: a divisor of "
                "heads; multi-query: 1); default: heads"),
        Arg("bias", _bias, True, positional=False, aliases=("use_bias",),
            doc="true: every projection has a bias; false: none; qkv: the query, key "
                "and value projections only (Qwen2)"),
        *(Arg(f"{p}_bias", optional(boolean), None, positional=False,
              doc=f"whether the {p} projection has a bias (overrides bias)")
          for p in PROJECTIONS),
        Arg("qk_norm", optional(choice("rmsnorm", "layernorm")), None, positional=False,
            doc="rmsnorm or layernorm of each query and key head (head_dim weights each: "
                "q_norm, k_norm, as Qwen3 and Gemma 3)"),
        Arg("window", optional(size), None, positional=False,
            aliases=("sliding_window",),
            doc="a sliding window: each query sees at most this many keys (cost only)"),
        Arg("add_bias_kv", boolean, False, positional=False,
            only=Only(("torch",), (), "has no learned key and value steps (add_bias_kv)")),
        Arg("embed_dim", optional(size), None, positional=False, only=_TORCH_WIDTH),
        Arg("kdim", optional(size), None, positional=False, only=_TORCH_WIDTH),
        Arg("vdim", optional(size), None, positional=False, only=_TORCH_WIDTH),
        Arg("dropout", rate, 0, positional=False),
        # A causal mask changes no weight, only the cost: see Attention.cost.
        Arg("causal", boolean, False, positional=False,
            aliases=("is_causal", "use_causal_mask"),
            doc="a causal mask (cost only: half the scores)"),
        Arg("key", _tensor, None, positional=False, tensor=True),
        Arg("value", _tensor, None, positional=False, tensor=True),
    )
    min_rank = 2
    doc = ("Multi-head attention of the current tensor (the query) over `value` (and `key`, "
           "which defaults to the value); self-attention when neither is given. "
           "Under PyTorch it is `nn.MultiheadAttention`, or, when `kv_heads`, a "
           "per-projection bias or `qk_norm` is given, the attention of Hugging Face "
           "transformers' LLMs (separate `q_proj`, `k_proj`, `v_proj`, `o_proj`).")
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
        if a.kv_heads is not None:
            ctx.require(sympy.Eq(sympy.Mod(a.heads, a.kv_heads), 0),
                        f"attention: kv_heads = {a.kv_heads} must divide heads = {a.heads} "
                        f"(each key/value head serves heads / kv_heads query heads)")
        if ctx.convention.attention_heads == "key_dim":
            return self.keras_weights(a, x, key, value, ctx)
        if _llm(a):
            return self.llm_weights(a, x, key, value, ctx)
        return self.torch_weights(a, x, key, value, ctx)

    def cost(self, a, x, out, ctx):
        """The projections' MACs (query, key, value, output), the two products of
        activations QK^T and AV (heads x T x S x head size each: the T² terms), a
        softmax activation per score, one element operation per query element (the
        1/sqrt scaling), the projections' bias additions and, with ``qk_norm``, the
        normalization of the queries and keys (counted as the norm layers count).

        ``causal = true`` counts half of the T x S products, the convention of
        FlashAttention's benchmarks and of Kaplan et al. 2020 (the exact number of
        unmasked scores is T(T + 1)/2: T/2 more per head and head size). A sliding
        ``window`` of w bounds each query to min(w, S) keys; with ``causal`` too, the
        same half-square convention gives T m - m²/2 scores, m = min(w, S). Grouped
        key/value heads shrink the key and value projections, not the products:
        every query head still scores every key."""
        value = a.value if a.value is not None else tuple(x)
        key = a.key if a.key is not None else value
        tq, tk = elements(x[:-1]), elements(key[:-1])
        if ctx.convention.attention_heads == "key_dim" or _llm(a):
            k = self.head_dim(a, x, ctx)
            v = a.value_dim if a.value_dim is not None else k
            kv = a.kv_heads if a.kv_heads is not None else a.heads
            hk, hv, width = a.heads * k, a.heads * v, out[-1]
            widths = {"q": (tq, x[-1], hk), "k": (tk, key[-1], kv * k),
                      "v": (tk, value[-1], kv * v), "out": (tq, hv, width)}
            proj = sum(t * i * o for t, i, o in widths.values())
            has = _biases(a)
            bias = sum(t * o for p, (t, _, o) in widths.items() if has[p])
        else:
            e = x[-1]
            hk = hv = e
            proj = tq * e * e + tk * key[-1] * e + tk * value[-1] * e + tq * e * e
            bias = 2 * tq * e + 2 * tk * e if a.bias else 0
            tk = tk + 1 if a.add_bias_kv else tk  # a learned key/value step joins the scores
        scores = _score_count(a, tq, tk)
        masked = (tq * tk - scores) * (hk + hv)  # the products a mask or window hides
        norm = 0
        if a.qk_norm is not None:  # per element: RMSNorm 3 ops, LayerNorm 6 (+ a shift)
            normed = tq * hk + tk * kv * k
            norm = normed * (3 if a.qk_norm == "rmsnorm" else 6)
            bias += normed if a.qk_norm == "layernorm" else 0
        return Cost(proj + scores * (hk + hv), bias, a.heads * scores, tq * hk + norm,
                    masked=masked, masked_activations=a.heads * (tq * tk - scores))

    def kv_cache(self, a, x, out, ctx):
        """The keys and values kept per example to decode: every key/value head's key
        (head_dim numbers) and value (value_dim) per cached step; PyTorch's
        MultiheadAttention projects both to embed_dim. A causal self-attention layer
        caches every step so far, or, with a sliding ``window`` w, the last w - 1 (the
        next token's own key makes w), as transformers' sliding-window cache keeps
        them; a cross-attention layer (``key``/``value`` given) caches the other
        tensor's steps once."""
        value = a.value if a.value is not None else tuple(x)
        key = a.key if a.key is not None else value
        tokens = elements(key[:-1])
        if ctx.convention.attention_heads == "key_dim" or _llm(a):
            k = self.head_dim(a, x, ctx)
            v = a.value_dim if a.value_dim is not None else k
            kv = a.kv_heads if a.kv_heads is not None else a.heads
            width = kv * (k + v)
        else:
            width = 2 * x[-1]
            tokens = tokens + 1 if a.add_bias_kv else tokens
        cross = a.key is not None or a.value is not None
        if a.window is not None and not cross:
            tokens = sympy.Min(tokens, a.window - 1)
        return KVCache(tokens, width, causal=bool(a.causal), cross=cross)

    def head_dim(self, a, x, ctx):
        """The size of each head: ``key_dim`` (``head_dim``), else d / heads (PyTorch)."""
        if a.key_dim is not None:
            return a.key_dim
        if ctx.convention.attention_heads == "key_dim":
            raise ArgError("Keras's MultiHeadAttention needs key_dim, the size of each head "
                           "(`attention HEADS, KEY_DIM`)")
        e, h = x[-1], a.heads
        ctx.require(sympy.Eq(sympy.Mod(e, h), 0),
                    f"attention: the width {e} must be divisible by {h} heads (or give "
                    f"head_dim)")
        return e / h

    def keras_weights(self, a, x, key, value, ctx):
        """Heads of key_dim (Keras's MultiHeadAttention, GroupedQueryAttention with
        kv_heads): kernels and biases per head."""
        if a.qk_norm is not None:
            raise ArgError("qk_norm is not an option of Keras's MultiHeadAttention or "
                           "GroupQueryAttention (use convention torch)")
        if a.bias == "qkv" or any(f"{p}_bias" in a.given for p in PROJECTIONS):
            raise ArgError("Keras's attention layers bias every projection or none "
                           "(use_bias); per-projection biases need convention torch")
        if a.kv_heads is not None:
            for opt in ("value_dim", "output_shape"):
                if opt in a.given:
                    raise ArgError(f"{opt} is an option of Keras's MultiHeadAttention, not "
                                   f"of GroupQueryAttention (kv_heads)")
            for what, t in (("key", key), ("value", value)):
                ctx.require(sympy.Eq(t[-1], x[-1]),
                            f"attention: Keras's GroupQueryAttention (kv_heads) needs the "
                            f"{what} as wide as the query ({t[-1]} vs {x[-1]})")
        h, k = a.heads, self.head_dim(a, x, ctx)
        kv = a.kv_heads if a.kv_heads is not None else h
        v = a.value_dim if a.value_dim is not None else k
        out = a.output_shape if a.output_shape is not None else x[-1]
        weights = []
        for proj, width, heads, dim in (("query", x[-1], h, k), ("key", key[-1], kv, k),
                                        ("value", value[-1], kv, v)):
            weights.append(Weight(f"{proj}/kernel", (width, heads, dim),
                                  why=f"projects the {proj} to {heads} heads of {dim}"))
            if a.bias:
                weights.append(Weight(f"{proj}/bias", (heads, dim),
                                      why="Keras biases each head's projection: heads x dim"))
        weights.append(Weight("attention_output/kernel", (h, v, out),
                              why="joins the heads back into the output size"))
        if a.bias:
            weights.append(Weight("attention_output/bias", (out,)))
        if a.kv_heads is not None:
            return Applied((*x[:-1], out), tuple(weights), type_name="GroupedQueryAttention",
                           auto_name="grouped_query_attention")
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
                        f"numbers, not key_dim = {a.key_dim} (with kv_heads, the LLM "
                        f"layout, a head has a size of its own)")
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

    def llm_weights(self, a, x, key, value, ctx):
        """Hugging Face transformers' attention: q_proj, k_proj, v_proj, o_proj."""
        for opt in NOT_LLM:
            if opt in a.given:
                raise ArgError(f"{opt} is not an option of the LLM attention (kv_heads, "
                               f"per-projection biases, qk_norm): transformers' q_proj, "
                               f"k_proj, v_proj and o_proj have none")
        d, h, k = x[-1], a.heads, self.head_dim(a, x, ctx)
        kv = a.kv_heads if a.kv_heads is not None else h
        has = _biases(a)
        weights = []
        for p, name, rows, cols in (("q", "q_proj", h * k, d), ("k", "k_proj", kv * k, key[-1]),
                                    ("v", "v_proj", kv * k, value[-1]),
                                    ("out", "o_proj", d, h * k)):
            weights.append(Weight(f"{name}.weight", (rows, cols),
                                  why=f"nn.Linear({cols}, {rows}): weight is out x in"))
            if has[p]:
                weights.append(Weight(f"{name}.bias", (rows,)))
        if a.qk_norm is not None:
            parts = ("weight",) if a.qk_norm == "rmsnorm" else ("weight", "bias")
            for norm in ("q_norm", "k_norm"):
                weights += [Weight(f"{norm}.{part}", (k,),
                                   why=f"a {a.qk_norm} of each head: head_dim numbers, "
                                       f"shared by the heads")
                            for part in parts]
        return Applied(tuple(x), tuple(weights))


register(Attention())


class Rotary(LayerKind):
    """Rotary position embeddings (RoPE, Su et al. 2021): no weights.

    Hugging Face transformers computes them once per model (``model.rotary_emb``, e.g.
    ``LlamaRotaryEmbedding``) and keeps two non-persistent buffers of dim / 2 inverse
    frequencies, ``inv_freq`` and ``original_inv_freq``, that ``named_buffers()``
    lists; Keras (keras_hub's ``RotaryEmbedding``) keeps none. The rotation itself
    happens inside each attention layer, so the layer leaves its tensor unchanged and
    costs nothing where it stands (the rotation's element operations are not counted).

    >>> from symparam import analyze
    >>> src = "convention torch\\nmodel m(T = 5, d = 16):\\n    input [T, d]\\n    rotary 8\\n"
    >>> s = analyze(src)
    >>> s.total, s.buffers
    (0, 8)
    """

    family, group = ATTENTION, "attention"
    names = ("rotary", "rotary_embedding", "rope")
    keras, torch, auto_name = "RotaryEmbedding", "RotaryEmbedding", "rotary_embedding"
    args = (Arg("dim", size, aliases=("head_dim",),
                doc="the rotated size of each head (head_dim; less with partial rotary)"),)
    min_rank = 1
    doc = ("Rotary position embeddings: no weights. Write it once, after the embedding, "
           "as transformers keeps it once per model; under PyTorch its two buffers "
           "(`inv_freq`, `original_inv_freq`) have dim / 2 numbers each. dim must be even.")
    equation = (r"\operatorname{rot}(x)_{2i, 2i+1} = \begin{pmatrix} \cos p\theta_i & "
                r"-\sin p\theta_i \\ \sin p\theta_i & \cos p\theta_i \end{pmatrix} "
                r"\begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix}")
    where = ("p the position, theta_i = base^(-2i/dim) the dim / 2 inverse frequencies "
             "(inv_freq); applied to each query and key head")
    init = {"torch": {"inv_freq": "base^(-2i/dim), base = rope_theta (10000)",
                      "original_inv_freq": "a copy of inv_freq"}}
    example = Example("[T, d]", "rotary d")

    def apply(self, a, x, ctx):
        ctx.require(sympy.Eq(sympy.Mod(a.dim, 2), 0),
                    f"rotary: dim = {a.dim} must be even (the rotation turns pairs of "
                    f"numbers)")
        if not ctx.convention.rotary_buffers:
            return Applied(tuple(x))
        why = "transformers keeps dim / 2 inverse frequencies, a non-persistent buffer"
        return Applied(tuple(x), tuple(Weight(n, (a.dim / 2,), BUFFER, why=why)
                                       for n in ("inv_freq", "original_inv_freq")))

    def cost(self, a, x, out, ctx):
        return Cost()


register(Rotary())
