"""The nested-floor rewrite is exact: equal to the original for every value tried."""
from __future__ import annotations

import random

import sympy

import symparam
from symparam.tidy import tidy

H = sympy.Symbol("H", integer=True, positive=True)
W = sympy.Symbol("W", integer=True, positive=True)
floor, ceil = sympy.floor, sympy.ceiling


def _random_chain(rng: random.Random):
    """A random chain of strided windows, the way conv/pool layers build sizes."""
    e = H
    for _ in range(rng.randint(1, 5)):
        k, s, p = rng.randint(1, 7), rng.randint(1, 4), rng.randint(0, 3)
        if rng.random() < 0.3:
            e = ceil(e / s)
        else:
            e = floor((e + 2 * p - k) / s) + 1
    return e


def test_random_chains_are_rewritten_exactly():
    rng = random.Random(7)
    for _ in range(200):
        e = _random_chain(rng)
        t = tidy(e)
        for v in list(range(1, 80)) + [127, 224, 1000, 4097]:
            assert e.xreplace({H: v}) == t.xreplace({H: v}), (e, t, v)


def test_vgg_chain_reads_as_one_floor():
    stats = symparam.analyze(
        "model m(H = 224, W = 224):\n    input [H, W, 3]\n"
        "    repeat 5:\n        conv2d 8, 3, padding = same\n        maxpool2d 2\n"
        "    flatten\n", symbolic=True)
    assert stats.layers[-1].output_shape == (8 * floor(H / 32) * floor(W / 32),)
