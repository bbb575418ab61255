"""Build an oracle graph as a real ``torch.nn.Module`` that follows the graph.

``BUILDERS[kind](node, graph)`` returns one module for a node; its ``forward`` takes
the node's inputs in order. Adding a layer kind is one entry. PyTorch's modules are
channels-first; for a model in layout channels_last, layout-sensitive modules are
wrapped to move the channel axis in and out (shapes and weights are unchanged).
"""
from __future__ import annotations

import torch
from torch import nn

from .compare import Measured
from .graph import Graph, Node, dispatch, scale_shift


def _rank(kind: str) -> int:
    return int(kind.rstrip("d")[-1])


def _channels(node: Node, g: Graph) -> int:
    x = node.input_shapes[0]
    return x[-1] if g.layout == "channels_last" else x[0]


class ChannelsLast(nn.Module):
    """Runs a channels-first module on a channels-last tensor."""

    def __init__(self, inner: nn.Module, back: bool = True):
        super().__init__()
        self.inner, self.back = inner, back

    def forward(self, x):
        y = self.inner(x.movedim(-1, 1))
        return y.movedim(1, -1) if self.back else y


class AxisTo1(nn.Module):
    """Runs a module that acts on axis 1 (BatchNorm) on another axis."""

    def __init__(self, inner: nn.Module, axis: int):
        super().__init__()
        self.inner, self.axis = inner, axis

    def forward(self, x):
        return self.inner(x.movedim(self.axis, 1)).movedim(1, self.axis)


class Lambda(nn.Module):
    def __init__(self, fn, what: str):
        super().__init__()
        self.fn, self.what = fn, what

    def forward(self, *xs):
        return self.fn(*xs)

    def extra_repr(self) -> str:
        return self.what


def _layout(module: nn.Module, g: Graph, back: bool = True) -> nn.Module:
    return ChannelsLast(module, back) if g.layout == "channels_last" else module


_ACTIVATIONS = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    "softmax": lambda: nn.Softmax(dim=-1), "log_softmax": lambda: nn.LogSoftmax(dim=-1),
    "gelu": nn.GELU, "silu": nn.SiLU, "swish": nn.SiLU, "elu": nn.ELU, "selu": nn.SELU,
    "leaky_relu": nn.LeakyReLU, "softplus": nn.Softplus, "softsign": nn.Softsign,
    "hard_sigmoid": nn.Hardsigmoid, "hard_silu": nn.Hardswish, "hard_swish": nn.Hardswish,
    "mish": nn.Mish,
    "exponential": lambda: Lambda(torch.exp, "exp"), "linear": nn.Identity,
}


def _with_activation(module: nn.Module, fn) -> nn.Module:
    return nn.Sequential(module, _ACTIVATIONS[fn]()) if fn else module


def dense(node, g):
    a = node.args
    return _with_activation(nn.Linear(node.input_shapes[0][-1], a["units"], bias=a["bias"]),
                            a["activation"])


def conv(node, g):
    a, rank = node.args, _rank(node.kind)
    cls = getattr(nn, f"Conv{rank}d")
    module = cls(_channels(node, g), a["filters"], a["kernel"], stride=a["stride"],
                 padding=a["padding"], dilation=a["dilation"], groups=a["groups"],
                 bias=a["bias"])
    return _with_activation(_layout(module, g), a["activation"])


def _conv_kind_rank(node) -> int:
    return int(node.kind.split("conv")[1][0])


def depthwise(node, g):
    a, c = node.args, _channels(node, g)
    cls = getattr(nn, f"Conv{_conv_kind_rank(node)}d")
    module = cls(c, c * a["depth_multiplier"], a["kernel"], stride=a["stride"],
                 padding=a["padding"], dilation=a["dilation"], groups=c, bias=a["bias"])
    return _with_activation(_layout(module, g), a["activation"])


def separable(node, g):
    a, c = node.args, _channels(node, g)
    cls = getattr(nn, f"Conv{_conv_kind_rank(node)}d")
    cm = c * a["depth_multiplier"]
    module = nn.Sequential(
        cls(c, cm, a["kernel"], stride=a["stride"], padding=a["padding"],
            dilation=a["dilation"], groups=c, bias=False),
        cls(cm, a["filters"], 1, bias=a["bias"]))
    return _with_activation(_layout(module, g), a["activation"])


def transpose(node, g):
    a = node.args
    cls = getattr(nn, f"ConvTranspose{_conv_kind_rank(node)}d")
    pad = 0 if a["padding"] is None else a["padding"]
    module = cls(_channels(node, g), a["filters"], a["kernel"], stride=a["stride"],
                 padding=pad, output_padding=a["output_padding"] or 0, groups=a["groups"],
                 bias=a["bias"], dilation=a["dilation"])
    return _with_activation(_layout(module, g), a["activation"])


def adaptive(node, g):
    op = "Max" if "max" in node.kind else "Avg"
    return _layout(getattr(nn, f"Adaptive{op}Pool{_rank(node.kind)}d")(
        node.args["output_size"]), g)


def _on_axis(module, axis, x, g):
    """``module`` (which acts on axis 1) applied on ``axis`` (Keras-style, or None for
    the layout's channel axis)."""
    if axis is None:
        return _layout(module, g)
    idx = axis - 1 if axis > 0 else len(x) + axis
    return module if idx == 0 else AxisTo1(module, idx + 1)


def groupnorm(node, g):
    a, x = node.args, node.input_shapes[0]
    scale, center = scale_shift(a, "affine")
    c = _channels(node, g) if a["axis"] is None else x[
        a["axis"] - 1 if a["axis"] > 0 else len(x) + a["axis"]]
    eps = {"eps": a["epsilon"]} if a.get("epsilon") is not None else {}
    return _on_axis(nn.GroupNorm(a["groups"], c, affine=scale, bias=center, **eps),
                    a["axis"], x, g)


def instancenorm(node, g):
    a, x = node.args, node.input_shapes[0]
    scale, center = scale_shift(a, "affine")
    cls = getattr(nn, f"InstanceNorm{max(1, len(x) - 1)}d")
    return _layout(cls(_channels(node, g), affine=scale, bias=center,
                       track_running_stats=a["track_running_stats"]), g)


def rmsnorm(node, g):
    a, x = node.args, node.input_shapes[0]
    axis = a["axis"] if a["axis"] is not None else -1
    axes = sorted((i - 1 if i > 0 else len(x) + i) for i in
                  (axis if isinstance(axis, tuple) else (axis,)))
    return nn.RMSNorm(tuple(x[axes[0]:]), elementwise_affine=a["elementwise_affine"])


def prelu(node, g):
    n = node.args["num_parameters"]
    return nn.PReLU(n) if n == 1 else _layout(nn.PReLU(n), g)


def upsample(node, g):
    a = node.args
    mode = {"linear": ("linear", "bilinear", "trilinear")[_rank(node.kind) - 1]}.get(
        a["interpolation"], a["interpolation"])
    if a["size"] is not None:
        module = nn.Upsample(size=a["size"], mode=mode)
    else:
        module = nn.Upsample(scale_factor=2 if a["factor"] is None else a["factor"], mode=mode)
    return _layout(module, g)


_RNN = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(nn.Module):
    """A batch-first RNN/LSTM/GRU returning its output sequence, or its last step."""

    def __init__(self, node, n):
        super().__init__()
        a = node.args
        extra = {}
        if node.kind == "simple_rnn" and a.get("activation"):
            extra["nonlinearity"] = a["activation"]
        if node.kind == "lstm" and a["proj_size"]:
            extra["proj_size"] = a["proj_size"]
        self.rnn = _RNN[node.kind](n, a["units"], num_layers=a["num_layers"], bias=a["bias"],
                                   batch_first=True, dropout=a["dropout"],
                                   bidirectional=a["bidirectional"], **extra)
        self.sequences = a["return_sequences"] is not False  # PyTorch's default: all steps

    def forward(self, x):
        y = self.rnn(x)[0]
        return y if self.sequences else y[:, -1]


class Attention(nn.Module):
    """nn.MultiheadAttention(E, heads, kdim, vdim) on (query, key, value)."""

    def __init__(self, node):
        super().__init__()
        a, shapes = node.args, node.input_shapes
        e = shapes[0][-1]
        self.key_value = _key_value_index(node)
        k, v = (shapes[i][-1] for i in self.key_value)
        self.mha = nn.MultiheadAttention(e, a["heads"], dropout=a["dropout"], bias=a["bias"],
                                         add_bias_kv=a["add_bias_kv"], kdim=k, vdim=v,
                                         batch_first=True)

    def forward(self, *xs):
        k, v = self.key_value
        return self.mha(xs[0], xs[k], xs[v], need_weights=False)[0]


def _attended(node) -> list | None:
    """The axes (batch left out, 0-based) ``axis = ...`` attends along, else None."""
    given = node.args.get("axis")
    if given is None:
        return None
    rank = len(node.input_shapes[0])
    given = given if isinstance(given, (list, tuple)) else [given]
    return sorted({int(i) - 1 if int(i) > 0 else rank + int(i) for i in given})


class Axial(nn.Module):
    """Attention along some axes of a (B, ..., E) tensor, as PyTorch code does it: the
    other axes moved into the batch, the attended ones flattened into the sequence."""

    def __init__(self, inner: nn.Module, axes: list, rank: int):
        super().__init__()
        self.inner, self.axes = inner, [i + 1 for i in axes]
        self.others = [i for i in range(1, rank) if i not in self.axes]

    def _fold(self, x):
        y = x.permute(0, *self.others, *self.axes, x.dim() - 1)
        lines = y.shape[:1 + len(self.others)]
        return y.reshape(-1, int(torch.tensor(y.shape[len(lines):-1]).prod()), y.shape[-1]), y

    def forward(self, *xs):
        folded = [self._fold(x)[0] for x in xs]
        _, y = self._fold(xs[0])
        out = self.inner(*folded).reshape(*y.shape[:-1], -1)
        order = [0, *self.others, *self.axes]
        back = [order.index(i) for i in range(len(order))]
        return out.permute(*back, out.dim() - 1)


def _axial(node, module: nn.Module) -> nn.Module:
    axes = _attended(node)
    return module if axes is None else Axial(module, axes, len(node.input_shapes[0]))


class LLMAttention(nn.Module):
    """transformers' attention (LlamaAttention and kin): q_proj, k_proj, v_proj,
    o_proj, kv_heads key/value heads shared by the query heads, optional q/k norms."""

    def __init__(self, node):
        super().__init__()
        a, shapes = node.args, node.input_shapes
        d = shapes[0][-1]
        self.key_value = _key_value_index(node)
        kd, vd = (shapes[i][-1] for i in self.key_value)
        self.h, self.kv = a["heads"], a["kv_heads"] or a["heads"]
        self.k = a["key_dim"] or d // self.h
        has = {p: a["bias"] is True or (a["bias"] == "qkv" and p != "out")
               for p in ("q", "k", "v", "out")}
        has.update({p: a[f"{p}_bias"] for p in has if a[f"{p}_bias"] is not None})
        self.q_proj = nn.Linear(d, self.h * self.k, bias=has["q"])
        self.k_proj = nn.Linear(kd, self.kv * self.k, bias=has["k"])
        self.v_proj = nn.Linear(vd, self.kv * self.k, bias=has["v"])
        self.o_proj = nn.Linear(self.h * self.k, d, bias=has["out"])
        norm = {"rmsnorm": nn.RMSNorm, "layernorm": nn.LayerNorm}.get(a["qk_norm"])
        if norm is not None:
            self.q_norm, self.k_norm = norm(self.k), norm(self.k)
        self.causal = a["causal"]

    def forward(self, *xs):
        kx, vx = (xs[i] for i in self.key_value)
        b, t = xs[0].shape[:2]
        q = self.q_proj(xs[0]).view(b, t, self.h, self.k)
        k = self.k_proj(kx).view(b, kx.shape[1], self.kv, self.k)
        v = self.v_proj(vx).view(b, vx.shape[1], self.kv, self.k)
        if hasattr(self, "q_norm"):
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        k, v = (z.repeat_interleave(self.h // self.kv, dim=1) for z in (k, v))
        # The products written out (FlopCounterMode counts exactly these two); the
        # causal mask, as in transformers' eager attention, hides scores without
        # saving their arithmetic.
        scores = q @ k.transpose(-2, -1) / self.k ** 0.5
        if self.causal:
            t_k = k.shape[-2]
            hide = torch.ones(t, t_k, dtype=torch.bool, device=q.device).triu(1)
            scores = scores.masked_fill(hide, float("-inf"))
        y = scores.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.h * self.k))


def _llm_attention(node) -> bool:
    a = node.args
    return a["bias"] == "qkv" or any(a[n] is not None for n in (
        "kv_heads", "q_bias", "k_bias", "v_bias", "out_bias", "qk_norm"))


class LatentAttention(nn.Module):
    """transformers' DeepseekV3Attention (multi-head latent attention), written out:
    q_a_proj, q_a_layernorm, q_b_proj (or one q_proj), kv_a_proj_with_mqa,
    kv_a_layernorm, kv_b_proj, o_proj; the rotary part is not rotated (no weights)."""

    def __init__(self, node):
        super().__init__()
        a, d = node.args, node.input_shapes[0][-1]
        self.h, self.c = a["heads"], a["kv_rank"]
        self.n, self.r, self.v = a["qk_nope_dim"], a["qk_rope_dim"], a["v_dim"]
        q, bias = a["q_rank"], a["bias"]
        if q is None:
            self.q_proj = nn.Linear(d, self.h * (self.n + self.r), bias=False)
        else:
            self.q_a_proj = nn.Linear(d, q, bias=bias)
            self.q_a_layernorm = nn.RMSNorm(q)
            self.q_b_proj = nn.Linear(q, self.h * (self.n + self.r), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, self.c + self.r, bias=bias)
        self.kv_a_layernorm = nn.RMSNorm(self.c)
        self.kv_b_proj = nn.Linear(self.c, self.h * (self.n + self.v), bias=False)
        self.o_proj = nn.Linear(self.h * self.v, d, bias=bias)
        self.causal = a["causal"]

    def forward(self, x):
        b, t = x.shape[:2]
        q = (self.q_proj(x) if hasattr(self, "q_proj")
             else self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))))
        q = q.view(b, t, self.h, self.n + self.r).transpose(1, 2)
        latent, k_rot = self.kv_a_proj_with_mqa(x).split([self.c, self.r], dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(latent)).view(b, t, self.h, self.n + self.v)
        k_nope, v = kv.transpose(1, 2).split([self.n, self.v], dim=-1)
        k = torch.cat([k_nope, k_rot[:, None].expand(b, self.h, t, self.r)], dim=-1)
        scores = q @ k.transpose(-2, -1) / (self.n + self.r) ** 0.5
        if self.causal:
            hide = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(hide, float("-inf"))
        y = scores.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.h * self.v))


class PositionEmbedding(nn.Module):
    """nn.Embedding(length, d) of the positions, added to the (T, d) stream."""

    def __init__(self, length: int, d: int):
        super().__init__()
        self.table = nn.Embedding(length, d)

    def forward(self, x):
        return x + self.table.weight[: x.shape[-2]]


class Rotary(nn.Module):
    """transformers' rotary embedding state: inv_freq and original_inv_freq buffers."""

    def __init__(self, dim: int):
        super().__init__()
        inv_freq = 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)

    def forward(self, x):
        return x


def _embedding(node) -> nn.Module:
    """nn.Embedding; ``scaled`` as transformers' Gemma keeps sqrt(d): a one-number buffer."""
    table = nn.Embedding(node.args["vocabulary"], node.args["dimension"])
    if node.args.get("scaled"):
        table.register_buffer("embed_scale", torch.tensor(node.args["dimension"] ** 0.5),
                              persistent=False)
    return table


def _key_value_index(node):
    """Indexes of the key and value among a node's inputs (see keras_build._key_value)."""
    shapes, a = node.input_shapes, node.args
    if len(shapes) == 1:
        return 0, 0
    if len(shapes) == 2:
        return 1, 1
    return (1, 2) if a["key"] is not None and tuple(shapes[1]) == tuple(a["key"]) else (2, 1)


def pool(node, g):
    a, rank = node.args, _rank(node.kind)
    pad = 0 if a["padding"] == "valid" else a["padding"]
    if node.kind.startswith("max"):
        module = getattr(nn, f"MaxPool{rank}d")(a["pool"], a["stride"], pad, a["dilation"],
                                                ceil_mode=a["ceil_mode"])
    else:
        module = getattr(nn, f"AvgPool{rank}d")(a["pool"], a["stride"], pad,
                                                ceil_mode=a["ceil_mode"])
    return _layout(module, g)


def global_pool(node, g):
    rank = _rank(node.kind)
    op = "Max" if "max" in node.kind else "Avg"
    module = getattr(nn, f"Adaptive{op}Pool{rank}d")(1)
    if node.args["keepdims"]:
        return _layout(module, g)
    return nn.Sequential(_layout(module, g, back=False), nn.Flatten())


def zeropad(node, g):
    pad = node.args["padding"]
    flat = tuple(p for pair in reversed(pad) for p in pair)  # last axis first
    return _layout(getattr(nn, f"ZeroPad{len(pad)}d")(flat), g)


def batchnorm(node, g):
    a, x = node.args, node.input_shapes[0]
    axis = a["axis"] if a["axis"] is not None else (-1 if g.layout == "channels_last" else 1)
    if isinstance(axis, tuple):
        raise NotImplementedError("PyTorch's BatchNorm normalizes one axis; got several")
    idx = axis - 1 if axis > 0 else len(x) + axis  # index without the batch axis
    scale, center = scale_shift(a, "affine")
    if center and not scale:
        raise NotImplementedError("PyTorch's BatchNorm has no bias without a weight")
    cls = getattr(nn, f"BatchNorm{max(1, len(x) - 1)}d")
    extra = {k: a[k] for k in ("epsilon", "momentum") if a.get(k) is not None}
    if "epsilon" in extra:
        extra["eps"] = extra.pop("epsilon")
    module = cls(x[idx], affine=scale, bias=center, track_running_stats=a["track_running_stats"],
                 **extra)
    return module if idx == 0 else AxisTo1(module, idx + 1)


def layernorm(node, g):
    a, x = node.args, node.input_shapes[0]
    axis = a["axis"] if a["axis"] is not None else -1
    axes = sorted((i - 1 if i > 0 else len(x) + i) for i in
                  (axis if isinstance(axis, tuple) else (axis,)))
    scale, center = scale_shift(a, "elementwise_affine")
    if center and not scale:
        raise NotImplementedError("PyTorch's LayerNorm has no bias without a weight")
    eps = {"eps": a["epsilon"]} if a.get("epsilon") is not None else {}
    return nn.LayerNorm(tuple(x[axes[0]:]), elementwise_affine=scale, bias=center, **eps)


def reshape(node, g):
    shape = node.args["shape"]
    return Lambda(lambda x: x.reshape(x.shape[0], *shape), f"reshape {shape}")


def activation(node, g):
    return _ACTIVATIONS[node.args["function"] if node.kind == "activation" else node.kind]()


def _aligned(xs):
    """The merge's inputs broadcast to one shape as symparam (and Keras) broadcast:
    a lower-rank input gains axes of size 1 after its batch axis, then sizes 1 stretch.
    A param (no batch axis: see Param) is aligned from the right, as NumPy does."""
    rank = max(x.dim() for x in xs)
    xs = [x if getattr(x, "is_param", False)
          else x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:]) for x in xs]
    return torch.broadcast_tensors(*xs)


def _stack(op):
    return lambda *xs: op(torch.stack(_aligned(xs)))


_MERGES = {
    "add": lambda *xs: sum(_aligned(xs)[1:], _aligned(xs)[0]),
    "subtract": lambda a, b: (lambda p, q: p - q)(*_aligned((a, b))),
    "multiply": lambda *xs: _stack(lambda t: t.prod(0))(*xs),
    "average": lambda *xs: _stack(lambda t: t.mean(0))(*xs),
    "maximum": lambda *xs: _stack(lambda t: t.amax(0))(*xs),
    "minimum": lambda *xs: _stack(lambda t: t.amin(0))(*xs),
}


def concat(node, g):
    axis = node.args["axis"]
    if axis is None:
        axis = -1 if g.layout == "channels_last" else 1
    return Lambda(lambda *xs: torch.cat(_batch_of(xs), dim=axis), f"cat dim={axis}")


def _batch_of(xs):
    """A param (batch axis 1) expanded over the data's batch, as cls.expand(B, -1, -1)."""
    return [x.expand(xs[0].shape[0], *x.shape[1:]) if x.dim() == xs[0].dim()
            and x.shape[0] == 1 else x for x in xs]


class Param(nn.Module):
    """``param [...] as NAME``: an nn.Parameter (or a buffer) the merges use."""

    def __init__(self, node):
        super().__init__()
        shape = tuple(node.args["shape"])
        if node.args["buffer"]:
            self.register_buffer("p", torch.zeros(shape))
        else:
            self.p = nn.Parameter(torch.zeros(shape))

    def forward(self):
        self.p.is_param = True  # merges align it from the right (_aligned)
        return self.p


class WindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention, written out (torchvision is not an oracle
    dependency): qkv and proj Linears, the relative_position_bias_table parameter and
    the relative_position_index buffer, on a channels-last (H, W, C) input padded up to
    multiples of the window, shifted, split into windows, attended and put back."""

    def __init__(self, c: int, heads: int, window, shift, qkv_bias: bool, proj_bias: bool):
        super().__init__()
        (mh, mw), self.shift, self.heads = window, list(shift), heads
        self.window = (mh, mw)
        self.qkv = nn.Linear(c, 3 * c, bias=qkv_bias)
        self.proj = nn.Linear(c, c, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * mh - 1) * (2 * mw - 1), heads))
        coords = torch.stack(torch.meshgrid(torch.arange(mh), torch.arange(mw),
                                            indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
        index = (rel[..., 0] + mh - 1) * (2 * mw - 1) + rel[..., 1] + mw - 1
        self.register_buffer("relative_position_index", index.flatten())

    def forward(self, x):
        b, h, w, c = x.shape
        (mh, mw), heads = self.window, self.heads
        x = nn.functional.pad(x, (0, 0, 0, (-w) % mw, 0, (-h) % mh))
        ph, pw = x.shape[1:3]
        shift = [s if m < p else 0 for s, m, p in zip(self.shift, self.window, (ph, pw))]
        x = torch.roll(x, (-shift[0], -shift[1]), (1, 2))
        n = mh * mw
        x = x.view(b, ph // mh, mh, pw // mw, mw, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, n, c)
        q, k, v = self.qkv(x).reshape(x.shape[0], n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index]
        attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1) + bias.view(n, n, -1).permute(2, 0, 1)
        y = (attn.softmax(-1) @ v).transpose(1, 2).reshape(-1, n, c)
        y = self.proj(y).view(b, ph // mh, pw // mw, mh, mw, c).permute(0, 1, 3, 2, 4, 5)
        y = torch.roll(y.reshape(b, ph, pw, c), tuple(shift), (1, 2))
        return y[:, :h, :w]


def window_attention(node, g):
    a = node.args
    c = _channels(node, g)
    m = WindowAttention(c, a["heads"], a["window"], a["shift"], a["qkv_bias"], a["proj_bias"])
    return m if g.layout == "channels_last" else _Moved(m)


class _Moved(nn.Module):
    """Runs a channels-last module on a channels-first tensor."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x.movedim(1, -1)).movedim(-1, 1)


def space_to_depth(node, g):
    b, pad = node.args["block"], node.args["pad"]

    def fn(x):
        if g.layout != "channels_last":
            x = x.movedim(1, -1)
        if pad:
            x = nn.functional.pad(x, (0, 0, 0, (-x.shape[2]) % b, 0, (-x.shape[1]) % b))
        n, h, w, c = x.shape
        y = x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5)
        y = y.reshape(n, h // b, w // b, b * b * c)
        return y if g.layout == "channels_last" else y.movedim(-1, 1)
    return Lambda(fn, f"space_to_depth {b}")


BUILDERS = {
    "dense": dense,
    "embedding": lambda n, g: _embedding(n),
    "dropout": lambda n, g: nn.Dropout(n.args["rate"]),
    "identity": lambda n, g: nn.Identity(),
    "flatten": lambda n, g: nn.Flatten(),
    "reshape": reshape,
    "batchnorm": batchnorm,
    "layernorm": layernorm,
    "concat": concat,
    **{k: (lambda op, k: lambda n, g: Lambda(op, k))(op, k) for k, op in _MERGES.items()},  # noqa: B023 (called at once)
    "activation": activation,
    **{k: activation for k in ("relu", "relu6", "sigmoid", "tanh", "softmax", "gelu",
                               "silu", "elu", "leaky_relu",
                               "hard_sigmoid", "hard_silu", "hard_swish")},
    **{f"conv{r}d": conv for r in (1, 2, 3)},
    **{f"{op}pool{r}d": pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"global_{op}pool{r}d": global_pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"zeropad{r}d": zeropad for r in (1, 2, 3)},
    **{f"depthwise_conv{r}d": depthwise for r in (1, 2)},
    **{f"separable_conv{r}d": separable for r in (1, 2)},
    **{f"conv{r}d_transpose": transpose for r in (1, 2, 3)},
    **{f"adaptive_{op}pool{r}d": adaptive for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"upsample{r}d": upsample for r in (1, 2, 3)},
    "groupnorm": groupnorm,
    "instancenorm": instancenorm,
    "rmsnorm": rmsnorm,
    "prelu": prelu,
    "permute": lambda n, g: Lambda(lambda x: x.permute(0, *n.args["dims"]),
                                   f"permute {n.args['dims']}"),
    **{k: (lambda n, g: Recurrent(n, n.input_shapes[0][-1])) for k in _RNN},
    "attention": lambda n, g: _axial(n, (LLMAttention if _llm_attention(n) else Attention)(n)),
    "rotary": lambda n, g: Rotary(n.args["dim"]),
    "window_attention": window_attention,
    "space_to_depth": space_to_depth,
    "mla": lambda n, g: LatentAttention(n),
    "position_embedding": lambda n, g: PositionEmbedding(
        n.args["length"] or n.input_shapes[0][-2], n.input_shapes[0][-1]),
    "take": lambda n, g: Lambda(lambda x: x.select(n.args["axis"], n.args["index"]),
                                f"select {n.args['axis']}, {n.args['index']}"),
}


def _no_torch_layer(what: str):
    def build(node, g):
        raise NotImplementedError(f"{what} (line {node.line})")
    return build


BUILDERS["param"] = lambda n, g: Param(n)
# Kinds PyTorch has no module for, which symparam refuses in convention torch.
BUILDERS["normalization"] = _no_torch_layer("PyTorch has no Normalization layer")


def module_for(node: Node, g: Graph) -> nn.Module:
    return dispatch(BUILDERS, "torch_build", node, g)


def _holder(module: nn.Module, name: str) -> nn.Module:
    """The submodule holding the parameter ``name`` (a wrapped Linear's ``weight``)."""
    for sub in module.modules():
        if isinstance(getattr(sub, name, None), nn.Parameter):
            return sub
    raise NotImplementedError(f"no parameter '{name}' in {module}")


def shared_module(node: Node, g: Graph, built: dict) -> nn.Module | None:
    """The module of a node that shares weights: the very module of the layer it
    applies again (``reuse``), or a new one whose tied parameters are another
    module's (``tie``); None for a node that shares nothing."""
    if not node.shared:
        return None
    if node.reused:
        return built[node.reused]
    module = module_for(node, g)
    for name, source in node.shared.items():
        owner, weight = source.split("/", 1)
        param = getattr(_holder(built[owner], weight), weight)
        holder = _holder(module, name)
        if tuple(getattr(holder, name).shape) != tuple(param.shape):
            raise NotImplementedError("PyTorch ties parameters of the same shape only")
        setattr(holder, name, param)
    return module


class GraphModule(nn.Module):
    """The graph as one module: ``forward(*inputs)`` returns every node's output."""

    def __init__(self, g: Graph):
        super().__init__()
        self.graph = g
        self.layers = nn.ModuleDict()
        self.keys, built = {}, {}
        for node in g.nodes:
            if node.kind != "input":
                key = f"n{len(self.keys)}"
                self.keys[node.id] = key
                self.layers[key] = shared_module(node, g, built) or module_for(node, g)
                built.setdefault(node.name, self.layers[key])

    def forward(self, *inputs):
        values = dict(zip((n.id for n in self.graph.inputs), inputs))
        for node in self.graph.nodes:
            if node.kind != "input":
                values[node.id] = self.layers[self.keys[node.id]](
                    *[values[i] for i in node.inputs])
        return values


def _numel(tensors) -> int:
    return int(sum(t.numel() for t in tensors))


def measure(g: Graph, forward: bool = True, device: str = "cpu") -> Measured:
    """Build ``g`` in PyTorch; count parameters (by requires_grad) and buffers, and
    record every node's output shape from a forward pass on zeros. On ``device =
    "meta"`` tensors have shapes but no data: big models cost no memory or time."""
    with torch.device(device):
        model = GraphModule(g).eval()
    params = list(model.parameters())
    m = Measured(framework="torch")
    m.totals = {"total": _numel(params),
                "trainable": _numel(p for p in params if p.requires_grad),
                "non_trainable": _numel(p for p in params if not p.requires_grad),
                "buffers": _numel(model.buffers())}
    seen: set = set()  # a shared tensor counts at the first module that has it

    def new(tensors):
        out = [x for x in tensors if id(x) not in seen]
        seen.update(id(x) for x in out)
        return out
    for nid, key in model.keys.items():
        mod = model.layers[key]
        ps, bs = new(mod.parameters()), new(mod.buffers())
        m.nodes[nid] = {"trainable": _numel(p for p in ps if p.requires_grad),
                        "non_trainable": _numel(p for p in ps if not p.requires_grad),
                        "buffers": _numel(bs),
                        "weight_shapes": [tuple(t.shape) for t in ps + bs]}
    if forward:
        batch = [torch.zeros((2, *n.output_shape), device=device,
                             dtype=torch.long if n.id in g.int_inputs else torch.float32)
                 for n in g.inputs]
        with torch.no_grad():
            values = model(*batch)
        for nid in model.keys:
            # A param's output is the tensor it holds, with no batch axis.
            kind = next(n.kind for n in g.nodes if n.id == nid)
            m.nodes[nid]["shape"] = tuple(values[nid].shape[0 if kind == "param" else 1:])
    return m
