"""Every activation function, in one table: its name in the language, its equation,
its forward pass in float32, its constants, its arithmetic, and, for those that are
layers of their own (``relu``), the frameworks' class names.

Read by the ``activation = ...`` argument of dense, convolution and recurrent layers
(``symparam.layers.base.activation``), the activation layers (``layers/core.py``), the
costs (:func:`symparam.costs.activation_ops`) and the cards (the words a call may use).
A new activation is one row here.

May import: the standard library and NumPy (lazily, inside the forward passes).

>>> ACTIVATIONS["relu"].layer
('ReLU', 're_lu', 'ReLU')
>>> [name for name, a in ACTIVATIONS.items() if a.evaluations == 0]
['linear']
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

# SELU's constants (Klambauer et al., 2017), as both frameworks use them.
_SELU = (1.0507009873554805, 1.6732632423543772)


@dataclass(frozen=True)
class Activation:
    """One activation function.

    ``forward(x, *values)`` maps a float32 array to the output, computed in float32 as
    the frameworks do; ``values`` are ``constants``' values in order, then, when
    ``negative_slope``, the framework's negative slope (its default differs: the caller
    gives it, as ``\\alpha``). ``layer`` is (Keras class, Keras automatic name, PyTorch
    module) when the function is also a layer of its own. ``evaluations`` is the
    evaluations per element that the costs count (``linear``: none)."""

    name: str
    equation: str
    forward: Callable
    constants: tuple[tuple[str, float], ...] = ()
    negative_slope: bool = False
    layer: Optional[tuple[str, str, str]] = None
    evaluations: int = 1


def _np():
    import numpy as np
    return np


def _sigmoid(x):
    np = _np()
    return np.float32(1) / (np.float32(1) + np.exp(-x))


def _softmax(x):
    np = _np()
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _gelu(x):
    # erfc, in double then rounded: 1 + erf(x) cancels for negative x in float32.
    np = _np()
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    return (0.5 * x * erfc(-x / math.sqrt(2))).astype(np.float32)


def _hard_sigmoid(x):
    np = _np()
    return np.clip(x + np.float32(3), 0, 6) / np.float32(6)


def _elu(x, alpha):
    np = _np()
    return np.where(x > 0, x, np.float32(alpha) * np.expm1(x))


_SAME_NAME = ("Activation", "activation")
_HARD_SWISH = r"y = x \frac{\min(\max(0, x + 3), 6)}{6}"  # Keras: an Activation layer, named "activation"

ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", r"y = \max(0, x)", lambda x: _np().maximum(x, _np().float32(0)),
               layer=("ReLU", "re_lu", "ReLU")),
    Activation("relu6", r"y = \min(\max(0, x), 6)",
               lambda x: _np().minimum(_np().maximum(x, _np().float32(0)), _np().float32(6)),
               layer=(*_SAME_NAME, "ReLU6")),
    Activation("sigmoid", r"y = \frac{1}{1 + e^{-x}}", _sigmoid, layer=(*_SAME_NAME, "Sigmoid")),
    Activation("tanh", r"y = \tanh x", lambda x: _np().tanh(x), layer=(*_SAME_NAME, "Tanh")),
    Activation("softmax", r"y_i = \frac{e^{x_i}}{\sum_j e^{x_j}}", _softmax,
               layer=("Softmax", "softmax", "Softmax")),
    Activation("gelu",
               r"y = x \, \Phi(x) = \frac{x}{2}\left(1 + \operatorname{erf}(x / \sqrt{2})\right)",
               _gelu, layer=(*_SAME_NAME, "GELU")),
    Activation("silu", r"y = \frac{x}{1 + e^{-x}}", lambda x: x * _sigmoid(x),
               layer=(*_SAME_NAME, "SiLU")),
    Activation("swish", r"y = \frac{x}{1 + e^{-x}}", lambda x: x * _sigmoid(x)),
    Activation("elu", r"y = x \;(x > 0), \quad y = \alpha (e^x - 1) \;(x \le 0), \quad \alpha = 1",
               _elu, constants=((r"\alpha", 1),), layer=("ELU", "elu", "ELU")),
    Activation("selu", r"y = \lambda x \;(x > 0), \quad y = \lambda \alpha (e^x - 1) \;(x \le 0)",
               lambda x, lam, alpha: _np().float32(lam) * _elu(x, alpha),
               constants=((r"\lambda", _SELU[0]), (r"\alpha", _SELU[1]))),
    # LeakyReLU's slope is each framework's default: Keras's LeakyReLU layer 0.3 (its
    # leaky_relu function, used by `activation leaky_relu`, 0.2), PyTorch's 0.01.
    Activation("leaky_relu", r"y = \max(\alpha x, x)",
               lambda x, alpha: _np().where(x > 0, x, _np().float32(alpha) * x),
               negative_slope=True, layer=("LeakyReLU", "leaky_re_lu", "LeakyReLU")),
    Activation("softplus", r"y = \log(1 + e^x)", lambda x: _np().logaddexp(_np().float32(0), x)),
    Activation("softsign", r"y = \frac{x}{1 + |x|}",
               lambda x: x / (_np().float32(1) + _np().abs(x))),
    # Keras 3's hard_sigmoid (Keras 2's was 0.2x + 0.5) and PyTorch's Hardsigmoid.
    Activation("hard_sigmoid", r"y = \frac{\min(\max(0, x + 3), 6)}{6}", _hard_sigmoid,
               layer=(*_SAME_NAME, "Hardsigmoid")),
    # hard_swish is Keras's other name of hard_silu (MobileNetV3's), PyTorch's Hardswish.
    Activation("hard_silu", _HARD_SWISH, lambda x: x * _hard_sigmoid(x),
               layer=(*_SAME_NAME, "Hardswish")),
    Activation("hard_swish", _HARD_SWISH, lambda x: x * _hard_sigmoid(x),
               layer=(*_SAME_NAME, "Hardswish")),
    Activation("mish", r"y = x \tanh(\log(1 + e^x))",
               lambda x: x * _np().tanh(_np().logaddexp(_np().float32(0), x))),
    Activation("exponential", r"y = e^x", lambda x: _np().exp(x)),
    Activation("log_softmax", r"y_i = x_i - \log \sum_j e^{x_j}",
               lambda x: _np().log(_softmax(x))),
    Activation("linear", r"y = x", lambda x: x, evaluations=0),
)}

NAMES = tuple(ACTIVATIONS)  # the names the language accepts, in the table's order
