"""Export to PyTorch: one entry per layer kind (:data:`ENTRIES`), each writing the
module a layer becomes and how the forward pass calls it, as text. This module never
imports torch: it writes code that does.

An exported model is an ``nn.Module`` whose constructor takes the model's symbols,
with their values as defaults; a rolled repeat is an ``nn.ModuleList`` with one
``nn.ModuleDict`` per pass, looped over in ``forward``.
"""
from __future__ import annotations


import sympy

from .base import Code, Entry, LayerView, kwargs
from .base import pair as _pair
from .base import rank as _rank
from .base import scale_shift as _scale_shift

_ACT = {  # activation -> the forward pass's call, {} being the tensor
    "relu": "torch.relu({})", "relu6": "F.relu6({})", "sigmoid": "torch.sigmoid({})",
    "tanh": "torch.tanh({})", "softmax": "torch.softmax({}, dim=-1)",
    "log_softmax": "torch.log_softmax({}, dim=-1)", "gelu": "F.gelu({})",
    "silu": "F.silu({})", "swish": "F.silu({})", "elu": "F.elu({})", "selu": "F.selu({})",
    "leaky_relu": "F.leaky_relu({})", "softplus": "F.softplus({})",
    "softsign": "F.softsign({})", "hard_sigmoid": "F.hardsigmoid({})",
    "hard_silu": "F.hardswish({})", "hard_swish": "F.hardswish({})", "mish": "F.mish({})", "exponential": "torch.exp({})",
    "linear": "{}",
}


def _activated(v: LayerView, code: Code, fn=None) -> Code:
    fn = v.a.get("activation") if fn is None else fn
    if not fn:
        return code
    if fn not in _ACT:
        raise v.fail(f"no PyTorch function for the activation '{fn}'")
    return Code(code.make, _ACT[fn].replace("{}", code.call), code.helpers, code.holder)


def _layout(v: LayerView, make: str, back: bool = True) -> Code:
    """A channels-first module, wrapped for a channels-last model."""
    if not v.last:
        return Code(make)
    return Code(f"ChannelsLast({make}{'' if back else ', back=False'})",
                helpers=("ChannelsLast",), holder=".inner")


def _index(v: LayerView, axis) -> int:
    """An axis counted Keras's way (batch = 0, negative from the end) as an index
    into the shape without the batch."""
    return int(axis) - 1 if int(axis) > 0 else len(v.x()) + int(axis)


def dense(v: LayerView) -> Code:
    return _activated(v, Code(f"nn.Linear({v.p.int(v.x()[-1])}, {v.int('units')}"
                              f"{kwargs(bias=None if v.a['bias'] else 'False')})"))


def embedding(v: LayerView) -> Code:
    args = f"{v.int('vocabulary')}, {v.int('dimension')}"
    if v.a.get("scaled"):
        return Code(f"ScaledEmbedding({args})", helpers=("ScaledEmbedding",))
    return Code(f"nn.Embedding({args})")


def conv(v: LayerView) -> Code:
    a = v.a
    make = (f"nn.Conv{_rank(v)}d({v.channels()}, {v.int('filters')}, {_pair(v, 'kernel')}"
            + kwargs(stride=None if set(a["stride"]) == {1} else _pair(v, "stride"),
                     padding=None if a["padding"] in ("valid", 0) else _pair(v, "padding"),
                     dilation=None if set(a["dilation"]) == {1} else _pair(v, "dilation"),
                     groups=None if a["groups"] == 1 else v.int("groups"),
                     bias=None if a["bias"] else "False") + ")")
    return _activated(v, _layout(v, make))


def depthwise(v: LayerView) -> Code:
    a, c = v.a, v.channels()
    mult = "" if a["depth_multiplier"] == 1 else f" * {v.int('depth_multiplier')}"
    make = (f"nn.Conv{_rank(v)}d({c}, {c}{mult}, {_pair(v, 'kernel')}"
            + kwargs(stride=None if set(a["stride"]) == {1} else _pair(v, "stride"),
                     padding=None if a["padding"] in ("valid", 0) else _pair(v, "padding"),
                     dilation=None if set(a["dilation"]) == {1} else _pair(v, "dilation"),
                     groups=c, bias=None if a["bias"] else "False") + ")")
    return _activated(v, _layout(v, make))


def separable(v: LayerView) -> Code:
    a, c, r = v.a, v.channels(), _rank(v)
    mid = v.p.int(v.x()[-1 if v.last else 0] * a["depth_multiplier"])
    make = (f"nn.Sequential(nn.Conv{r}d({c}, {mid}, {_pair(v, 'kernel')}"
            + kwargs(stride=_pair(v, "stride"), padding=_pair(v, "padding"),
                     dilation=_pair(v, "dilation"), groups=c, bias="False")
            + f"), nn.Conv{r}d({mid}, {v.int('filters')}, 1"
            + kwargs(bias=None if a["bias"] else "False") + "))")
    return _activated(v, _layout(v, make))


def transpose(v: LayerView) -> Code:
    a = v.a
    make = (f"nn.ConvTranspose{_rank(v)}d({v.channels()}, {v.int('filters')}, "
            f"{_pair(v, 'kernel')}"
            + kwargs(stride=_pair(v, "stride"),
                     padding=None if a["padding"] in (None, 0) else _pair(v, "padding"),
                     output_padding=None if not a["output_padding"]
                     else _pair(v, "output_padding"),
                     groups=None if a["groups"] == 1 else v.int("groups"),
                     dilation=None if set(a["dilation"]) == {1} else _pair(v, "dilation"),
                     bias=None if a["bias"] else "False") + ")")
    return _activated(v, _layout(v, make))


def pool(v: LayerView) -> Code:
    a, r = v.a, _rank(v)
    pad = None if a["padding"] in ("valid", 0) else _pair(v, "padding")
    stride = None if a["stride"] is None else _pair(v, "stride")
    if v.kind.startswith("max"):
        make = f"nn.MaxPool{r}d({_pair(v, 'pool')}" + kwargs(
            stride=stride, padding=pad,
            dilation=None if set(a["dilation"]) == {1} else _pair(v, "dilation"),
            ceil_mode="True" if a["ceil_mode"] else None) + ")"
    else:
        make = f"nn.AvgPool{r}d({_pair(v, 'pool')}" + kwargs(
            stride=stride, padding=pad, ceil_mode="True" if a["ceil_mode"] else None) + ")"
    return _layout(v, make)


def global_pool(v: LayerView) -> Code:
    r = _rank(v)
    dims = tuple(range(1, r + 1)) if v.last else tuple(range(2, r + 2))
    op = "amax" if "max" in v.kind else "mean"
    keep = ", keepdim=True" if v.a["keepdims"] else ""
    return Code(None, f"{{x}}.{op}(dim={v.p.lit(dims)}{keep})")


def adaptive(v: LayerView) -> Code:
    op = "Max" if "max" in v.kind else "Avg"
    return _layout(v, f"nn.Adaptive{op}Pool{_rank(v)}d({_pair(v, 'output_size')})")


def zeropad(v: LayerView) -> Code:
    pad = v.a["padding"]
    flat = tuple(p for pair in reversed(pad) for p in pair)  # the last axis first
    return _layout(v, f"nn.ZeroPad{len(pad)}d({v.p.lit(flat)})")


def upsample(v: LayerView) -> Code:
    a = v.a
    mode = a["interpolation"]
    if mode == "linear":
        mode = ("linear", "bilinear", "trilinear")[_rank(v) - 1]
    if a["size"] is not None:
        make = f"nn.Upsample(size={v.lit('size')}, mode={mode!r})"
    else:
        factor = "2" if a["factor"] is None else _pair(v, "factor")
        make = f"nn.Upsample(scale_factor={factor}, mode={mode!r})"
    return _layout(v, make)


def _eps(v: LayerView, name: str = "eps") -> dict:
    return {name: v.real("epsilon")} if v.a.get("epsilon") is not None else {}


def batchnorm(v: LayerView) -> Code:
    a, x = v.a, v.x()
    axis = a["axis"] if a["axis"] is not None else (-1 if v.last else 1)
    if isinstance(axis, tuple):
        raise v.fail("PyTorch's BatchNorm normalizes one axis; this one normalizes several")
    idx = _index(v, axis)
    scale, center = _scale_shift(a, "affine")
    if center and not scale:
        raise v.fail("PyTorch's BatchNorm has a bias only with a weight")
    extra = dict(_eps(v))
    if a.get("momentum") is not None:
        extra["momentum"] = v.real("momentum")
    make = (f"nn.BatchNorm{max(1, len(x) - 1)}d({v.p.int(x[idx])}"
            + kwargs(affine=None if scale else "False",
                     track_running_stats=None if a["track_running_stats"] else "False",
                     bias=None if center or not scale else "False", **extra) + ")")
    if idx == 0:
        return Code(make)
    return Code(f"OnAxis({make}, {idx + 1})", helpers=("OnAxis",), holder=".inner")


def _normalized_shape(v: LayerView) -> str:
    x, axis = v.x(), v.a["axis"] if v.a["axis"] is not None else -1
    first = min(_index(v, i) for i in (axis if isinstance(axis, tuple) else (axis,)))
    return v.p.lit(x[first:])


def layernorm(v: LayerView) -> Code:
    scale, center = _scale_shift(v.a, "elementwise_affine")
    if center and not scale:
        raise v.fail("PyTorch's LayerNorm has a bias only with a weight")
    return Code(f"nn.LayerNorm({_normalized_shape(v)}" + kwargs(
        elementwise_affine=None if scale else "False",
        bias=None if center or not scale else "False", **_eps(v)) + ")")


def rmsnorm(v: LayerView) -> Code:
    return Code(f"nn.RMSNorm({_normalized_shape(v)}" + kwargs(
        elementwise_affine=None if v.a["elementwise_affine"] else "False",
        **_eps(v)) + ")")


def groupnorm(v: LayerView) -> Code:
    a = v.a
    scale, center = _scale_shift(a, "affine")
    if center and not scale:
        raise v.fail("PyTorch's GroupNorm has a bias only with a weight")
    c = v.channels() if a["axis"] is None else v.p.int(v.x()[_index(v, a["axis"])])
    make = f"nn.GroupNorm({v.int('groups')}, {c}" + kwargs(
        affine=None if scale else "False", bias=None if center or not scale else "False",
        **_eps(v)) + ")"
    if a["axis"] is None:
        return _layout(v, make)
    idx = _index(v, a["axis"])
    return Code(make) if idx == 0 else Code(f"OnAxis({make}, {idx + 1})",
                                            helpers=("OnAxis",), holder=".inner")


def instancenorm(v: LayerView) -> Code:
    scale, center = _scale_shift(v.a, "affine")
    if center and not scale:
        raise v.fail("PyTorch's InstanceNorm has a bias only with a weight")
    return _layout(v, f"nn.InstanceNorm{max(1, len(v.x()) - 1)}d({v.channels()}" + kwargs(
        affine="True" if scale else None, bias=None if center or not scale else "False",
        track_running_stats="True" if v.a["track_running_stats"] else None) + ")")


def prelu(v: LayerView) -> Code:
    n = v.a["num_parameters"]
    make = f"nn.PReLU({v.int('num_parameters')})"
    return Code(make) if n == 1 else _layout(v, make)


def activation(v: LayerView) -> Code:
    fn = v.a["function"] if v.kind == "activation" else v.kind
    return _activated(v, Code(None, "{x}"), fn)


def _chain(op: str, n: int) -> str:
    out = "{x}"
    for i in range(1, n):
        out = f"{op}({out}, {{x{i}}})"
    return out


def merge(v: LayerView) -> Code:
    n = len(v.layer.inputs)
    xs = ["{x}"] + [f"{{x{i}}}" for i in range(1, n)]
    if v.kind == "add":
        return Code(None, " + ".join(xs))
    if v.kind == "subtract":
        return Code(None, f"{xs[0]} - {xs[1]}")
    if v.kind == "multiply":
        return Code(None, " * ".join(xs))
    if v.kind == "average":
        return Code(None, f"({' + '.join(xs)}) / {n}")
    return Code(None, _chain(f"torch.{v.kind}", n))


def concat(v: LayerView) -> Code:
    axis = v.a["axis"]
    if axis is None:
        axis = -1 if v.last else 1
    return Code(None, f"torch.cat([{{xs}}], dim={int(axis)})")


def recurrent(v: LayerView) -> Code:
    a = v.a
    cls = {"simple_rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}[v.kind]
    extra = {}
    if v.kind == "simple_rnn" and a.get("activation"):
        extra["nonlinearity"] = repr(a["activation"])
    if v.kind == "lstm" and a.get("proj_size"):
        extra["proj_size"] = v.int("proj_size")
    make = (f"{cls}({v.p.int(v.x()[-1])}, {v.int('units')}" + kwargs(
        num_layers=None if a["num_layers"] == 1 else v.int("num_layers"),
        bias=None if a["bias"] else "False", batch_first="True",
        dropout=None if not a["dropout"] else v.real("dropout"),
        bidirectional="True" if a["bidirectional"] else None, **extra) + ")")
    sequences = a["return_sequences"] is not False  # PyTorch's default: every step
    return Code(f"Recurrent({make}" + ("" if sequences else ", sequences=False") + ")",
                helpers=("Recurrent",), holder=".rnn")


def _llm(a: dict) -> bool:
    return a["bias"] == "qkv" or any(a.get(n) is not None for n in (
        "kv_heads", "q_bias", "k_bias", "v_bias", "out_bias", "qk_norm"))


def attention(v: LayerView) -> Code:
    a = v.a
    if a.get("axis") is not None:
        raise v.fail("axial attention (axis = ...) has no PyTorch module to write yet")
    key, value = v.key_value()
    call = "{m}({x})" if not key else "{m}({x}, {x%d}, {x%d})" % (key, value)
    dims = [v.shape_of(i)[-1] for i in (0, key, value)]
    d, kd, vd = (v.p.int(x) for x in dims)
    if _llm(a):
        heads = v.int("heads")
        kv = v.int("kv_heads") if a.get("kv_heads") is not None else heads
        head_dim = v.int("key_dim") if a.get("key_dim") is not None else \
            v.p.int(sympy.floor(dims[0] / a["heads"]))
        has = {p: a["bias"] is True or (a["bias"] == "qkv" and p != "out")
               for p in ("q", "k", "v", "out")}
        has.update({p: bool(a[f"{p}_bias"]) for p in has if a.get(f"{p}_bias") is not None})
        norm = {"rmsnorm": "nn.RMSNorm", "layernorm": "nn.LayerNorm"}.get(str(a.get("qk_norm")))
        make = (f"LLMAttention({d}, {heads}, {kv}, {head_dim}, {kd}, {vd}"
                + kwargs(biases=v.p.lit(tuple(has.values())) if any(has.values()) else None,
                         qk_norm=norm, causal="True" if a.get("causal") else None) + ")")
        return Code(make, call, ("LLMAttention",))
    make = (f"Attention(nn.MultiheadAttention({d}, {v.int('heads')}" + kwargs(
        dropout=None if not a["dropout"] else v.real("dropout"),
        bias=None if a["bias"] else "False",
        add_bias_kv="True" if a["add_bias_kv"] else None,
        kdim=None if kd == d else kd, vdim=None if vd == d else vd,
        batch_first="True") + "))")
    return Code(make, call, ("Attention",), holder=".mha")


def position_embedding(v: LayerView) -> Code:
    x = v.x()
    length = v.int("length") if v.a["length"] is not None else v.p.int(x[-2])
    return Code(f"PositionEmbedding({length}, {v.p.int(x[-1])})",
                helpers=("PositionEmbedding",), holder=".table")


def reshape(v: LayerView) -> Code:
    dims = ", ".join(v.p.int(d) for d in v.a["shape"])
    return Code(None, f"{{x}}.reshape({{x}}.shape[0], {dims})")


ENTRIES: dict[str, Entry] = {
    "dense": dense,
    "embedding": embedding,
    "dropout": lambda v: Code(f"nn.Dropout({v.real('rate')})"),
    "identity": lambda v: Code(None, "{x}"),
    "flatten": lambda v: Code(None, "{x}.flatten(1)"),
    "reshape": reshape,
    "permute": lambda v: Code(None, f"{{x}}.permute(0, {v.p.lit(v.a['dims'])[1:]}"),
    "take": lambda v: Code(None, f"{{x}}.select({v.lit('axis')}, {v.lit('index')})"),
    "batchnorm": batchnorm,
    "layernorm": layernorm,
    "rmsnorm": rmsnorm,
    "groupnorm": groupnorm,
    "instancenorm": instancenorm,
    "prelu": prelu,
    "concat": concat,
    **{k: merge for k in ("add", "subtract", "multiply", "average", "maximum", "minimum")},
    **{k: activation for k in ("activation", "relu", "relu6", "sigmoid", "tanh", "softmax",
                               "gelu", "silu", "elu", "leaky_relu", "hard_swish",
                               "hard_silu", "hard_sigmoid")},
    **{f"conv{r}d": conv for r in (1, 2, 3)},
    **{f"conv{r}d_transpose": transpose for r in (1, 2, 3)},
    **{f"depthwise_conv{r}d": depthwise for r in (1, 2)},
    **{f"separable_conv{r}d": separable for r in (1, 2)},
    **{f"{op}pool{r}d": pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"global_{op}pool{r}d": global_pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"adaptive_{op}pool{r}d": adaptive for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"zeropad{r}d": zeropad for r in (1, 2, 3)},
    **{f"upsample{r}d": upsample for r in (1, 2, 3)},
    **{k: recurrent for k in ("simple_rnn", "lstm", "gru")},
    "attention": attention,
    "rotary": lambda v: Code(f"Rotary({v.int('dim')})", helpers=("Rotary",)),
    "position_embedding": position_embedding,
}
