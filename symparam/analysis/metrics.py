"""The quantities the analysis commands evaluate, by name.

>>> from symparam import analyze
>>> s = analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n")
>>> metric_expr(s, "params"), metric_expr(s, "memory", MetricOptions(dtype="fp16"))
(h*(n + 1), 2*h*(n + 1))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy

from ..errors import UsageError
from ..layers.base import closest
from ..stats import ModelStats
from .memory import (activation_memory, dtype_bytes, kv_cache_memory, layer_activation,
                     parameter_memory, training_memory)

METRICS = {
    "params": "parameters (trainable + non-trainable)",
    "trainable": "trainable parameters",
    "non_trainable": "non-trainable parameters",
    "buffers": "buffers (PyTorch state that is not a parameter)",
    "non_embedding": "parameters outside the embeddings: without the embedding tables "
                     "(token, position) and the output projection onto the vocabulary "
                     "(Kaplan et al.'s N)",
    "embedding": "parameters of the embedding tables and of the output projection onto "
                 "the vocabulary (0 when tied to the table)",
    "active": "active parameters: those one position's forward pass uses (of a mixture of "
              "experts, the router, k of the E experts and the shared ones); params in a "
              "model without one",
    "memory": "parameter memory in bytes (--dtype)",
    "activations": "activation memory in bytes for a batch (--batch, --dtype)",
    "training": "training memory in bytes: weights + gradients + optimizer state "
                "(--optimizer, --precision), per device with --devices and --zero",
    "kv_cache": "KV cache in bytes for a batch decoding the model's sequence length: the "
                "keys and values of its causal attention (--batch, --dtype)",
    "inference": "memory to decode in bytes: the parameters plus the KV cache, both in "
                 "--dtype (--batch)",
    "macs": "multiply-accumulates of a forward pass per example",
    "flops": "FLOPs of a forward pass per example: 2 x MACs (see `symparam cost` for "
             "other conventions)",
}
BYTES = ("memory", "activations", "training", "kv_cache", "inference")
# The metrics that are sums of the layers' own counts (LayerStats has each attribute,
# ModelStats too, but ``params`` is ModelStats.total).
COUNTS = ("params", "trainable", "non_trainable", "buffers", "active")


@dataclass(frozen=True)
class MetricOptions:
    dtype: str = "fp32"
    batch: Optional[int] = None
    optimizer: str = "adam"
    precision: str = "fp32"
    devices: int = 1      # data-parallel devices, for training memory per device
    zero: int = 0         # the ZeRO stage splitting the training state over them


def parse_metrics(text: str) -> list[str]:
    """``"params,memory"`` -> ``["params", "memory"]``, checked."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise UsageError("--metric needs at least one metric name")
    for name in names:
        if name not in METRICS:
            hint = closest(name, list(METRICS), 1)
            raise UsageError(f"unknown metric '{name}'"
                             + (f" (did you mean '{hint[0]}'?)" if hint else "")
                             + f"; known: {', '.join(METRICS)}")
    return names


@dataclass(frozen=True)
class EmbeddingParams:
    """The layers counted as embeddings and their parameters: ``tables`` the layers of
    the embeddings group (token, position and other lookup tables), ``heads`` the
    projections onto a vocabulary (a layer of the feed-forward group whose output
    width is an embedding's vocabulary: a language model's output head)."""

    tables: tuple[str, ...]
    heads: tuple[str, ...]
    total: sympy.Expr
    tables_total: sympy.Expr


def embedding_params(stats: ModelStats) -> EmbeddingParams:
    """Which layers hold the embedding parameters, and how many (see EmbeddingParams).
    A head tied to its table (``tie = wte``) shares its weight and adds nothing.

    >>> from symparam import analyze
    >>> s = analyze("model lm(V = 100, d = 8, T = 4):\\n    input [T]\\n"
    ...             "    embedding V, d\\n    dense d\\n    dense V\\n")
    >>> e = embedding_params(s)
    >>> e.tables, e.heads, e.total
    (('embedding',), ('dense_1',), V*d + V*(d + 1))
    """
    from .leading import kind_group

    layers = stats.model_layers
    vocabularies = {layer.args["vocabulary"] for layer in layers
                    if layer.kind == "embedding" and "vocabulary" in layer.args}
    tables = [layer for layer in layers if kind_group(layer.kind) == "embeddings"]
    heads = [layer for layer in layers
             if kind_group(layer.kind) == "feed-forward" and layer.output_shape
             and layer.output_shape[-1] in vocabularies]
    return EmbeddingParams(tuple(t.name for t in tables), tuple(h.name for h in heads),
                           sympy.Add(*[layer.params for layer in tables + heads]),
                           sympy.Add(*[t.params for t in tables]))


def metric_expr(stats: ModelStats, name: str,
                options: MetricOptions = MetricOptions()) -> sympy.Expr:
    """The formula of metric ``name`` in the model's symbols (and ``batch``)."""
    if name in COUNTS:
        return getattr(stats, "total" if name == "params" else name)
    if name in ("embedding", "non_embedding"):
        part = embedding_params(stats).total
        return part if name == "embedding" else stats.total - part
    if name == "memory":
        return parameter_memory(stats, options.dtype)
    if name == "activations":
        return activation_memory(stats, options.batch, options.dtype).total
    if name == "training":
        return training_memory(stats, options.optimizer, options.precision,
                               options.devices, options.zero).total
    if name == "kv_cache":
        return kv_cache_memory(stats, options.batch, options.dtype).total
    if name == "inference":
        return (parameter_memory(stats, options.dtype)
                + kv_cache_memory(stats, options.batch, options.dtype).total)
    if name == "macs":
        return stats.macs
    if name == "flops":
        return stats.flops()
    parse_metrics(name)  # raises the error naming the metric
    raise AssertionError(name)  # pragma: no cover


def layer_columns(text: str, dtype: str = "fp32") -> list:
    """``"macs,memory"`` -> [(title, function of a LayerStats -> expression or None)],
    checked; for ``summary --columns``.

    >>> from symparam import analyze
    >>> s = analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n")
    >>> [(title, f(s.layers[-1])) for title, f in layer_columns("macs,memory", "bf16")]
    [('MACs', 2*n), ('Memory (bf16)', 4*(n + 1))]
    """
    nbytes = dtype_bytes(dtype)
    makers = {
        "macs": ("MACs", lambda layer: layer.macs),
        "flops": ("FLOPs", lambda layer: None if layer.macs is None else 2 * layer.macs),
        "memory": (f"Memory ({dtype})",
                   lambda layer: nbytes * (layer.params + layer.buffers)),
        "activations": (f"Activations ({dtype})",
                        lambda layer: layer_activation(layer, nbytes)),
    }
    out = []
    for name in [c.strip() for c in text.split(",") if c.strip()]:
        if name not in makers:
            hint = closest(name, list(makers), 1)
            raise UsageError(f"unknown column '{name}'"
                             + (f" (did you mean '{hint[0]}'?)" if hint else "")
                             + f"; known: {', '.join(makers)}")
        out.append(makers[name])
    return out

