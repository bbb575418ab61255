"""The last hangs of issue 8, found by the fuzzer (`python3 -m fuzz`): each case ends
with the clear error naming its limit, or with the right answer.

Each case runs under a generous watchdog (signal.alarm): it guards against a hang, not
a speed target (the 2 s target is measured by benchmarks/hostile.py and
benchmarks/hostile_templates.py, with figures in docs/performance.md).
"""
from __future__ import annotations

import pytest
import sympy
from test_hostile_analysis import watchdog  # the same watchdog (signal.alarm)

from symparam import SymparamError, analyze
from symparam.limits import (MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_STEPS, MAX_TOKENS,
                            TEMPLATE_MACRO_STEPS)
from symparam.render.document import render_template
from symparam.tidy import rounded, tidy

SMALL = "model m(n = 4, h = 2):\n    input [n]\n    dense h\n"


def render(tmp_path, text: str, source: str = SMALL) -> str:
    path = tmp_path / "t.md"
    path.write_text(text)
    stats = analyze(source)
    with watchdog():
        return render_template(stats, path)


# ---- templates: a macro call costs TEMPLATE_MACRO_STEPS ------------------------------

DOUBLING = ("{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}"
            "{% endmacro %}{{ f(0) }}")


@pytest.mark.parametrize("text", [
    DOUBLING,
    DOUBLING.replace("{{ f(n + 1) }}{{ f(n + 1) }}", "{{ f(n + 1) ~ f(n + 1) }}"),
    "{% for x in [0] recursive %}{% if x < 40 %}{{ loop([x + 1, x + 1]) }}{% endif %}"
    "{% endfor %}",
])
def test_a_macro_doubling_its_calls_stops_at_the_step_limit(tmp_path, text):
    with pytest.raises(SymparamError) as err:
        render(tmp_path, text)
    assert f"line 1: the template takes more than {MAX_TEMPLATE_STEPS:,} steps" in \
        str(err.value)


def test_a_macro_call_counts_more_steps_than_a_filter_call(tmp_path):
    calls = MAX_TEMPLATE_STEPS // (TEMPLATE_MACRO_STEPS + 1) + 1  # over the limit
    assert calls * 3 < MAX_TEMPLATE_STEPS  # the same loop with a filter stays inside
    loop = "{% for i in range(" + str(calls) + ") %}BODY{% endfor %}"
    out = render(tmp_path, loop.replace("BODY", "{{ i | string | length }}"))
    assert len(out) == sum(len(str(len(str(i)))) for i in range(calls))
    with pytest.raises(SymparamError, match=f"more than {MAX_TEMPLATE_STEPS:,} steps"):
        render(tmp_path, "{% macro f() %}.{% endmacro %}" + loop.replace("BODY", "{{ f() }}"))


# ---- strided layers: floor and ceiling built without sympy's costly proofs -----------

H = sympy.Symbol("H", integer=True, positive=True)
W = sympy.Symbol("W", integer=True, positive=True)


@pytest.mark.parametrize("fn", [sympy.floor, sympy.ceiling])
@pytest.mark.parametrize("arg", [
    H / 2, H / 64 + 3, (H - 1) / 2, (H + 5) / 4 - 7, H / 2 + W / 3, (H - W) / 2,
    sympy.ceiling(H / 8) / 2, (sympy.ceiling(H / 8) - 1) / 2, (sympy.floor(H / 3) + 4) / 5,
    (2 * H + 1) / 2, H / 2 + sympy.Rational(1, 2), (H * W) / 4, -H / 2, 1 / (H + 1),
    sympy.Rational(7, 2), H, (H + 2) / 1, (H ** 2 + 1) / 2,
])
def test_rounded_is_the_expression_sympy_builds(fn, arg):
    built = rounded(fn, arg)
    if not arg.has(fn):  # else it collapses fn(fn(x)/d) to fn(x/d), as tidy does
        assert built == fn(arg), (built, fn(arg))
    assert tidy(built) == tidy(fn(arg)), (built, fn(arg))
    for value in (1, 2, 3, 7, 64, 1001):  # and it is the same number at every value
        at = {H: value, W: value + 1}
        assert built.subs(at) == fn(arg.subs(at))


def test_a_chain_of_300_strided_convolutions_is_counted(tmp_path):
    conv = "conv2d 8, 3, stride = 2, padding = {}"
    for padding in ("same", "1"):
        text = ("model m(H = 2 ** 64, W = 2 ** 64, C = 3):\n    input [H, W, C]\n"
                + f"    {conv.format(padding)}\n" * 300)
        with watchdog():
            stats = analyze(text)
        # a 3x3 convolution of 8 filters: 8 (3 * 3 * C + 1) weights, C = 3 then 8
        assert stats.value(stats.total) == 8 * (9 * 3 + 1) + 299 * 8 * (9 * 8 + 1)
        # each halves a side, rounding up: ceiling(H / 2**300), 1 for H = 2**64
        assert stats.layers[-1].output_shape == (sympy.ceiling(H / 2 ** 300),
                                                 sympy.ceiling(W / 2 ** 300), 8)


# ---- the parser: MAX_TOKENS, counted before lark reads the text -----------------------

HEAD = "model m(n = 4):\n    input [n]\n"


@pytest.mark.parametrize("text, line", [
    (HEAD + "    dense " + "-" * 100_000 + "n\n", 3),
    (HEAD + "    dense " + "(" * 100_000 + "\n", 3),
    (HEAD + "    dense " + "n + " * 40_000 + "1\n", 3),
    # the head has 14 tokens (8 and 4, each line's end), then 3 a line (dense, d, the
    # line end): token MAX_TOKENS + 1 is on line 2 + ceil((MAX_TOKENS + 1 - 14) / 3)
    (HEAD + "    dense d\n" * 10_000, 2 + -(-(MAX_TOKENS + 1 - 14) // 3)),
], ids=["minus signs", "open brackets", "a sum", "lines"])
def test_a_text_of_too_many_tokens_is_refused_before_parsing(text, line):
    with watchdog():
        with pytest.raises(SymparamError) as err:
            analyze(text)
    assert f"line {line}: the text has more than the limit MAX_TOKENS = {MAX_TOKENS:,} " \
        f"tokens" in str(err.value)


def test_tokens_in_comments_and_texts_do_not_count():
    comment = "    # " + "- " * 30_000 + "\n"
    label = '"' + "-" * 30_000 + '"'
    text = f"model m(n = 4 {label}):\n" + comment + "    input [n]\n    dense 2\n"
    with watchdog():
        stats = analyze(text)
    assert stats.value(stats.total) == 2 * (4 + 1)  # dense: 2 units on 4 inputs, and biases


# ---- numbers written on the command line: digits read off the text ------------------

@pytest.mark.parametrize("text", ["1e" + "9" * 5000, "7" * 1001, "1e1001", "1.5e999999999"])
def test_a_target_of_too_many_digits_is_refused_before_it_is_built(text):
    from symparam.analysis.targets import parse_quantity
    with pytest.raises(SymparamError, match=r"has more than 1,000 digits \(MAX_DIGITS\)"):
        parse_quantity(text)


def test_a_target_within_the_digits_is_read():
    from symparam.analysis.targets import parse_quantity
    assert parse_quantity("1e999") == 10 ** 999
    assert parse_quantity("1.5e3") == 1500
    assert parse_quantity("7B") == 7 * 10 ** 9


# ---- a template that includes itself: MAX_TEMPLATE_DEPTH includes ---------------------

@pytest.mark.parametrize("text", [
    "{{ 'x' }}{% include 't.md' %}",
    "{{ stats.total | text }} = {{ at(stats.total) }}\n{% include 't.md' %}",
    "{% include 't.md' ignore missing %}",
    "{{ stats.total | text }}{% extends 't.md' %}",
    "{% extends 't.md' %}{% block b %}{{ at(stats.total) }}{% endblock %}",
])
def test_a_template_including_or_extending_itself_stops_at_the_depth_limit(tmp_path, text):
    with pytest.raises(SymparamError) as err:
        render(tmp_path, text)
    assert f"the template recurses too deeply (more than {MAX_TEMPLATE_DEPTH} nested " \
        in str(err.value)
    assert "line 1" in str(err.value)


def test_included_templates_still_render(tmp_path):
    (tmp_path / "part.md").write_text("[{{ stats.total | text }}]")
    out = render(tmp_path, "{% for i in range(3) %}{% include 'part.md' %}{% endfor %}")
    assert out == "[h*(n + 1)]" * 3  # dense h on n inputs: h(n + 1)


def test_a_chain_of_extends_still_renders(tmp_path):
    (tmp_path / "base.md").write_text("A{% block b %}base{% endblock %}Z")
    (tmp_path / "mid.md").write_text(
        "{% extends 'base.md' %}{% block b %}mid[{{ super() }}]{% endblock %}")
    out = render(tmp_path, "{% extends 'mid.md' %}{% block b %}top[{{ super() }}]"
                           "{% endblock %}")
    assert out == "Atop[mid[base]]Z"
