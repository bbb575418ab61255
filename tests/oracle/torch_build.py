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
    "hard_sigmoid": nn.Hardsigmoid, "hard_silu": nn.Hardswish, "mish": nn.Mish,
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


def _stack(op):
    return lambda *xs: op(torch.stack(xs))


_MERGES = {
    "add": lambda *xs: sum(xs[1:], xs[0]),
    "subtract": lambda a, b: a - b,
    "multiply": lambda *xs: _stack(lambda t: t.prod(0))(*xs),
    "average": lambda *xs: _stack(lambda t: t.mean(0))(*xs),
    "maximum": lambda *xs: _stack(lambda t: t.amax(0))(*xs),
    "minimum": lambda *xs: _stack(lambda t: t.amin(0))(*xs),
}


def concat(node, g):
    axis = node.args["axis"]
    if axis is None:
        axis = -1 if g.layout == "channels_last" else 1
    return Lambda(lambda *xs: torch.cat(xs, dim=axis), f"cat dim={axis}")


BUILDERS = {
    "dense": dense,
    "embedding": lambda n, g: nn.Embedding(n.args["vocabulary"], n.args["dimension"]),
    "dropout": lambda n, g: nn.Dropout(n.args["rate"]),
    "identity": lambda n, g: nn.Identity(),
    "flatten": lambda n, g: nn.Flatten(),
    "reshape": reshape,
    "batchnorm": batchnorm,
    "layernorm": layernorm,
    "concat": concat,
    **{k: (lambda op, k: lambda n, g: Lambda(op, k))(op, k) for k, op in _MERGES.items()},
    "activation": activation,
    **{k: activation for k in ("relu", "relu6", "sigmoid", "tanh", "softmax", "gelu",
                               "silu", "elu", "leaky_relu")},
    **{f"conv{r}d": conv for r in (1, 2, 3)},
    **{f"{op}pool{r}d": pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"global_{op}pool{r}d": global_pool for r in (1, 2, 3) for op in ("max", "avg")},
    **{f"zeropad{r}d": zeropad for r in (1, 2, 3)},
}


def module_for(node: Node, g: Graph) -> nn.Module:
    return dispatch(BUILDERS, "torch_build", node, g)


class GraphModule(nn.Module):
    """The graph as one module: ``forward(*inputs)`` returns every node's output."""

    def __init__(self, g: Graph):
        super().__init__()
        self.graph = g
        self.layers = nn.ModuleDict()
        self.keys = {}
        for node in g.nodes:
            if node.kind != "input":
                key = f"n{len(self.keys)}"
                self.keys[node.id] = key
                self.layers[key] = module_for(node, g)

    def forward(self, *inputs):
        values = dict(zip((n.id for n in self.graph.inputs), inputs))
        for node in self.graph.nodes:
            if node.kind != "input":
                values[node.id] = self.layers[self.keys[node.id]](
                    *[values[i] for i in node.inputs])
        return values


def _numel(tensors) -> int:
    return int(sum(t.numel() for t in tensors))


def measure(g: Graph, forward: bool = True) -> Measured:
    """Build ``g`` in PyTorch; count parameters (by requires_grad) and buffers, and
    record every node's output shape from a forward pass on zeros."""
    model = GraphModule(g).eval()
    params = list(model.parameters())
    m = Measured(framework="torch")
    m.totals = {"total": _numel(params),
                "trainable": _numel(p for p in params if p.requires_grad),
                "non_trainable": _numel(p for p in params if not p.requires_grad),
                "buffers": _numel(model.buffers())}
    for nid, key in model.keys.items():
        mod = model.layers[key]
        ps = list(mod.parameters())
        m.nodes[nid] = {"trainable": _numel(p for p in ps if p.requires_grad),
                        "non_trainable": _numel(p for p in ps if not p.requires_grad),
                        "buffers": _numel(mod.buffers())}
    if forward:
        batch = [torch.zeros((2, *n.output_shape),
                             dtype=torch.long if n.id in g.int_inputs else torch.float32)
                 for n in g.inputs]
        with torch.no_grad():
            values = model(*batch)
        for nid in model.keys:
            m.nodes[nid]["shape"] = tuple(values[nid].shape[1:])
    return m
