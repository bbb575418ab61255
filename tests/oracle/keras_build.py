"""Build an oracle graph as a real Keras 3 functional model (KERAS_BACKEND=torch).

``BUILDERS[kind](node, graph)`` returns the Keras layers that make one node, applied
in sequence (the first receives the node's inputs). Adding a layer kind is one entry.
Where symparam accepts something Keras spells differently (an integer padding), the
builder composes standard layers with the same shapes and weights.
"""
from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers as kl  # noqa: E402

from .compare import Measured  # noqa: E402
from .graph import Graph, Node, dispatch, scale_shift  # noqa: E402

SUFFIX = {1: "1D", 2: "2D", 3: "3D"}


def _fmt(g: Graph) -> str:
    return g.layout  # Keras's data_format names are symparam's layout names


def _rank(kind: str) -> int:
    return int(kind.rstrip("d")[-1])


def _padding(a: dict, g: Graph) -> tuple[list, str]:
    """(layers to apply first, Keras's padding word). Keras has no integer padding:
    an integer padding p is a ZeroPadding of p on each side, then a valid window."""
    pad = a["padding"]
    if isinstance(pad, str):
        return [], pad
    if not any(pad):
        return [], "valid"
    rank = len(pad)
    return [getattr(kl, f"ZeroPadding{SUFFIX[rank]}")(
        padding=tuple((p, p) for p in pad) if rank > 1 else (pad[0], pad[0]),
        data_format=_fmt(g))], "valid"


def dense(node, g):
    a = node.args
    return [kl.Dense(a["units"], activation=a["activation"], use_bias=a["bias"])]


def conv(node, g):
    a, rank = node.args, _rank(node.kind)
    before, pad = _padding(a, g)
    layer = getattr(kl, f"Conv{SUFFIX[rank]}")(
        a["filters"], a["kernel"], strides=a["stride"],
        padding=pad, dilation_rate=a["dilation"],
        groups=a["groups"], use_bias=a["bias"], activation=a["activation"],
        data_format=_fmt(g))
    return before + [layer]


def depthwise(node, g):
    a, rank = node.args, _rank(node.kind.split("_")[-1])
    before, pad = _padding(a, g)
    return before + [getattr(kl, f"DepthwiseConv{SUFFIX[rank]}")(
        a["kernel"], strides=a["stride"], padding=pad,
        depth_multiplier=a["depth_multiplier"], dilation_rate=a["dilation"],
        use_bias=a["bias"], activation=a["activation"], data_format=_fmt(g))]


def separable(node, g):
    a, rank = node.args, _rank(node.kind.split("_")[-1])
    before, pad = _padding(a, g)
    return before + [getattr(kl, f"SeparableConv{SUFFIX[rank]}")(
        a["filters"], a["kernel"], strides=a["stride"],
        padding=pad,
        depth_multiplier=a["depth_multiplier"], dilation_rate=a["dilation"],
        use_bias=a["bias"], activation=a["activation"], data_format=_fmt(g))]


def _channels_last_1d(g, layer) -> list:
    """Keras's 1-D Cropping and UpSampling assume channels last: swap axes around."""
    if g.layout == "channels_last":
        return [layer]
    return [kl.Permute((2, 1)), layer, kl.Permute((2, 1))]


def transpose(node, g):
    """An integer padding p (PyTorch's) is a valid transposed convolution cropped by p
    on each side: (n-1)s + d(k-1) + 1 + op - 2p."""
    a = node.args
    rank = _rank(node.kind.split("_")[0])
    pad, op = a["padding"], a["output_padding"]
    if pad is None:
        pad = "valid"
    if not isinstance(pad, str):
        op = op or (0,) * rank
    layers = [getattr(kl, f"Conv{SUFFIX[rank]}Transpose")(
        a["filters"], a["kernel"], strides=a["stride"],
        padding=pad if isinstance(pad, str) else "valid", output_padding=op,
        dilation_rate=a["dilation"], use_bias=a["bias"], activation=a["activation"],
        data_format=_fmt(g))]
    if not isinstance(pad, str) and any(pad):
        if rank == 1:
            return layers + _channels_last_1d(g, kl.Cropping1D((pad[0], pad[0])))
        crop = getattr(kl, f"Cropping{SUFFIX[rank]}")(tuple((p, p) for p in pad),
                                                       data_format=_fmt(g))
        layers.append(crop)
    return layers


def adaptive(node, g):
    rank = _rank(node.kind)
    word = "Max" if "max" in node.kind else "Average"
    return [getattr(kl, f"Adaptive{word}Pooling{SUFFIX[rank]}")(
        node.args["output_size"], data_format=_fmt(g))]


def groupnorm(node, g):
    a = node.args
    axis = a["axis"] if a["axis"] is not None else (-1 if g.layout == "channels_last" else 1)
    scale, center = scale_shift(a, "affine")
    extra = {"epsilon": a["epsilon"]} if a.get("epsilon") is not None else {}
    return [kl.GroupNormalization(a["groups"], axis=axis, center=center, scale=scale,
                                  **extra)]


def rmsnorm(node, g):
    a = node.args
    axis = a["axis"] if a["axis"] is not None else -1
    extra = {"epsilon": a["epsilon"]} if a.get("epsilon") is not None else {}
    return [kl.RMSNormalization(axis=list(axis) if isinstance(axis, tuple) else axis,
                                **extra)]


def upsample(node, g):
    a, rank = node.args, _rank(node.kind)
    factor = a["size"] if a["size"] is not None else a["factor"]
    factor = 2 if factor is None else factor
    size = factor if rank == 1 or isinstance(factor, tuple) else (factor,) * rank
    if rank == 1:
        size = size[0] if isinstance(size, tuple) else size
        return _channels_last_1d(g, kl.UpSampling1D(size))
    extra = {"interpolation": a["interpolation"]} if rank == 2 else {}
    return [getattr(kl, f"UpSampling{SUFFIX[rank]}")(size, data_format=_fmt(g), **extra)]


def take(node, g):
    a = node.args
    index = (slice(None),) * a["axis"] + (a["index"],) if a["axis"] > 0 else (
        (Ellipsis, a["index"]) + (slice(None),) * (-a["axis"] - 1))
    return [lambda t: t[index]]


_RNN = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent(node, g):
    """num_layers stacked Keras layers, all but the last returning sequences; the
    Bidirectional wrapper when bidirectional."""
    a = node.args
    last = bool(a["return_sequences"])  # None: Keras's default, the last step only
    extra = {k: a[k] for k in ("activation", "recurrent_activation") if a.get(k)}
    if node.kind == "gru":
        extra["reset_after"] = a["reset_after"]
    layers = []
    for i in range(a["num_layers"]):
        layer = getattr(kl, _RNN[node.kind])(
            a["units"], return_sequences=last if i == a["num_layers"] - 1 else True,
            use_bias=a["bias"], dropout=a["dropout"], recurrent_dropout=a["recurrent_dropout"],
            **extra)
        if a["bidirectional"]:
            layer = kl.Bidirectional(layer, merge_mode=a["merge_mode"] or "concat")
        layers.append(layer)
    return layers


class _Attention:
    """Keras's MultiHeadAttention called as (query, value, key): the node's inputs
    are the query, then the key and value tensors as written (told apart by shape)."""

    def __init__(self, node):
        a = node.args
        if a["kv_heads"] is not None:  # grouped-query attention
            self.layer = kl.GroupQueryAttention(
                a["key_dim"], a["heads"], a["kv_heads"], use_bias=a["bias"],
                dropout=a["dropout"])
        else:
            axes = a.get("axis")
            if axes is not None:  # Keras counts axes with the batch as axis 0
                rank = len(node.input_shapes[0])
                axes = [int(i) if int(i) > 0 else rank + 1 + int(i)
                        for i in (axes if isinstance(axes, (list, tuple)) else [axes])]
            self.layer = kl.MultiHeadAttention(
                a["heads"], a["key_dim"], value_dim=a["value_dim"],
                output_shape=a["output_shape"], use_bias=a["bias"], dropout=a["dropout"],
                attention_axes=axes)
        self.node = node
        self.trainable_weights = self.layer.trainable_weights
        self.non_trainable_weights = self.layer.non_trainable_weights

    def __call__(self, xs):
        xs = xs if isinstance(xs, list) else [xs]
        key, value = _key_value(self.node, xs)
        out = self.layer(xs[0], value, key, use_causal_mask=self.node.args["causal"])
        self.trainable_weights = self.layer.trainable_weights
        self.non_trainable_weights = self.layer.non_trainable_weights
        return out


def _key_value(node, xs):
    """(key, value) among a node's inputs: none (self-attention), the value alone, or
    both in the order written, matched to the shapes symparam recorded."""
    a = node.args
    if len(xs) == 1:
        return xs[0], xs[0]
    if len(xs) == 2:
        return xs[1], xs[1]
    first = tuple(xs[1].shape[1:])
    if a["key"] is not None and first == tuple(a["key"]):
        return xs[1], xs[2]
    return xs[2], xs[1]


def pool(node, g):
    a, rank = node.args, _rank(node.kind)
    word = "Max" if node.kind.startswith("max") else "Average"
    before, pad = _padding(a, g)
    return before + [getattr(kl, f"{word}Pooling{SUFFIX[rank]}")(
        a["pool"], strides=a["stride"], padding=pad,
        data_format=_fmt(g))]


def global_pool(node, g):
    rank = _rank(node.kind)
    word = "Max" if "max" in node.kind else "Average"
    return [getattr(kl, f"Global{word}Pooling{SUFFIX[rank]}")(
        keepdims=node.args["keepdims"], data_format=_fmt(g))]


def zeropad(node, g):
    pad = node.args["padding"]
    rank = len(pad)
    spec = pad[0] if rank == 1 else pad
    return [getattr(kl, f"ZeroPadding{SUFFIX[rank]}")(padding=spec, data_format=_fmt(g))]


def batchnorm(node, g):
    a = node.args
    axis = a["axis"] if a["axis"] is not None else (-1 if g.layout == "channels_last" else 1)
    extra = {k: a[k] for k in ("epsilon", "momentum") if a.get(k) is not None}
    scale, center = scale_shift(a, "affine")
    return [kl.BatchNormalization(axis=axis, center=center, scale=scale, **extra)]


def layernorm(node, g):
    a = node.args
    axis = a["axis"] if a["axis"] is not None else -1
    extra = {"epsilon": a["epsilon"]} if a.get("epsilon") is not None else {}
    scale, center = scale_shift(a, "elementwise_affine")
    return [kl.LayerNormalization(axis=list(axis) if isinstance(axis, tuple) else axis,
                                  center=center, scale=scale, **extra)]


_ACTIVATION_LAYERS = {"relu": kl.ReLU, "softmax": kl.Softmax, "elu": kl.ELU,
                      "leaky_relu": kl.LeakyReLU}


def activation(node, g):
    if node.kind == "activation":
        return [kl.Activation(node.args["function"])]
    if node.kind in _ACTIVATION_LAYERS:
        return [_ACTIVATION_LAYERS[node.kind]()]
    return [kl.Activation(node.kind)]


def merge(cls):
    return lambda node, g: [cls()]


def concat(node, g):
    axis = node.args["axis"]
    if axis is None:
        axis = -1 if g.layout == "channels_last" else 1
    return [kl.Concatenate(axis=axis)]


class WindowAttention(keras.layers.Layer):
    """keras.io's Swin Transformer example's WindowAttention, on a (H, W, C) input:
    Dense qkv (C -> 3C) and proj (C -> C), a relative_position_bias_table weight and
    the relative_position_index as a non-trainable keras.Variable (which Keras counts
    as a non-trainable parameter). The input is padded up to multiples of the window,
    rolled by the shift, attended window by window and put back, as torchvision does."""

    def __init__(self, node: Node, c: int, **kwargs):
        super().__init__(**kwargs)
        a = node.args
        self.heads, self.window, self.shift = a["heads"], tuple(a["window"]), tuple(a["shift"])
        self.qkv = kl.Dense(3 * c, use_bias=a["qkv_bias"])
        self.proj = kl.Dense(c, use_bias=a["proj_bias"])

    def build(self, input_shape):
        self.qkv.build(input_shape)
        self.proj.build(input_shape)
        (mh, mw), n = self.window, self.window[0] * self.window[1]
        self.relative_position_bias_table = self.add_weight(
            shape=((2 * mh - 1) * (2 * mw - 1), self.heads), initializer="zeros",
            name="relative_position_bias_table")
        coords = np.stack(np.meshgrid(np.arange(mh), np.arange(mw), indexing="ij"))
        coords = coords.reshape(2, -1)
        rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0)
        index = (rel[..., 0] + mh - 1) * (2 * mw - 1) + rel[..., 1] + mw - 1
        self.relative_position_index = keras.Variable(
            initializer=index, shape=(n, n), dtype="int", trainable=False)

    def call(self, x):
        ops = keras.ops
        _, h, w, c = x.shape
        (mh, mw), heads, n = self.window, self.heads, self.window[0] * self.window[1]
        x = ops.pad(x, [[0, 0], [0, (-h) % mh], [0, (-w) % mw], [0, 0]])
        ph, pw = h + (-h) % mh, w + (-w) % mw
        shift = [s if m < p else 0 for s, m, p in zip(self.shift, self.window, (ph, pw))]
        x = ops.roll(x, (-shift[0], -shift[1]), (1, 2))
        x = ops.reshape(ops.transpose(ops.reshape(x, (-1, ph // mh, mh, pw // mw, mw, c)),
                                      (0, 1, 3, 2, 4, 5)), (-1, n, c))
        qkv = ops.transpose(ops.reshape(self.qkv(x), (-1, n, 3, heads, c // heads)),
                            (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]
        bias = ops.take(self.relative_position_bias_table,
                        ops.reshape(self.relative_position_index, (-1,)), axis=0)
        bias = ops.transpose(ops.reshape(bias, (n, n, heads)), (2, 0, 1))
        attn = ops.softmax(ops.matmul(q * (c // heads) ** -0.5, ops.swapaxes(k, -1, -2))
                           + bias, axis=-1)
        y = ops.reshape(ops.swapaxes(ops.matmul(attn, v), 1, 2), (-1, n, c))
        y = ops.transpose(ops.reshape(self.proj(y), (-1, ph // mh, pw // mw, mh, mw, c)),
                          (0, 1, 3, 2, 4, 5))
        y = ops.roll(ops.reshape(y, (-1, ph, pw, c)), tuple(shift), (1, 2))
        return y[:, :h, :w]

    def compute_output_shape(self, input_shape):
        return input_shape


def window_attention(node, g):
    x = node.input_shapes[0]
    if g.layout != "channels_last":
        return [kl.Permute((2, 3, 1)), WindowAttention(node, x[0]), kl.Permute((3, 1, 2))]
    return [WindowAttention(node, x[-1])]


def space_to_depth(node, g):
    b, pad = node.args["block"], node.args["pad"]

    def fn(x):
        ops = keras.ops
        if g.layout != "channels_last":
            x = ops.transpose(x, (0, 2, 3, 1))
        _, h, w, c = x.shape
        if pad:
            x = ops.pad(x, [[0, 0], [0, (-h) % b], [0, (-w) % b], [0, 0]])
            h, w = h + (-h) % b, w + (-w) % b
        y = ops.transpose(ops.reshape(x, (-1, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
        y = ops.reshape(y, (-1, h // b, w // b, b * b * c))
        return y if g.layout == "channels_last" else ops.transpose(y, (0, 3, 1, 2))
    return [kl.Lambda(fn)]


BUILDERS = {
    "dense": dense,
    "embedding": lambda n, g: [kl.Embedding(n.args["vocabulary"], n.args["dimension"])],
    "dropout": lambda n, g: [kl.Dropout(n.args["rate"])],
    "identity": lambda n, g: [kl.Identity()],
    "flatten": lambda n, g: [kl.Flatten(data_format=_fmt(g))],
    "reshape": lambda n, g: [kl.Reshape(n.args["shape"])],
    "batchnorm": batchnorm,
    "layernorm": layernorm,
    "concat": concat,
    "add": merge(kl.Add), "subtract": merge(kl.Subtract), "multiply": merge(kl.Multiply),
    "average": merge(kl.Average), "maximum": merge(kl.Maximum),
    "minimum": merge(kl.Minimum),
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
    "rmsnorm": rmsnorm,
    "prelu": lambda n, g: [kl.PReLU(shared_axes=list(n.args["shared_axes"])
                                    if n.args["shared_axes"] else None)],
    "permute": lambda n, g: [kl.Permute(n.args["dims"])],
    "take": take,
    "position_embedding": lambda n, g: [PositionEmbedding(
        n.args["length"] or n.input_shapes[0][-2])],
    **{k: recurrent for k in _RNN},
    "attention": lambda n, g: [_Attention(n)],
    # keras_hub's RotaryEmbedding has no weights; where it stands, the tensor passes.
    "rotary": lambda n, g: [kl.Identity()],
    "normalization": lambda n, g: [kl.Normalization(axis=n.args["axis"])],
    "param": lambda n, g: [Param(n)],
    "window_attention": window_attention,
    "space_to_depth": space_to_depth,
}


# Kinds with no Keras layer at all, which symparam refuses in convention keras.
NO_KERAS_LAYER = {"instancenorm": "Keras has no instance normalization layer",
                  "mla": "Keras has no multi-head latent attention layer"}


def layers_for(node: Node, g: Graph) -> list:
    if node.kind in NO_KERAS_LAYER:
        raise NotImplementedError(f"{NO_KERAS_LAYER[node.kind]} (line {node.line})")
    return dispatch(BUILDERS, "keras_build", node, g)


class TiedDense(keras.layers.Layer):
    """A Dense layer whose kernel is another layer's variable (transposed when that is
    how it fits: an embedding table V x d as a d x V kernel), its bias its own; the
    way Keras models tie an output head to their embedding."""

    def __init__(self, node: Node, source, **kwargs):
        super().__init__(**kwargs)
        a = node.args
        self.units, self.use_bias = a["units"], a["bias"]
        self.activation = keras.activations.get(a["activation"])
        self.source = source
        self.transpose = tuple(source.shape) != (node.input_shapes[0][-1], self.units)

    def build(self, input_shape):
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        kernel = keras.ops.transpose(self.source) if self.transpose else self.source
        y = keras.ops.matmul(x, kernel)
        return self.activation(y + self.bias if self.use_bias else y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)


class PositionEmbedding(keras.layers.Layer):
    """keras_hub's PositionEmbedding(sequence_length), which Keras's core lacks: a
    learned (length, d) table whose first T rows are added to the (T, d) stream."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.length, input_shape[-1]),
                                          initializer="zeros", name="embeddings")

    def call(self, x):
        return x + self.embeddings[: x.shape[-2]]


class Param(keras.layers.Layer):
    """``param [...] as NAME``: a weight add_weight makes (non-trainable with buffer =
    true, Keras having no buffers), called on the data it merges with: it gives the
    weight, broadcast over the batch when it has the data's full rank."""

    def __init__(self, node: Node, **kwargs):
        super().__init__(**kwargs)
        self.shape_, self.buffer = tuple(node.args["shape"]), node.args["buffer"]

    def build(self, input_shape):
        self.p = self.add_weight(shape=self.shape_, initializer="zeros",
                                 trainable=not self.buffer, name="p")

    def call(self, x):
        ops = keras.ops
        if len(self.shape_) == len(x.shape):
            return ops.broadcast_to(self.p, (ops.shape(x)[0],) + self.shape_[1:])
        return ops.broadcast_to(self.p, (ops.shape(x)[0],) + tuple(
            d if p == 1 else p for p, d in zip((1,) * (len(x.shape) - 1 - len(self.shape_))
                                              + self.shape_, x.shape[1:])))

    def compute_output_shape(self, input_shape):
        if len(self.shape_) == len(input_shape):
            return (input_shape[0],) + self.shape_[1:]
        full = (1,) * (len(input_shape) - 1 - len(self.shape_)) + self.shape_
        return (input_shape[0],) + tuple(d if p == 1 else p
                                         for p, d in zip(full, input_shape[1:]))


def _variable(layers: list, name: str):
    for layer in layers:
        for v in getattr(layer, "weights", ()):
            if v.path.split("/")[-1] == name:
                return v
    raise NotImplementedError(f"no weight '{name}' in {[x.name for x in layers]}")


def shared_layers(node: Node, built: dict) -> list | None:
    """The layers of a node that shares weights: the very layers of the layer it
    applies again (``reuse``), or a tied Dense; None for a node that shares nothing."""
    if not node.shared:
        return None
    if node.reused:
        return built[node.reused]
    if node.kind == "dense" and set(node.shared) == {"kernel"}:
        owner, weight = node.shared["kernel"].split("/", 1)
        return [TiedDense(node, _variable(built[owner], weight))]
    raise NotImplementedError(f"the Keras oracle cannot tie {node.kind}'s "
                              f"{', '.join(node.shared)} yet")


def _size(weights) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _forward_bug(node: Node) -> bool:
    """Keras 3.15 on torch runs LayerNormalization on axes that are not the trailing
    ones through torch's fused layer_norm, which fails (keras-team/keras PR #23510).
    Such models are checked symbolically (shapes and counts), without a forward pass."""
    if node.kind != "layernorm" or node.args.get("axis") is None:
        return False
    rank = len(node.input_shapes[0])
    axes = node.args["axis"] if isinstance(node.args["axis"], tuple) else (node.args["axis"],)
    idx = sorted(a if a > 0 else rank + 1 + a for a in axes)
    return idx != list(range(rank + 1 - len(idx), rank + 1))


def measure(g: Graph, forward: bool = True) -> Measured:
    """Build ``g`` in Keras; count its weights and record every node's output shape
    (symbolically and, with ``forward``, from a real forward pass on zeros)."""
    keras.backend.clear_session(free_memory=False)  # gc.collect() costs 0.6 s a model
    tensors, made, built = {}, {}, {}
    inputs = []
    for node in g.nodes:
        if node.kind == "input":
            dtype = "int32" if node.id in g.int_inputs else "float32"
            tensors[node.id] = keras.Input(node.output_shape, dtype=dtype)
            inputs.append(tensors[node.id])
            continue
        xs = [tensors[i] for i in node.inputs]
        if node.kind == "param":  # called on the data of the merge that uses it
            user = next(n for n in g.nodes if node.id in n.inputs)
            xs = [tensors[user.inputs[0]]]
        layers = shared_layers(node, built) or layers_for(node, g)
        built.setdefault(node.name, layers)
        y = layers[0](xs if len(xs) > 1 else xs[0])
        for layer in layers[1:]:
            y = layer(y)
        tensors[node.id], made[node.id] = y, layers
    outputs = [tensors[n.id] for n in g.outputs]
    model = keras.Model(inputs, outputs)
    m = Measured(framework="keras")
    m.totals = {"total": model.count_params(), "trainable": _size(model.trainable_weights),
                "non_trainable": _size(model.non_trainable_weights), "buffers": 0}
    seen: set = set()  # a shared variable counts at the first layer that has it

    def new(layers, attr):
        out = [v for x in layers for v in getattr(x, attr, ()) if id(v) not in seen]
        seen.update(id(v) for v in out)
        return out
    for nid, layers in made.items():
        trainable = new(layers, "trainable_weights")
        non_trainable = new(layers, "non_trainable_weights")
        held = [tuple(x.p.shape) for x in layers if isinstance(x, Param)]
        m.nodes[nid] = {"shape": held[0] if held else tuple(tensors[nid].shape[1:]),
                        "trainable": _size(trainable), "non_trainable": _size(non_trainable),
                        "buffers": 0,
                        "weight_shapes": [tuple(v.shape) for v in trainable + non_trainable]}
    if forward and not any(_forward_bug(n) for n in g.nodes):
        ids = list(made)
        probe = keras.Model(inputs, [tensors[i] for i in ids])
        batch = [np.zeros((2, *n.output_shape), dtype="int32" if n.id in g.int_inputs
                          else "float32") for n in g.inputs]
        out = probe(batch, training=False)
        out = out if isinstance(out, (list, tuple)) else [out]
        for nid, y in zip(ids, out):
            if not any(isinstance(x, Param) for x in made[nid]):  # held, not computed
                m.nodes[nid]["forward_shape"] = tuple(y.shape[1:])
    return m
