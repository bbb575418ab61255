"""Issue 8, cases the fuzzer found after the first round of fixes (python3 -m fuzz):
Python's internals printed by a template, numbers past the digit limit on the command
line, and a syntax error placed after the last line of a text."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from symparam import SymparamError, analyze
from symparam.cli import main
from symparam.render.document import render_template

MLP = "model m(n = 4, h = 8):\n    input [n]\n    dense h\n"


def _render(tmp_path, text: str) -> str:
    path = tmp_path / "t.md"
    path.write_text(text)
    return render_template(analyze(MLP), path)


@pytest.mark.parametrize("text, what", [
    ("{{ at }}", "not a function"),
    ("{{ joiner }}", "not a class"),
    ('{{ "" | unique }}', "not an object of type generator"),
    ("{{ math.align }}", "not a function"),
    ("{{ [1, at] }}", "not a function"),
    ("{{ stats }}", "not an object of type ModelStats"),
    ("{{ '%s' % at }}", "not a function"),
    ("{{ at | string }}", "the output would show Python's internals"),
])
def test_a_template_never_prints_pythons_internals(tmp_path, text, what):
    with pytest.raises(SymparamError, match=what) as err:
        _render(tmp_path, text)
    assert " at 0x" not in str(err.value)


def test_a_template_still_prints_text_numbers_formulas_and_lists(tmp_path):
    assert _render(tmp_path, "{{ stats.total }} {{ 3 }} {{ [1, 2] }} {{ 'x' }}") == \
        "h*(n + 1) 3 [1, 2] x"


def test_a_runaway_template_stops_at_the_step_limit(tmp_path):
    with pytest.raises(SymparamError, match="more than 100,000 steps"):
        _render(tmp_path, "{% for i in range(100000) %}{% for j in range(100000) %}."
                          "{% endfor %}{% endfor %}")


def _cli(tmp_path, *args):
    model = tmp_path / "m.symp"
    model.write_text("model m(d = 64, h = 4):\n    input [d]\n    dense d / h\n"
                     "    dense 4 * d\n")
    return CliRunner().invoke(main, [a.replace("{file}", str(model)) for a in args])


@pytest.mark.parametrize("target", ["params=1e99999999", "params=" + "9" * 5000])
def test_a_target_past_the_digit_limit_is_refused_before_it_is_built(tmp_path, target):
    result = _cli(tmp_path, "solve", "{file}", "--for", "d", "--target", target)
    assert result.exit_code == 2, result.output
    assert "has more than 1,000 digits (MAX_DIGITS)" in result.output
    assert len(result.output) < 400  # the number is not echoed in full


@pytest.mark.parametrize("grid", ["d=10**99999999", "d=1e999999999", "d=" + "9" * 2000])
def test_a_grid_value_past_the_digit_limit_is_refused(tmp_path, grid):
    result = _cli(tmp_path, "sweep", "{file}", "--grid", grid)
    assert result.exit_code == 2, result.output
    assert "has more than 1,000 digits (MAX_DIGITS)" in result.output


def test_a_grid_value_past_64_bits_is_counted_exactly(tmp_path):
    d = 4 * 10**500  # d/4 whole: admissible
    result = _cli(tmp_path, "sweep", "{file}", "--grid", f"d={d}")
    assert result.exit_code == 0, result.output
    params = d * (d + 1) // 4 + 4 * d * (d // 4 + 1)  # dense d/4 on d, dense 4d on d/4
    assert f"{params:,}" in result.output


@pytest.mark.parametrize("text, line, column", [
    ("model m(n = 1):\n    input [n]\n    repeat n:", 3, 14),
    ("model m(n = 1):\n    input [n]\n    repeat n:\n", 4, 1),
])
def test_an_error_at_the_end_names_a_line_the_text_has(text, line, column):
    with pytest.raises(SymparamError) as err:
        analyze(text)
    assert (err.value.line, err.value.column) == (line, column)


# ---- formulas and conditions (found by a red-team review) ---------------------------

@pytest.mark.parametrize("cond, message", [
    ("Max(d, 10**999) ** 1000 > 0", "holds a number of about 1,000 digits"),
    ("floor(d ** 999 / 7) ** 999 > 0", "grows like a power of more than 1,000"),
    ("d > sqrt(10**999)**999", "has more than 1,000 digits"),
    ("((((d**10)**10)**10)**10) > 0", "grows like a power of more than 1,000"),
    ("d ** 999 * d ** 999 > 0", "grows like a power of more than 1,000"),
    ("d > 0**-1", "not a finite real number"),
    ("d > (-1)**0.5", "not a finite real number"),
    ("d" + "**2" * 500 + " > 0", "nested too deeply"),
    ("d > " + "0" * 5000 + "1", "more than 1,000 digits"),
])
def test_a_condition_that_would_hang_or_crash_is_refused_clearly(cond, message):
    from symparam.analysis.targets import parse_condition
    stats = analyze("model m(d = 64):\n    input [d]\n    dense d\n")
    with pytest.raises(SymparamError, match=message) as err:
        parse_condition(cond, stats)
    assert len(str(err.value)) < 1000


def test_ordinary_conditions_still_read():
    from symparam.analysis.targets import parse_condition
    stats = analyze("model m(d = 64):\n    input [d]\n    dense d\n")
    assert [str(c) for c in parse_condition("d % 64 == 0 and d ** 2 > 10 ** 6", stats)] == \
        ["Eq(Mod(d, 64), 0)", "d**2 > 1000000"]


def test_a_long_string_argument_is_not_echoed_in_full():
    with pytest.raises(SymparamError, match=r'got the string "x{60}\.\.\. \(100,000 characters\)"') \
            as err:
        analyze('model m(n = 4):\n    input [n]\n    dense 2, activation = "'
                + "x" * 100_000 + '"\n')
    assert len(str(err.value)) < 1000


def test_a_text_past_the_size_limit_is_refused_before_parsing():
    text = "model m(n = 4):\n    input [n]\n" + "    dense 2\n" * 30_000
    with pytest.raises(SymparamError, match=r"longer than the limit MAX_SOURCE_CHARS = "
                                            r"200,000 characters \(360,030\)") as err:
        analyze(text)
    assert err.value.line == 1 + 200_000 // 12  # the line holding character 200,000


@pytest.mark.parametrize("cond, ok", [
    ("d ** d ** d ** d == 1", False), ("d ** k > 1", False), ("2 ** (2 ** k) > 1", False),
    ("2 ** (k * d) > 1", False), ("2 ** k > 4", True), ("2 ** (k + 1) > d", True),
])
def test_a_symbolic_exponent_in_a_condition_needs_a_number_base(cond, ok):
    from symparam.analysis.targets import parse_condition
    stats = analyze("model m(d = 64, k = 3):\n    input [d]\n    dense 2**k\n")
    if ok:
        assert parse_condition(cond, stats)
    else:
        with pytest.raises(SymparamError, match="needs a number as its base and no power"):
            parse_condition(cond, stats)
