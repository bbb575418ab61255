"""Leading terms and layer-group shares: GPT's 12*L*d**2 and Kaplan et al. (2020)."""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy

from symparam import SymparamError, analyze
from symparam.analysis.leading import kind_group, leading

ROOT = Path(__file__).resolve().parents[1]
GPT2 = (ROOT / "benchmarks" / "models" / "gpt2.symp").read_text()
d, L, T, V = sympy.symbols("d L T V", integer=True, positive=True)

# Kaplan et al. 2020, Table 1, with biases and norms left out and d_attn = d_model,
# d_ff = 4 d_model: non-embedding parameters N = 2 d n_layer (2 d_attn + d_ff) = 12 L d^2.
KAPLAN = """
convention torch
model kaplan(V = 50257, T = 1024, d = 768, L = 12, H = 12):
    input [T] as tokens
    embedding V, d
    repeat L:
        residual:
            attention H, bias = false
        residual:
            dense 4 * d, bias = false, activation = gelu
            dense d, bias = false
"""


def test_gpt_leading_term_and_orders():
    r = leading(analyze(GPT2), ["d", "L"])
    assert [(deg, sympy.expand(t)) for deg, t in r.orders] == [
        (3, 12 * L * d**2), (2, 13 * L * d), (1, sympy.expand((V + T + 2) * d))]
    assert r.leading_value == 12 * 12 * 768**2
    assert r.value == 124_439_808


def test_gpt_group_shares():
    r = leading(analyze(GPT2), ["d", "L"])
    groups = {g.name: g for g in r.groups}
    assert set(groups) == {"feed-forward", "attention", "embeddings", "normalization"}
    # Attention 4d^2 + 4d and the MLP 8d^2 + 5d per block: shares 1/3 and 2/3 in the limit.
    assert groups["attention"].limit_share == sympy.Rational(1, 3)
    assert groups["feed-forward"].limit_share == sympy.Rational(2, 3)
    assert groups["embeddings"].limit_share == 0
    assert groups["embeddings"].value == (50257 + 1024) * 768
    assert groups["attention"].value == 12 * (4 * 768**2 + 4 * 768)
    assert sum(g.value for g in r.groups) == r.value


def test_kaplan_non_embedding_count_is_12_L_d_squared():
    s = analyze(KAPLAN)
    r = leading(s, ["d", "L"])
    groups = {g.name: g.expr for g in r.groups}
    non_embedding = sympy.expand(s.total - groups["embeddings"])
    assert non_embedding == 12 * L * d**2
    assert sympy.expand(groups["embeddings"]) == V * d


def test_leading_in_one_symbol():
    r = leading(analyze(GPT2), ["d"])
    assert sympy.expand(r.orders[0][1]) == 12 * L * d**2
    assert r.orders[0][0] == 2


def test_floors_are_smoothed_and_said_so():
    s = analyze((ROOT / "docs" / "examples" / "seed001.symp").read_text())
    r = leading(s, ["H", "W"])
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert r.approximated
    assert sympy.expand(r.orders[0][1]) == 8 * H * W   # 32 * (H/2) * (W/2)


def test_not_growing_is_an_error():
    s = analyze((ROOT / "zoo" / "resnet50.symp").read_text())
    with pytest.raises(SymparamError, match="params does not grow with H"):
        leading(s, ["H"])


def test_unknown_symbol():
    with pytest.raises(SymparamError, match="no symbol 'x'"):
        leading(analyze(GPT2), ["x"])


@pytest.mark.parametrize("kind, group", [("layernorm", "normalization"),
                                         ("batchnorm", "normalization"),
                                         ("conv2d", "convolution"), ("lstm", "recurrent"),
                                         ("embedding", "embeddings"), ("dense", "feed-forward"),
                                         ("attention", "attention"), ("flatten", "other")])
def test_kind_groups(kind, group):
    assert kind_group(kind) == group
