"""Sweeps: exact at any size (checked against Python integers and per-point
analysis), floors exact, bad grids named."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from symparam import SymparamError, analyze
from symparam.analysis.evaluate import compile_formula
from symparam.analysis.grid import parse_grid
from symparam.analysis.metrics import MetricOptions
from symparam.analysis.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
GPT2 = (ROOT / "benchmarks" / "models" / "gpt2.symp").read_text()
SEED001 = (ROOT / "docs" / "examples" / "seed001.symp").read_text()


def gpt2_by_hand(V, T, d, L):
    """GPT-2's count by hand: embeddings, per block 2 layer norms (4d), attention
    (4d^2 + 4d), MLP (8d^2 + 5d), and the final layer norm (2d)."""
    return V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d


@pytest.fixture(scope="module")
def gpt2():
    return analyze(GPT2)


@pytest.mark.parametrize("d, L, T, published", [
    (768, 12, 1024, 124_439_808),          # GPT-2 small
    (1024, 24, 1024, 354_823_168),         # GPT-2 medium
    (1280, 36, 1024, 774_030_080),         # GPT-2 large
    (1600, 48, 1024, 1_557_611_200),       # GPT-2 XL
    (12288, 96, 2048, 174_604_259_328),    # GPT-3 175B, GPT-2's layout
])
def test_sweep_reproduces_published_gpt_counts(gpt2, d, L, T, published):
    r = sweep(gpt2, [("d", [d]), ("L", [L]), ("T", [T])], ["params"])
    assert r.columns["params"].tolist() == [published]
    assert r.modes["params"] == "int64"


def test_grid_is_the_product_in_order(gpt2):
    r = sweep(gpt2, [("d", [256, 512]), ("L", [6, 12, 18])], ["params", "memory"])
    pairs = list(zip(r.columns["d"].tolist(), r.columns["L"].tolist()))
    assert pairs == [(256, 6), (256, 12), (256, 18), (512, 6), (512, 12), (512, 18)]
    want = [gpt2_by_hand(50257, 1024, d, L) for d, L in pairs]
    assert r.columns["params"].tolist() == want
    assert r.columns["memory"].tolist() == [4 * w for w in want]


def test_model_conditions_are_checked_at_every_point(gpt2):
    r = sweep(gpt2, [("d", [768, 1024, 1536]), ("H", [12, 16])], ["params"])
    assert r.valid.tolist() == [d % H == 0 for d in (768, 1024, 1536) for H in (12, 16)]
    assert sweep(gpt2, [("d", [768, 1536])], ["params"]).valid is None


def test_exact_where_int64_would_overflow(gpt2):
    ds = [10**6, 2**40, 10**12 + 7]
    Ls = [1, 96, 10**6]
    r = sweep(gpt2, [("d", ds), ("L", Ls)], ["params", "training"],
              MetricOptions(optimizer="adam", precision="mixed"))
    assert r.modes["params"] == "python int"
    got = r.columns["params"].tolist()
    want = [gpt2_by_hand(50257, 1024, d, L) for d in ds for L in Ls]
    assert got == want and max(want) > 2**63
    assert all(type(v) is int for v in got)
    assert r.columns["training"].tolist() == [16 * w for w in want]


def test_int64_used_where_it_is_exact(gpt2):
    r = sweep(gpt2, [("d", list(range(64, 4097, 64))), ("L", list(range(1, 97)))], ["params"])
    assert r.modes["params"] == "int64"
    sample = random.Random(0).sample(range(r.size), 50)
    for i in sample:
        d, L = int(r.columns["d"][i]), int(r.columns["L"][i])
        assert int(r.columns["params"][i]) == gpt2_by_hand(50257, 1024, d, L)


def test_floors_are_exact_against_a_hand_formula():
    # seed001: 7x7 conv after 3-padding keeps H x W; 2x2 pooling floors; the dense
    # layer sees 32*floor(H/2)*floor(W/2) inputs. Total by hand:
    # conv 32*(49*3 + 1) + BN 4*32 + dense 32*floor(H/2)*floor(W/2) + 1.
    s = analyze(SEED001)
    Hs, Ws = list(range(2, 200, 7)), [3, 64, 65, 1001]
    r = sweep(s, [("H", Hs), ("W", Ws)], ["params"])
    want = [4736 + 128 + 32 * (H // 2) * (W // 2) + 1 for H in Hs for W in Ws]
    assert r.columns["params"].tolist() == want


def test_floors_exact_against_per_point_analysis():
    vgg = analyze((ROOT / "zoo" / "vgg16.symp").read_text())
    Hs = [32, 33, 47, 64, 100, 224, 225, 1023]
    r = sweep(vgg, [("H", Hs)], ["params", "activations"], MetricOptions(batch=3))
    for H, p, a in zip(Hs, r.columns["params"].tolist(), r.columns["activations"].tolist()):
        s = analyze((ROOT / "zoo" / "vgg16.symp").read_text(), values={"H": H})
        assert p == s.value(s.total)
        from symparam.analysis.memory import activation_memory
        assert a == s.value(activation_memory(s, batch=3).total)


def test_rational_coefficients_and_non_integers_stay_exact():
    import sympy
    x, y = sympy.symbols("x y", integer=True, positive=True)
    f = compile_formula(x * y / 2 + sympy.ceiling(x / 3) - sympy.Mod(y, 4), (x, y))
    xs, ys = np.array([1, 2, 3, 2**62]), np.array([1, 1, 5, 3])
    got = f(xs, ys).tolist()
    from fractions import Fraction
    want = [Fraction(a * b, 2) + -(-a // 3) - b % 4 for a, b in zip(xs.tolist(), ys.tolist())]
    assert got == want
    assert str(got[0]) == "1/2"  # a half stays a half, never 0.5


def test_batch_can_be_swept(gpt2):
    r = sweep(gpt2, [("batch", [1, 8])], ["activations"], MetricOptions(dtype="bf16"))
    one, eight = r.columns["activations"].tolist()
    assert eight == 8 * one
    # Per example: 2 embeddings + add + final norm (4 outputs of T x d), and per block
    # 2 norms, attention, c_proj, 2 adds (6 of T x d) plus c_fc (T x 4d): 10 T d.
    assert one == 2 * 1024 * 768 * (4 + 12 * 10)


@pytest.mark.parametrize("spec, message", [
    ("d=", "no values for d"),
    ("d=1..", "needs a start and an end"),
    ("d=..5", "needs a start and an end"),
    ("d=5..1", "ends before it starts"),
    ("d=0,1", "positive whole numbers"),
    ("d=1.5", "'1.5' is not a positive whole number"),
    ("d=1..10:0", "step of a range must be 1 or more"),
    ("d", "write NAME=VALUES"),
    ("2d=3", "'2d' is not a symbol name"),
])
def test_bad_grids(spec, message):
    with pytest.raises(SymparamError, match=message):
        parse_grid(spec)


def test_grid_forms():
    assert parse_grid("L=6..48:6") == ("L", [6, 12, 18, 24, 30, 36, 42, 48])
    assert parse_grid("d=256..4096:*2") == ("d", [256, 512, 1024, 2048, 4096])
    assert parse_grid("d=1e3,2**10,1_000") == ("d", [1000, 1024])


def test_unknown_symbol_in_grid(gpt2):
    with pytest.raises(SymparamError, match="no symbol 'x'.*its symbols: V, T, d, L, H"):
        sweep(gpt2, [("x", [1])], ["params"])
    with pytest.raises(SymparamError, match="did you mean 'd'"):
        sweep(gpt2, [("dd", [1])], ["params"])


def test_symbol_without_value_is_named():
    s = analyze("model m(n, h = 2):\n    input [n]\n    dense h\n")
    with pytest.raises(SymparamError, match="n has no value"):
        sweep(s, [("h", [1, 2])], ["params"])


def test_unknown_metric(gpt2):
    from symparam.analysis.metrics import parse_metrics
    with pytest.raises(SymparamError, match="unknown metric 'parms'.*did you mean 'params'"):
        parse_metrics("params,parms")
