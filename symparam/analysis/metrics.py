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
from .memory import (activation_memory, kv_cache_memory, parameter_memory,
                     training_memory)

METRICS = {
    "params": "parameters (trainable + non-trainable)",
    "trainable": "trainable parameters",
    "non_trainable": "non-trainable parameters",
    "buffers": "buffers (PyTorch state that is not a parameter)",
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


def metric_expr(stats: ModelStats, name: str,
                options: MetricOptions = MetricOptions()) -> sympy.Expr:
    """The formula of metric ``name`` in the model's symbols (and ``batch``)."""
    if name in ("params", "trainable", "non_trainable", "buffers"):
        return getattr(stats, "total" if name == "params" else name)
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
