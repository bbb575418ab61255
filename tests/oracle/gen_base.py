"""The generator's building blocks: dimensions that remember their formula, layer
lines that know what they do to a shape, and the values and shapes of a model.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Optional

from symparam.activations import ACTIVATIONS  # the language's one table

ACTIVATION_LAYERS = tuple(name for name, a in ACTIVATIONS.items() if a.layer)
ACTIVATION_NAMES = tuple(ACTIVATIONS)
ELEMENTWISE = ("add", "subtract", "multiply", "average", "maximum", "minimum")


class D(int):
    """A dimension: its value, and a key standing for its formula in symparam.
    Equal keys mean equal formulas (the same text, or the same operations on equal
    keys); merges only join dimensions with equal keys, since symparam requires
    merged dimensions to be equal for every value of the symbols."""

    def __new__(cls, value: int, key):
        self = super().__new__(cls, value)
        self.key = key
        return self


def same(a: tuple, b: tuple) -> bool:
    """Shapes equal as formulas, not just as numbers."""
    return len(a) == len(b) and all(int(x) == int(y) and getattr(x, "key", None) ==
                                    getattr(y, "key", None) for x, y in zip(a, b))


def lit(v: int) -> D:
    return D(v, str(v))


@dataclass
class Layer:
    """One layer line and what it does to a shape (None when it cannot apply), so a
    repeat's body can be replayed on the shape it produced."""

    text: str
    fn: Callable[[tuple], Optional[tuple]]


def _out(n, k, s, d, pad):
    """Output length of a window: pad is 'valid', 'same', 'causal' or an int."""
    if pad in ("same", "causal"):
        return n if s == 1 else D(-(-n // s), ("ceil", n.key, s))
    p = 0 if pad == "valid" else pad
    eff = d * (k - 1) + 1
    if n + 2 * p < eff:
        return D(0, None)
    return D((n + 2 * p - eff) // s + 1, ("window", n.key, k, s, d, p))


def _out_ceil(n, k, s, d, p):
    """PyTorch pooling with ceil_mode: the last window must start inside the input."""
    eff = d * (k - 1) + 1
    if n + 2 * p < eff:
        return D(0, None)
    o = -(-(n + 2 * p - eff) // s) + 1
    return D(o - 1 if (o - 1) * s >= n + p else o, ("ceil_mode", n.key, k, s, d, p))


def _list(values) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


class Base:
    """A model being written: its convention and layout, its symbols, and how its
    sizes are written (one value, one spelling)."""

    def __init__(self, seed: int, convention: Optional[str] = None):
        self.rng = random.Random(seed)
        r = self.rng
        self.convention = convention or r.choice(("keras", "torch"))
        self.torch = self.convention == "torch"
        default = "channels_first" if self.torch else "channels_last"
        other = "channels_last" if self.torch else "channels_first"
        self.layout = other if r.random() < 0.12 else default
        self.cl = self.layout == "channels_last"
        self.params: dict[str, int] = {}
        self.forms: dict[int, str] = {}
        self.blocks: dict[str, list[str]] = {}
        self.lines: list[str] = []
        self.names = 0
        self.lets = 0
        self.tensors: dict[str, tuple] = {}  # named tensors visible at the top level
        self.reusable: dict[str, tuple] = {}  # named layers and blocks: (input, output)
        self.wte = None  # an embedding's (vocabulary, dimension), to tie a head to

    # ---- values ---------------------------------------------------------------------
    def symbol(self, value: int) -> str:
        for name, v in self.params.items():
            if v == value:
                return name
        name = f"s{len(self.params)}"
        self.params[name] = value
        return name

    def num(self, v: int) -> str:
        """An integer as a literal, a symbol, or an expression over symbols; one value
        is always written the same way, so equal sizes have equal formulas."""
        v = int(v)
        if v not in self.forms:
            self.forms[v] = self._form(v)
        return self.forms[v]

    def dim(self, v: int) -> D:
        """A size written in the source: the dimension and its text."""
        return D(v, self.num(v))

    def _form(self, v: int) -> str:
        r = self.rng.random()
        if r < 0.5 or v < 1:
            return str(v)
        if r < 0.75:
            return self.symbol(v)
        if r < 0.85 and v > 2:
            return f"{self.symbol(v - 1)} + 1"
        if r < 0.93 and v % 2 == 0:
            return f"2 * {self.symbol(v // 2)}"
        return f"({self.symbol(v + 2)} - 2)"

    def ri(self, a: int, b: int) -> int:
        return self.rng.randint(a, b)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # ---- shapes ---------------------------------------------------------------------
    def split(self, x):
        return (x[:-1], x[-1]) if self.cl else (x[1:], x[0])

    def join(self, spatial, c):
        return (*spatial, c) if self.cl else (c, *spatial)
