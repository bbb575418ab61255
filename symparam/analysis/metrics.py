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
from .memory import activation_memory, parameter_memory, training_memory

METRICS = {
    "params": "parameters (trainable + non-trainable)",
    "trainable": "trainable parameters",
    "non_trainable": "non-trainable parameters",
    "buffers": "buffers (PyTorch state that is not a parameter)",
    "active": "active parameters: those one position's forward pass uses (of a mixture of "
              "experts, the router, k of the E experts and the shared ones); params in a "
              "model without one",
    "memory": "parameter memory in bytes (--dtype)",
    "activations": "activation memory in bytes for a batch (--batch, --dtype)",
    "training": "training memory in bytes: weights + gradients + optimizer state "
                "(--optimizer, --precision)",
    "macs": "multiply-accumulates of a forward pass per example",
    "flops": "FLOPs of a forward pass per example: 2 x MACs (see `symparam cost` for "
             "other conventions)",
}
BYTES = ("memory", "activations", "training")
# The metrics that are sums of the layers' own counts (LayerStats has each attribute,
# ModelStats too, but ``params`` is ModelStats.total).
COUNTS = ("params", "trainable", "non_trainable", "buffers", "active")


@dataclass(frozen=True)
class MetricOptions:
    dtype: str = "fp32"
    batch: Optional[int] = None
    optimizer: str = "adam"
    precision: str = "fp32"


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
    if name in COUNTS:
        return getattr(stats, "total" if name == "params" else name)
    if name == "memory":
        return parameter_memory(stats, options.dtype)
    if name == "activations":
        return activation_memory(stats, options.batch, options.dtype).total
    if name == "training":
        return training_memory(stats, options.optimizer, options.precision).total
    if name == "macs":
        return stats.macs
    if name == "flops":
        return stats.flops()
    parse_metrics(name)  # raises the error naming the metric
    raise AssertionError(name)  # pragma: no cover
