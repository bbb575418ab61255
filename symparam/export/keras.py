"""Export to Keras 3: one entry per layer kind (:data:`ENTRIES`), each writing the
Keras layer a layer becomes (``make``, without its name: the writer adds it) and how
the functional model calls it. This module never imports keras: it writes code that
does. The helper layers Keras lacks (keras_hub's PositionEmbedding, a Dense whose
kernel is another layer's weight) are in :data:`HELPERS`, as source text.
"""
from __future__ import annotations


from .base import Code, Entry, LayerView, kwargs
from .base import pair as _pair
from .base import rank as _rank
from .base import scale_shift as _scale_shift

_SUFFIX = {1: "1D", 2: "2D", 3: "3D"}


def _fmt(v: LayerView) -> str:
    return repr(v.layout)  # Keras's data_format names are symparam's layout names


def _padded(v: LayerView) -> tuple[str, str]:
    """(the forward call, Keras's padding word): an integer padding p is a
    ZeroPadding of p on each side, then a valid window (Keras has no other)."""
    pad = v.a["padding"]
    if pad is None or isinstance(pad, str):
        return "{m}({x})", repr(pad or "valid")
    if not any(pad):
        return "{m}({x})", "'valid'"
    r = len(pad)
    spec = v.p.lit(pad[0]) if r == 1 else v.p.lit(tuple((p, p) for p in pad))
    return (f"{{m}}(layers.ZeroPadding{_SUFFIX[r]}(padding={spec}, data_format={_fmt(v)})"
            "({x}))"), "'valid'"


def _act(v: LayerView) -> str | None:
    fn = v.a.get("activation")
    return repr(fn) if fn else None


def dense(v: LayerView) -> Code:
    return Code(f"layers.Dense({v.int('units')}" + kwargs(
        activation=_act(v), use_bias=None if v.a["bias"] else "False") + ")")


def conv(v: LayerView) -> Code:
    a = v.a
    call, pad = _padded(v)
    return Code(f"layers.Conv{_SUFFIX[_rank(v)]}({v.int('filters')}, {_pair(v, 'kernel')}"
                + kwargs(strides=None if set(a["stride"]) == {1} else _pair(v, "stride"),
                         padding=None if pad == "'valid'" else pad,
                         dilation_rate=None if set(a["dilation"]) == {1}
                         else _pair(v, "dilation"),
                         groups=None if a["groups"] == 1 else v.int("groups"),
                         use_bias=None if a["bias"] else "False", activation=_act(v),
                         data_format=None if v.last else _fmt(v)) + ")", call)


def depthwise(v: LayerView, separable: bool = False) -> Code:
    a = v.a
    call, pad = _padded(v)
    head = (f"layers.SeparableConv{_SUFFIX[_rank(v)]}({v.int('filters')}, "
            if separable else f"layers.DepthwiseConv{_SUFFIX[_rank(v)]}(")
    return Code(head + _pair(v, "kernel") + kwargs(
        strides=None if set(a["stride"]) == {1} else _pair(v, "stride"),
        padding=None if pad == "'valid'" else pad,
        depth_multiplier=None if a["depth_multiplier"] == 1 else v.int("depth_multiplier"),
        dilation_rate=None if set(a["dilation"]) == {1} else _pair(v, "dilation"),
        use_bias=None if a["bias"] else "False", activation=_act(v),
        data_format=None if v.last else _fmt(v)) + ")", call)


def transpose(v: LayerView) -> Code:
    a = v.a
    pad = a["padding"]
    if pad is not None and not isinstance(pad, str) and any(pad):
        raise v.fail("Keras's transposed convolutions pad 'same' or 'valid' only")
    word = pad if isinstance(pad, str) else "valid"
    return Code(f"layers.Conv{_SUFFIX[_rank(v)]}Transpose({v.int('filters')}, "
                f"{_pair(v, 'kernel')}" + kwargs(
                    strides=_pair(v, "stride"),
                    padding=None if word == "valid" else repr(word),
                    output_padding=None if not a["output_padding"]
                    else _pair(v, "output_padding"),
                    dilation_rate=None if set(a["dilation"]) == {1} else _pair(v, "dilation"),
                    use_bias=None if a["bias"] else "False", activation=_act(v),
                    data_format=None if v.last else _fmt(v)) + ")")


def pool(v: LayerView) -> Code:
    a = v.a
    if a.get("ceil_mode"):
        raise v.fail("Keras's pooling has no ceil_mode")
    call, pad = _padded(v)
    word = "Max" if v.kind.startswith("max") else "Average"
    return Code(f"layers.{word}Pooling{_SUFFIX[_rank(v)]}({_pair(v, 'pool')}" + kwargs(
        strides=None if a["stride"] is None else _pair(v, "stride"),
        padding=None if pad == "'valid'" else pad,
        data_format=None if v.last else _fmt(v)) + ")", call)


def global_pool(v: LayerView) -> Code:
    word = "Max" if "max" in v.kind else "Average"
    return Code(f"layers.Global{word}Pooling{_SUFFIX[_rank(v)]}(" + kwargs(
        keepdims="True" if v.a["keepdims"] else None,
        data_format=None if v.last else _fmt(v))[2:] + ")")


def adaptive(v: LayerView) -> Code:
    word = "Max" if "max" in v.kind else "Average"
    return Code(f"layers.Adaptive{word}Pooling{_SUFFIX[_rank(v)]}({_pair(v, 'output_size')}"
                + kwargs(data_format=None if v.last else _fmt(v)) + ")")


def zeropad(v: LayerView) -> Code:
    pad = v.a["padding"]
    spec = v.p.lit(pad[0]) if len(pad) == 1 else v.p.lit(pad)
    return Code(f"layers.ZeroPadding{_SUFFIX[len(pad)]}(padding={spec}"
                + kwargs(data_format=None if v.last else _fmt(v)) + ")")


def upsample(v: LayerView) -> Code:
    a, r = v.a, _rank(v)
    factor = a["size"] if a["size"] is not None else a["factor"]
    size = "2" if factor is None else v.p.lit(factor)
    if r == 1 and not v.last:
        raise v.fail("Keras's UpSampling1D works on channels-last tensors only")
    extra = {"interpolation": repr(a["interpolation"])} if r == 2 else {}
    return Code(f"layers.UpSampling{_SUFFIX[r]}({size}" + kwargs(
        data_format=None if v.last or r == 1 else _fmt(v), **extra) + ")")


def _eps(v: LayerView) -> dict:
    return {"epsilon": v.real("epsilon")} if v.a.get("epsilon") is not None else {}


def _axis(v: LayerView, default: int) -> str:
    axis = v.a["axis"] if v.a["axis"] is not None else default
    return v.p.lit(list(axis)) if isinstance(axis, tuple) else v.p.lit(axis)


def batchnorm(v: LayerView) -> Code:
    scale, center = _scale_shift(v.a, "affine")
    extra = dict(_eps(v))
    if v.a.get("momentum") is not None:
        extra["momentum"] = v.real("momentum")
    axis = _axis(v, -1 if v.last else 1)
    return Code("layers.BatchNormalization(" + kwargs(
        axis=None if axis == "-1" else axis, center=None if center else "False",
        scale=None if scale else "False", **extra)[2:] + ")")


def layernorm(v: LayerView) -> Code:
    scale, center = _scale_shift(v.a, "elementwise_affine")
    axis = _axis(v, -1)
    return Code("layers.LayerNormalization(" + kwargs(
        axis=None if axis == "-1" else axis, center=None if center else "False",
        scale=None if scale else "False", **_eps(v))[2:] + ")")


def rmsnorm(v: LayerView) -> Code:
    axis = _axis(v, -1)
    return Code("layers.RMSNormalization(" + kwargs(
        axis=None if axis == "-1" else axis, **_eps(v))[2:] + ")")


def groupnorm(v: LayerView) -> Code:
    scale, center = _scale_shift(v.a, "affine")
    axis = _axis(v, -1 if v.last else 1)
    return Code(f"layers.GroupNormalization({v.int('groups')}" + kwargs(
        axis=None if axis == "-1" else axis, center=None if center else "False",
        scale=None if scale else "False", **_eps(v)) + ")")


_ACTIVATION_LAYERS = {"relu": "layers.ReLU()", "softmax": "layers.Softmax()",
                      "elu": "layers.ELU()", "leaky_relu": "layers.LeakyReLU()"}


def activation(v: LayerView) -> Code:
    if v.kind == "activation":
        return Code(f"layers.Activation({v.lit('function')})")
    return Code(_ACTIVATION_LAYERS.get(v.kind, f"layers.Activation({v.kind!r})"))


def merge(v: LayerView) -> Code:
    return Code(f"layers.{v.kind.capitalize()}()", "{m}([{xs}])")


def concat(v: LayerView) -> Code:
    axis = v.a["axis"] if v.a["axis"] is not None else (-1 if v.last else 1)
    return Code(f"layers.Concatenate(axis={int(axis)})", "{m}([{xs}])")


_RNN = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent(v: LayerView) -> Code:
    a = v.a
    extra = {k: repr(a[k]) for k in ("activation", "recurrent_activation") if a.get(k)}
    if v.kind == "gru" and a.get("reset_after") is not None:
        extra["reset_after"] = repr(bool(a["reset_after"]))
    stack = []
    for i in range(int(a["num_layers"])):
        last = i == int(a["num_layers"]) - 1
        make = f"layers.{_RNN[v.kind]}({v.int('units')}" + kwargs(
            return_sequences="True" if a["return_sequences"] or not last else None,
            use_bias=None if a["bias"] else "False",
            dropout=None if not a["dropout"] else v.real("dropout"),
            recurrent_dropout=None if not a.get("recurrent_dropout")
            else v.real("recurrent_dropout"), **extra) + ")"
        if a["bidirectional"]:
            make = f"layers.Bidirectional({make}, merge_mode={a['merge_mode'] or 'concat'!r})"
        stack.append(make)
    # Keras stacks recurrent layers one by one: several are one Sequential layer.
    return Code(stack[0] if len(stack) == 1 else f"keras.Sequential([{', '.join(stack)}])")


def attention(v: LayerView) -> Code:
    a = v.a
    if a.get("axis") is not None:
        raise v.fail("axial attention (axis = ...) is not exported to Keras yet")
    if a.get("bias") == "qkv" or any(a.get(n) is not None for n in (
            "q_bias", "k_bias", "v_bias", "out_bias", "qk_norm")):
        raise v.fail("Keras's attention layers have one use_bias for every projection "
                     "and no query/key norms")
    key, value = v.key_value()
    # Keras's attention is called as (query, value, key).
    call = "{m}({x}, {x%d}, {x%d})" % (value, key) if key else "{m}({x}, {x})"
    if a.get("causal"):
        call = call[:-1] + ", use_causal_mask=True)"
    bias = None if a["bias"] else "False"
    dropout = None if not a["dropout"] else v.real("dropout")
    if a.get("kv_heads") is not None:
        return Code(f"layers.GroupQueryAttention({v.int('key_dim')}, {v.int('heads')}, "
                    f"{v.int('kv_heads')}" + kwargs(use_bias=bias, dropout=dropout) + ")",
                    call)
    return Code(f"layers.MultiHeadAttention({v.int('heads')}, {v.int('key_dim')}" + kwargs(
        value_dim=None if a.get("value_dim") is None else v.int("value_dim"),
        output_shape=None if a.get("output_shape") is None else v.lit("output_shape"),
        use_bias=bias, dropout=dropout) + ")", call)


def take(v: LayerView) -> Code:
    axis, index = int(v.a["axis"]), v.lit("index")
    if axis > 0:
        where = ", ".join([":"] * axis + [index])
    else:
        where = ", ".join(["..."] + [index] + [":"] * (-axis - 1))
    return Code(None, f"{{x}}[{where}]")


ENTRIES: dict[str, Entry] = {
    "dense": dense,
    "embedding": lambda v: Code(f"layers.Embedding({v.int('vocabulary')}, "
                                f"{v.int('dimension')})"),
    "dropout": lambda v: Code(f"layers.Dropout({v.real('rate')})"),
    "identity": lambda v: Code("layers.Identity()"),
    "flatten": lambda v: Code("layers.Flatten(" + ("" if v.last else
                                                    f"data_format={_fmt(v)}") + ")"),
    "reshape": lambda v: Code(f"layers.Reshape({v.lit('shape')})"),
    "permute": lambda v: Code(f"layers.Permute({v.lit('dims')})"),
    "take": take,
    "batchnorm": batchnorm,
    "layernorm": layernorm,
    "rmsnorm": rmsnorm,
    "groupnorm": groupnorm,
    "prelu": lambda v: Code("layers.PReLU(" + (
        f"shared_axes={v.p.lit(list(v.a['shared_axes']))}" if v.a.get("shared_axes")
        else "") + ")"),
    "concat": concat,
    **{k: merge for k in ("add", "subtract", "multiply", "average", "maximum", "minimum")},
    **{k: activation for k in ("activation", "relu", "relu6", "sigmoid", "tanh", "softmax",
                               "gelu", "silu", "elu", "leaky_relu", "hard_swish",
                               "hard_silu", "hard_sigmoid")},
    **{f"conv{r}d": conv for r in (1, 2, 3)},
    **{f"conv{r}d_transpose": transpose for r in (1, 2, 3)},
    **{f"depthwise_conv{r}d": depthwise for r in (1, 2)},
    **{f"separable_conv{r}d": (lambda v: depthwise(v, True)) for r in (1, 2)},
    **{f"{op}pool{r}d": pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"global_{op}pool{r}d": global_pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"adaptive_{op}pool{r}d": adaptive for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"zeropad{r}d": zeropad for r in (1, 2, 3)},
    **{f"upsample{r}d": upsample for r in (1, 2, 3)},
    **{k: recurrent for k in _RNN},
    "attention": attention,
    # keras_hub's RotaryEmbedding has no weights: where it stands, the tensor passes.
    "rotary": lambda v: Code("layers.Identity()"),
    "position_embedding": lambda v: Code(
        f"PositionEmbedding({v.int('length') if v.a['length'] is not None else v.p.int(v.x()[-2])})",
        helpers=("PositionEmbedding",)),
}

HELPERS: dict[str, str] = {
    "PositionEmbedding": '''
class PositionEmbedding(keras.layers.Layer):
    """keras_hub's PositionEmbedding(sequence_length): a learned (length, d) table
    whose first T rows are added to the (T, d) stream."""

    def __init__(self, length, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.length, input_shape[-1]),
                                          initializer="uniform", name="embeddings")

    def call(self, x):
        return x + self.embeddings[: x.shape[-2]]
''',
    "TiedDense": '''
class TiedDense(keras.layers.Layer):
    """A Dense layer whose kernel is another layer's weight (transposed when that is
    how it fits: an embedding table V x d as a d x V kernel), its bias its own."""

    def __init__(self, units, source, use_bias=True, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias, self.source = units, use_bias, source
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.transpose = tuple(self.source.shape) != (input_shape[-1], self.units)
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros",
                                        name="bias")

    def call(self, x):
        kernel = keras.ops.transpose(self.source) if self.transpose else self.source
        y = keras.ops.matmul(x, kernel)
        return self.activation(y + self.bias if self.use_bias else y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)
''',
}
