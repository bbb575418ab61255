"""Solving for a size: exact roots against the quadratic formula by hand, nearest
admissible integers, and clear errors for targets that cannot be met."""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy

from symparam import SymparamError, analyze
from symparam.analysis.solve import solve
from symparam.analysis.targets import parse_condition, parse_quantity, parse_target

ROOT = Path(__file__).resolve().parents[1]
GPT2 = (ROOT / "benchmarks" / "models" / "gpt2.symp").read_text()


def gpt2_by_hand(V, T, d, L):
    return V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d


@pytest.fixture(scope="module")
def gpt3():
    return analyze(GPT2, values={"T": 2048, "L": 96, "H": 96})


def test_published_size_is_an_exact_root(gpt3):
    r = solve(gpt3, "d", "params", 174_604_259_328)
    assert r.roots == [12288]
    assert [(c.value, c.metric, c.side) for c in r.candidates] == [
        (12288, 174_604_259_328, "exact")]


def test_root_is_the_quadratic_formula(gpt3):
    target, V, T, L = 7 * 10**9, 50257, 2048, 96
    r = solve(gpt3, "d", "params", target)
    # 12 L d^2 + (13 L + V + T + 2) d - target = 0, by hand:
    a, b = 12 * L, 13 * L + V + T + 2
    root = (-b + sympy.sqrt(b * b + 4 * a * target)) / (2 * a)
    assert len(r.roots) == 1 and sympy.simplify(r.roots[0] - root) == 0
    # The model's own condition (d divisible by the 96 heads) makes 96 the step.
    below, above = r.candidates
    assert below.value % 96 == 0 and above.value % 96 == 0
    assert above.value - below.value == 96
    assert below.value < float(root) < above.value
    assert below.metric == gpt2_by_hand(V, T, below.value, L) <= target
    assert above.metric == gpt2_by_hand(V, T, above.value, L) >= target


def test_where_condition(gpt3):
    cond = parse_condition("d % 128 == 0", gpt3)
    r = solve(gpt3, "d", "params", 7 * 10**9, where=cond)
    for c in r.candidates:
        assert c.value % 128 == 0 and c.value % 96 == 0   # the user's and the model's
    r = solve(gpt3, "d", "params", 7 * 10**9, where=cond, model_checks=False)
    assert [c.value % 128 for c in r.candidates] == [0, 0]
    assert r.candidates[1].value - r.candidates[0].value == 128


def test_solve_for_depth(gpt3):
    # params is linear in L: the root is rational, the neighbours bracket it.
    r = solve(analyze(GPT2), "L", "params", 10**9)
    root = r.roots[0]
    assert root.is_Rational and not root.is_Integer
    lo, hi = r.candidates
    assert (lo.value, hi.value) == (int(sympy.floor(root)), int(sympy.ceiling(root)))


def test_step_function_is_bracketed():
    # seed001's count steps with floor(H/2): no closed form, an exact bracket instead.
    s = analyze((ROOT / "docs" / "examples" / "seed001.symp").read_text())
    r = solve(s, "H", "params", 100_000)
    assert r.roots == [] and r.bracket is not None
    n, m = r.bracket
    def f(H):
        return 4736 + 128 + 32 * (H // 2) * 32 + 1   # W = 64 stays
    assert f(n) <= 100_000 < f(m)


def test_target_below_the_smallest_model(gpt3):
    with pytest.raises(SymparamError, match="no positive whole d gives params = 10: at d = 1 "
                                            "it is already"):
        solve(gpt3, "d", "params", 10)


def test_metric_that_does_not_depend_on_the_symbol():
    s = analyze((ROOT / "zoo" / "resnet50.symp").read_text())
    with pytest.raises(SymparamError, match="params does not depend on H"):
        solve(s, "H", "params", 25_000_000)


def test_no_admissible_value(gpt3):
    cond = parse_condition("d < 0", gpt3)
    with pytest.raises(SymparamError, match="no admissible value of d"):
        solve(gpt3, "d", "params", 7 * 10**9, where=cond)


def test_unknown_symbol(gpt3):
    with pytest.raises(SymparamError, match="no symbol 'D'.*did you mean 'd'"):
        solve(gpt3, "D", "params", 7 * 10**9)


@pytest.mark.parametrize("text, value", [("7e9", 7 * 10**9), ("7_000_000_000", 7 * 10**9),
                                         ("1.3B", 1_300_000_000), ("80GB", 80 * 10**9),
                                         ("80GiB", 80 * 2**30), ("124,439,808", 124439808)])
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text, message", [
    ("params", "write METRIC=VALUE"), ("parms=7e9", "unknown metric 'parms'"),
    ("params=7x", "'7x' is not a number"), ("params=1.5", "not a whole number"),
])
def test_bad_targets(text, message):
    with pytest.raises(SymparamError, match=message):
        parse_target(text)


@pytest.mark.parametrize("text, message", [
    ("d % heads == 0", "unknown symbol heads"), ("d", "compare two expressions"),
    ("d == (", "column 6: the text ends too early"),
])
def test_bad_conditions(gpt3, text, message):
    with pytest.raises(SymparamError, match=message):
        parse_condition(text, gpt3)
