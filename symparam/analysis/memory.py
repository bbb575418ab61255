"""Memory as formulas: parameters per dtype, activations per layer for a batch, and
training state (weights, gradients, optimizer moments).

Conventions, stated once here and printed by the CLI:

- Parameter memory is bytes-per-value x parameters (trainable and non-trainable);
  PyTorch buffers are listed apart (they are not parameters).
- Activation memory is the sum over layers of the number of elements of each
  layer's output x bytes-per-value x batch size: every output kept once, as autograd
  keeps them for the backward pass. The model's inputs are not counted (they are
  data); a layer inside a repeat over a symbol counts once per repeat; in-place
  layers (activations, dropout) count like any other, so this is an upper bound
  for frameworks that fuse or free them.
- The KV cache is what a model keeps per sequence to decode token by token: the
  keys and values of every causal self-attention layer (every key/value head: its
  head_dim key and value_dim value per step; grouped-query attention keeps kv_heads
  heads, not heads), for every step so far, or the last w - 1 with a sliding window
  of w, as transformers' cache keeps them; and, in a model that has causal layers,
  the keys and values of each cross-attention layer over its other tensor (an
  encoder-decoder's encoder output), computed once. x bytes-per-value x batch size.
  Attention without a causal mask in a model without one (an encoder) keeps none.
- Training memory is weights + gradients + optimizer state. Gradients and
  optimizer state exist for trainable parameters only. In mixed precision the
  weights and gradients are 16-bit and the optimizer keeps a 32-bit master copy of
  the trainable weights beside its moments: Adam costs 2 + 2 + 4 + 4 + 4 = 16 bytes
  per trainable parameter (fp16 weights, fp16 gradients, fp32 master weights, m, v).

>>> from symparam import analyze
>>> s = analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n")
>>> parameter_memory(s, "bf16")
2*h*(n + 1)
>>> t = training_memory(s, "adam", "mixed")
>>> t.bytes_per_parameter, s.value(t.total)
(16, 160)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy

from ..exprs import as_expr
from ..errors import UsageError
from ..layers.base import closest
from ..stats import ModelStats

DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1,
               "int4": sympy.Rational(1, 2)}
_DTYPE_ALIASES = {"float64": "fp64", "double": "fp64", "float32": "fp32", "float": "fp32",
                  "bfloat16": "bf16", "float16": "fp16", "half": "fp16"}

# Optimizer: the number of 32-bit moments it keeps per trainable parameter.
OPTIMIZERS = {"sgd": 0, "momentum": 1, "sgd-momentum": 1, "rmsprop": 1, "adagrad": 1,
              "adam": 2, "adamw": 2}
PRECISIONS = ("fp32", "mixed")

BATCH = sympy.Symbol("batch", integer=True, positive=True)


def dtype_bytes(name: str):
    """Bytes per value of a dtype name: ``dtype_bytes("bf16") == 2``."""
    key = _DTYPE_ALIASES.get(name.lower(), name.lower())
    if key not in DTYPE_BYTES:
        hint = closest(key, list(DTYPE_BYTES) + list(_DTYPE_ALIASES), 1)
        raise UsageError(f"unknown dtype '{name}'" + (f" (did you mean '{hint[0]}'?)" if hint
                                                       else "")
                         + f"; known: {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[key]


def parameter_memory(stats: ModelStats, dtype: str = "fp32") -> sympy.Expr:
    """Bytes to store the parameters (trainable and non-trainable) in ``dtype``."""
    return dtype_bytes(dtype) * stats.total


def _batch(batch) -> sympy.Expr:
    if batch is None:
        return BATCH
    b = as_expr(batch)
    if not (b.is_Integer and b > 0) and not b.is_Symbol:
        raise UsageError(f"the batch size must be a positive whole number, got {batch}")
    return b


@dataclass(frozen=True)
class ActivationMemory:
    """Bytes of every layer's output for a batch, and their sum."""

    per_layer: tuple  # (layer name, bytes expression), in model order
    total: sympy.Expr
    batch: sympy.Expr
    bytes_per_value: object


def layer_activation(layer, nbytes) -> Optional[sympy.Expr]:
    """The bytes of one layer's output per example, once per time it runs; None for
    the model's inputs (data, not activations)."""
    if layer.kind == "input":
        return None
    elements = sympy.Mul(*layer.output_shape) if layer.output_shape else sympy.Integer(1)
    return layer.runs * elements * nbytes


def activation_memory(stats: ModelStats, batch=None, dtype: str = "fp32") -> ActivationMemory:
    """Activation bytes per layer and in total (see the module's conventions).
    ``batch`` None leaves the batch size as the symbol ``batch``.

    >>> from symparam import analyze
    >>> s = analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n")
    >>> activation_memory(s, batch=8).total
    32*h
    """
    b, nbytes = _batch(batch), dtype_bytes(dtype)
    rows = []
    for layer in stats.model_layers:  # what the convention leaves out is never run
        kept = layer_activation(layer, nbytes)
        if kept is not None:
            rows.append((layer.name, kept * b))
    return ActivationMemory(tuple(rows), sympy.Add(*[r[1] for r in rows]), b, nbytes)


@dataclass(frozen=True)
class KVCacheMemory:
    """The KV cache for a batch: ``per_layer`` rows (layer name, multiplier, cached
    steps, numbers per step, bytes), ``per_token`` the bytes one more decoded token
    adds while no window is full, ``total`` the bytes of the whole cache."""

    per_layer: tuple
    per_token: sympy.Expr
    total: sympy.Expr
    batch: sympy.Expr
    bytes_per_value: object


def kv_cache_memory(stats: ModelStats, batch=None, dtype: str = "fp16") -> KVCacheMemory:
    """The KV cache's bytes for the model's own sequence length (see the module's
    conventions). ``batch`` None leaves the batch size as the symbol ``batch``.

    >>> from symparam import analyze
    >>> s = analyze("convention torch\\nmodel m(T = 8, d = 16):\\n    input [T, d]\\n"
    ...             "    attention 4, kv_heads = 2, causal = true, bias = false\\n")
    >>> m = kv_cache_memory(s, batch=1, dtype="fp16")
    >>> m.total, s.value(m.total)
    (2*T*d, 256)
    """
    b, nbytes = _batch(batch), dtype_bytes(dtype)
    kept = []
    for layer in stats.model_layers:
        kv = layer.costing.kv_cache() if layer.costing is not None else None
        if kv is not None:
            kept.append((layer, kv))
    decoder = any(kv.causal for _, kv in kept)
    rows = tuple((layer.name, layer.multiplier, kv.tokens, kv.width,
                  layer.multiplier * kv.tokens * kv.width * nbytes * b)
                 for layer, kv in kept if kv.causal or (decoder and kv.cross))
    per_token = sympy.Add(*[layer.multiplier * kv.width * nbytes * b
                            for layer, kv in kept if kv.causal and not kv.cross])
    return KVCacheMemory(rows, per_token, sympy.Add(*[r[4] for r in rows]), b, nbytes)


@dataclass(frozen=True)
class TrainingMemory:
    """Training state: ``parts`` are (name, bytes per value, count, bytes) rows, per
    device when ``devices`` > 1 (``count`` then the share one device holds)."""

    optimizer: str
    precision: str
    parts: tuple
    total: sympy.Expr
    bytes_per_parameter: object  # per trainable parameter: weights + grads + state
    devices: int = 1
    zero: int = 0


ZERO_STAGES = (0, 1, 2, 3)
# The ZeRO stage from which a part of the training state is split over the data-
# parallel devices (Rajbhandari et al. 2020): 1 the optimizer state (fp32 master
# weights and moments), 2 also the gradients, 3 also the weights. Buffers never are.
_SHARDED_FROM = {"weights": 3, "gradients": 2, "fp32 master weights": 1}


def _sharded_from(part: str) -> int:
    return 1 if part.startswith("optimizer") else _SHARDED_FROM.get(part, len(ZERO_STAGES))


def _share(count: sympy.Expr, devices: int) -> sympy.Expr:
    """One device's share of ``count`` values split over ``devices``: the largest
    share, ceil(count / devices), as DeepSpeed pads its flat partitions to equal size."""
    return count if devices == 1 else sympy.ceiling(count / devices)


def training_memory(stats: ModelStats, optimizer: str = "adam", precision: str = "fp32",
                    devices: int = 1, zero: int = 0) -> TrainingMemory:
    """Weights, gradients and optimizer state while training, in bytes.

    ``precision`` is ``fp32`` (everything 4 bytes) or ``mixed`` (16-bit weights and
    gradients, a 32-bit master copy and 32-bit moments). With ``devices`` > 1 data-
    parallel devices and ZeRO stage ``zero`` (0 to 3), the figures are per device:
    stage 1 splits the optimizer state over the devices, stage 2 also the gradients,
    stage 3 also the weights; each device holds the largest share, ceil(count / N).

    >>> from symparam import analyze
    >>> s = analyze("model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n")
    >>> t = training_memory(s, "adam", "mixed", devices=4, zero=3)
    >>> t.total
    16*ceiling(h*(n + 1)/4)
    """
    opt = optimizer.lower()
    if opt not in OPTIMIZERS:
        hint = closest(opt, list(OPTIMIZERS), 1)
        raise UsageError(f"unknown optimizer '{optimizer}'"
                         + (f" (did you mean '{hint[0]}'?)" if hint else "")
                         + f"; known: {', '.join(OPTIMIZERS)}")
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision '{precision}': use {' or '.join(PRECISIONS)}")
    if zero not in ZERO_STAGES:
        raise UsageError(f"unknown ZeRO stage {zero}: use 0, 1, 2 or 3")
    if not isinstance(devices, int) or devices < 1:
        raise UsageError(f"the number of devices must be a positive whole number, "
                         f"got {devices}")
    moments = OPTIMIZERS[opt]
    low = 2 if precision == "mixed" else 4
    p, t = stats.total, stats.trainable
    parts = [("weights", low, p), ("gradients", low, t)]
    if precision == "mixed":
        parts.append(("fp32 master weights", 4, t))
    if moments:
        names = {1: "momentum" if opt != "rmsprop" and opt != "adagrad" else "square averages",
                 2: "moments m and v"}
        parts.append((f"optimizer {names[moments]}", 4 * moments, t))
    if stats.buffers != 0:
        parts.append(("buffers", low, stats.buffers))
    parts = [(name, nb, _share(count, devices) if zero >= _sharded_from(name) else count)
             for name, nb, count in parts]
    rows = tuple((name, nb, count, nb * count) for name, nb, count in parts)
    per_param = sum(nb for name, nb, _ in parts if name != "buffers")
    return TrainingMemory(opt, precision, rows, sympy.Add(*[r[3] for r in rows]), per_param,
                          devices, zero)
